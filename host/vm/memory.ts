// Bounds-checked access to a guest's linear memory. Pointers and sizes from the guest are u32;
// an access outside memory throws GuestMemoryFault, which host functions turn into
// INVALID_MEMORY_ACCESS (or WASI FAULT) instead of a host exception.
import { GuestMemoryFault } from "./errors.js";

export class GuestMemory {
  private buf: Buffer;

  constructor(readonly memory: WebAssembly.Memory) {
    this.buf = Buffer.from(memory.buffer);
  }

  /** The current bytes of memory. memory.grow detaches the old buffer, so re-view after a grow. */
  get bytes(): Buffer {
    if (this.buf.length === 0) this.buf = Buffer.from(this.memory.buffer);
    return this.buf;
  }

  /** Current size in bytes. */
  get size(): number {
    return this.memory.buffer.byteLength;
  }

  /** Throws GuestMemoryFault unless [ptr, ptr+len) lies inside memory. Returns the view. */
  check(ptr: number, len: number): Buffer {
    const b = this.bytes;
    // Guest values arrive as signed i32: reinterpret as u32.
    ptr >>>= 0;
    len >>>= 0;
    if (ptr + len > b.length) throw new GuestMemoryFault(ptr, len);
    return b;
  }

  /** A copy of the bytes at [ptr, ptr+len). */
  copy(ptr: number, len: number): Buffer {
    ptr >>>= 0;
    len >>>= 0;
    const b = this.check(ptr, len);
    return Buffer.from(b.subarray(ptr, ptr + len));
  }

  /** The bytes at [ptr, ptr+len) as a byte string (latin1: one char per byte). */
  latin1(ptr: number, len: number): string {
    ptr >>>= 0;
    len >>>= 0;
    const b = this.check(ptr, len);
    // Header names and values are mostly short: a JS loop beats the call into Buffer's C++ decoder
    // (up to 12 characters, where V8 still builds flat strings rather than ropes).
    if (len <= 12) {
      let s = "";
      for (let i = ptr; i < ptr + len; i++) s += String.fromCharCode(b[i]!);
      return s;
    }
    return b.toString("latin1", ptr, ptr + len);
  }

  /** The bytes at [ptr, ptr+len) decoded as UTF-8. */
  utf8(ptr: number, len: number): string {
    ptr >>>= 0;
    len >>>= 0;
    return this.check(ptr, len).toString("utf8", ptr, ptr + len);
  }

  u32(ptr: number): number {
    ptr >>>= 0;
    return this.check(ptr, 4).readUInt32LE(ptr);
  }

  setU32(ptr: number, value: number): void {
    ptr >>>= 0;
    this.check(ptr, 4).writeUInt32LE(value >>> 0, ptr);
  }

  setU64(ptr: number, value: bigint): void {
    ptr >>>= 0;
    this.check(ptr, 8).writeBigUInt64LE(BigInt.asUintN(64, value), ptr);
  }

  /** Copies `data` (bytes, or a latin1 byte string) to `ptr`. */
  write(ptr: number, data: Uint8Array | string): void {
    ptr >>>= 0;
    const len = typeof data === "string" ? data.length : data.length;
    const b = this.check(ptr, len);
    if (typeof data === "string") b.write(data, ptr, "latin1");
    else b.set(data, ptr);
  }
}
