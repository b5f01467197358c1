/**
 * NATS decentralized auth material for Atlas, made with `@nats-io/jwt` and nkeys (no files,
 * no network): an operator, the system account SYS and the account ATLAS where every Atlas
 * stream lives, user `.creds` per role, an ATLAS account JWT with a user revoked, and what
 * a client signs the server's nonce with when it connects ({@linkcode credsSigner}).
 * Every key is a `NativeKeyPair` (nkeys.ts): `@nats-io/jwt` encodes the JWTs, `node:crypto`
 * makes the signatures.
 *
 * Invariant: a user's permissions and the kinds of connection it may make come from
 * permissions.ts (`permissionsOf`, `connectionTypesOf`, `LEAF_SYSTEM_PERMISSIONS`) and
 * nowhere else; identity keys sign only what they identify (the operator key signs the
 * operator JWT; accounts are signed by an operator signing key and users by the account's
 * signing key), so the seeds a running control plane holds can be rotated without a new
 * operator.
 *
 * @module
 */
import { Algorithms, encodeAccount, encodeOperator, encodeUser, fmtCreds } from "@nats-io/jwt";
import { Prefix } from "@nats-io/nkeys";
import { z } from "zod";
import {
  type AtlasRole,
  connectionTypesOf,
  LEAF_CONNECTION_TYPES,
  LEAF_SYSTEM_PERMISSIONS,
  permissionsOf,
  roleLabel,
} from "./permissions.ts";
import { decodeNatsJwt, NativeKeyPair } from "./nkeys.ts";

/** Name of the account every Atlas stream, bucket and subject lives in. */
export const ATLAS_ACCOUNT = "ATLAS";
/** Name of the NATS system account (resolver updates, server events). */
export const SYSTEM_ACCOUNT = "SYS";

/**
 * Everything `atlas auth init` makes. Seeds are secrets; JWTs and public keys are not.
 */
export interface AuthSetup {
  operator: { publicKey: string; seed: string; signingSeed: string; jwt: string };
  system: {
    publicKey: string;
    seed: string;
    jwt: string;
    userCreds: string;
    /** A leaf node's system-account link (`LEAF_SYSTEM_PERMISSIONS`, leaf links only). */
    leafCreds: string;
  };
  atlas: { publicKey: string; seed: string; signingSeed: string; jwt: string };
}

/** What issuing user credentials needs: the ATLAS account and its signing seed. */
export interface UserIssuer {
  /** The ATLAS account's public key (the `issuer_account` of its users). */
  accountPublicKey: string;
  /** A signing key seed the ATLAS account JWT lists. */
  signingSeed: string;
}

/** Credentials issued for one user. */
export interface IssuedCreds {
  /** The `.creds` text (user JWT and seed): a secret. */
  creds: string;
  /** The user's public nkey (what a revocation names). */
  publicKey: string;
  /** NATS user name, the role label (`agent.us-east.web-1`). */
  name: string;
}

const dec = new TextDecoder();
const text = (b: Uint8Array) => dec.decode(b);

/** JetStream with no limits: the account's streams are bounded by their own configs. */
const UNLIMITED = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
} as const;

/**
 * Creates a new operator, system account (and its user) and ATLAS account with JetStream.
 *
 * @example
 * ```ts
 * const setup = await createAuthSetup();
 * const { creds } = await issueCreds(issuerOf(setup), { kind: "control" });
 * ```
 */
export async function createAuthSetup(): Promise<AuthSetup> {
  const operator = NativeKeyPair.create(Prefix.Operator);
  const opSigning = NativeKeyPair.create(Prefix.Operator);
  const sys = NativeKeyPair.create(Prefix.Account);
  const atlas = NativeKeyPair.create(Prefix.Account);
  const atlasSigning = NativeKeyPair.create(Prefix.Account);
  const opts = { algorithm: Algorithms.v2, signer: opSigning };
  const operatorJwt = await encodeOperator("atlas", operator, {
    signing_keys: [opSigning.getPublicKey()],
    system_account: sys.getPublicKey(),
  }, { algorithm: Algorithms.v2 });
  const sysJwt = await encodeAccount(SYSTEM_ACCOUNT, sys.getPublicKey(), {
    limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, conn: -1, leaf: -1 },
  }, opts);
  const atlasJwt = await encodeAccount(ATLAS_ACCOUNT, atlas.getPublicKey(), {
    limits: UNLIMITED,
    signing_keys: [atlasSigning.getPublicKey()],
  }, opts);
  const sysUser = NativeKeyPair.create(Prefix.User);
  const sysUserJwt = await encodeUser("sys", sysUser, sys, {}, { algorithm: Algorithms.v2 });
  const leafUser = NativeKeyPair.create(Prefix.User);
  const leafUserJwt = await encodeUser("leaf-sys", leafUser, sys, {
    pub: LEAF_SYSTEM_PERMISSIONS.pub,
    sub: LEAF_SYSTEM_PERMISSIONS.sub,
    allowed_connection_types: LEAF_CONNECTION_TYPES,
  }, { algorithm: Algorithms.v2 });
  return {
    operator: {
      publicKey: operator.getPublicKey(),
      seed: text(operator.getSeed()),
      signingSeed: text(opSigning.getSeed()),
      jwt: operatorJwt,
    },
    system: {
      publicKey: sys.getPublicKey(),
      seed: text(sys.getSeed()),
      jwt: sysJwt,
      userCreds: text(fmtCreds(sysUserJwt, sysUser)),
      leafCreds: text(fmtCreds(leafUserJwt, leafUser)),
    },
    atlas: {
      publicKey: atlas.getPublicKey(),
      seed: text(atlas.getSeed()),
      signingSeed: text(atlasSigning.getSeed()),
      jwt: atlasJwt,
    },
  };
}

/** The part of a setup that issues user credentials. */
export function issuerOf(setup: AuthSetup): UserIssuer {
  return { accountPublicKey: setup.atlas.publicKey, signingSeed: setup.atlas.signingSeed };
}

/**
 * Issues the `.creds` of a new user with `role`'s permissions (a new nkey each time).
 *
 * @example
 * ```ts
 * const { creds, publicKey } = await issueCreds(issuer, {
 *   kind: "agent",
 *   region: "us-east",
 *   agent: "web-1",
 * });
 * ```
 */
export async function issueCreds(issuer: UserIssuer, role: AtlasRole): Promise<IssuedCreds> {
  const user = NativeKeyPair.create(Prefix.User);
  const signer = NativeKeyPair.fromSeed(issuer.signingSeed);
  const perms = permissionsOf(role);
  const name = roleLabel(role);
  const jwt = await encodeUser(name, user, issuer.accountPublicKey, {
    pub: perms.pub,
    sub: perms.sub,
    allowed_connection_types: connectionTypesOf(role),
  }, { algorithm: Algorithms.v2, signer });
  return { creds: text(fmtCreds(jwt, user)), publicKey: user.getPublicKey(), name };
}

/** Raised when a `.creds` text or a JWT cannot be read. */
export class CredentialsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CredentialsError";
  }
}

/** The user JWT and seed of a `.creds` text. */
export function parseCredsText(creds: string): { jwt: string; seed: string } {
  const jwt = /-----BEGIN NATS USER JWT-----\s*([^\s-][^\s]*)\s*------END NATS USER JWT------/
    .exec(creds)?.[1];
  const seed = /-----BEGIN USER NKEY SEED-----\s*(SU[A-Z0-9]+)\s*------END USER NKEY SEED------/
    .exec(creds)?.[1];
  if (!jwt || !seed) {
    throw new CredentialsError(
      "Not a NATS .creds file (no user JWT and seed blocks): issue one with " +
        "`atlas auth creds` or `atlas agents enroll`",
    );
  }
  return { jwt, seed };
}

/**
 * What a `.creds` text says about its user: name, public key, and the inbox prefix its
 * permissions allow (the `inboxPrefix` to connect with), if any.
 */
export function describeCreds(
  creds: string,
): { name: string; publicKey: string; inboxPrefix: string | undefined } {
  const { jwt } = parseCredsText(creds);
  let claims;
  try {
    claims = decodeNatsJwt<{ sub?: { allow?: string[] } }>(jwt);
  } catch (cause) {
    throw new CredentialsError("The user JWT in the .creds file cannot be decoded", { cause });
  }
  const inbox = (claims.nats.sub?.allow ?? []).find((s) => s.startsWith("_INBOX_"));
  return {
    name: claims.name,
    publicKey: claims.sub,
    inboxPrefix: inbox?.replace(/\.>$/, ""),
  };
}

/** What a client proves its credentials with when it connects (see {@linkcode credsSigner}). */
export interface CredsSigner {
  /** The user JWT, sent as is. */
  readonly jwt: string;
  /** The user's public nkey (the JWT's subject). */
  readonly publicKey: string;
  /** The signature of the server's nonce, base64url (the `sig` of the CONNECT). */
  signNonce(nonce: string): string;
}

/**
 * The signer of a `.creds` text: its JWT, and its seed as a `node:crypto` key that signs
 * the server's nonce at each (re)connect in about 0.1 ms. Throws a {@linkcode
 * CredentialsError} when the seed is malformed or is not the key of the JWT's user (a
 * `.creds` file pieced together from two), before any server is asked.
 *
 * @example
 * ```ts
 * const signer = credsSigner(creds);
 * const auth = { jwt: signer.jwt, nkey: signer.publicKey, sig: signer.signNonce(nonce) };
 * ```
 */
export function credsSigner(creds: string): CredsSigner {
  const { jwt, seed } = parseCredsText(creds);
  const { publicKey, name } = describeCreds(creds);
  let key: NativeKeyPair;
  try {
    key = NativeKeyPair.fromSeed(seed);
  } catch (cause) {
    throw new CredentialsError(
      `The nkey seed of the .creds file of ${name} is damaged (${(cause as Error).message}); ` +
        "issue new credentials (`atlas agents enroll` for an agent, `atlas auth creds` otherwise)",
      { cause },
    );
  }
  if (key.getPublicKey() !== publicKey) {
    throw new CredentialsError(
      `The nkey seed of the .creds file is not the key of its user ${name} (the seed's public ` +
        `key is ${key.getPublicKey()}, the JWT's user ${publicKey}); use the .creds file as it ` +
        "was issued, or issue new credentials",
    );
  }
  return {
    jwt,
    publicKey,
    signNonce: (nonce) =>
      Buffer.from(key.sign(new TextEncoder().encode(nonce))).toString("base64url"),
  };
}

/**
 * When a JWT was issued (its `iat`, seconds). A replacement of an account JWT must be
 * issued in a later second: servers keep the stored one over an update (and a preloaded
 * one over the stored, after a restart) whose `iat` is not newer.
 */
export function issuedAtOf(jwt: string): number {
  return decodeNatsJwt(jwt).iat;
}

/**
 * The ATLAS account JWT `accountJwt` re-signed (by the operator signing key) with
 * `userPublicKey` revoked: every JWT of that user issued up to `at` (seconds) is refused,
 * and servers disconnect its live connections once they get the new account JWT.
 */
export async function revokeUser(
  accountJwt: string,
  operatorSigningSeed: string,
  userPublicKey: string,
  at: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  if (!/^U[A-Z2-7]{55}$/.test(userPublicKey)) {
    throw new TypeError(
      `Invalid user public key ${JSON.stringify(userPublicKey)}: expected a NATS user nkey (U…)`,
    );
  }
  const claims = decodeNatsJwt(accountJwt);
  const nats = claims.nats as { revocations?: Record<string, number> } & Record<string, unknown>;
  const { version: _v, type: _t, ...account } = nats;
  const signer = NativeKeyPair.fromSeed(operatorSigningSeed);
  return await encodeAccount(claims.name, claims.sub, {
    ...account,
    revocations: { ...(nats.revocations ?? {}), [userPublicKey]: at },
  }, { algorithm: Algorithms.v2, signer });
}

/** Options of {@linkcode serverAuthConfig}. */
export interface ServerAuthOptions {
  /** Directory of the server's full resolver (one per server). */
  resolverDir: string;
}

/**
 * The nats-server configuration that trusts the setup's operator: the operator JWT, the
 * system account, a full resolver (shared by every server through the system account)
 * preloaded with both accounts. Include it in every server's config.
 */
export function serverAuthConfig(
  setup: Pick<AuthSetup, "operator" | "system" | "atlas">,
  options: ServerAuthOptions,
): string {
  const q = JSON.stringify;
  return [
    `operator: ${q(setup.operator.jwt)}`,
    `system_account: ${q(setup.system.publicKey)}`,
    `resolver: { type: full, dir: ${q(options.resolverDir)}, allow_delete: false, ` +
    `interval: "2m" }`,
    `resolver_preload: {`,
    `  ${setup.system.publicKey}: ${q(setup.system.jwt)}`,
    `  ${setup.atlas.publicKey}: ${q(setup.atlas.jwt)}`,
    `}`,
  ].join("\n") + "\n";
}

/**
 * The line every nats-server of a region with leaf nodes carries, hub and leaf alike:
 * `account` (the ATLAS account's public key) reaches the hub's JetStream across the leaf
 * link as its own, by its API, KV puts and direct gets. Without it nats-server (2.9.10 and
 * current) denies `$JS.API.>`, `$KV.>` and `$OBJ.>` on that link, expecting JetStream to be
 * extended through the system account, which carries the API but not the account's own
 * subjects: agents on a leaf could neither read a pointer nor write their record.
 *
 * @example
 * ```ts
 * leafJetStreamConfig(setup.atlas.publicKey); // 'default_js_domain: { "A…": "" }'
 * ```
 */
export function leafJetStreamConfig(account: string): string {
  return `default_js_domain: { ${JSON.stringify(account)}: "" }`;
}

/**
 * The files of an auth directory (`atlas auth init --dir D`). Seeds and `.creds` are
 * secrets, written mode 0600; the JWTs and `auth.conf` are not.
 */
export const AuthFiles = {
  /** The operator JWT (what every server trusts). */
  operatorJwt: "operator.jwt",
  /** The operator's identity seed: only re-signs the operator JWT; keep it offline. */
  operatorSeed: "operator.nk",
  systemJwt: "SYS.jwt",
  atlasJwt: "ATLAS.jwt",
  /** The ATLAS account's identity seed (secret). */
  atlasSeed: "ATLAS.nk",
  /** The system user (pushes account JWTs to the resolver). */
  systemCreds: "sys.creds",
  /** A leaf node's system-account link (hears revocations; `LEAF_SYSTEM_PERMISSIONS`). */
  leafSystemCreds: "leaf-sys.creds",
  /** What the control plane signs with to enrol and revoke: {@linkcode ControlAuthKeys}. */
  controlKeys: "control-plane.json",
  /** Credentials of the control plane itself. */
  controlCreds: "control.creds",
  /** The nats-server include: operator, system account, resolver and preload. */
  serverConfig: "auth.conf",
} as const;

/** What the control plane needs to enrol agents and revoke them (a secret file). */
export const ControlAuthKeys = z.strictObject({
  /** The ATLAS account's public key. */
  accountPublicKey: z.string().regex(/^A[A-Z2-7]{55}$/),
  /** The ATLAS account signing seed: issues user credentials. */
  accountSigningSeed: z.string().regex(/^SA[A-Z2-7]{56}$/),
  /** An operator signing seed: re-signs the ATLAS account JWT with revocations. */
  operatorSigningSeed: z.string().regex(/^SO[A-Z2-7]{56}$/),
});
export type ControlAuthKeys = z.infer<typeof ControlAuthKeys>;

/** The {@linkcode ControlAuthKeys} of a setup. */
export function controlAuthKeys(setup: AuthSetup): ControlAuthKeys {
  return {
    accountPublicKey: setup.atlas.publicKey,
    accountSigningSeed: setup.atlas.signingSeed,
    operatorSigningSeed: setup.operator.signingSeed,
  };
}
