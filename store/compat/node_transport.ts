/**
 * Guards `@nats-io/transport-node` 3.4's `NodeTransport` (on Deno) against two faults that a
 * reconnect storm turns fatal. Invariants once {@linkcode guardNodeTransport} has run:
 * every socket the transport dials keeps an `error` listener for its whole life (an error
 * never becomes uncaught and kills the process), and a connect attempt the client abandons
 * (connect timeout, or the connection closed while dialing) destroys its socket at once.
 *
 * Upstream, 3.4.0 (node_transport.js):
 * - `dial()`, `peekInfo()`, `_closed()` and `discard()` call `socket.removeAllListeners()`;
 *   an error the socket emits after that ("write after end" when the server closes a socket
 *   the client is writing to) has no listener and is thrown out of the event loop.
 * - the connect timeout (nats-core protocol.js `dial`: `Promise.race` with a timer) calls
 *   `transport.close()`, whose `_closed()` does nothing unless the transport had connected:
 *   a socket still dialing (SYN-SENT while the server's backlog is full) or waiting for INFO
 *   lives on until the kernel gives up or the next attempt's `discard()`, and after
 *   `nc.close()` nothing discards it at all. Under 10 000 reconnecting agents these held
 *   the machine's ephemeral ports (nats-io/nats.js#64, "Timed out connections leak a
 *   socket/connection handle"; nats.js#76 added the `done` checks but not this path).
 *
 * The patch is on the prototype, so it covers every connection in the process, whatever
 * `connect` created it. It can go when the client keeps its own listeners and destroys an
 * abandoned attempt's socket (re-run store/compat/node_transport_test.ts and the storm row).
 *
 * @module
 */
import { createConnection, type Socket } from "node:net";
import { NodeTransport } from "@nats-io/transport-node/lib/node_transport.js";

const GUARDED = Symbol("atlas.guarded");
const DIALING = Symbol("atlas.dialing");

/** Socket errors the guard kept from becoming uncaught, by `code` (or name). */
export const transportErrors: Map<string, number> = new Map();

function _swallow(err: unknown): void {
  const e = err as { code?: string; name?: string } | undefined;
  const kind = e?.code ?? e?.name ?? "unknown";
  transportErrors.set(kind, (transportErrors.get(kind) ?? 0) + 1);
}

/**
 * Keeps an `error` listener on `socket` for good: `removeAllListeners()` (all, or of
 * `error`) puts it back. Returns the socket.
 */
export function guardSocket(socket: Socket): Socket {
  const s = socket as Socket & { [GUARDED]?: true };
  if (s[GUARDED]) return socket;
  s[GUARDED] = true;
  const removeAll = socket.removeAllListeners.bind(socket);
  socket.removeAllListeners = ((event?: string | symbol) => {
    const r = event === undefined ? removeAll() : removeAll(event);
    if (event === undefined || event === "error") socket.on("error", _swallow);
    return r;
  }) as Socket["removeAllListeners"];
  socket.on("error", _swallow);
  return socket;
}

interface TransportInternals {
  socket?: Socket;
  done: boolean;
  connected: boolean;
  [DIALING]?: Socket | undefined;
  dial(hp: { hostname: string; port: number }): Promise<Socket>;
  tlsFirst(hp: unknown): Promise<Socket>;
  startTLS(): Promise<Socket>;
  discard(): void;
  _closed(err?: Error, internal?: boolean): Promise<void>;
}

let _installed = false;

/**
 * Patches `NodeTransport` once per process (later calls do nothing). `connectAtlas` calls it;
 * call it before any other `connect` from `@nats-io/transport-node`.
 */
export function guardNodeTransport(): void {
  if (_installed) return;
  _installed = true;
  const proto = NodeTransport.prototype as unknown as TransportInternals;
  const { tlsFirst, startTLS, discard, _closed } = proto;

  // The upstream dial, with the socket guarded from its creation and known to `discard`.
  proto.dial = function (this: TransportInternals, hp) {
    return new Promise<Socket>((resolve, reject) => {
      let dialError: Error | undefined;
      const socket = guardSocket(createConnection(hp.port, hp.hostname, () => {
        this[DIALING] = undefined;
        socket.removeAllListeners();
        if (this.done) {
          socket.destroy();
          reject(new Error("connect attempt abandoned"));
        } else resolve(socket);
      }));
      this[DIALING] = socket;
      socket.on("error", (err: Error) => (dialError = err));
      socket.on("close", () => {
        this[DIALING] = undefined;
        socket.removeAllListeners();
        reject(dialError);
      });
      socket.setNoDelay(true);
    });
  };
  proto.tlsFirst = function (this: TransportInternals, hp) {
    return tlsFirst.call(this, hp).then(guardSocket);
  };
  proto.startTLS = function (this: TransportInternals) {
    return startTLS.call(this).then(guardSocket);
  };
  proto.discard = function (this: TransportInternals) {
    const dialing = this[DIALING];
    this[DIALING] = undefined;
    discard.call(this);
    dialing?.destroy();
  };
  // An attempt that never connected is abandoned: destroy its socket, dialing or not.
  proto._closed = function (this: TransportInternals, err, internal) {
    if (!this.connected) {
      this.discard();
      return Promise.resolve();
    }
    return _closed.call(this, err, internal);
  };
}

/**
 * The last line of defence, for a process whose work is its NATS connection (the agent):
 * an uncaught `ERR_STREAM_WRITE_AFTER_END` (the "write after end" above, should a socket
 * the guard has not seen throw it) is counted in {@linkcode transportErrors} and reported
 * to `onError` instead of ending the process; any other uncaught error still does.
 * Returns a function that removes the handler.
 */
export function keepAliveOnTransportErrors(onError: (error: Error) => void): () => void {
  const handler = (event: ErrorEvent) => {
    const error = event.error as { code?: unknown } | undefined;
    if (error?.code !== "ERR_STREAM_WRITE_AFTER_END") return;
    event.preventDefault();
    _swallow(error);
    onError(error as Error);
  };
  globalThis.addEventListener("error", handler);
  return () => globalThis.removeEventListener("error", handler);
}
