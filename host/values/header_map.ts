// A header (or trailer / metadata) map as Envoy keeps it (docs/envoy/http-stream.md, "Header
// maps"): ordered entries, keys lower-cased, repeated keys allowed, pseudo-headers (`:path`, …)
// always in front; Envoy's "inline" headers of a kind of map hold one entry that a repeat joins
// with ",". Keys and values are byte strings (latin1), so bytes pass through exactly.
import type { FlatPairs } from "../abi/pairs.js";

/** Names a kind of Envoy header map keeps as one entry (its O(1) "inline" headers). */
export type InlineHeaders = ReadonlySet<string>;

// Observed in Envoy 1.40 (test/differential/scenarios/http_headers.ts sends each name twice and
// logs what a plugin sees); hop-by-hop names, content-length and the pseudo-headers from Envoy's
// header_map.h lists.
/** Inline headers of request header maps (the codec joins repeats; so does proxy_add_header_map_value). */
export const REQUEST_HEADERS_INLINE: InlineHeaders = new Set([
  ":authority", ":method", ":path", ":protocol", ":scheme",
  "accept", "accept-encoding", "access-control-request-headers", "access-control-request-method", "authorization",
  "cache-control", "cdn-loop", "connection", "content-encoding", "content-length", "content-type", "expect",
  "grpc-accept-encoding", "grpc-timeout", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "keep-alive", "origin", "pragma", "proxy-connection", "proxy-status", "referer", "te",
  "transfer-encoding", "upgrade", "user-agent", "via", "x-client-trace-id", "x-envoy-attempt-count",
  "x-envoy-decorator-operation", "x-envoy-downstream-service-cluster", "x-envoy-downstream-service-node",
  "x-envoy-external-address", "x-envoy-is-timeout-retry", "x-envoy-original-path", "x-forwarded-for",
  "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto", "x-request-id",
]);

/** Inline headers of response header maps. */
export const RESPONSE_HEADERS_INLINE: InlineHeaders = new Set([
  ":status",
  "access-control-allow-credentials", "access-control-allow-headers", "access-control-allow-methods",
  "access-control-allow-origin", "access-control-expose-headers", "access-control-max-age", "age", "cache-control",
  "connection", "content-encoding", "content-length", "content-type", "date", "etag", "expires", "grpc-message",
  "grpc-status", "keep-alive", "last-modified", "location", "proxy-connection", "proxy-status", "server",
  "transfer-encoding", "upgrade", "vary", "via", "x-envoy-attempt-count", "x-envoy-decorator-operation",
  "x-envoy-degraded", "x-envoy-immediate-health-check-fail", "x-envoy-ratelimited", "x-envoy-upstream-canary",
  "x-envoy-upstream-healthchecked-cluster", "x-envoy-upstream-service-time", "x-request-id",
]);

/** Inline headers of response trailer maps (request trailer maps have none). */
export const RESPONSE_TRAILERS_INLINE: InlineHeaders = new Set(["grpc-message", "grpc-status"]);

/** Request trailer maps: no inline headers. */
export const REQUEST_TRAILERS_INLINE: InlineHeaders = new Set();

const COLON = 58;

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

/**
 * An ordered, case-insensitive multimap of headers with Envoy's HeaderMapImpl rules: pseudo-headers
 * stay in front, and the map's inline headers (if it has a kind) keep one entry each.
 */
export class HeaderMap {
  /** Flat [key0, value0, key1, value1, …]; keys lower-case. */
  pairs: FlatPairs;
  /**
   * The inline headers of this kind of map (request headers, response headers, …); undefined for a
   * plain list (metadata, test input before it enters a stream).
   */
  inline: InlineHeaders | undefined;
  // Where add() last found an inline header and last inserted a pseudo-header (checked before use:
  // `pairs` may change under them).
  private inlineHint = 0;
  private pseudoHint = 0;

  /** A map holding `pairs` as they are (keys already lower-case, pseudo-headers already in front). */
  constructor(pairs: FlatPairs = [], inline?: InlineHeaders) {
    this.pairs = pairs;
    this.inline = inline;
  }

  /** Builds a map from user input, lower-casing keys. Values are taken as byte strings. */
  static from(init?: HeadersInit | HeaderMap, inline?: InlineHeaders): HeaderMap {
    if (init instanceof HeaderMap) return new HeaderMap(init.pairs.slice(), inline ?? init.inline);
    const m = new HeaderMap([], inline);
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

  // The entry `key` names: Envoy looks up the legacy `host` as `:authority` in request headers.
  private keyOf(key: string): string {
    const k = lowerKey(key);
    return k === "host" && this.inline === REQUEST_HEADERS_INLINE ? ":authority" : k;
  }

  /** First value of `key`, or undefined. */
  get(key: string): string | undefined {
    const k = this.keyOf(key);
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === k) return p[i + 1];
    return undefined;
  }

  /** Every value of `key`, in order. */
  getAll(key: string): string[] {
    const k = this.keyOf(key);
    const out: string[] = [];
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === k) out.push(p[i + 1]!);
    return out;
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Envoy's addCopy: appends an entry (a pseudo-header after the last pseudo-header); an inline
   * header already present gets `,value` appended to its entry instead (nothing for an empty value).
   */
  add(key: string, value: string): void {
    const k = this.keyOf(key);
    const p = this.pairs;
    if (this.inline?.has(k)) {
      const i = this.inlineEntry(k);
      if (i >= 0) {
        if (value !== "") p[i + 1] = p[i + 1] === "" ? value : `${p[i + 1]},${value}`;
        return;
      }
    }
    if (k.charCodeAt(0) === COLON) {
      const i = this.pseudoEnd();
      this.pseudoHint = i + 2;
      if (i < p.length) {
        p.splice(i, 0, k, value);
        return;
      }
    }
    p.push(k, value);
  }

  // Where a map of a kind keeps inline header `k` (one entry), or -1. The last answer is kept and
  // checked, so a plugin adding one header thousands of times costs linear time, not quadratic.
  private inlineEntry(k: string): number {
    const p = this.pairs;
    const hint = this.inlineHint;
    if (hint < p.length && p[hint] === k) return hint;
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === k) {
        this.inlineHint = i;
        return i;
      }
    }
    return -1;
  }

  // The index after the last pseudo-header (they are in front). The last answer is kept and
  // checked — the entry before it a pseudo-header, the one at it not — so adding many
  // pseudo-headers does not rescan them each time.
  private pseudoEnd(): number {
    const p = this.pairs;
    const hint = this.pseudoHint;
    const isPseudo = (i: number) => p[i]!.charCodeAt(0) === COLON;
    if (hint <= p.length && (hint === 0 || isPseudo(hint - 2)) && (hint === p.length || !isPseudo(hint))) return hint;
    let i = 0;
    while (i < p.length && isPseudo(i)) i += 2;
    return i;
  }

  /**
   * Makes `value` the only value of `key`, in place of the first entry (adds when absent): how
   * Envoy itself sets its inline headers (`:status`, content-length, …). One pass over the map.
   */
  set(key: string, value: string): void {
    const k = this.keyOf(key);
    const p = this.pairs;
    let found = false;
    let to = 0;
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === k) {
        if (found) continue;
        found = true;
        p[i + 1] = value;
      }
      if (to !== i) {
        p[to] = p[i]!;
        p[to + 1] = p[i + 1]!;
      }
      to += 2;
    }
    p.length = to;
    if (!found) this.add(k, value);
  }

  /** Envoy's setCopy (proxy_replace_header_map_value): removes every `key`, then adds it at the end. */
  replace(key: string, value: string): void {
    this.remove(key);
    this.add(key, value);
  }

  /** Removes every entry of `key`, in one pass. */
  remove(key: string): void {
    const k = this.keyOf(key);
    const p = this.pairs;
    let to = 0;
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === k) continue;
      if (to !== i) {
        p[to] = p[i]!;
        p[to + 1] = p[i + 1]!;
      }
      to += 2;
    }
    p.length = to;
  }

  /** Removes every entry whose key is in `keys` (lower-case), in one pass. */
  removeEach(keys: ReadonlySet<string>): void {
    const p = this.pairs;
    let to = 0;
    for (let i = 0; i < p.length; i += 2) {
      if (keys.has(p[i]!)) continue;
      if (to !== i) {
        p[to] = p[i]!;
        p[to + 1] = p[i + 1]!;
      }
      to += 2;
    }
    p.length = to;
  }

  /** Replaces every entry (proxy_set_header_map_pairs: Envoy removes all, then adds each pair). */
  replaceAll(pairs: FlatPairs): void {
    this.pairs = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) this.add(pairs[i]!, pairs[i + 1]!);
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

  /** A copy (of the same kind). */
  clone(): HeaderMap {
    return new HeaderMap(this.pairs.slice(), this.inline);
  }
}
