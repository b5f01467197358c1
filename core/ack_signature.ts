/**
 * The signed-ack rule: what an agent signs, and when an ack counts.
 *
 * An agent's identity is an nkey user key (ed25519): the seed in its NATS `.creds` file.
 * It signs the bytes `atlas-ack-v1\n` + canonical JSON of every field of the ack except
 * `signature` (agent, region, config, version, seq, status, `at`, ...), and puts the
 * signature, base64url, in `signature`. An ack counts ({@linkcode ackVerdict}) only when:
 * the subject it was stored under names the same region, config and agent as its body (no
 * replay under another agent's subject); that agent has an enrolment; the signature
 * verifies against the enrolled public key; and it was stored (server time) before the
 * enrolment's `revokedAt`, if any. A key the agent held before it was enrolled again still
 * proves the acks stored before it was replaced (`previousKeys`). Anything else is
 * "unverified", with the reason.
 *
 * Ed25519 through `node:crypto` (nkeys.ts), not the pure-JS nacl of `@nats-io/nkeys`; the
 * signatures are the same. Measured on the 2-core dev box under load: sign 35 µs and
 * verify 63 µs per ack, against 23 ms and 43 ms with nkeys' `sign`/`verify` (which derive
 * the key pair from the seed on every call).
 *
 * @module
 */
import { Prefix } from "@nats-io/nkeys";
import { canonicalJson } from "./crypto.ts";
import { NativeKeyPair, rawNkeyPublicKey, verifyNkeySignature } from "./nkeys.ts";
import type { AckRecord, EnrolmentRecord } from "./schemas.ts";

/** Domain separation: these bytes can never be confused with another signed record. */
const ACK_CONTEXT = "atlas-ack-v1\n";

/** `ack` without its `signature` (itself when it has none: no copy per ack signed). */
function _body(ack: AckRecord): AckRecord {
  if (ack.signature === undefined) return ack;
  const { signature: _drop, ...body } = ack;
  return body;
}

/**
 * The exact bytes an ack's signature covers. UTF-8 through `Buffer`, not `TextEncoder`:
 * the same bytes, in a quarter of the time in Deno (measured).
 */
export function ackSignedBytes(ack: AckRecord): Uint8Array {
  return Buffer.from(ACK_CONTEXT + canonicalJson(_body(ack)));
}

/** Raw 32 bytes of a user public key (`U...`); throws a TypeError on anything else. */
function rawPublicKey(publicKey: string): Uint8Array {
  if (!publicKey.startsWith("U")) {
    throw new TypeError(
      `Cannot use ${JSON.stringify(publicKey.slice(0, 8))}… as an agent key: an agent's ` +
        `public key is an nkey user key (starts with "U"); take it from the agent's .creds file`,
    );
  }
  try {
    return rawNkeyPublicKey(publicKey); // checks the prefix byte and the CRC
  } catch (cause) {
    throw new TypeError(`Invalid agent public key ${JSON.stringify(publicKey)}`, { cause });
  }
}

/** Returns true when `publicKey` is a valid nkey user public key. */
export function isAgentPublicKey(publicKey: string): boolean {
  try {
    rawPublicKey(publicKey);
    return true;
  } catch {
    return false;
  }
}

/**
 * An agent's signing identity, from the nkey user seed (`SU...`) of its `.creds` file.
 *
 * @example
 * ```ts
 * const id = new AckIdentity(seed);
 * const signed = id.sign(ack); // { ...ack, signature }
 * verifyAck(signed, id.publicKey); // true
 * ```
 */
export class AckIdentity {
  /** The nkey user public key (`U...`) enrolled for this agent. */
  readonly publicKey: string;
  readonly #key: NativeKeyPair;

  constructor(seed: string) {
    const trimmed = seed.trim();
    if (!trimmed.startsWith("SU")) {
      throw new TypeError(
        "Cannot sign acks with this seed: an agent's identity is an nkey user seed (starts " +
          `with "SU"), found one starting with ${JSON.stringify(trimmed.slice(0, 2))}; use the ` +
          "seed of the agent's .creds file (atlas agents enroll)",
      );
    }
    try {
      this.#key = NativeKeyPair.fromSeed(trimmed);
    } catch (cause) {
      throw new TypeError("Cannot sign acks with this seed: it is not a valid nkey seed", {
        cause,
      });
    }
    if (this.#key.prefix !== Prefix.User) {
      throw new TypeError("Cannot sign acks with this seed: it is not an nkey user seed");
    }
    this.publicKey = this.#key.getPublicKey();
  }

  /** Returns `ack` with `signature` set (any signature it had is replaced). */
  sign(ack: AckRecord): AckRecord {
    const body = _body(ack);
    const raw = this.#key.sign(ackSignedBytes(body));
    const signature = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString("base64url");
    return { ...body, signature };
  }
}

/** True when `ack.signature` is a valid signature of `ack` by `publicKey`. */
export function verifyAck(ack: AckRecord, publicKey: string): boolean {
  if (!ack.signature) return false;
  if (!publicKey.startsWith("U")) return false;
  return verifyNkeySignature(
    publicKey,
    ackSignedBytes(ack),
    Buffer.from(ack.signature, "base64url"),
  );
}

/** Why an ack does not count. */
export const AckRejection = {
  unsigned: "unsigned",
  /** Stored under a subject of another region, config or agent than its body names. */
  subject: "subject-mismatch",
  unenrolled: "unenrolled",
  revoked: "revoked",
  signature: "bad-signature",
} as const;
export type AckRejection = (typeof AckRejection)[keyof typeof AckRejection];

/** The verdict on one stored ack. */
export type AckVerdict =
  /** `publicKey`: the enrolled key the signature verified with. */
  | { counts: true; publicKey: string }
  | { counts: false; reason: AckRejection };

/** Where and when an ack was stored, as the acks stream says (not the agent). */
export interface AckStorage {
  /** The ack's parsed subject (`parseAckSubject`). */
  subject: { region: string; config: string; agent: string };
  /** When the stream stored it, ms (server time). */
  storedAt: number;
}

/**
 * An ack whose verdict waits only on its signature: the signed bytes, the signature, and
 * the keys that may have made it, the enrolled key first, then each earlier key the agent
 * held when the ack was stored. {@linkcode signedBy} answers it, here or on another thread
 * (coordinator/ack_checks.ts), and {@linkcode ackVerdictSignedBy} turns the answer into
 * the verdict.
 */
export interface AckSignatureCheck {
  bytes: Uint8Array;
  signature: Uint8Array;
  keys: string[];
  /** Stored at or after the enrolment's `revokedAt`. */
  revoked: boolean;
}

/**
 * The first step of {@linkcode ackVerdict}: the verdict when it does not depend on the
 * signature, else what the signature must be checked against.
 */
export function ackPrecheck(
  ack: AckRecord,
  stored: AckStorage,
  enrolment: EnrolmentRecord | undefined,
): { verdict: AckVerdict } | { check: AckSignatureCheck } {
  const s = stored.subject;
  if (s.region !== ack.region || s.config !== ack.config || s.agent !== ack.agent) {
    return { verdict: { counts: false, reason: AckRejection.subject } };
  }
  if (!ack.signature) return { verdict: { counts: false, reason: AckRejection.unsigned } };
  if (!enrolment || enrolment.region !== ack.region || enrolment.agent !== ack.agent) {
    return { verdict: { counts: false, reason: AckRejection.unenrolled } };
  }
  const keys = [enrolment.publicKey];
  // A key the agent had before it was enrolled again proves what was stored while it held.
  for (const k of enrolment.previousKeys ?? []) {
    if (stored.storedAt < Date.parse(k.retiredAt)) keys.push(k.publicKey);
  }
  return {
    check: {
      bytes: ackSignedBytes(ack),
      signature: Buffer.from(ack.signature, "base64url"),
      keys,
      revoked: enrolment.revokedAt !== undefined &&
        stored.storedAt >= Date.parse(enrolment.revokedAt),
    },
  };
}

/** The index in `check.keys` of the key that made the signature, or -1 when none did. */
export function signedBy(check: Pick<AckSignatureCheck, "bytes" | "signature" | "keys">): number {
  return check.keys.findIndex((key) =>
    key.startsWith("U") && verifyNkeySignature(key, check.bytes, check.signature)
  );
}

/** The verdict on an ack whose signature {@linkcode signedBy} found made by `keys[index]`. */
export function ackVerdictSignedBy(check: AckSignatureCheck, index: number): AckVerdict {
  if (index < 0) {
    return { counts: false, reason: check.revoked ? AckRejection.revoked : AckRejection.signature };
  }
  // Revocation ends what the enrolled key proves; an earlier key's acks predate it.
  if (index === 0 && check.revoked) return { counts: false, reason: AckRejection.revoked };
  return { counts: true, publicKey: check.keys[index]! };
}

/**
 * Decides whether a stored ack counts (see the module doc): the one rule coordinators,
 * status and evidence all apply ({@linkcode ackPrecheck}, {@linkcode signedBy},
 * {@linkcode ackVerdictSignedBy}, which a coordinator runs apart).
 *
 * @example
 * ```ts
 * const v = ackVerdict(ack, { subject, storedAt }, enrolments.get(ack.region, ack.agent));
 * if (v.counts) acks.set(key, ack);
 * ```
 */
export function ackVerdict(
  ack: AckRecord,
  stored: AckStorage,
  enrolment: EnrolmentRecord | undefined,
): AckVerdict {
  const pre = ackPrecheck(ack, stored, enrolment);
  if ("verdict" in pre) return pre.verdict;
  return ackVerdictSignedBy(pre.check, signedBy(pre.check));
}
