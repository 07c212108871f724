// Host functions: proxy_get_property, proxy_set_property.
import { WasmResult } from "../abi/constants.js";
import { resolveProperty, serializeProperty, splitPath } from "../state/properties.js";
import { sig, type HostFunctionDef } from "./types.js";

export const propertyFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_get_property", type: sig("iiii>i"),
    create: (vm) => (pathPtr: number, pathLen: number, ptrOut: number, sizeOut: number) => {
      const path = splitPath(vm.mem.utf8(pathPtr, pathLen));
      const ctx = vm.effective ?? vm.root;
      const value = resolveProperty(ctx, path, ctx.propertyScope());
      if (value === undefined) return WasmResult.NotFound;
      return vm.returnBytes(serializeProperty(value), ptrOut, sizeOut);
    },
  },
  {
    module: "env", name: "proxy_set_property", type: sig("iiii>i"),
    create: (vm) => (pathPtr: number, pathLen: number, valPtr: number, valLen: number) => {
      // Envoy does not split the path of proxy_set_property: the raw bytes are the key.
      const path = vm.mem.utf8(pathPtr, pathLen);
      const value = vm.mem.copy(valPtr, valLen);
      return (vm.effective ?? vm.root).setFilterState(path, value);
    },
  },
];
