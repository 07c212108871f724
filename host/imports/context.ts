// Host functions: proxy_set_effective_context, proxy_done, proxy_get_status,
// proxy_call_foreign_function, and the 0.1.0-only proxy_get_configuration and
// proxy_clear_route_cache.
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
      const root = vm.effectiveContext().root;
      if (!root.pendingDone) return WasmResult.NotFound;
      root.pendingDone = false;
      // Envoy deletes the root after the current VM call returns.
      vm.defer(() => root.plugin.deleteRoot(vm, root));
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_get_status", type: sig("iii>i"),
    create: (vm) => (codeOut: number, msgPtrOut: number, msgSizeOut: number) => {
      const root = vm.effectiveContext().root;
      vm.mem.check(codeOut, 4);
      vm.mem.setU32(codeOut, root.status.code);
      return vm.returnBytes(Buffer.from(root.status.message, "utf8"), msgPtrOut, msgSizeOut);
    },
  },
  {
    module: "env", name: "proxy_call_foreign_function", type: sig("iiiiii>i"),
    create: (vm) => (namePtr: number, nameLen: number, argsPtr: number, argsLen: number, resPtrOut: number, resSizeOut: number) => {
      const name = vm.mem.utf8(namePtr, nameLen);
      const args = vm.mem.copy(argsPtr, argsLen);
      const fn = vm.runtime.services.foreignFunctions.get(name);
      if (!fn) return WasmResult.NotFound;
      const out = fn(args, vm.effectiveContext());
      const status = typeof out === "number" ? out : WasmResult.Ok;
      const result = typeof out === "number" ? undefined : out;
      // Envoy allocates the result in the guest only when a results pointer is given; the size
      // is written whenever its pointer is non-null.
      if ((resPtrOut >>> 0) !== 0) {
        const r = vm.returnBytes(result ?? "", resPtrOut, resSizeOut);
        if (r !== WasmResult.Ok) return r;
      } else if ((resSizeOut >>> 0) !== 0) {
        vm.mem.setU32(resSizeOut, result?.length ?? 0);
      }
      return status;
    },
  },
  {
    module: "env", name: "proxy_get_configuration", type: sig("ii>i"), versions: ["0.1.0"],
    create: (vm) => (ptrOut: number, sizeOut: number) => {
      // Envoy: the plugin configuration inside proxy_on_configure, else the VM configuration.
      const root = vm.effectiveContext().root;
      return vm.returnBytes(root.pluginConfiguration ?? vm.runtime.vmConfiguration, ptrOut, sizeOut);
    },
  },
  {
    module: "env", name: "proxy_clear_route_cache", type: sig(">i"), versions: ["0.1.0"],
    create: (vm) => () => {
      vm.effectiveContext().clearRouteCache();
      return WasmResult.Ok;
    },
  },
];
