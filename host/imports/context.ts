// Host functions: proxy_set_effective_context, proxy_done, proxy_get_status,
// proxy_call_foreign_function.
import { WasmResult } from "../abi/constants.js";
import { sig, type HostFunctionDef } from "./types.js";

export const contextFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_set_effective_context", type: sig("i>i"),
    create: (vm) => (id: number) => {
      const ctx = vm.context(id >>> 0);
      if (!ctx) return WasmResult.BadArgument;
      vm.effective = ctx;
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_done", type: sig(">i"),
    create: (vm) => () => {
      const root = (vm.effective ?? vm.root).root;
      if (!root.pendingDone) return WasmResult.NotFound;
      root.pendingDone = false;
      // Envoy deletes the root after the current VM call returns.
      vm.defer(() => vm.runtime.deleteRoot(vm, root));
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_get_status", type: sig("iii>i"),
    create: (vm) => (codeOut: number, msgPtrOut: number, msgSizeOut: number) => {
      const root = (vm.effective ?? vm.root).root;
      vm.mem.check(codeOut, 4);
      const r = vm.returnBytes(Buffer.from(root.status.message, "utf8"), msgPtrOut, msgSizeOut);
      if (r !== WasmResult.Ok) return r;
      vm.mem.setU32(codeOut, root.status.code);
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_call_foreign_function", type: sig("iiiiii>i"),
    create: (vm) => (namePtr: number, nameLen: number, argsPtr: number, argsLen: number, resPtrOut: number, resSizeOut: number) => {
      const name = vm.mem.utf8(namePtr, nameLen);
      const args = vm.mem.copy(argsPtr, argsLen);
      const fn = vm.runtime.services.foreignFunctions.get(name);
      if (!fn) return WasmResult.NotFound;
      const result = fn(args, vm);
      if (typeof result === "number") return result;
      // A null results pointer discards the result (Envoy).
      if ((resPtrOut >>> 0) === 0) return WasmResult.Ok;
      return vm.returnBytes(result, resPtrOut, resSizeOut);
    },
  },
];
