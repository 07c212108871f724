// One instance of a module: its memory, its exports, its contexts, and the rules for calling into
// it. Mirrors a VM in Envoy (a thread-local clone of the base VM, or the base or canary VM): it
// has its own context ids, metric ids and callout tokens, the root contexts of every plugin that
// shares it (docs/envoy/lifecycle.md), and a trap fails it for good.
import { type AbiVersion, type LogLevel, WasmResult } from "../abi/constants.js";
import type { ModuleInfo } from "../wasm/binary.js";
import type { HostServices } from "../services/host_services.js";
import type { HostContext, RootContextState } from "./contexts.js";
import { GuestMemory } from "./memory.js";
import { HostTrap, PluginLoadError, VmFailedError, type VmFailure } from "./errors.js";
import { formatFailure, symbolizeTrap, type CodeMap, type SourcePositionResolver } from "./backtrace.js";
import { CallbackDeadline, CallbackTimeLimitError } from "./callback_deadline.js";

/** What a VM is doing; host functions check it (Envoy restricts calls during init and in malloc). */
export const enum VmPhase {
  Running = 0,
  /** `_initialize` / `main` / `_start`. */
  Init = 1,
  /** The host is running the guest allocator. */
  Allocating = 2,
  /** The module's start section runs (inside instantiation): Envoy has no context yet. */
  Instantiating = 3,
}

/** An exported callback: numbers in, a number (or nothing) out. i64 results would be bigint. */
type Callback = (...args: number[]) => number | undefined;

// What a VM needs from the module it runs: the VM-level settings every plugin in it shares. Envoy
// runs every plugin with the same vm_id, VM configuration and code in one VM per thread
// (docs/envoy/lifecycle.md), so a VM has one module-level owner (plugin/base_vm.ts) and one or
// more plugins (contexts.ts PluginRuntime).
/** The module side of a VM: what every plugin sharing it shares. */
export interface VmRuntime {
  readonly services: HostServices;
  readonly memoryLimitBytes: number;
  readonly sourceMap: SourcePositionResolver | undefined;
  /** How the host's rewrites moved the module's code (trap offsets are mapped back). */
  readonly codeMap: CodeMap;
  /** The module's loops are instrumented: its calls stop after callbackTimeLimitMs (callback_deadline.ts). */
  readonly deadlines: boolean;
  /** Wall-clock limit of one call into the guest, ms (0: none). */
  readonly callbackTimeLimitMs: number;
  /** `vm_config.vm_id`: scopes shared data and queues. */
  readonly vmId: string;
  /** `vm_config.configuration`, delivered to proxy_on_vm_start. */
  readonly vmConfiguration: Buffer;
  /** WASI environment of the VM. */
  readonly environment: ReadonlyArray<[string, string]>;
  /**
   * Writes a line from the VM's own context (module initialization, before any root context
   * exists): Envoy prints it with no plugin prefix.
   */
  log(level: LogLevel, message: string): void;
  /** Writes one of the host's own messages about this VM (Envoy's `[wasm]` lines, no `wasm log`). */
  report(level: LogLevel, message: string): void;
  /** Called once when the VM fails. */
  onVmFailed(vm: PluginVm): void;
  /**
   * The import object of a new instance: the host-function table (imports/registry.ts), which
   * sits above the VM layer and is therefore handed in here.
   */
  linkImports(vm: PluginVm): WebAssembly.Imports;
}

/** Envoy's default cap on guest memory. */
export const DEFAULT_MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024;

export class PluginVm {
  /** Guest memory accessors (set once instantiated). */
  mem!: GuestMemory;
  phase: VmPhase = VmPhase.Init;
  /** The failure that stopped this VM, if any. */
  failure: VmFailure | undefined;
  /** Root contexts by plugin key, in the order the plugins started. */
  readonly roots = new Map<string, RootContextState>();

  /** Contexts by id: the root, streams, connections. */
  readonly contexts = new Map<number, HostContext>();
  /** The context whose callback is running. */
  active: HostContext | undefined;
  /** The context host functions act on: `active`, unless proxy_set_effective_context changed it. */
  effective: HostContext | undefined;
  /**
   * proxy_send_local_response ran during the last finished callback: Envoy then ignores that
   * callback's result and stops the stream (stopNextIteration). The stream reads and clears it.
   */
  stoppedIteration = false;
  private stopNext = false;
  /** Counts the host's calls into the guest (not the guest's calls back in): callback_deadline.ts. */
  entry = 0;
  /** The export the host's running call into the guest started with. */
  entryName = "";
  /** The module's callback time limit, when its loops are instrumented. */
  private readonly deadline: CallbackDeadline | undefined;
  /** Per-VM id counters, as in Envoy. */
  private nextContext = 1;
  private depth = 0;
  private holds = 0;
  private deferred: Array<() => void> = [];

  private instance!: WebAssembly.Instance;
  private exports!: Record<string, WebAssembly.ExportValue>;
  private callbacks = new Map<string, Callback>();
  private malloc!: (size: number) => number;

  constructor(
    readonly runtime: VmRuntime,
    readonly module: WebAssembly.Module,
    readonly info: ModuleInfo,
    readonly abiVersion: AbiVersion,
  ) {
    this.deadline = runtime.deadlines ? new CallbackDeadline(this, runtime.callbackTimeLimitMs) : undefined;
  }

  /**
   * The root context of the first plugin that started in this VM (with one plugin per VM, its
   * root). Streams know their own plugin's root (HostContext.root).
   */
  get root(): RootContextState {
    const first = this.roots.values().next();
    if (first.done) throw new Error("no plugin has started in this VM");
    return first.value;
  }

  /**
   * Instantiates the module and runs its initialization under Envoy's restrictions: `_initialize`
   * then `main(0, 0)` (or `__main_void`), else `_start`. Throws PluginLoadError when the module
   * cannot be instantiated, and VmFailedError when initialization traps.
   */
  instantiate(): void {
    const imports = this.runtime.linkImports(this);
    if (this.deadline) Object.assign(imports, this.deadline.imports());
    this.phase = VmPhase.Instantiating;
    this.enter("start");
    try {
      this.instance = new WebAssembly.Instance(this.module, imports);
    } catch (err) {
      if (err instanceof HostTrap) throw new PluginLoadError(err.message);
      const why = this.deadline?.expired?.message ?? (err as Error).message;
      throw new PluginLoadError(`failed to instantiate the module: ${why}`);
    }
    this.phase = VmPhase.Init;
    this.exports = this.instance.exports;
    this.deadline?.attach(this.exports);
    const memory = this.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new PluginLoadError("the module does not export its memory");
    this.mem = new GuestMemory(memory);
    for (const [name, value] of Object.entries(this.exports)) {
      if (typeof value === "function") this.callbacks.set(name, value as Callback);
    }
    const malloc = this.callbacks.get("malloc") ?? this.callbacks.get("proxy_on_memory_allocate");
    if (!malloc) throw new PluginLoadError("Wasm module is missing malloc function");
    this.malloc = malloc as (size: number) => number;

    if (this.callbacks.has("_initialize")) {
      this.callInit("_initialize");
      if (this.callbacks.has("main")) this.callInit("main", 0, 0);
      else if (this.callbacks.has("__main_void")) this.callInit("__main_void");
    } else if (this.callbacks.has("_start")) {
      this.callInit("_start");
    }
    this.phase = VmPhase.Running;
  }

  /**
   * Writes a line the guest logged (proxy_log, WASI stdout/stderr) with the prefix of the plugin
   * whose context is running; none during module initialization (Envoy's VM context).
   */
  guestLog(level: LogLevel, message: string): void {
    const ctx = this.effective ?? this.active;
    if (ctx) ctx.root.plugin.log(level, message, ctx.kind === "root");
    else this.runtime.log(level, message);
  }

  /**
   * The context host functions act on: the one proxy_set_effective_context chose (else the running
   * callback's, which every call into the guest sets), or the first root outside any callback.
   */
  effectiveContext(): HostContext {
    return this.effective ?? this.root;
  }

  /** Allocates the next context id of this VM (root first, then streams from 2). */
  newContextId(): number {
    return this.nextContext++;
  }

  /** Next callout token of a kind (0 HTTP, 1 gRPC call, 2 gRPC stream): 4/8/12…, 5/9/13…, 6/10/14…, as Envoy. */
  newCalloutToken(kind: 0 | 1 | 2): number {
    return (++this.calloutCounters[kind]! << 2) | kind;
  }
  private readonly calloutCounters = [0, 0, 0];

  /** True when the module exports this callback. */
  has(name: string): boolean {
    return this.callbacks.has(name);
  }

  /**
   * Calls the exported callback `name` for `ctx` with (ctx.id, b, c, d, e): the path of every call
   * into the guest, made through its typed wrappers in guest.ts. A missing export returns
   * `missing`. The effective context is reset to `ctx` for the call (Envoy resets it at every
   * host→module call); actions deferred by host functions (continue, local reply) run once the
   * outermost call returns, even if it trapped. A trap fails the VM and throws VmFailedError.
   */
  call(name: string, ctx: HostContext, missing: number, b = 0, c = 0, d = 0, e = 0): number {
    if (this.failure) throw new VmFailedError(this.failure);
    const fn = this.callbacks.get(name);
    if (!fn) {
      // Envoy calls only what a module exports; a callback that did not run did not stop the
      // stream either (a stale flag, e.g. from a local reply sent in a callout response, must not
      // stop the reply's own pass through this plugin).
      if (this.depth === 0) this.stoppedIteration = false;
      return missing;
    }
    const prevActive = this.active;
    const prevEffective = this.effective;
    this.active = ctx;
    this.effective = ctx;
    if (this.depth === 0) {
      this.stopNext = false;
      this.entry++;
      this.entryName = name;
    }
    this.depth++;
    let result: number | undefined;
    let trapped = false;
    try {
      result = fn(ctx.id, b, c, d, e);
    } catch (err) {
      this.fail(name, err);
      trapped = true;
    } finally {
      this.active = prevActive;
      this.effective = prevEffective;
      if (--this.depth === 0) {
        this.stoppedIteration = this.stopNext;
        this.stopNext = false;
      }
    }
    // Envoy runs a call's deferred actions even when it trapped: a continue issued before the
    // trap still resumes its stream (which then meets the failed VM) instead of leaving it hanging.
    if (this.depth === 0 && this.holds === 0 && this.deferred.length > 0) this.runDeferred();
    if (trapped) throw new VmFailedError(this.failure!);
    return (result ?? 0) >>> 0;
  }

  /**
   * Runs `action` once the current VM call returns — or, inside a dispatch, once the dispatch ends
   * (immediately when neither is in progress). Envoy posts continue and local replies the same way.
   */
  defer(action: () => void): void {
    if (this.depth === 0 && this.holds === 0) action();
    else this.deferred.push(action);
  }

  /**
   * Starts a dispatch: a host operation that makes VM calls and then acts on their results (a
   * stream event). Deferred actions wait until the outermost dispatch ends, so a continue issued
   * inside a callback takes effect after the host has handled that callback's return value.
   */
  beginDispatch(): void {
    this.holds++;
  }

  /** Ends a dispatch started with beginDispatch, running deferred actions at the outermost end. */
  endDispatch(): void {
    if (--this.holds === 0 && this.depth === 0 && this.deferred.length > 0) this.runDeferred();
  }

  private runDeferred(): void {
    // Actions may call into the VM again and defer more; drain until quiet.
    while (this.deferred.length > 0) {
      const batch = this.deferred;
      this.deferred = [];
      for (const action of batch) action();
    }
  }

  // A call into the guest starts from the host (for the callback time limit).
  private enter(name: string): void {
    this.entry++;
    this.entryName = name;
  }

  private callInit(name: string, ...args: number[]): void {
    const fn = this.callbacks.get(name)!;
    this.enter(name);
    try {
      fn(...args);
    } catch (err) {
      this.fail(name, err);
      throw new VmFailedError(this.failure!);
    }
  }

  /**
   * Runs the guest allocator for `size` bytes (never called with 0). Returns the pointer, or 0 when
   * the guest returned 0 or a range outside memory. Only proxy_log and a few WASI calls are allowed
   * inside it.
   */
  allocate(size: number): number {
    const prev = this.phase;
    this.phase = VmPhase.Allocating;
    if (this.depth === 0) this.enter("malloc");
    let ptr: number;
    try {
      ptr = this.malloc(size) >>> 0;
    } finally {
      this.phase = prev;
    }
    if (ptr === 0 || ptr + size > this.mem.size) return 0;
    return ptr;
  }

  /**
   * Hands `data` to the guest: allocates it there, copies it, and writes the pointer and size to the
   * out-pointers. Empty data is written as (0, 0) without calling the allocator, as Envoy does.
   */
  returnBytes(data: Uint8Array | string, ptrOut: number, sizeOut: number): number {
    // Validate the out-pointers before running guest code.
    this.mem.check(ptrOut, 4);
    this.mem.check(sizeOut, 4);
    const len = data.length;
    if (len === 0) {
      this.mem.setU32(ptrOut, 0);
      this.mem.setU32(sizeOut, 0);
      return WasmResult.Ok;
    }
    const ptr = this.allocate(len);
    if (ptr === 0) return WasmResult.InvalidMemoryAccess;
    this.mem.write(ptr, data);
    this.mem.setU32(ptrOut, ptr);
    this.mem.setU32(sizeOut, len);
    return WasmResult.Ok;
  }

  /** Marks the VM failed (once), reporting it as Envoy does: one error line with the backtrace. */
  fail(callback: string, err: unknown): void {
    if (this.failure) return;
    // A call stopped by its time limit ends in a trap that says nothing: report why instead.
    const cause = this.deadline?.expired ?? err;
    const { message, backtrace } = symbolizeTrap(cause, this.info, this.runtime.sourceMap, this.runtime.codeMap);
    this.failure = { callback, message, backtrace };
    if (cause instanceof CallbackTimeLimitError) this.failure.timeLimitMs = cause.limitMs;
    const stackOverflow = cause instanceof RangeError && cause.message.includes("Maximum call stack size exceeded");
    if (!(cause instanceof WebAssembly.RuntimeError || stackOverflow || cause instanceof HostTrap)) this.failure.hostError = true;
    this.runtime.report(4, formatFailure(this.failure));
    this.runtime.onVmFailed(this);
  }

  /** Envoy's stopNextIteration(true): the running callback's result is ignored, the stream stops. */
  requestStopIteration(): void {
    this.stopNext = true;
  }

  /** Throws the trap a host function raises for a call the current phase does not allow. */
  restricted(name: string): never {
    // Envoy 1.40 has no context while a start section runs and crashes on any host call there.
    if (this.phase === VmPhase.Instantiating) {
      throw new HostTrap(`the module's start function calls ${name}, which crashes Envoy (it has no context before instantiation ends): move that code to an exported _initialize`);
    }
    throw new HostTrap(`restricted_callback: ${name} is not allowed ${this.phase === VmPhase.Init ? "during VM initialization" : "inside the allocator"}`);
  }

  /** The context with this id, if it is alive. */
  context(id: number): HostContext | undefined {
    return this.contexts.get(id);
  }
}
