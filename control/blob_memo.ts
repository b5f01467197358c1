/**
 * A small in-memory memo of recently published content, by digest. Content is immutable
 * and verified before it is remembered, so a hit is always right; activation uses it to
 * inline content without an Object Store read (each of which creates a consumer).
 *
 * @module
 */

/** Least-recently-used byte memo bounded by total size. */
export class BlobMemo {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The bytes of `digest`, if remembered. */
  get(digest: string): Uint8Array | undefined {
    const bytes = this.#entries.get(digest);
    if (bytes) {
      this.#entries.delete(digest);
      this.#entries.set(digest, bytes);
    }
    return bytes;
  }

  /** Remembers verified bytes; evicts the least recently used beyond the bound. */
  set(digest: string, bytes: Uint8Array): void {
    if (bytes.byteLength > this.#maxBytes) return;
    const old = this.#entries.get(digest);
    if (old) this.#bytes -= old.byteLength;
    this.#entries.delete(digest);
    this.#entries.set(digest, bytes);
    this.#bytes += bytes.byteLength;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.byteLength;
    }
  }
}
