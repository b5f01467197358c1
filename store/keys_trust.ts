/**
 * The public keys agents trust, published for coordinators. The control plane writes its
 * trusted keys (the ones `GET /v1/keys` serves, which agents install) into the keys bucket
 * at start, one entry per key id. A coordinator checks its signing key against them before
 * it leads: pointers signed with a key agents do not trust are refused by every agent, so
 * a coordinator started with the wrong key would roll every rollout back.
 *
 * @module
 */
import type { AtlasNats } from "./connect.ts";
import { AtlasError, AtlasErrorCode, Buckets, TrustedKey } from "@atlas/core";
import { listKeys } from "./compat/list_keys.ts";
import { retryTransient } from "./retry.ts";

/** Raised by {@linkcode requireTrustedSigner} when agents would not trust the signer. */
export class UntrustedSignerError extends AtlasError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: AtlasErrorCode.signature });
    this.name = "UntrustedSignerError";
  }
}

/**
 * Makes the keys bucket hold exactly `keys` (one entry per key id; others removed), so
 * it says which keys agents trust now.
 *
 * @example
 * ```ts
 * await publishTrustedKeys(nats, [signer.trustedKey]);
 * ```
 */
export async function publishTrustedKeys(
  nats: AtlasNats,
  keys: readonly TrustedKey[],
): Promise<void> {
  const kv = await nats.kv(Buckets.keys);
  const wanted = new Map(keys.map((k) => [k.keyId, TrustedKey.parse(k)]));
  for (const [keyId, key] of wanted) {
    const entry = await retryTransient(() => kv.get(keyId), { what: `Reading key ${keyId}` });
    if (entry?.operation === "PUT") {
      const stored = TrustedKey.safeParse(entry.json());
      if (stored.success && stored.data.publicKey === key.publicKey) continue;
    }
    await retryTransient(() => kv.put(keyId, JSON.stringify(key)), {
      what: `Publishing key ${keyId}`,
    });
  }
  for (const keyId of await listKeys(nats, Buckets.keys)) {
    if (wanted.has(keyId)) continue;
    const entry = await kv.get(keyId);
    if (entry?.operation === "PUT") {
      await retryTransient(() => kv.delete(keyId), { what: `Removing key ${keyId}` });
    }
  }
}

/**
 * The keys agents trust, as the control plane published them (empty before it first
 * started). Entries that do not parse are left out.
 */
export async function readTrustedKeys(nats: AtlasNats): Promise<TrustedKey[]> {
  const kv = await nats.kv(Buckets.keys);
  const keys: TrustedKey[] = [];
  for (const keyId of await listKeys(nats, Buckets.keys)) {
    const entry = await retryTransient(() => kv.get(keyId), { what: `Reading key ${keyId}` });
    if (entry?.operation !== "PUT") continue;
    const parsed = TrustedKey.safeParse(entry.json());
    if (parsed.success) keys.push(parsed.data);
  }
  return keys;
}

/** Options of {@linkcode requireTrustedSigner}. */
export interface RequireTrustedSignerOptions {
  /** Who signs, for the message. @default "this signer" */
  who?: string;
}

/**
 * Throws {@linkcode UntrustedSignerError} unless `signer`'s key (id and public key) is
 * among the trusted keys the control plane published, or when none is published yet.
 *
 * @example
 * ```ts
 * await requireTrustedSigner(nats, signer, { who: "coordinator us-east" });
 * ```
 */
export async function requireTrustedSigner(
  nats: AtlasNats,
  signer: { keyId: string; trustedKey: TrustedKey },
  options: RequireTrustedSignerOptions = {},
): Promise<void> {
  const who = options.who ?? "this signer";
  const trusted = await readTrustedKeys(nats);
  if (trusted.length === 0) {
    throw new UntrustedSignerError(
      `${who} cannot check its signing key ${signer.keyId}: no trusted keys are published ` +
        `in ${Buckets.keys} yet. Start the control plane first (\`deno task control …\` ` +
        "publishes them), then this",
    );
  }
  const match = trusted.find((k) => k.keyId === signer.keyId);
  if (match && match.publicKey === signer.trustedKey.publicKey) return;
  throw new UntrustedSignerError(
    `${who} signs with key ${signer.keyId}, which agents do not trust (trusted: ` +
      `${trusted.map((k) => k.keyId).join(", ")}): start it with the control plane's ` +
      "signing key, or add the key to the trusted set (the control plane's trusted keys, " +
      "and every agent's trusted keys file)",
  );
}
