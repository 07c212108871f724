// Shared data (a key/value store with compare-and-swap) and shared queues, both shared by every
// VM with the same vm_id (in Envoy: across worker threads).
import {
  proxy_dequeue_shared_queue, proxy_enqueue_shared_queue, proxy_get_shared_data, proxy_register_shared_queue,
  proxy_resolve_shared_queue, proxy_set_shared_data,
} from "./imports";
import { OUT_AUX, OUT_LEN, OUT_PTR, stage0, stage1, stagedLen0, stagedLen1, takeBuffer } from "./memory";
import { noteResult } from "./result";
import { WasmResult } from "./types";

/** A shared-data value and its CAS, to pass back to {@link setSharedData} for a compare-and-swap. */
export class SharedData {
  constructor(public value: ArrayBuffer, public cas: u32) {}
}

/** Reads shared data (proxy_get_shared_data); null when the key is absent (lastResult: NotFound). */
export function getSharedData(key: string): SharedData | null {
  const k = stage0(key);
  const r = proxy_get_shared_data(k, stagedLen0, OUT_PTR, OUT_LEN, OUT_AUX);
  if (!noteResult(r)) return null;
  const cas = load<u32>(OUT_AUX);
  return new SharedData(takeBuffer(), cas);
}

/**
 * Writes shared data (proxy_set_shared_data). With `cas` 0 the write is unconditional; otherwise
 * it succeeds only if the stored CAS still equals `cas` (else CasMismatch: read again and retry).
 */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32 = 0): WasmResult {
  const k = stage0(key);
  const r = proxy_set_shared_data(k, stagedLen0, changetype<usize>(value), <usize>value.byteLength, cas);
  return <WasmResult>r;
}

/**
 * Creates (or reopens) the queue `name` of this VM id and makes this root context the one that
 * receives its onQueueReady (proxy_register_shared_queue). Returns the queue id, or 0.
 */
export function registerSharedQueue(name: string): u32 {
  const n = stage0(name);
  const r = proxy_register_shared_queue(n, stagedLen0, OUT_PTR);
  return noteResult(r) ? load<u32>(OUT_PTR) : 0;
}

/** Finds the queue `name` of VM id `vmId` ("" = this VM's) (proxy_resolve_shared_queue); 0 when absent. */
export function resolveSharedQueue(vmId: string, name: string): u32 {
  const v = stage0(vmId);
  const n = stage1(name);
  const r = proxy_resolve_shared_queue(v, stagedLen0, n, stagedLen1, OUT_PTR);
  return noteResult(r) ? load<u32>(OUT_PTR) : 0;
}

/** Appends an item to a queue (proxy_enqueue_shared_queue); NotFound for an unknown queue. */
export function enqueueSharedQueue(queueId: u32, data: ArrayBuffer): WasmResult {
  return <WasmResult>proxy_enqueue_shared_queue(queueId, changetype<usize>(data), <usize>data.byteLength);
}

/**
 * Takes the oldest item of a queue (proxy_dequeue_shared_queue); null when the queue is empty
 * (lastResult: Empty) or unknown (NotFound).
 */
export function dequeueSharedQueue(queueId: u32): ArrayBuffer | null {
  return noteResult(proxy_dequeue_shared_queue(queueId, OUT_PTR, OUT_LEN)) ? takeBuffer() : null;
}
