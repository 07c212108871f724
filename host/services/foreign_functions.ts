// Envoy's built-in foreign functions (proxy_call_foreign_function): compress / uncompress (zlib),
// clear_route_cache and declare_property. The host registers them for every plugin; tests and
// embedders may add more by name. (Envoy's CEL expr_*, sign / verify_signature and
// set_envoy_filter_state are not provided: calling them answers NOT_FOUND.)
import { deflateSync, inflateSync } from "node:zlib";
import { WasmResult } from "../abi/constants.js";
import type { ForeignFunction } from "./host_services.js";

// Reads the string field 1 and bool field 2 of a DeclarePropertyArguments message; undefined
// for bytes that are not a protobuf message.
function declarePropertyArguments(b: Buffer): { name: string; readonly: boolean } | undefined {
  let pos = 0;
  let name = "";
  let readonly = false;
  const varint = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10 && pos < b.length; i++) {
      const byte = b[pos++]!;
      v += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) return v;
      mul *= 128;
    }
    return undefined;
  };
  while (pos < b.length) {
    const tag = varint();
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return undefined;
      if (field === 2) readonly = v !== 0;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || pos + len > b.length) return undefined;
      if (field === 1) name = b.toString("latin1", pos, pos + len);
      pos += len;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      return undefined;
    }
  }
  return pos === b.length ? { name, readonly } : undefined;
}

/** The foreign functions Envoy provides, by name. */
export function envoyForeignFunctions(): Map<string, ForeignFunction> {
  return new Map<string, ForeignFunction>([
    ["compress", (args) => deflateSync(args)],
    ["uncompress", (args) => {
      try {
        return inflateSync(args);
      } catch {
        return WasmResult.SerializationFailure;
      }
    }],
    ["clear_route_cache", (_args, caller) => {
      caller.clearRouteCache();
      return WasmResult.Ok;
    }],
    ["declare_property", (args, caller) => {
      const a = declarePropertyArguments(args);
      if (!a) return WasmResult.BadArgument;
      const root = caller.root;
      // Envoy keeps the first declaration of a name.
      if (root.declaredProperties.has(a.name)) return WasmResult.BadArgument;
      root.declaredProperties.set(a.name, { readonly: a.readonly });
      return WasmResult.Ok;
    }],
  ]);
}
