// Host functions: proxy_get_header_map_pairs, proxy_set_header_map_pairs,
// proxy_get_header_map_value, proxy_add_header_map_value, proxy_replace_header_map_value,
// proxy_remove_header_map_value, proxy_get_header_map_size. Which map is available when is the
// context's business (HttpStream follows Envoy); these functions apply Envoy's status rules.
import { MapType, WasmResult } from "../abi/constants.js";
import { decodePairs, pairsSize, writePairs } from "../abi/pairs.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import { sig, type HostFunctionDef } from "./types.js";

const MAX_MAP_TYPE = 7;

// Applies an edit to the writable map of `type`: BAD_ARGUMENT when it cannot be edited now.
function edit(vm: PluginVm, type: number, change: (map: NonNullable<ReturnType<PluginVm["root"]["headerMap"]>>) => void): number {
  const ctx = vm.effectiveContext();
  const map = ctx.writableHeaderMap(type as MapType);
  if (!map) return WasmResult.BadArgument;
  change(map);
  ctx.headerMapChanged(type as MapType);
  return WasmResult.Ok;
}

export const headerMapFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_get_header_map_pairs", type: sig("iii>i"),
    create: (vm) => (type: number, ptrOut: number, sizeOut: number) => {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const map = vm.effectiveContext().headerMap(type as MapType);
      // Envoy returns an unavailable map as empty.
      if (!map || map.count === 0) return vm.returnBytes("", ptrOut, sizeOut);
      vm.mem.check(ptrOut, 4);
      vm.mem.check(sizeOut, 4);
      const size = pairsSize(map.pairs);
      const ptr = vm.allocate(size);
      if (ptr === 0) return WasmResult.InvalidMemoryAccess;
      writePairs(vm.mem.check(ptr, size), ptr, map.pairs);
      vm.mem.setU32(ptrOut, ptr);
      vm.mem.setU32(sizeOut, size);
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_set_header_map_pairs", type: sig("iii>i"),
    create: (vm) => (type: number, ptr: number, size: number) => {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      // Malformed pairs become an empty map, as in Envoy.
      const pairs = decodePairs(vm.mem.check(ptr, size), ptr >>> 0, size >>> 0) ?? [];
      return edit(vm, type, (map) => map.replaceAll(pairs));
    },
  },
  {
    module: "env", name: "proxy_get_header_map_value", type: sig("iiiii>i"),
    create: (vm) => (type: number, keyPtr: number, keyLen: number, ptrOut: number, sizeOut: number) => {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const key = vm.mem.latin1(keyPtr, keyLen);
      const ctx = vm.effectiveContext();
      const map = ctx.headerMap(type as MapType);
      // 0.1.0 answered a missing key (and, in the access-log phase, a missing map) with OK and "".
      const missing = () => (vm.abiVersion === "0.1.0" ? vm.returnBytes("", ptrOut, sizeOut) : WasmResult.NotFound);
      if (!map) return ctx.accessLogPhase ? missing() : WasmResult.BadArgument;
      const value = map.get(key);
      if (value === undefined) return missing();
      return vm.returnBytes(value, ptrOut, sizeOut);
    },
  },
  {
    module: "env", name: "proxy_add_header_map_value", type: sig("iiiii>i"),
    create: (vm) => (type: number, keyPtr: number, keyLen: number, valPtr: number, valLen: number) => {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const key = vm.mem.latin1(keyPtr, keyLen);
      const value = vm.mem.latin1(valPtr, valLen);
      return edit(vm, type, (map) => map.add(key, value));
    },
  },
  {
    module: "env", name: "proxy_replace_header_map_value", type: sig("iiiii>i"),
    create: (vm) => (type: number, keyPtr: number, keyLen: number, valPtr: number, valLen: number) => {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const key = vm.mem.latin1(keyPtr, keyLen);
      const value = vm.mem.latin1(valPtr, valLen);
      // Envoy's setCopy: the header moves to the end (docs/envoy/http-stream.md).
      return edit(vm, type, (map) => map.replace(key, value));
    },
  },
  {
    module: "env", name: "proxy_remove_header_map_value", type: sig("iii>i"),
    create: (vm) => (type: number, keyPtr: number, keyLen: number) => {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      const key = vm.mem.latin1(keyPtr, keyLen);
      return edit(vm, type, (map) => map.remove(key));
    },
  },
  {
    module: "env", name: "proxy_get_header_map_size", type: sig("ii>i"),
    create: (vm) => (type: number, sizeOut: number) => {
      type >>>= 0;
      if (type > MAX_MAP_TYPE) return WasmResult.BadArgument;
      // Envoy: the byte size of keys and values of the map it could edit; BAD_ARGUMENT for
      // callout/gRPC maps and for maps not available now.
      const map = vm.effectiveContext().writableHeaderMap(type as MapType);
      if (!map) return WasmResult.BadArgument;
      vm.mem.setU32(sizeOut, map.byteSize());
      return WasmResult.Ok;
    },
  },
];
