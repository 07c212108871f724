// Types shared by the host function table and its entries, and the compact signature notation.
import type { AbiVersion } from "../abi/constants.js";
import type { FuncType, ValType } from "../wasm/binary.js";
import type { PluginVm } from "../vm/plugin_vm.js";

/**
 * A host function implementation: guest values in (i32 as number, i64 as bigint), a status or
 * nothing out. Each implementation declares its own parameter types.
 */
export type HostFunctionImpl = (...args: never[]) => number | void;

/** Where a host function may be called. Envoy restricts init and the allocator. */
export type Allowed = "running" | "init" | "anywhere";

/** One entry of the host function table. */
export interface HostFunctionDef {
  module: "env" | "wasi_snapshot_preview1";
  name: string;
  type: FuncType;
  /** ABI versions that link it (default: every version). */
  versions?: readonly AbiVersion[];
  /** Default "running": a call during init or in the allocator traps with restricted_callback. */
  allowed?: Allowed;
  create(vm: PluginVm): HostFunctionImpl;
}

const V = (c: string): ValType => (c === "I" ? "i64" : "i32");

/** Builds a signature from a compact form: "iiI>i" = (i32, i32, i64) -> i32. */
export function sig(spec: string): FuncType {
  const [p, r = ""] = spec.split(">");
  return { params: [...p!].map(V), results: [...r].map(V) };
}

