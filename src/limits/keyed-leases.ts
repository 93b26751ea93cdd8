/**
 * Counts of something each caller holds at once (held requests, large uploads, webhook deliveries), with
 * a cap per key. A
 * lease is released at most once however often its release is called, and a key that holds nothing has no
 * entry, so the map stays as large as the keys holding something now.
 */

/** One held thing; `release` may be called any number of times, and counts once. */
export interface Lease {
  release(): void;
}

export class KeyedLeases {
  readonly #held = new Map<string, number>();

  /** @param max what one key may hold at once; 0: no cap (still counted) */
  constructor(readonly max: number) {}

  /** A lease for one more of `key`, or undefined when `key` already holds `max`. */
  tryAcquire(key: string): Lease | undefined {
    const held = this.#held.get(key) ?? 0;
    if (this.max > 0 && held >= this.max) return undefined;
    this.#held.set(key, held + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#held.get(key) ?? 1) - 1;
        if (left > 0) this.#held.set(key, left);
        else this.#held.delete(key);
      },
    };
  }

  /** What `key` holds now. */
  count(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  /** What is held now, all keys together. */
  get total(): number {
    let sum = 0;
    for (const n of this.#held.values()) sum += n;
    return sum;
  }
}
