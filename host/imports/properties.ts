// Host functions: proxy_get_property, proxy_set_property.
import { WasmResult } from "../abi/constants.js";
import { fromByteString } from "../abi/text.js";
import { getProperty } from "../services/properties.js";
import { sig, type HostFunctionDef } from "./types.js";

export const propertyFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_get_property", type: sig("iiii>i"),
    create: (vm) => (pathPtr: number, pathLen: number, ptrOut: number, sizeOut: number) => {
      const path = vm.mem.latin1(pathPtr, pathLen);
      vm.mem.check(ptrOut, 4);
      vm.mem.check(sizeOut, 4);
      const value = getProperty(vm.effectiveContext(), path);
      if (typeof value === "number") return value;
      return vm.returnBytes(value, ptrOut, sizeOut);
    },
  },
  {
    module: "env", name: "proxy_set_property", type: sig("iiii>i"),
    create: (vm) => (pathPtr: number, pathLen: number, valPtr: number, valLen: number) => {
      // Envoy does not split the path of proxy_set_property: the raw bytes name the filter state
      // `wasm.<path>` of the stream, read back as property <path>.
      const path = vm.mem.latin1(pathPtr, pathLen);
      const value = vm.mem.copy(valPtr, valLen);
      const scope = vm.effectiveContext().propertyScope();
      if (!scope) return WasmResult.NotFound;
      const key = `wasm.${fromByteString(path)}`;
      // A property declared read-only (declare_property) can be set once per stream.
      const ctx = vm.effectiveContext();
      if (ctx.root.declaredProperties.get(path)?.readonly && scope.info.filterState.has(key)) return WasmResult.BadArgument;
      scope.info.filterState.set(key, value);
      return WasmResult.Ok;
    },
  },
];
