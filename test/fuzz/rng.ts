// A small deterministic PRNG for the fuzzers (mulberry32): the same seed gives the same cases on
// every machine, and case `i` can be regenerated alone from (seed, i).

/** The run's seed: FUZZ_SEED from the environment, else a fixed default. */
export function fuzzSeed(fallback = 0x5eed_c0de): number {
  const env = process.env.FUZZ_SEED;
  if (env === undefined || env === "") return fallback >>> 0;
  const n = Number(env);
  if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${env}`);
  return n >>> 0;
}

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator for case `index` of a run seeded with `seed`. */
  static forCase(seed: number, index: number): Rng {
    // Mix the index in so neighbouring cases are unrelated.
    return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
  }

  /** A uniform u32. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** A random u64 as a bigint. */
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}
