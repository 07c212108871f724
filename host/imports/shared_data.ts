// Host functions: proxy_get_shared_data, proxy_set_shared_data.
import { WasmResult } from "../abi/constants.js";
import { sig, type HostFunctionDef } from "./types.js";

export const sharedDataFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_get_shared_data", type: sig("iiiii>i"),
    create: (vm) => (keyPtr: number, keyLen: number, ptrOut: number, sizeOut: number, casOut: number) => {
      const key = vm.mem.utf8(keyPtr, keyLen);
      const entry = vm.runtime.services.sharedData.get(vm.runtime.vmId, key);
      if (!entry) return WasmResult.NotFound;
      vm.mem.check(casOut, 4);
      const r = vm.returnBytes(entry.value, ptrOut, sizeOut);
      if (r !== WasmResult.Ok) return r;
      vm.mem.setU32(casOut, entry.cas);
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_set_shared_data", type: sig("iiiii>i"),
    create: (vm) => (keyPtr: number, keyLen: number, valPtr: number, valLen: number, cas: number) => {
      const key = vm.mem.utf8(keyPtr, keyLen);
      const value = vm.mem.copy(valPtr, valLen);
      return vm.runtime.services.sharedData.set(vm.runtime.vmId, key, value, cas >>> 0);
    },
  },
];
