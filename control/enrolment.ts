/**
 * Enrolling agents (NATS credentials for exactly one agent) and revoking them (the ATLAS
 * account JWT re-signed with the agent's keys revoked, pushed to the resolver through
 * the system account, so the servers drop the agent at once and refuse it after).
 *
 * Invariant: every key ever issued to an agent is recorded under `<region>.<agent>.<key>`
 * in `atlas_credentials` before its `.creds` leave the control plane, so a revocation
 * finds them all; each enrolment and revocation is audited.
 *
 * @module
 */
import { z } from "zod";
import {
  type AtlasRole,
  AuthFiles,
  ControlAuthKeys,
  issueCreds,
  issuedAtOf,
  revokeUser,
} from "@atlas/core";
import {
  AccountResolver,
  appendAudit,
  type ClientTls,
  EnrolmentNotFoundError,
  listKeys,
  recordEnrolment,
  retryTransient,
  revokeEnrolment,
} from "@atlas/store";
import type { ControlContext } from "./context.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { targetRegions } from "./regions.ts";

/** The bucket of issued agent keys (control plane only). */
export const CREDENTIALS_BUCKET = "atlas_credentials";

/** What the control plane enrols and revokes with. */
export interface EnrolmentAuth {
  keys: ControlAuthKeys;
  /** The system user's `.creds` text (resolver updates). */
  systemCreds: string;
  /** NATS servers to reach the resolver on. */
  servers: string | string[];
  /** TLS towards them, when NATS requires it. */
  tls?: ClientTls | undefined;
}

/**
 * Reads an auth directory (`atlas auth init --dir D`): the control plane's signing keys
 * and the system user's credentials. Throws a `TypeError` saying which file is wrong.
 */
export async function loadEnrolmentAuth(
  dir: string,
  servers: string | string[],
  tls?: ClientTls,
): Promise<EnrolmentAuth> {
  const read = async (name: string) => {
    try {
      return await Deno.readTextFile(`${dir}/${name}`);
    } catch (cause) {
      throw new TypeError(
        `Cannot read ${dir}/${name}: ${(cause as Error).message}. Make the auth directory ` +
          "with `deno task atlas auth init --dir <dir>`",
        { cause },
      );
    }
  };
  let raw: unknown;
  try {
    raw = JSON.parse(await read(AuthFiles.controlKeys));
  } catch (e) {
    if (e instanceof TypeError) throw e;
    throw new TypeError(`${dir}/${AuthFiles.controlKeys} is not JSON: ${(e as Error).message}`);
  }
  const parsed = ControlAuthKeys.safeParse(raw);
  if (!parsed.success) {
    throw new TypeError(
      `${dir}/${AuthFiles.controlKeys} is not what \`atlas auth init\` writes: ` +
        z.prettifyError(parsed.error),
    );
  }
  return {
    keys: parsed.data,
    systemCreds: await read(AuthFiles.systemCreds),
    servers,
    ...(tls ? { tls } : {}),
  };
}

/** An agent's new credentials. */
export const EnrolResult = z.object({
  region: z.string(),
  agent: z.string(),
  /** The user's public nkey (what a revocation names). */
  publicKey: z.string(),
  /** A standard NATS `.creds` file: keep it secret, mode 0600 on the agent's host. */
  creds: z.string(),
});
export type EnrolResult = z.infer<typeof EnrolResult>;

/** What a revocation did. */
export const RevokeResult = z.object({
  region: z.string(),
  agent: z.string(),
  /** The public keys revoked. */
  revoked: z.array(z.string()),
});
export type RevokeResult = z.infer<typeof RevokeResult>;

function _need(auth: EnrolmentAuth | undefined): EnrolmentAuth {
  if (!auth) {
    throw new ConflictError(
      "This control plane cannot issue NATS credentials: start it with --auth-dir <dir> " +
        "(made by `deno task atlas auth init --dir <dir>`)",
    );
  }
  return auth;
}

/** The issued-keys bucket, made on first use with the control plane's replicas. */
async function _bucket(ctx: ControlContext) {
  const { nats } = ctx;
  if (!(await nats.streamInfo(`KV_${CREDENTIALS_BUCKET}`))) {
    await retryTransient(
      () =>
        nats.kvm.create(CREDENTIALS_BUCKET, {
          history: 1,
          allow_direct: true,
          replicas: ctx.replicas,
        }),
      { what: `Creating ${CREDENTIALS_BUCKET}` },
    );
  }
  return await nats.kv(CREDENTIALS_BUCKET);
}

/**
 * Issues `.creds` for agent `agent` of `region` (a new key each time) and records it.
 */
export async function enrolAgent(
  ctx: ControlContext,
  auth: EnrolmentAuth | undefined,
  region: string,
  agent: string,
  actor: string,
): Promise<EnrolResult> {
  const { keys } = _need(auth);
  await targetRegions(ctx, [region]); // a provisioned region, else 404 saying how to add it
  const role: AtlasRole = { kind: "agent", region, agent };
  const issued = await issueCreds(
    { accountPublicKey: keys.accountPublicKey, signingSeed: keys.accountSigningSeed },
    role,
  );
  const kv = await _bucket(ctx);
  const issuedAt = new Date().toISOString();
  await retryTransient(
    () =>
      kv.put(
        `${region}.${agent}.${issued.publicKey}`,
        JSON.stringify({ issuedAt, by: actor }),
      ),
    { what: `Recording the key of ${region}/${agent}` },
  );
  // Its public key is also its ack-signing identity: its signed acks count from now on.
  await recordEnrolment(ctx.nats, { region, agent, publicKey: issued.publicKey });
  await appendAudit(ctx.nats, {
    actor,
    action: "agent.enrol",
    region,
    details: { agent, publicKey: issued.publicKey },
  });
  return { region, agent, publicKey: issued.publicKey, creds: issued.creds };
}

/**
 * Revokes every key issued to `agent` of `region`: the ATLAS account JWT is re-signed
 * with them revoked and pushed to the resolver; the servers close the agent's connections
 * and refuse it from then on. 404 when no key was ever issued to it (or all are revoked).
 */
export async function revokeAgent(
  ctx: ControlContext,
  auth: EnrolmentAuth | undefined,
  region: string,
  agent: string,
  actor: string,
): Promise<RevokeResult> {
  const { keys, systemCreds, servers, tls } = _need(auth);
  const kv = await _bucket(ctx);
  const prefix = `${region}.${agent}.`;
  const issued = await listKeys(ctx.nats, CREDENTIALS_BUCKET, `${prefix}*`);
  const live: string[] = [];
  for (const key of issued) {
    if ((await kv.get(key))?.operation === "PUT") live.push(key.slice(prefix.length));
  }
  if (live.length === 0) {
    throw new NotFoundError(
      `No credentials of agent ${region}/${agent} are in force: nothing to revoke ` +
        `(enrol it with POST /v1/agents/${region}/${agent}/credentials)`,
    );
  }
  {
    await using resolver = await AccountResolver.connect(servers, systemCreds, { tls });
    let jwt = await resolver.lookup(keys.accountPublicKey);
    // The re-signed JWT must be newer than the one it replaces (issuedAtOf says why).
    const before = issuedAtOf(jwt);
    while (Math.floor(Date.now() / 1000) <= before) await new Promise((r) => setTimeout(r, 50));
    for (const key of live) jwt = await revokeUser(jwt, keys.operatorSigningSeed, key);
    await resolver.update(jwt);
  }
  for (const key of live) {
    await retryTransient(() => kv.delete(`${prefix}${key}`), { what: `Marking ${key} revoked` });
  }
  // Its acks stored from now on do not count (core/ack_signature.ts).
  await revokeEnrolment(ctx.nats, { region, agent }).catch((e) => {
    if (!(e instanceof EnrolmentNotFoundError)) throw e;
  });
  await appendAudit(ctx.nats, {
    actor,
    action: "agent.revoke",
    region,
    details: { agent, revoked: live },
  });
  return { region, agent, revoked: live };
}
