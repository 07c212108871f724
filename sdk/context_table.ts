// The table from context id to context object: 1024 buckets, each a chain threaded through the
// contexts themselves (BaseContext._tableNext). Hosts hand out sequential ids, so `id & 1023`
// spreads them evenly and a lookup walks one entry until a VM holds more than 1024 live contexts.
// Far less code than a Map, nothing to grow or rehash, and since buckets and links are ordinary
// references the collector sees every live context without pinning.
import { BaseContext } from "./context";

const BUCKET_MASK: u32 = 1023;
const BUCKETS_BYTES: usize = (<usize>BUCKET_MASK + 1) << alignof<usize>();
const buckets = newBuckets();

// Allocated directly: the StaticArray constructor's length check cannot fail here and costs bytes.
function newBuckets(): StaticArray<BaseContext | null> {
  const ptr = __new(BUCKETS_BYTES, idof<StaticArray<BaseContext | null>>());
  memory.fill(ptr, 0, BUCKETS_BYTES);
  return changetype<StaticArray<BaseContext | null>>(ptr);
}

/** Stores `ctx` under its id, replacing any earlier context with that id. */
export function tablePut(ctx: BaseContext): void {
  const id = ctx.contextId;
  tableRemove(id);
  const b = <i32>(id & BUCKET_MASK);
  ctx._tableNext = unchecked(buckets[b]);
  unchecked(buckets[b] = ctx);
}

/** The context stored under `id`, or null. */
export function tableGet(id: u32): BaseContext | null {
  let c = unchecked(buckets[<i32>(id & BUCKET_MASK)]);
  while (c !== null) {
    if (c.contextId == id) return c;
    c = c._tableNext;
  }
  return null;
}

/** Removes `id`; a no-op when absent. */
export function tableRemove(id: u32): void {
  const b = <i32>(id & BUCKET_MASK);
  let prev: BaseContext | null = null;
  let c = unchecked(buckets[b]);
  while (c !== null) {
    if (c.contextId == id) {
      const next = c._tableNext;
      if (prev === null) unchecked(buckets[b] = next);
      else prev._tableNext = next;
      c._tableNext = null;
      return;
    }
    prev = c;
    c = c._tableNext;
  }
}
