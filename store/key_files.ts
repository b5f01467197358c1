/**
 * Reading the key files operators keep on disk: the signing keys (control plane and
 * coordinators, one file or a key directory) and the trusted public keys (agents), with
 * errors that say how to make each.
 *
 * @module
 */
import { Signer, SigningKeyFile, type TrustedKey, TrustedKeysFile, Verifier } from "@atlas/core";

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
  return new Verifier(await loadTrustedKeys(path));
}

/** Reads a trusted keys file (`{"keys":[…]}`): the keys, with an error saying how to get it. */
export async function loadTrustedKeys(path: string): Promise<TrustedKey[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(
      `Cannot read trusted keys ${path}: fetch them with \`deno task atlas keys > ${path}\``,
      { cause },
    );
  }
  return TrustedKeysFile.parse(JSON.parse(text)).keys;
}

/** Options of {@linkcode KeyRing.load}. */
export interface KeyRingOptions {
  /** Signing key files to load (the `--signing-key` of before key sets). @default [] */
  files?: readonly string[];
  /** A directory of signing key files (`*.key`); new keys are written here. */
  dir?: string | undefined;
}

/**
 * The signing keys one process holds (private halves): files named, and every `*.key` of
 * a directory, which is read again when a key is asked for that is not held yet, so a key
 * file copied in is picked up without a restart.
 *
 * @example
 * ```ts
 * const ring = await KeyRing.load({ files: ["signing.key"], dir: "/etc/atlas/keys" });
 * ring.get("ed25519-0123456789abcdef")?.sign({ n: 1 });
 * ```
 */
export class KeyRing {
  /** Where key files are read from and new keys written to, if anywhere. */
  readonly dir: string | undefined;
  readonly #signers = new Map<string, Signer>();
  /** Files of the dir already read, so a rescan reads only new ones. */
  readonly #seen = new Set<string>();

  private constructor(dir: string | undefined) {
    this.dir = dir;
  }

  /** Loads the files and the directory's key files. */
  static async load(options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options.dir);
    for (const file of options.files ?? []) {
      const signer = await loadSigner(file);
      ring.#signers.set(signer.keyId, signer);
      ring.#seen.add(file);
    }
    if (options.dir !== undefined) {
      await Deno.mkdir(options.dir, { recursive: true, mode: 0o700 });
      await ring.rescan();
    }
    return ring;
  }

  /** Key ids held, in the order loaded. */
  get keyIds(): string[] {
    return [...this.#signers.keys()];
  }

  /** The signer of `keyId`, if held. */
  get(keyId: string): Signer | undefined {
    return this.#signers.get(keyId);
  }

  /** Reads key files of the directory not read yet; returns how many were added. */
  async rescan(): Promise<number> {
    if (this.dir === undefined) return 0;
    let added = 0;
    for await (const e of Deno.readDir(this.dir)) {
      const path = `${this.dir}/${e.name}`;
      if (!e.isFile || !e.name.endsWith(".key") || this.#seen.has(path)) continue;
      const signer = await loadSigner(path);
      this.#seen.add(path);
      if (!this.#signers.has(signer.keyId)) added++;
      this.#signers.set(signer.keyId, signer);
    }
    return added;
  }

  /**
   * Writes `key` into the directory as `<keyId>.key` (mode 0600, never over a file) and
   * holds it. Returns the file's path.
   */
  async add(key: SigningKeyFile): Promise<string> {
    if (this.dir === undefined) {
      throw new TypeError("Cannot add a key to a key ring without a directory");
    }
    const path = `${this.dir}/${key.keyId}.key`;
    await Deno.writeTextFile(path, JSON.stringify(key, null, 2) + "\n", {
      createNew: true,
      mode: 0o600,
    });
    this.#seen.add(path);
    this.#signers.set(key.keyId, new Signer(key));
    return path;
  }
}
