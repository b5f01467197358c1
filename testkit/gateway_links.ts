/**
 * Cuttable gateway links for fault tests: a TCP proxy in front of every node's gateway
 * port, so a test can cut one region off the supercluster and heal it again while every
 * process keeps running.
 *
 * Each node advertises its proxy as its gateway address, so every gateway connection to
 * it, configured or learned by gossip, goes through the proxy. The proxy reads the first
 * line the connecting server sends (`CONNECT {..., "gateway": "<its region>"}`) to learn
 * which region the link comes from. Cutting region R then means: R's proxies refuse
 * everyone, and every other proxy refuses connections from R; open links are closed.
 * Both directions of every link between R and the rest go down, and nothing else does.
 *
 * @module
 */
import { concatBytes } from "@atlas/core";

/** A TCP proxy in front of one node's gateway port, able to refuse links by region. */
export class GatewayProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #upstreamPort: number;
  /** The region of the node behind this proxy. */
  readonly region: string;
  /** Regions whose links are refused (this node's own region: all of them). */
  readonly #cut: ReadonlySet<string>;
  readonly #open = new Set<{ from: string | undefined; close: () => void }>();

  constructor(region: string, upstreamPort: number, cut: ReadonlySet<string>) {
    this.region = region;
    this.#upstreamPort = upstreamPort;
    this.#cut = cut;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accept().catch(() => {});
  }

  /** The port other gateways connect to (what the node advertises). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  #refuses(from: string | undefined): boolean {
    return this.#cut.has(this.region) || (from !== undefined && this.#cut.has(from));
  }

  /** Closes the open links the current cut set refuses. */
  enforce(): void {
    for (const link of [...this.#open]) {
      if (this.#refuses(link.from)) link.close();
    }
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) this.#serve(conn).catch(() => {});
  }

  async #serve(inbound: Deno.TcpConn): Promise<void> {
    if (this.#refuses(undefined)) return _close(inbound);
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.#upstreamPort });
    } catch {
      return _close(inbound);
    }
    const link = {
      from: undefined as string | undefined,
      close: () => {
        _close(inbound);
        _close(upstream);
        this.#open.delete(link);
      },
    };
    this.#open.add(link);
    // Server to connecting server: straight through (the INFO comes first).
    _pipe(upstream, inbound).catch(() => {}).finally(link.close);
    // Connecting server to server: hold bytes until its CONNECT line names its region.
    try {
      const head = await _readLine(inbound);
      link.from = _gatewayOf(head);
      if (this.#refuses(link.from)) return link.close();
      await _writeAll(upstream, head);
      await _pipe(inbound, upstream);
    } catch {
      // either side went away
    } finally {
      link.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const link of [...this.#open]) link.close();
    await Promise.resolve();
  }
}

/**
 * The proxies of a supercluster and the set of regions cut off. Created by
 * `startSupercluster(..., { cuttable: true })`.
 */
export class GatewayLinks implements AsyncDisposable {
  readonly #cut = new Set<string>();
  readonly #proxies: GatewayProxy[] = [];

  /** Starts a proxy for a node of `region` whose gateway listens on `upstreamPort`. */
  proxy(region: string, upstreamPort: number): GatewayProxy {
    const p = new GatewayProxy(region, upstreamPort, this.#cut);
    this.#proxies.push(p);
    return p;
  }

  /** Regions cut off now. */
  get cut(): ReadonlySet<string> {
    return this.#cut;
  }

  /** Cuts every gateway link between `region` and the other regions (both directions). */
  cutRegion(region: string): void {
    this.#cut.add(region);
    for (const p of this.#proxies) p.enforce();
  }

  /** Lets `region`'s links form again; the servers reconnect on their own (about 1 s). */
  healRegion(region: string): void {
    this.#cut.delete(region);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#proxies.map((p) => p[Symbol.asyncDispose]()));
  }
}

function _close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function _pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    const n = await from.read(buf);
    if (n === null) return;
    await _writeAll(to, buf.subarray(0, n));
  }
}

/** Reads up to and including the first CRLF (bounded: a gateway CONNECT is small). */
async function _readLine(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(4096);
  while (total < 64 * 1024) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed before CONNECT");
    chunks.push(buf.slice(0, n));
    total += n;
    if (buf.subarray(0, n).includes(0x0a)) break;
  }
  return concatBytes(chunks);
}

/** The `gateway` field of a `CONNECT {...}` line, if it is one. */
function _gatewayOf(head: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(head);
  const line = text.slice(0, text.indexOf("\n")).trim();
  if (!line.startsWith("CONNECT ")) return undefined;
  try {
    const info = JSON.parse(line.slice("CONNECT ".length)) as { gateway?: unknown };
    return typeof info.gateway === "string" ? info.gateway : undefined;
  } catch {
    return undefined;
  }
}
