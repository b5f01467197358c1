/**
 * Cuttable gateway links for fault tests: a TCP proxy in front of every node's gateway
 * port, so a test can cut one region off the supercluster and heal it again while every
 * process keeps running.
 *
 * Every region dials every other region's nodes through proxies of its own (one per
 * dialling region and node), so each proxy knows which region its links come from, even
 * when TLS hides what the servers say. Nodes advertise a dead address as their gateway
 * URL, so no link bypasses the proxies through gossip. Cutting region R then means: R's
 * proxies, and every proxy R dials through, refuse links; open ones are closed. Both
 * directions of every link between R and the rest go down, and nothing else does.
 *
 * @module
 */

/** A TCP proxy in front of one node's gateway port, able to refuse links by region. */
export class GatewayProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #upstreamPort: number;
  /** The region of the node behind this proxy. */
  readonly region: string;
  /** Regions whose links are refused (this node's own region: all of them). */
  readonly #cut: ReadonlySet<string>;
  /** The region whose nodes dial through this proxy. */
  readonly from: string;
  readonly #open = new Set<{ close: () => void }>();

  constructor(region: string, upstreamPort: number, cut: ReadonlySet<string>, from: string) {
    this.region = region;
    this.#upstreamPort = upstreamPort;
    this.#cut = cut;
    this.from = from;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accept().catch(() => {});
  }

  /** The port other gateways connect to (what the node advertises). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  #refuses(): boolean {
    return this.#cut.has(this.region) || this.#cut.has(this.from);
  }

  /** Closes the open links when the current cut set refuses them. */
  enforce(): void {
    if (!this.#refuses()) return;
    for (const link of [...this.#open]) link.close();
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) this.#serve(conn).catch(() => {});
  }

  async #serve(inbound: Deno.TcpConn): Promise<void> {
    if (this.#refuses()) return _close(inbound);
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.#upstreamPort });
    } catch {
      return _close(inbound);
    }
    const link = {
      close: () => {
        _close(inbound);
        _close(upstream);
        this.#open.delete(link);
      },
    };
    this.#open.add(link);
    // Bytes pass through untouched (TLS or not): the proxy knows who dials it.
    await Promise.all([
      _pipe(upstream, inbound).catch(() => {}),
      _pipe(inbound, upstream).catch(() => {}),
    ]).finally(link.close);
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

  /**
   * Starts a proxy through which the nodes of region `from` dial a node of `region` whose
   * gateway listens on `upstreamPort`.
   */
  proxy(region: string, upstreamPort: number, from: string): GatewayProxy {
    const p = new GatewayProxy(region, upstreamPort, this.#cut, from);
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
