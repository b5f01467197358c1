/**
 * Reading the key files operators keep on disk: the signing key (control plane and
 * coordinators) and the trusted public keys (agents), with errors that say how to make
 * each.
 *
 * @module
 */
import { Signer, SigningKeyFile, TrustedKeysFile, Verifier } from "@atlas/core";

/** Loads a signing key file, with an error that says how to make one. */
export async function loadSigner(path: string): Promise<Signer> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(
      `Cannot read signing key ${path}: create one with \`deno task atlas keys generate ${path}\``,
      { cause },
    );
  }
  return new Signer(SigningKeyFile.parse(JSON.parse(text)));
}

/** Loads a trusted keys file (`{"keys":[…]}`). */
export async function loadVerifier(path: string): Promise<Verifier> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(
      `Cannot read trusted keys ${path}: fetch them with \`deno task atlas keys > ${path}\``,
      { cause },
    );
  }
  return new Verifier(TrustedKeysFile.parse(JSON.parse(text)).keys);
}
