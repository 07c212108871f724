// Routes the host's callbacks to context objects: roots by id (created from the factory registered
// for the host's `plugin_root_id`), streams and connections by id. Also paces garbage collection
// for the minimal runtime, which never collects on its own.
import { CalloutEvent, calloutOwner } from "./callouts";
import { tableGet, tablePut, tableRemove } from "./context_table";
import { BaseContext, ContextKind, RootContext, StreamContext } from "./context";
import { proxy_get_property, proxy_set_effective_context } from "./imports";
import { logDebug, logWarn } from "./log";
import { OUT_LEN, OUT_PTR, hostBytesSinceCollect, releaseStaged, resetHostBytes, stage0, stagedLen0, takeString } from "./memory";
import { WasmResult } from "./types";

// ASC_RUNTIME values (std/assembly/shared/runtime.ts): Stub 0, Minimal 1, Incremental 2.
const RUNTIME_STUB = 0;
const RUNTIME_MINIMAL = 1;
// The stub runtime never frees: every request would leak its context.
// @ts-ignore: compile-time check
if (ASC_RUNTIME == RUNTIME_STUB) ERROR("pwasm: the stub runtime never frees memory; build with --runtime minimal (default) or incremental");

/** Creates the root context of a plugin for the given context id. */
export type RootContextFactory = (contextId: u32) => RootContext;

// Registered factories as a linked list: plugins register one or two, and a list costs less code
// than an Array instantiation.
class FactoryEntry {
  constructor(public rootId: string, public factory: RootContextFactory, public next: FactoryEntry | null) {}
}
let factoryList: FactoryEntry | null = null;

/**
 * Registers the root context class for `rootId` (the plugin's `root_id` in Envoy's config, the
 * `WasmPlugin`'s `pluginName` in Istio). Call it at the top level of the plugin's entry file.
 * Registering with an empty `rootId` makes that root serve every root id nobody else claims; a
 * host that sets no root id gets the first root registered.
 */
export function registerRootContext(factory: RootContextFactory, rootId: string = ""): void {
  factoryList = new FactoryEntry(rootId, factory, factoryList);
}

// String equality without pulling the standard library's comparison into every plugin.
function sameString(a: string, b: string): bool {
  const n = <usize>a.length;
  if (n != <usize>b.length) return false;
  const pa = changetype<usize>(a);
  const pb = changetype<usize>(b);
  for (let i: usize = 0; i < n << 1; i += 2) {
    if (load<u16>(pa + i) != load<u16>(pb + i)) return false;
  }
  return true;
}

// The factory for a root id: the one registered for it; else one registered for every id ("");
// else, when the host sets no root id, the first one registered.
function pickFactory(rootId: string): RootContextFactory | null {
  let fallback: RootContextFactory | null = null;
  let e = factoryList;
  while (e !== null) {
    if (sameString(e.rootId, rootId)) return e.factory;
    // The list is newest first: the last match kept is the earliest registration.
    if (e.rootId.length == 0 || rootId.length == 0) fallback = e.factory;
    e = e.next;
  }
  return fallback;
}

function readRootId(): string {
  const p = stage0("plugin_root_id");
  const r = proxy_get_property(p, stagedLen0, OUT_PTR, OUT_LEN);
  return r == WasmResult.Ok ? takeString() : "";
}

/** proxy_on_context_create: a root (parent 0) or a stream/connection of an existing root. */
export function createContext(contextId: u32, parentContextId: u32): void {
  if (parentContextId == 0) {
    const rootId = readRootId();
    const factory = pickFactory(rootId);
    let root: RootContext;
    if (factory !== null) {
      root = factory(contextId);
    } else {
      logWarn("pwasm: unknown root id, passing through");
      root = new RootContext(contextId);
    }
    root.rootId = rootId;
    tablePut(root);
    return;
  }
  const root = getRootContext(parentContextId);
  if (root === null) return;
  let ctx = root.createHttpContext(contextId);
  if (ctx === null) ctx = root.createTcpContext(contextId);
  if (ctx !== null) tablePut(ctx);
}

/** The root context with this id, or null. */
export function getRootContext(contextId: u32): RootContext | null {
  const c = tableGet(contextId);
  return c !== null && c.contextKind == ContextKind.Root ? changetype<RootContext>(c) : null;
}

/** The stream context (HTTP stream or TCP connection) with this id, or null when its root created none. */
export function getStreamContext(contextId: u32): StreamContext | null {
  const c = tableGet(contextId);
  return c !== null && c.contextKind == ContextKind.Stream ? changetype<StreamContext>(c) : null;
}

/** Any live context with this id, or null. */
export function getContext(contextId: u32): BaseContext | null {
  return tableGet(contextId);
}

/** proxy_on_done for any kind of context. */
export function doneContext(contextId: u32): bool {
  const c = tableGet(contextId);
  if (c === null) return true;
  if (c.contextKind == ContextKind.Stream) return changetype<StreamContext>(c).onDone();
  return changetype<RootContext>(c).onDone();
}

/** proxy_on_log for a stream or connection. */
export function logContext(contextId: u32): void {
  const c = getStreamContext(contextId);
  if (c !== null) c.onLog();
}

/**
 * Callout events (proxy_on_http_call_response, proxy_on_grpc_*) for root `rootId`: to the context
 * that made the callout, after proxy_set_effective_context to it; to the root for a token the SDK
 * did not dispatch. An answer for a context that is already gone is dropped (logged at debug).
 */
export function calloutEvent(rootId: u32, token: u32, event: u32, a: u32, b: u32, c: u32): void {
  const owner = calloutOwner(token, event);
  const target = tableGet(owner != 0 ? owner : rootId);
  if (target === null) {
    logDebug("pwasm: callout answer dropped: the context that made it is gone");
    return;
  }
  if (target.contextId != rootId) proxy_set_effective_context(target.contextId);
  deliverCallout(target, token, event, a, b, c);
}

/** Calls the callback of `ctx` for a callout event. */
function deliverCallout(ctx: BaseContext, token: u32, event: u32, a: u32, b: u32, c: u32): void {
  if (event == CalloutEvent.HttpResponse) ctx.onHttpCallResponse(token, a, b, c);
  else if (event == CalloutEvent.GrpcInitialMetadata) ctx.onGrpcReceiveInitialMetadata(token, a);
  else if (event == CalloutEvent.GrpcMessage) ctx.onGrpcReceive(token, a);
  else if (event == CalloutEvent.GrpcTrailingMetadata) ctx.onGrpcReceiveTrailingMetadata(token, a);
  else ctx.onGrpcClose(token, a);
}

// Minimal-runtime collection pacing: collect after this many finished contexts, or this many data
// callbacks (a long stream or connection that never ends), or sooner when the host handed over
// this many bytes, or as soon as the heap had to grow. All bound the garbage a busy VM can hold,
// and so its memory: Envoy runs a VM per worker, and pages a VM touched stay resident. Collecting
// when the heap grew keeps the new pages mostly untouched; 16 contexts (not 32) halves the garbage
// a plugin that allocates per request piles up between collections (plugins/stats: 13 KB a request;
// 11 MiB less resident at concurrency 16 for 0.6 % more instructions, docs/envoy/callbacks.md).
const COLLECT_EVERY_CONTEXTS: u32 = 16;
const COLLECT_EVERY_DATA_CALLBACKS: u32 = 256;
const COLLECT_EVERY_HOST_BYTES: usize = 1 << 20;
let deletedSinceCollect: u32 = 0;
let dataSinceCollect: u32 = 0;
let pagesAtCollect: i32 = 0;

/** proxy_on_delete: forgets the context. */
export function deleteContext(contextId: u32): void {
  const c = tableGet(contextId);
  if (c === null) return;
  if (c.contextKind == ContextKind.Stream) changetype<StreamContext>(c).onDelete();
  else changetype<RootContext>(c).onDelete();
  tableRemove(contextId);
  deletedSinceCollect++;
}

/**
 * Collects garbage when the minimal runtime is in use and enough work was done since the last
 * collection. Must be the last thing an export does: the minimal runtime does not scan the stack,
 * so no managed reference may be live in a local when it runs.
 */
export function maybeCollect(): void {
  releaseStaged();
  if (ASC_RUNTIME == RUNTIME_MINIMAL) {
    if (
      deletedSinceCollect >= COLLECT_EVERY_CONTEXTS || dataSinceCollect >= COLLECT_EVERY_DATA_CALLBACKS ||
      hostBytesSinceCollect >= COLLECT_EVERY_HOST_BYTES || memory.size() > pagesAtCollect
    ) {
      deletedSinceCollect = 0;
      dataSinceCollect = 0;
      resetHostBytes();
      __collect();
      pagesAtCollect = memory.size();
    }
  }
}

/** The end of a body or TCP data callback: counts it, then {@link maybeCollect} (same rule: last thing). */
export function afterDataCallback(): void {
  dataSinceCollect++;
  maybeCollect();
}
