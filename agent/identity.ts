/**
 * The agent's identity: the nkey user seed of its NATS `.creds` file (agent.json
 * `credentials`), which signs its acks (core/ack_signature.ts says what is signed).
 *
 * @module
 */
import { AckIdentity, parseCredsText } from "@atlas/core";

/**
 * Reads the `.creds` file at `path` and returns the identity of its user seed.
 *
 * @example
 * ```ts
 * const identity = await loadIdentity("/etc/atlas/agent.creds");
 * identity.publicKey; // "U..."
 * ```
 */
export async function loadIdentity(path: string): Promise<AckIdentity> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new Error(
      `Cannot read the agent's credentials ${path}: ${(cause as Error).message}. Issue them ` +
        "with `atlas agents enroll <region> <id> --out agent.creds`",
      { cause },
    );
  }
  let seed: string;
  try {
    // Only the seed: the server checks the JWT (@nats-io/jwt's parseCreds would check its
    // signature in pure JavaScript, ~15 ms per agent start).
    seed = parseCredsText(text).seed;
  } catch (cause) {
    throw new Error(
      `Invalid credentials file ${path}: expected a NATS .creds file (a user JWT and an nkey ` +
        "seed block); issue one with `atlas agents enroll`",
      { cause },
    );
  }
  try {
    return new AckIdentity(seed);
  } catch (cause) {
    throw new Error(`Invalid credentials file ${path}: ${(cause as Error).message}`, { cause });
  }
}
