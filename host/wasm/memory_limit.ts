// Envoy caps a VM's linear memory (1 GiB by default): memory.grow beyond the cap fails (returns -1)
// and the module's allocator then traps. Node's WebAssembly has no per-instance limit, so the host
// rewrites the module's memory declaration to carry the cap as its maximum before compiling it.
// Growing the section shifts every later byte, so the rewrite reports where and by how much:
// trap offsets (which V8 reports in the rewritten module) are mapped back for backtraces.
import { WasmFormatError } from "./binary.js";

/** 64 KiB wasm pages. */
export const WASM_PAGE_BYTES = 65536;

/** A module whose memory carries the cap, and how its byte offsets moved. */
export interface CappedModule {
  bytes: Uint8Array;
  /** Offsets at or after this position (in the original module) moved by `shift` bytes. */
  shiftFrom: number;
  shift: number;
  /** The module's initial memory in bytes (for the load-time check). */
  initialBytes: number;
}

export function readLeb(bytes: Uint8Array, pos: number): { value: number; next: number } {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const b = bytes[pos + i];
    if (b === undefined) throw new WasmFormatError(`unexpected end of module at byte ${pos + i}`);
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
    mul *= 128;
  }
  throw new WasmFormatError(`malformed LEB128 at byte ${pos}`);
}

export function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

/**
 * Returns the module with its (first) defined memory's maximum lowered to `limitBytes`, or the
 * module unchanged when it defines no memory or already declares a smaller maximum.
 */
export function capModuleMemory(bytes: Uint8Array, limitBytes: number): CappedModule {
  const maxPages = Math.floor(limitBytes / WASM_PAGE_BYTES);
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos]!;
    const { value: size, next: contentStart } = readLeb(bytes, pos + 1);
    const end = contentStart + size;
    if (id !== 5) {
      pos = end;
      continue;
    }
    // Memory section: vec(memtype); memtype = flags, min, [max] (flags bit 0: max present).
    let p = contentStart;
    const count = readLeb(bytes, p);
    p = count.next;
    const out: number[] = [...leb(count.value)];
    let initialBytes = 0;
    let changed = false;
    for (let i = 0; i < count.value; i++) {
      const flags = bytes[p]!;
      const min = readLeb(bytes, p + 1);
      p = min.next;
      let max: number | undefined;
      if (flags & 1) {
        const m = readLeb(bytes, p);
        max = m.value;
        p = m.next;
      }
      // memory64 modules (flag 4) are not Proxy-Wasm modules; leave them for the runtime to refuse.
      if (i === 0) initialBytes = min.value * WASM_PAGE_BYTES;
      if (i === 0 && !(flags & 4) && (max === undefined || max > maxPages)) {
        out.push(flags | 1, ...leb(min.value), ...leb(Math.max(maxPages, 0)));
        changed = true;
      } else {
        out.push(flags, ...leb(min.value), ...(max !== undefined ? leb(max) : []));
      }
    }
    if (!changed) return { bytes, shiftFrom: bytes.length, shift: 0, initialBytes };
    const header = [5, ...leb(out.length)];
    const rewritten = new Uint8Array(bytes.length - (end - pos) + header.length + out.length);
    rewritten.set(bytes.subarray(0, pos), 0);
    rewritten.set(header, pos);
    rewritten.set(out, pos + header.length);
    rewritten.set(bytes.subarray(end), pos + header.length + out.length);
    return { bytes: rewritten, shiftFrom: end, shift: rewritten.length - bytes.length, initialBytes };
  }
  return { bytes, shiftFrom: bytes.length, shift: 0, initialBytes: 0 };
}
