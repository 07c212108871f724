// A hash table from context id to context object, in raw memory. Cheaper in code and time than a
// Map for this one job: ids are non-zero u32s handed out by the host, values are object pointers.
// Stored objects are pinned, which makes them GC roots while the host still knows them.
import { BaseContext } from "./context";

const EMPTY: u32 = 0;
// Entry layout: u32 id, u32 object pointer.
const ENTRY: usize = 8;

let slots: usize = 0;
let capacity: u32 = 0; // a power of two
let count: u32 = 0;

function slotOf(id: u32, mask: u32): u32 {
  // Fibonacci hashing spreads sequential ids.
  return (id * 0x9e3779b1) & mask;
}

function grow(): void {
  const oldSlots = slots;
  const oldCap = capacity;
  capacity = oldCap == 0 ? 16 : oldCap << 1;
  slots = heap.alloc(<usize>capacity * ENTRY);
  memory.fill(slots, 0, <usize>capacity * ENTRY);
  const mask = capacity - 1;
  for (let i: u32 = 0; i < oldCap; i++) {
    const e = oldSlots + <usize>i * ENTRY;
    const id = load<u32>(e);
    if (id == EMPTY) continue;
    let j = slotOf(id, mask);
    while (load<u32>(slots + <usize>j * ENTRY) != EMPTY) j = (j + 1) & mask;
    store<u32>(slots + <usize>j * ENTRY, id);
    store<u32>(slots + <usize>j * ENTRY, load<u32>(e, 4), 4);
  }
  if (oldSlots != 0) heap.free(oldSlots);
}

/** Stores `ctx` under `id`, replacing (and unpinning) any earlier context with that id. */
export function tablePut(id: u32, ctx: BaseContext): void {
  if (id == EMPTY) return;
  tableRemove(id);
  if ((count + 1) * 2 > capacity) grow();
  const mask = capacity - 1;
  let j = slotOf(id, mask);
  while (load<u32>(slots + <usize>j * ENTRY) != EMPTY) j = (j + 1) & mask;
  store<u32>(slots + <usize>j * ENTRY, id);
  store<u32>(slots + <usize>j * ENTRY, <u32>__pin(changetype<usize>(ctx)), 4);
  count++;
}

/** The context stored under `id`, or null. */
export function tableGet(id: u32): BaseContext | null {
  if (capacity == 0 || id == EMPTY) return null;
  const mask = capacity - 1;
  let j = slotOf(id, mask);
  while (true) {
    const e = slots + <usize>j * ENTRY;
    const k = load<u32>(e);
    if (k == id) return changetype<BaseContext>(<usize>load<u32>(e, 4));
    if (k == EMPTY) return null;
    j = (j + 1) & mask;
  }
}

/** Removes `id` and unpins its context; a no-op when absent. */
export function tableRemove(id: u32): void {
  if (capacity == 0 || id == EMPTY) return;
  const mask = capacity - 1;
  let j = slotOf(id, mask);
  while (true) {
    const e = slots + <usize>j * ENTRY;
    const k = load<u32>(e);
    if (k == EMPTY) return;
    if (k == id) break;
    j = (j + 1) & mask;
  }
  __unpin(<usize>load<u32>(slots + <usize>j * ENTRY, 4));
  count--;
  // Backward-shift deletion keeps probe chains intact without tombstones.
  let hole = j;
  let i = (j + 1) & mask;
  while (true) {
    const e = slots + <usize>i * ENTRY;
    const k = load<u32>(e);
    if (k == EMPTY) break;
    const home = slotOf(k, mask);
    // Move the entry into the hole unless its home lies cyclically in (hole, i].
    const inRange = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!inRange) {
      store<u64>(slots + <usize>hole * ENTRY, load<u64>(e));
      hole = i;
    }
    i = (i + 1) & mask;
  }
  store<u64>(slots + <usize>hole * ENTRY, 0);
}
