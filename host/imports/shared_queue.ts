// Host functions: proxy_register_shared_queue, proxy_resolve_shared_queue,
// proxy_enqueue_shared_queue, proxy_dequeue_shared_queue.
import { WasmResult } from "../abi/constants.js";
import { sig, type HostFunctionDef } from "./types.js";

export const sharedQueueFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_register_shared_queue", type: sig("iii>i"),
    create: (vm) => (namePtr: number, nameLen: number, idOut: number) => {
      const name = vm.mem.utf8(namePtr, nameLen);
      vm.mem.check(idOut, 4);
      const root = vm.effectiveContext().root;
      const id = vm.runtime.services.sharedQueues.register(vm.runtime.vmId, name, {
        notify: (queueId) => vm.runtime.services.post(() => root.plugin.deliverQueueReady(vm, root, queueId)),
      });
      vm.mem.setU32(idOut, id);
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_resolve_shared_queue", type: sig("iiiii>i"),
    create: (vm) => (vmIdPtr: number, vmIdLen: number, namePtr: number, nameLen: number, idOut: number) => {
      const vmId = vm.mem.utf8(vmIdPtr, vmIdLen) || vm.runtime.vmId;
      const name = vm.mem.utf8(namePtr, nameLen);
      vm.mem.check(idOut, 4);
      const id = vm.runtime.services.sharedQueues.resolve(vmId, name);
      if (id === undefined) return WasmResult.NotFound;
      vm.mem.setU32(idOut, id);
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_enqueue_shared_queue", type: sig("iii>i"),
    create: (vm) => (id: number, dataPtr: number, dataLen: number) => {
      const data = vm.mem.copy(dataPtr, dataLen);
      return vm.runtime.services.sharedQueues.enqueue(id >>> 0, data);
    },
  },
  {
    module: "env", name: "proxy_dequeue_shared_queue", type: sig("iii>i"),
    create: (vm) => (id: number, ptrOut: number, sizeOut: number) => {
      vm.mem.check(ptrOut, 4);
      vm.mem.check(sizeOut, 4);
      const item = vm.runtime.services.sharedQueues.dequeue(id >>> 0);
      if (typeof item === "number") return item;
      return vm.returnBytes(item, ptrOut, sizeOut);
    },
  },
];
