// A header (or trailer / metadata) map as Envoy keeps it: ordered entries, keys lower-cased,
// repeated keys allowed. Keys and values are byte strings (latin1), so bytes pass through exactly.
import type { FlatPairs } from "../abi/pairs.js";

/**
 * Lower-cases the ASCII letters of a byte-string key, as Envoy does; other bytes stay as they are
 * (JavaScript's toLowerCase would also change latin1 letters such as 0xC0, corrupting UTF-8).
 */
export function lowerKey(key: string): string {
  let upper = false;
  let wide = false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 65 && c <= 90) upper = true;
    else if (c > 127) wide = true;
  }
  if (!upper) return key;
  return wide ? key.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : key.toLowerCase();
}

/** Header input accepted by the host's APIs: an object, a list of pairs, or a Headers-like map. */
export type HeadersInit = Record<string, string | string[]> | Iterable<readonly [string, string]>;

/** An ordered, case-insensitive multimap of headers. */
export class HeaderMap {
  /** Flat [key0, value0, key1, value1, …]; keys lower-case. */
  pairs: FlatPairs;

  constructor(pairs: FlatPairs = []) {
    this.pairs = pairs;
  }

  /** Builds a map from user input, lower-casing keys. Values are taken as byte strings. */
  static from(init?: HeadersInit | HeaderMap): HeaderMap {
    if (init instanceof HeaderMap) return new HeaderMap(init.pairs.slice());
    const m = new HeaderMap();
    if (!init) return m;
    if (Symbol.iterator in init) {
      for (const [k, v] of init as Iterable<readonly [string, string]>) m.add(k, v);
    } else {
      for (const [k, v] of Object.entries(init)) {
        if (Array.isArray(v)) for (const x of v) m.add(k, x);
        else m.add(k, v);
      }
    }
    return m;
  }

  /** Number of entries. */
  get count(): number {
    return this.pairs.length >>> 1;
  }

  /** First value of `key`, or undefined. */
  get(key: string): string | undefined {
    const k = lowerKey(key);
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === k) return p[i + 1];
    return undefined;
  }

  /** Every value of `key`, in order. */
  getAll(key: string): string[] {
    const k = lowerKey(key);
    const out: string[] = [];
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === k) out.push(p[i + 1]!);
    return out;
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Appends an entry. */
  add(key: string, value: string): void {
    this.pairs.push(lowerKey(key), value);
  }

  /** Makes `value` the only value of `key` (in place of the first entry; adds when absent). */
  set(key: string, value: string): void {
    const k = lowerKey(key);
    const p = this.pairs;
    let found = -1;
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] !== k) continue;
      if (found < 0) {
        found = i;
        p[i + 1] = value;
      } else {
        p.splice(i, 2);
        i -= 2;
      }
    }
    if (found < 0) p.push(k, value);
  }

  /** Removes every entry of `key`. */
  remove(key: string): void {
    const k = lowerKey(key);
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === k) {
        p.splice(i, 2);
        i -= 2;
      }
    }
  }

  /** Replaces every entry (keys lower-cased). */
  replaceAll(pairs: FlatPairs): void {
    for (let i = 0; i < pairs.length; i += 2) pairs[i] = lowerKey(pairs[i]!);
    this.pairs = pairs;
  }

  /** Envoy's "byte size": the sum of key and value lengths. */
  byteSize(): number {
    let n = 0;
    for (const s of this.pairs) n += s.length;
    return n;
  }

  /** Entries as [key, value] tuples. */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.pairs.length; i += 2) out.push([this.pairs[i]!, this.pairs[i + 1]!]);
    return out;
  }

  /** A plain object; repeated keys are joined with ", " as HTTP/1.1 would. */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (let i = 0; i < this.pairs.length; i += 2) {
      const k = this.pairs[i]!;
      const v = this.pairs[i + 1]!;
      out[k] = k in out ? `${out[k]}, ${v}` : v;
    }
    return out;
  }

  /** A copy. */
  clone(): HeaderMap {
    return new HeaderMap(this.pairs.slice());
  }
}
