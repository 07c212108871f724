// The table of host functions: each with its module, name, wasm signature, the ABI versions that
// link it, and where it may be called. Linking checks a module's imports against this table the
// way Envoy does: a missing or mistyped import refuses the module, naming it.
import { type AbiVersion, WasiErrno, WasmResult } from "../abi/constants.js";
import { formatFuncType, sameFuncType } from "../wasm/binary.js";
import type { HostFunctionDef, HostFunctionImpl } from "./types.js";
import { GuestMemoryFault, PluginLoadError } from "../vm/errors.js";
import { VmPhase, type PluginVm } from "../vm/plugin_vm.js";
import { bufferFunctions } from "./buffers.js";
import { contextFunctions } from "./context.js";
import { dnsFunctions } from "./dns.js";
import { headerMapFunctions } from "./header_maps.js";
import { grpcFunctions } from "./grpc.js";
import { httpCallFunctions } from "./http_call.js";
import { loggingFunctions } from "./logging.js";
import { metricFunctions } from "./metrics.js";
import { propertyFunctions } from "./properties.js";
import { sharedDataFunctions } from "./shared_data.js";
import { sharedQueueFunctions } from "./shared_queue.js";
import { streamFunctions } from "./stream.js";
import { wasiFunctions } from "./wasi.js";

/** Every host function the host knows. */
export const HOST_FUNCTIONS: readonly HostFunctionDef[] = [
  ...loggingFunctions,
  ...contextFunctions,
  ...bufferFunctions,
  ...headerMapFunctions,
  ...streamFunctions,
  ...httpCallFunctions,
  ...grpcFunctions,
  ...sharedDataFunctions,
  ...sharedQueueFunctions,
  ...metricFunctions,
  ...propertyFunctions,
  ...wasiFunctions,
  ...dnsFunctions,
];

const byKey = new Map<string, HostFunctionDef[]>();
for (const def of HOST_FUNCTIONS) {
  const key = `${def.module}.${def.name}`;
  const list = byKey.get(key) ?? [];
  list.push(def);
  byKey.set(key, list);
}

/** The definition of `module.name` for an ABI version, if the host links it. */
export function findHostFunction(module: string, name: string, abi: AbiVersion): HostFunctionDef | undefined {
  // WASI's older module name is the same set.
  const mod = module === "wasi_unstable" ? "wasi_snapshot_preview1" : module;
  return byKey.get(`${mod}.${name}`)?.find((d) => !d.versions || d.versions.includes(abi));
}

/**
 * Checks every import of the VM's module and builds the import object. Throws PluginLoadError
 * naming the first import the host does not provide, or provides with another signature.
 */
export function checkImports(info: PluginVm["info"], abi: AbiVersion): void {
  for (const imp of info.imports) {
    if (imp.kind !== "function") {
      throw new PluginLoadError(`Failed to load Wasm module due to a missing import: ${imp.module}.${imp.name} (${imp.kind} imports are not provided)`);
    }
    const def = findHostFunction(imp.module, imp.name, abi);
    if (!def) {
      throw new PluginLoadError(`Failed to load Wasm module due to a missing import: ${imp.module}.${imp.name} (not provided for ABI ${abi})`);
    }
    if (!sameFuncType(def.type, imp.type)) {
      throw new PluginLoadError(
        `Failed to load Wasm module due to an import type mismatch: ${imp.module}.${imp.name} is ${formatFuncType(imp.type)} in the module, the host provides ${formatFuncType(def.type)}`,
      );
    }
  }
}

/** Builds the import object for a VM (imports already checked). */
export function linkImports(vm: PluginVm): WebAssembly.Imports {
  checkImports(vm.info, vm.abiVersion);
  const imports: Record<string, Record<string, HostFunctionImpl>> = {};
  for (const imp of vm.info.imports) {
    const def = findHostFunction(imp.module, imp.name, vm.abiVersion)!;
    (imports[imp.module] ??= {})[imp.name] = guard(vm, def);
  }
  return imports as WebAssembly.Imports;
}

// Wraps an implementation with the phase check and the bad-pointer rule: a guest pointer outside
// memory yields INVALID_MEMORY_ACCESS (WASI: FAULT), never a host exception.
function guard(vm: PluginVm, def: HostFunctionDef): HostFunctionImpl {
  // The guest passes exactly the values the checked signature declares.
  const impl = def.create(vm) as (...args: unknown[]) => number | void;
  const allowed = def.allowed ?? "running";
  const maxPhase = allowed === "anywhere" ? VmPhase.Allocating : allowed === "init" ? VmPhase.Init : VmPhase.Running;
  const fault = def.module === "env" ? WasmResult.InvalidMemoryAccess : WasiErrno.Fault;
  const name = def.name;
  return (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown, g: unknown, h: unknown, i: unknown, j: unknown, k: unknown, l: unknown) => {
    // Phases are ordered Running < Init < Allocating, each allowing less.
    if (vm.phase > maxPhase) vm.restricted(name);
    try {
      return impl(a, b, c, d, e, f, g, h, i, j, k, l);
    } catch (err) {
      if (err instanceof GuestMemoryFault) return fault;
      throw err;
    }
  };
}
