// Memory that crosses the ABI: the allocator the host calls, the out-slots host calls write their
// results to, and a staging area for the strings a plugin hands to the host.
import { decodeUtf8, emptyBuffer, encodeUtf8, setObjectSize } from "./utf8";

// ASC_RUNTIME values (std/assembly/shared/runtime.ts): Stub 0, Minimal 1, Incremental 2.
// The incremental collector may run inside any allocation, so a buffer the host filled must be
// pinned until the SDK adopts it. The minimal runtime collects only when the SDK says so (at the
// end of a callback, when every buffer has been adopted or dropped), so it needs no pins — and a
// buffer a plugin never adopts is simply garbage.
// @ts-ignore: decorator
@inline const PIN_HOST_BUFFERS: bool = ASC_RUNTIME == 2;

/**
 * The allocator the host calls for every buffer it hands to the plugin (exported as both
 * `proxy_on_memory_allocate` and `malloc`): a new `ArrayBuffer`, adopted by the SDK with
 * {@link takeBuffer} / {@link takeString}. Size 0 still returns a real object: some hosts ask for it.
 */
export function allocate(size: usize): usize {
  const ptr = __new(size, idof<ArrayBuffer>());
  return PIN_HOST_BUFFERS ? __pin(ptr) : ptr;
}

// Ends the host's hold on a buffer it returned.
// @ts-ignore: decorator
@inline function release(ptr: usize): void {
  if (PIN_HOST_BUFFERS) __unpin(ptr);
}

/** Bytes handed over by the host since the last collection (used to pace collections). */
export let hostBytesSinceCollect: usize = 0;

/** Resets the counter above; called by the dispatcher after a collection. */
export function resetHostBytes(): void {
  hostBytesSinceCollect = 0;
}

// Out-slots: fixed static memory the host writes (ptr, size) or scalar results into. Static data
// instead of a heap object keeps host calls allocation-free.
/** Out-slot for a returned pointer (or a u32/u64 scalar). */
export const OUT_PTR: usize = memory.data(16);
/** Out-slot for a returned size. */
export const OUT_LEN: usize = memory.data(8);
/** Third out-slot (CAS values, flags). */
export const OUT_AUX: usize = memory.data(8);

/**
 * Adopts the buffer the last host call returned through OUT_PTR/OUT_LEN. Returns an empty buffer
 * when the host returned nothing (ptr 0).
 */
export function takeBuffer(): ArrayBuffer {
  const ptr = load<usize>(OUT_PTR);
  const len = load<usize>(OUT_LEN);
  if (ptr == 0) return emptyBuffer();
  hostBytesSinceCollect += len;
  const buf = changetype<ArrayBuffer>(ptr);
  release(ptr);
  // A host may hand back a smaller length than it allocated; never expose the slack.
  if (len < <usize>buf.byteLength) setObjectSize(ptr, len);
  return buf;
}

/** Adopts the last returned buffer as UTF-8 text. */
export function takeString(): string {
  const ptr = load<usize>(OUT_PTR);
  const len = load<usize>(OUT_LEN);
  if (ptr == 0) return "";
  hostBytesSinceCollect += len;
  const s = decodeUtf8(ptr, len);
  release(ptr);
  return s;
}

/** Releases the last returned buffer without reading it. */
export function dropBuffer(): void {
  const ptr = load<usize>(OUT_PTR);
  if (ptr != 0) {
    hostBytesSinceCollect += load<usize>(OUT_LEN);
    release(ptr);
  }
}

// Staging: two slots of UTF-8 bytes for the strings of one host call (a key and a value). Strings
// that fit are encoded into static memory, so add/replace/get of a header allocates nothing.
const STAGE_SLOT_SIZE: usize = 2048;
const STAGE: usize = memory.data(<i32>(STAGE_SLOT_SIZE * 2));
// Keeps a large encoding alive until the host call that needs it is over: until the next spill
// into the same slot, or the end of the callback (releaseStaged).
let stageSpill0: ArrayBuffer | null = null;
let stageSpill1: ArrayBuffer | null = null;

/** Length in bytes of the string last staged in slot 0. */
export let stagedLen0: usize = 0;
/** Length in bytes of the string last staged in slot 1. */
export let stagedLen1: usize = 0;

/** Encodes `s` as UTF-8 into staging slot 0; returns its address (length in `stagedLen0`). */
export function stage0(s: string): usize {
  const dest = stageDest(s, STAGE, 0);
  stagedLen0 = encodeUtf8(changetype<usize>(s), <usize>s.length, dest);
  return dest;
}

/** Encodes `s` as UTF-8 into staging slot 1; returns its address (length in `stagedLen1`). */
export function stage1(s: string): usize {
  const dest = stageDest(s, STAGE + STAGE_SLOT_SIZE, 1);
  stagedLen1 = encodeUtf8(changetype<usize>(s), <usize>s.length, dest);
  return dest;
}

// Where to encode `s`: the static slot when the worst case (3 bytes per UTF-16 unit) fits, else a
// fresh buffer kept alive in a global until the host call is over.
function stageDest(s: string, slot: usize, spill: i32): usize {
  const worst = <usize>s.length * 3;
  if (worst <= STAGE_SLOT_SIZE) return slot;
  const buf = changetype<ArrayBuffer>(__new(worst, idof<ArrayBuffer>()));
  if (spill == 0) stageSpill0 = buf;
  else stageSpill1 = buf;
  return changetype<usize>(buf);
}

/** Drops large staged encodings; the dispatcher calls it at the end of callbacks. */
export function releaseStaged(): void {
  stageSpill0 = null;
  stageSpill1 = null;
}
