// Mutations of valid wasm modules for the load fuzzer. Blind byte edits mostly produce modules the
// parser refuses at once, so half of the mutations aim inside one section (its payload, its size,
// its order) to reach the deeper paths: import and export checks, the memory-cap rewriter,
// instantiation and the callbacks.
import type { Rng } from "./rng.js";

interface Section {
  id: number;
  /** Offset of the id byte. */
  start: number;
  /** Offset of the payload. */
  payload: number;
  /** Offset just past the payload. */
  end: number;
}

// Top-level sections of a well-formed module (stops at the first malformed one).
function sections(b: Uint8Array): Section[] {
  const out: Section[] = [];
  let p = 8;
  while (p < b.length) {
    const start = p;
    const id = b[p++]!;
    let size = 0;
    let shift = 0;
    for (;;) {
      if (p >= b.length || shift > 28) return out;
      const byte = b[p++]!;
      size |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
      shift += 7;
    }
    size >>>= 0;
    if (p + size > b.length) return out;
    out.push({ id, start, payload: p, end: p + size });
    p += size;
  }
  return out;
}

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0x40, 0x41, 0x0b, 0x10, 0x20, 0x60, 0x7e];

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

// LEB128 (unsigned) of n.
function leb(n: number): Uint8Array {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return Uint8Array.from(out);
}

/** Names of the mutation operators, for the run summary. */
export const MUTATIONS = [
  "flip bits", "interesting byte", "random bytes", "insert bytes", "delete bytes", "truncate",
  "duplicate chunk", "section payload", "section size", "swap sections", "duplicate section", "drop section",
  "header byte",
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutated copy of `seed`, and the operator used. */
export function mutate(seed: Uint8Array, rng: Rng): { bytes: Uint8Array; mutation: Mutation } {
  const b = Uint8Array.from(seed);
  const body = () => 8 + rng.int(Math.max(1, b.length - 8));
  const secs = sections(b);
  const sec = secs.length ? rng.pick(secs) : undefined;
  // Header mutations are rare: they only exercise the first check.
  // Payload edits most often: they keep the module's structure and so reach the later stages.
  const mutation: Mutation = rng.chance(0.01) ? "header byte" : rng.chance(0.3) ? "section payload" : rng.pick(MUTATIONS.slice(0, -1));
  switch (mutation) {
    case "flip bits": {
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; i++) b[body()] ^= 1 << rng.int(8);
      return { bytes: b, mutation };
    }
    case "interesting byte":
      b[body()] = rng.pick(INTERESTING);
      return { bytes: b, mutation };
    case "random bytes": {
      const at = body();
      b.set(rng.bytes(Math.min(1 + rng.int(8), b.length - at)), at);
      return { bytes: b, mutation };
    }
    case "insert bytes": {
      const at = body();
      return { bytes: concat(b.subarray(0, at), rng.bytes(1 + rng.int(4)), b.subarray(at)), mutation };
    }
    case "delete bytes": {
      const at = body();
      return { bytes: concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(8)))), mutation };
    }
    case "truncate":
      return { bytes: b.subarray(0, body()), mutation };
    case "duplicate chunk": {
      const at = body();
      const chunk = b.subarray(at, Math.min(b.length, at + 1 + rng.int(32)));
      return { bytes: concat(b.subarray(0, at), chunk, b.subarray(at)), mutation };
    }
    case "section payload": {
      if (!sec || sec.end === sec.payload) return { bytes: b, mutation };
      const n = 1 + rng.int(3);
      for (let i = 0; i < n; i++) {
        const at = sec.payload + rng.int(sec.end - sec.payload);
        b[at] = rng.chance(0.5) ? rng.pick(INTERESTING) : b[at]! ^ (1 << rng.int(8));
      }
      return { bytes: b, mutation };
    }
    case "section size": {
      if (!sec) return { bytes: b, mutation };
      const size = sec.end - sec.payload;
      const next = Math.max(0, size + rng.pick([-2, -1, 1, 2, 0x100, -size]));
      return { bytes: concat(b.subarray(0, sec.start + 1), leb(next), b.subarray(sec.payload)), mutation };
    }
    case "swap sections": {
      if (secs.length < 2) return { bytes: b, mutation };
      const i = rng.int(secs.length - 1);
      const [x, y] = [secs[i]!, secs[i + 1]!];
      return { bytes: concat(b.subarray(0, x.start), b.subarray(y.start, y.end), b.subarray(x.start, x.end), b.subarray(y.end)), mutation };
    }
    case "duplicate section": {
      if (!sec) return { bytes: b, mutation };
      return { bytes: concat(b.subarray(0, sec.end), b.subarray(sec.start, sec.end), b.subarray(sec.end)), mutation };
    }
    case "drop section": {
      if (!sec) return { bytes: b, mutation };
      return { bytes: concat(b.subarray(0, sec.start), b.subarray(sec.end)), mutation };
    }
    case "header byte":
      b[rng.int(8)] ^= 1 << rng.int(8);
      return { bytes: b, mutation };
  }
}
