// A deterministic DEFLATE encoder (RFC 1951): LZ77 with hash chains and lazy matching, dynamic
// Huffman blocks. zlib implementations differ in their output (Node bundles Chromium's zlib,
// distributions link the system one), so compressing with them would make the same module give
// different layer bytes, and so different image digests, on different machines. This encoder
// is plain integer arithmetic: the same input gives the same bytes everywhere, forever.

const WINDOW = 32768;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
const HASH_BITS = 15;
const MAX_CHAIN = 96;
/** A match this long is taken without looking further (zlib's nice_length). */
const NICE_MATCH = 128;
/** Symbols per block before a new block (each gets its own Huffman codes). */
const BLOCK_SYMBOLS = 32768;

// Length codes 257..285: base lengths and extra bits (RFC 1951 3.2.5).
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

const LENGTH_CODE = new Uint16Array(MAX_MATCH + 1); // length → code index 0..28
for (let c = 0; c < 29; c++) {
  const end = c === 28 ? MAX_MATCH : LENGTH_BASE[c + 1]! - 1;
  for (let l = LENGTH_BASE[c]!; l <= end; l++) LENGTH_CODE[l] = c;
}
LENGTH_CODE[MAX_MATCH] = 28; // 258 has its own code (285), not 284 + extra

function distCode(d: number): number {
  let lo = 0;
  let hi = 29;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (DIST_BASE[mid]! <= d) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

class BitWriter {
  private buf = new Uint8Array(1 << 16);
  private len = 0;
  private acc = 0;
  private bits = 0;

  /** Writes the low `n` bits of `value`, least significant first. */
  write(value: number, n: number): void {
    this.acc |= value << this.bits;
    this.bits += n;
    while (this.bits >= 8) {
      this.byte(this.acc & 0xff);
      this.acc >>>= 8;
      this.bits -= 8;
    }
  }

  private byte(b: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }

  finish(): Uint8Array {
    if (this.bits > 0) this.byte(this.acc & 0xff);
    this.acc = 0;
    this.bits = 0;
    return this.buf.slice(0, this.len);
  }
}

/**
 * Huffman code lengths for `freqs`, none longer than `maxBits`. Ties are broken by symbol, so
 * the result depends on the frequencies only. At least two symbols get a code (a complete code
 * every inflater accepts).
 */
export function codeLengths(freqs: ArrayLike<number>, maxBits: number): Uint8Array {
  const n = freqs.length;
  const f = Array.from(freqs, (x) => x);
  let used = f.filter((x) => x > 0).length;
  for (let s = 0; used < 2; s++) if (f[s] === 0) (f[s] = 1), used++;
  for (;;) {
    const lengths = huffmanLengths(f);
    let max = 0;
    for (const l of lengths) if (l > max) max = l;
    if (max <= maxBits) return lengths;
    // Too deep: flatten the distribution and try again (converges to a balanced code).
    for (let s = 0; s < n; s++) if (f[s]! > 0) f[s] = (f[s]! >> 1) | 1;
  }
}

function huffmanLengths(f: number[]): Uint8Array {
  const n = f.length;
  // Nodes: leaves 0..n-1, internal nodes after; a simple sorted-queue merge (two-queue method).
  const leaves: number[] = [];
  for (let s = 0; s < n; s++) if (f[s]! > 0) leaves.push(s);
  leaves.sort((a, b) => f[a]! - f[b]! || a - b);
  const weight: number[] = [...f];
  const parent = new Int32Array(n + leaves.length).fill(-1);
  const internal: number[] = [];
  let li = 0;
  let ii = 0;
  let next = n;
  const take = (): number => {
    if (li < leaves.length && (ii >= internal.length || weight[leaves[li]!]! <= weight[internal[ii]!]!)) return leaves[li++]!;
    return internal[ii++]!;
  };
  for (let k = 0; k < leaves.length - 1; k++) {
    const a = take();
    const b = take();
    const node = next++;
    weight[node] = weight[a]! + weight[b]!;
    parent[a] = node;
    parent[b] = node;
    internal.push(node);
  }
  const depth = new Int32Array(next);
  for (let node = next - 2; node >= 0; node--) if (parent[node]! >= 0) depth[node] = depth[parent[node]!]! + 1;
  const lengths = new Uint8Array(n);
  for (const s of leaves) lengths[s] = depth[s]!;
  return lengths;
}

/** Canonical codes (RFC 1951 3.2.2), bit-reversed for LSB-first writing. */
function canonicalCodes(lengths: Uint8Array): Uint16Array {
  const maxBits = Math.max(...lengths);
  const count = new Uint16Array(maxBits + 1);
  for (const l of lengths) if (l) count[l]!++;
  const nextCode = new Uint16Array(maxBits + 2);
  let code = 0;
  for (let bits = 1; bits <= maxBits; bits++) {
    code = (code + count[bits - 1]!) << 1;
    nextCode[bits] = code;
  }
  const codes = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s]!;
    if (!l) continue;
    let c = nextCode[l]!++;
    let r = 0;
    for (let i = 0; i < l; i++) {
      r = (r << 1) | (c & 1);
      c >>= 1;
    }
    codes[s] = r;
  }
  return codes;
}

// Symbols of one block: literal/length values with their extra data, packed in typed arrays.
interface BlockSymbols {
  /** Literal byte (0..255), or 256 + length code index for a match. */
  sym: Uint16Array;
  /** Match length (for matches). */
  len: Uint16Array;
  /** Match distance (for matches). */
  dist: Uint16Array;
  count: number;
}

function writeBlock(w: BitWriter, b: BlockSymbols, final: boolean): void {
  const litFreq = new Uint32Array(286);
  const distFreq = new Uint32Array(30);
  for (let i = 0; i < b.count; i++) {
    const s = b.sym[i]!;
    if (s < 256) litFreq[s]!++;
    else {
      litFreq[257 + LENGTH_CODE[b.len[i]!]!]!++;
      distFreq[distCode(b.dist[i]!)]!++;
    }
  }
  litFreq[256] = 1; // end of block
  const litLen = codeLengths(litFreq, 15);
  const distLen = codeLengths(distFreq, 15);
  let hlit = 286;
  while (hlit > 257 && litLen[hlit - 1] === 0) hlit--;
  let hdist = 30;
  while (hdist > 1 && distLen[hdist - 1] === 0) hdist--;

  // Run-length encode both length tables as one sequence (they may share runs).
  const all = [...litLen.subarray(0, hlit), ...distLen.subarray(0, hdist)];
  const rle: Array<[number, number]> = []; // [symbol, extra value]
  for (let i = 0; i < all.length; ) {
    const v = all[i]!;
    let run = 1;
    while (i + run < all.length && all[i + run] === v) run++;
    if (v === 0 && run >= 3) {
      const r = Math.min(run, 138);
      rle.push(r >= 11 ? [18, r - 11] : [17, r - 3]);
      i += r;
    } else if (v !== 0 && run >= 4) {
      rle.push([v, 0]);
      const r = Math.min(run - 1, 6);
      rle.push([16, r - 3]);
      i += 1 + r;
    } else {
      rle.push([v, 0]);
      i++;
    }
  }
  const clFreq = new Uint32Array(19);
  for (const [s] of rle) clFreq[s]!++;
  const clLen = codeLengths(clFreq, 7);
  const clCodes = canonicalCodes(clLen);
  let hclen = 19;
  while (hclen > 4 && clLen[CL_ORDER[hclen - 1]!] === 0) hclen--;

  w.write(final ? 1 : 0, 1);
  w.write(2, 2); // dynamic Huffman
  w.write(hlit - 257, 5);
  w.write(hdist - 1, 5);
  w.write(hclen - 4, 4);
  for (let i = 0; i < hclen; i++) w.write(clLen[CL_ORDER[i]!]!, 3);
  for (const [s, extra] of rle) {
    w.write(clCodes[s]!, clLen[s]!);
    if (s === 16) w.write(extra, 2);
    else if (s === 17) w.write(extra, 3);
    else if (s === 18) w.write(extra, 7);
  }
  const litCodes = canonicalCodes(litLen);
  const distCodes = canonicalCodes(distLen);
  for (let i = 0; i < b.count; i++) {
    const s = b.sym[i]!;
    if (s < 256) {
      w.write(litCodes[s]!, litLen[s]!);
      continue;
    }
    const length = b.len[i]!;
    const lc = LENGTH_CODE[length]!;
    w.write(litCodes[257 + lc]!, litLen[257 + lc]!);
    if (LENGTH_EXTRA[lc]) w.write(length - LENGTH_BASE[lc]!, LENGTH_EXTRA[lc]!);
    const d = b.dist[i]!;
    const dc = distCode(d);
    w.write(distCodes[dc]!, distLen[dc]!);
    if (DIST_EXTRA[dc]) w.write(d - DIST_BASE[dc]!, DIST_EXTRA[dc]!);
  }
  w.write(litCodes[256]!, litLen[256]!);
}

/** Raw DEFLATE of `data` (no zlib or gzip framing). */
export function deflateRaw(data: Uint8Array): Uint8Array {
  const w = new BitWriter();
  const n = data.length;
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const prev = new Int32Array(WINDOW).fill(-1);
  const hash = (i: number) => (((data[i]! << 10) ^ (data[i + 1]! << 5) ^ data[i + 2]!) & ((1 << HASH_BITS) - 1));
  const insert = (i: number) => {
    if (i + MIN_MATCH > n) return;
    const h = hash(i);
    prev[i & (WINDOW - 1)] = head[h]!;
    head[h] = i;
  };
  // Longest match for position i among earlier positions in the window.
  const longest = (i: number): [number, number] => {
    if (i + MIN_MATCH > n) return [0, 0];
    let best = 0;
    let bestDist = 0;
    const limit = Math.min(MAX_MATCH, n - i);
    let cand = head[hash(i)]!;
    for (let chain = 0; cand >= 0 && i - cand <= WINDOW && chain < MAX_CHAIN; chain++) {
      if (cand < i && data[cand + best] === data[i + best]) {
        let l = 0;
        while (l < limit && data[cand + l] === data[i + l]) l++;
        if (l > best) {
          best = l;
          bestDist = i - cand;
          if (l >= NICE_MATCH || l === limit) break;
        }
      }
      const p = prev[cand & (WINDOW - 1)]!;
      if (p >= cand) break; // the slot was reused by a newer position: the chain ends here
      cand = p;
    }
    return best >= MIN_MATCH ? [best, bestDist] : [0, 0];
  };

  let block: BlockSymbols = { sym: new Uint16Array(BLOCK_SYMBOLS), len: new Uint16Array(BLOCK_SYMBOLS), dist: new Uint16Array(BLOCK_SYMBOLS), count: 0 };
  const emit = (sym: number, len = 0, dist = 0) => {
    block.sym[block.count] = sym;
    block.len[block.count] = len;
    block.dist[block.count] = dist;
    if (++block.count === BLOCK_SYMBOLS) {
      writeBlock(w, block, false);
      block.count = 0;
    }
  };

  let i = 0;
  while (i < n) {
    let [len, dist] = longest(i);
    insert(i);
    // Lazy matching: a longer match one byte later wins over this one.
    while (len >= MIN_MATCH && len < NICE_MATCH && i + 1 < n) {
      const [len2, dist2] = longest(i + 1);
      if (len2 <= len) break;
      emit(data[i]!);
      i++;
      insert(i);
      len = len2;
      dist = dist2;
    }
    if (len >= MIN_MATCH) {
      emit(256, len, dist);
      for (let k = 1; k < len; k++) insert(i + k);
      i += len;
    } else {
      emit(data[i]!);
      i++;
    }
  }
  writeBlock(w, block, true);
  return w.finish();
}
