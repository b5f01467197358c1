/**
 * A throw-away certificate authority for dev mode and tests, made with Debian's `openssl`:
 * one CA, a server certificate for 127.0.0.1 and localhost (also used by servers towards
 * each other on routes and gateways, so it is valid for client authentication too), and a
 * client certificate for mutual TLS. EC P-256 keys, valid for 30 days.
 *
 * Production certificates come from the operator's own CA; the README's production
 * section shows the same `openssl` steps.
 *
 * @module
 */

/** The files of a throw-away PKI, all PEM. */
export interface Pki {
  /** The directory holding everything (keys are mode 0600). */
  dir: string;
  /** The CA certificate: what clients and servers trust. */
  caFile: string;
  /** A certificate for nats-server (SAN 127.0.0.1, ::1, localhost; server and client auth). */
  serverCert: string;
  serverKey: string;
  /** A client certificate for mutual TLS. */
  clientCert: string;
  clientKey: string;
}

/** Where {@linkcode makePki} puts each file in `dir`. */
export function pkiIn(dir: string): Pki {
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    serverCert: `${dir}/server.pem`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.pem`,
    clientKey: `${dir}/client.key`,
  };
}

/** Raised when `openssl` is missing or fails. */
export class PkiError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PkiError";
  }
}

async function _openssl(args: string[], cwd: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    throw new PkiError(
      "openssl is needed to make certificates: install it (`apt-get install -y openssl`)",
      { cause: e },
    );
  }
  if (!out.success) {
    throw new PkiError(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function _issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  await _openssl(
    ["req", ...KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject],
    dir,
  );
  await Deno.writeTextFile(`${dir}/${name}.ext`, extensions);
  await _openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "30",
    "-out",
    `${name}.pem`,
    "-extfile",
    `${name}.ext`,
  ], dir);
  await Deno.remove(`${dir}/${name}.csr`);
  await Deno.remove(`${dir}/${name}.ext`);
}

/**
 * Makes a CA, a server and a client certificate in `dir` (created if missing).
 *
 * @example
 * ```ts
 * const pki = await makePki(`${dataDir}/tls`);
 * await using server = await startNatsServer({ tls: serverTls(pki) });
 * ```
 */
export async function makePki(dir: string): Promise<Pki> {
  await Deno.mkdir(dir, { recursive: true });
  await _openssl([
    "req",
    "-x509",
    ...KEY,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "30",
    "-subj",
    "/CN=Atlas throw-away CA",
  ], dir);
  await _issue(
    dir,
    "server",
    "/CN=nats-server",
    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n" +
      "extendedKeyUsage=serverAuth,clientAuth\n",
  );
  await _issue(dir, "client", "/CN=atlas-client", "extendedKeyUsage=clientAuth\n");
  for (const key of ["ca.key", "server.key", "client.key"]) {
    await Deno.chmod(`${dir}/${key}`, 0o600);
  }
  return pkiIn(dir);
}

/**
 * A throw-away PKI in a temp dir, removed on dispose: for tests outside `natsTest`.
 *
 * @example
 * ```ts
 * await using pki = await tempPki();
 * await using sc = await startSupercluster(regions, { tls: serverTls(pki) });
 * ```
 */
export async function tempPki(): Promise<Pki & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "atlas-pki-" });
  try {
    const pki = await makePki(dir);
    return {
      ...pki,
      [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
    };
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}
