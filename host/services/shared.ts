// Shared data and shared queues: shared by every VM of a host that uses the same vm_id, as in
// Envoy (where they span worker threads). CAS values come from one process-wide counter.
import { WasmResult } from "../abi/constants.js";

interface SharedEntry {
  value: Buffer;
  cas: number;
}

/** Key/value store scoped by vm_id, with compare-and-swap. */
export class SharedDataStore {
  private readonly byVm = new Map<string, Map<string, SharedEntry>>();
  private casCounter = 0;

  /** The value and its CAS, or undefined when absent. */
  get(vmId: string, key: string): SharedEntry | undefined {
    return this.byVm.get(vmId)?.get(key);
  }

  /**
   * Stores `value`. A non-zero `cas` must equal the stored CAS (CAS_MISMATCH otherwise); a new key
   * is stored whatever `cas` says (Envoy ignores CAS for missing keys).
   */
  set(vmId: string, key: string, value: Buffer, cas: number): number {
    let m = this.byVm.get(vmId);
    if (!m) {
      m = new Map();
      this.byVm.set(vmId, m);
    }
    const cur = m.get(key);
    if (cur && cas !== 0 && cur.cas !== cas) return WasmResult.CasMismatch;
    // Never 0: 0 means "no CAS".
    this.casCounter = (this.casCounter % 0xffffffff) + 1;
    m.set(key, { value, cas: this.casCounter });
    return WasmResult.Ok;
  }

  /** Keys of a vm_id (for inspection). */
  keys(vmId: string): string[] {
    return [...(this.byVm.get(vmId)?.keys() ?? [])];
  }
}

/** Who receives proxy_on_queue_ready for a queue. */
export interface QueueOwner {
  /** Posts the callback to the owner (never re-entrant). */
  notify(queueId: number): void;
}

interface Queue {
  id: number;
  vmId: string;
  name: string;
  items: Buffer[];
  owner: QueueOwner;
}

/** Named queues scoped by vm_id; ids start at 1. */
export class SharedQueueStore {
  private readonly byId = new Map<number, Queue>();
  private readonly byName = new Map<string, Queue>();
  private nextId = 1;

  /** Creates or reopens (vmId, name); delivery of proxy_on_queue_ready moves to `owner`. */
  register(vmId: string, name: string, owner: QueueOwner): number {
    const key = `${vmId}\0${name}`;
    let q = this.byName.get(key);
    if (q) {
      q.owner = owner;
      return q.id;
    }
    q = { id: this.nextId++, vmId, name, items: [], owner };
    this.byName.set(key, q);
    this.byId.set(q.id, q);
    return q.id;
  }

  /** The id of (vmId, name), or undefined. */
  resolve(vmId: string, name: string): number | undefined {
    return this.byName.get(`${vmId}\0${name}`)?.id;
  }

  /** Appends an item and notifies the owner. */
  enqueue(id: number, data: Buffer): number {
    const q = this.byId.get(id);
    if (!q) return WasmResult.NotFound;
    q.items.push(data);
    q.owner.notify(id);
    return WasmResult.Ok;
  }

  /** Removes the oldest item: Buffer, or NOT_FOUND / EMPTY status. */
  dequeue(id: number): Buffer | number {
    const q = this.byId.get(id);
    if (!q) return WasmResult.NotFound;
    return q.items.shift() ?? WasmResult.Empty;
  }

  /** Number of items waiting (for tests). */
  size(id: number): number {
    return this.byId.get(id)?.items.length ?? 0;
  }
}
