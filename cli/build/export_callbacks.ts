// A compiler transform that keeps only the Proxy-Wasm callbacks a plugin uses among the exports the
// pwasm SDK provides (sdk/exports.ts). Envoy calls every callback a module exports, whether or not
// the plugin does anything in it, and each call crosses from Envoy into the VM and back: a plugin
// that overrides only onRequestHeaders and onResponseHeaders would otherwise get proxy_on_log,
// proxy_on_done and the body callbacks on every request as well (docs/envoy/callbacks.md).
//
// After the program is initialized, the transform finds every class that extends the SDK's
// BaseContext outside sdk/context.ts and the callback methods they declare; after compiling, it
// removes the SDK's exports of callbacks nobody declares, before the optimizer runs (which then
// drops the code only they reached). Kept always: the ABI marker, the allocator,
// proxy_on_context_create (contexts are created there) and proxy_on_delete (the SDK forgets a
// context there; Envoy calls it for every context it created). Callout callbacks stay when the
// module makes callouts (the SDK routes their answers), whether or not a class overrides them.
import { fileURLToPath } from "node:url";

/** The SDK export of each callback, and the context methods (any of them declared) that need it. */
export const CALLBACK_EXPORTS: Readonly<Record<string, { methods: readonly string[]; imports?: readonly string[] }>> = {
  proxy_on_vm_start: { methods: ["onVmStart"] },
  proxy_on_configure: { methods: ["onConfigure"] },
  proxy_on_tick: { methods: ["onTick"] },
  proxy_on_queue_ready: { methods: ["onQueueReady"] },
  proxy_on_foreign_function: { methods: ["onForeignFunction"] },
  proxy_on_request_headers: { methods: ["onRequestHeaders"] },
  proxy_on_request_body: { methods: ["onRequestBody"] },
  proxy_on_request_trailers: { methods: ["onRequestTrailers"] },
  proxy_on_response_headers: { methods: ["onResponseHeaders"] },
  proxy_on_response_body: { methods: ["onResponseBody"] },
  proxy_on_response_trailers: { methods: ["onResponseTrailers"] },
  proxy_on_new_connection: { methods: ["onNewConnection"] },
  proxy_on_downstream_data: { methods: ["onDownstreamData"] },
  proxy_on_upstream_data: { methods: ["onUpstreamData"] },
  proxy_on_downstream_connection_close: { methods: ["onDownstreamConnectionClose"] },
  proxy_on_upstream_connection_close: { methods: ["onUpstreamConnectionClose"] },
  proxy_on_http_call_response: { methods: ["onHttpCallResponse"], imports: ["proxy_http_call"] },
  proxy_on_grpc_receive_initial_metadata: { methods: ["onGrpcReceiveInitialMetadata"], imports: ["proxy_grpc_call", "proxy_grpc_stream"] },
  proxy_on_grpc_receive: { methods: ["onGrpcReceive"], imports: ["proxy_grpc_call", "proxy_grpc_stream"] },
  proxy_on_grpc_receive_trailing_metadata: { methods: ["onGrpcReceiveTrailingMetadata"], imports: ["proxy_grpc_call", "proxy_grpc_stream"] },
  proxy_on_grpc_close: { methods: ["onGrpcClose"], imports: ["proxy_grpc_call", "proxy_grpc_stream"] },
  proxy_on_log: { methods: ["onLog"] },
  proxy_on_done: { methods: ["onDone"] },
};

/** This file, for build staleness (a change here changes what a build produces). */
export const TRANSFORM_SOURCE = fileURLToPath(import.meta.url);

// The SDK's exports (sdk/exports.ts), by internal name: only these are ever removed, and where they
// come from locates the SDK's context classes (`<sdk>/context/<name>`), whose methods are the defaults.
const SDK_EXPORT = /^((?:.*\/)?sdk\/)exports\/(proxy_on_\w+)$/;
const SDK_CONTEXT_CLASSES = ["BaseContext", "RootContext", "StreamContext", "HttpContext", "TcpContext"];

// The parts of the compiler's objects the transform reads (duck-typed: the compiler's classes are
// minified, and 0.27 and 0.28 share these fields).
interface ClassLike {
  internalName: string;
  basePrototype: ClassLike | null;
  instanceMembers: Map<string, unknown> | null;
}
interface ElementLike {
  members?: Map<string, unknown> | null;
}
interface ProgramLike {
  elementsByName: Map<string, unknown>;
}
interface BinaryenLike {
  getExportInfo(ref: number): { name: string; value: string };
  getFunctionInfo(ref: number): { module: string; base: string };
}
interface ModuleLike {
  getNumExports(): number;
  getExportByIndex(i: number): number;
  getNumFunctions(): number;
  getFunctionByIndex(i: number): number;
  removeExport(name: string): void;
}

function isClass(e: unknown): e is ClassLike {
  return typeof e === "object" && e !== null && "basePrototype" in e && "instanceMembers" in e && typeof (e as ClassLike).internalName === "string";
}

// Every class prototype of the program, including those inside namespaces.
function allClasses(program: ProgramLike): Set<ClassLike> {
  const out = new Set<ClassLike>();
  const seen = new Set<unknown>();
  const visit = (e: unknown) => {
    if (seen.has(e) || typeof e !== "object" || e === null) return;
    seen.add(e);
    if (isClass(e)) out.add(e);
    const members = (e as ElementLike).members;
    if (members instanceof Map) for (const m of members.values()) visit(m);
  };
  for (const e of program.elementsByName.values()) visit(e);
  return out;
}

/** What the analysis of a program found. */
export interface CallbackUse {
  /** Callback methods declared by a class extending the SDK's contexts outside the SDK's context.ts. */
  methods: Set<string>;
}

/**
 * Finds the callback methods that classes extending the SDK's contexts (those of `sdkDir`, e.g.
 * `~lib/pwasm/sdk/`) declare; undefined when the program has no such SDK (another SDK whose
 * exports look alike).
 */
export function callbackUse(program: ProgramLike, sdkDir: string): CallbackUse | undefined {
  const sdkClasses = new Set(SDK_CONTEXT_CLASSES.map((c) => `${sdkDir}context/${c}`));
  const classes = allClasses(program);
  if (![...classes].some((c) => c.internalName === `${sdkDir}context/BaseContext`)) return undefined;
  const methods = new Set<string>();
  for (const c of classes) {
    if (sdkClasses.has(c.internalName)) continue;
    let base = c.basePrototype;
    while (base !== null && !sdkClasses.has(base.internalName)) base = base.basePrototype;
    if (base === null) continue;
    for (const name of c.instanceMembers?.keys() ?? []) methods.add(name);
  }
  return { methods };
}

/** The SDK's callback exports of a module, and the directory of the SDK they come from (undefined: not built with the pwasm SDK). */
export function sdkExports(module: ModuleLike, binaryen: BinaryenLike): { sdkDir: string | undefined; names: string[] } {
  let sdkDir: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < module.getNumExports(); i++) {
    const e = binaryen.getExportInfo(module.getExportByIndex(i));
    const m = SDK_EXPORT.exec(e.value);
    // Another module's function exported under a callback's name is the plugin's own: left alone.
    if (!m || m[2] !== e.name || (sdkDir !== undefined && m[1] !== sdkDir)) continue;
    sdkDir = m[1];
    names.push(e.name);
  }
  // Only the SDK exports proxy_on_context_create next to the others.
  return names.includes("proxy_on_context_create") ? { sdkDir, names } : { sdkDir: undefined, names: [] };
}

/**
 * Removes the SDK's callback exports (`exports`, as found by {@link sdkExports}) that `use` does
 * not need from `module`; returns the callback exports kept and removed.
 */
export function trimCallbackExports(module: ModuleLike, binaryen: BinaryenLike, exports: string[], use: CallbackUse): { kept: string[]; removed: string[] } {
  const imports = new Set<string>();
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const f = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (f.module) imports.add(f.base);
  }
  const kept: string[] = [];
  const removed: string[] = [];
  for (const name of exports) {
    const rule = CALLBACK_EXPORTS[name];
    const needed = !rule || rule.methods.some((m) => use.methods.has(m)) || (rule.imports ?? []).some((i) => imports.has(i));
    (needed ? kept : removed).push(name);
  }
  for (const name of removed) module.removeExport(name);
  return { kept, removed };
}

/**
 * A transform class for the compiler API (`asc.main(args, { transforms: [..] })`): the compiler
 * sets `binaryen` on its prototype and instantiates it, so each build gets a class of its own.
 * `onTrimmed` hears what was kept and removed.
 */
export function exportCallbacksTransform(onTrimmed?: (r: { kept: string[]; removed: string[] }) => void): new () => object {
  return class ExportOnlyUsedCallbacks {
    declare readonly binaryen: BinaryenLike;
    private program: ProgramLike | undefined;

    afterInitialize(program: ProgramLike): void {
      this.program = program;
    }

    afterCompile(module: ModuleLike): void {
      const found = sdkExports(module, this.binaryen);
      if (found.sdkDir === undefined || !this.program) return;
      const use = callbackUse(this.program, found.sdkDir);
      if (use) onTrimmed?.(trimCallbackExports(module, this.binaryen, found.names, use));
    }
  };
}
