/**
 * The NATS connection flags every Atlas program takes (control plane, coordinator, bench),
 * decided once: their names, help lines and environment fallbacks, and what they become in
 * {@linkcode ConnectOptions}. The agent takes the same settings from `agent.json`.
 *
 * @module
 */
import { checkClientTls, type ClientTls } from "./connect.ts";

/** `parseArgs` options of the NATS connection flags. */
export const NATS_FLAGS = {
  creds: { type: "string" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
} as const;

/** Help lines of {@linkcode NATS_FLAGS}, for a program's usage text. */
export const NATS_FLAGS_HELP =
  `  --creds <file>             NATS credentials of this role (default $ATLAS_NATS_CREDS;
                             \`atlas auth creds --role …\` issues them)
  --tls-ca <file>            CA that signs the NATS servers' certificates
                             (default $ATLAS_NATS_TLS_CA; else the system's CAs for tls:// URLs)
  --tls-cert <file>          client certificate for servers that require mutual TLS
                             (default $ATLAS_NATS_TLS_CERT; needs --tls-key)
  --tls-key <file>           its private key (default $ATLAS_NATS_TLS_KEY)`;

/** The values `parseArgs` returns for {@linkcode NATS_FLAGS}. */
export interface NatsFlagValues {
  creds?: string | undefined;
  "tls-ca"?: string | undefined;
  "tls-cert"?: string | undefined;
  "tls-key"?: string | undefined;
}

/**
 * The connection options of the flags: credentials (`--creds`, else `$ATLAS_NATS_CREDS`)
 * and TLS ({@linkcode tlsFromFlags}). Throws a `TypeError` naming the flag that is wrong.
 *
 * @example
 * ```ts
 * const nats = await connectAtlas(servers, { ...natsFlagOptions(values, Deno.env), name });
 * ```
 */
export function natsFlagOptions(
  values: NatsFlagValues,
  env: { get(name: string): string | undefined },
): { credentials?: string; tls?: ClientTls } {
  const credentials = values.creds ?? env.get("ATLAS_NATS_CREDS");
  const tls = tlsFromFlags(values, env);
  return { ...(credentials ? { credentials } : {}), ...(tls ? { tls } : {}) };
}

/**
 * The TLS settings of the flags, with the environment as fallback (undefined: no TLS
 * settings, plain or system-CA connections). Throws a `TypeError` naming the flag that
 * is wrong.
 *
 * @example
 * ```ts
 * const tls = tlsFromFlags(values, Deno.env);
 * await connectAtlas(servers, { ...(tls ? { tls } : {}) });
 * ```
 */
export function tlsFromFlags(
  values: NatsFlagValues,
  env: { get(name: string): string | undefined },
): ClientTls | undefined {
  const tls: ClientTls = {
    caFile: values["tls-ca"] ?? env.get("ATLAS_NATS_TLS_CA"),
    certFile: values["tls-cert"] ?? env.get("ATLAS_NATS_TLS_CERT"),
    keyFile: values["tls-key"] ?? env.get("ATLAS_NATS_TLS_KEY"),
  };
  if (!tls.caFile && !tls.certFile && !tls.keyFile) return undefined;
  try {
    checkClientTls(tls);
  } catch (e) {
    throw new TypeError(
      (e as Error).message.replace("tls.certFile and tls.keyFile", "ATLAS_NATS_TLS_*"),
    );
  }
  return tls;
}
