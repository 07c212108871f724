// Host functions: proxy_get_buffer_bytes, proxy_get_buffer_status, proxy_set_buffer_bytes.
import { type BufferType, WasmResult } from "../abi/constants.js";
import { sig, type HostFunctionDef } from "./types.js";

const MAX_BUFFER_TYPE = 8;

export const bufferFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_get_buffer_bytes", type: sig("iiiii>i"),
    create: (vm) => (type: number, start: number, maxSize: number, ptrOut: number, sizeOut: number) => {
      type >>>= 0;
      start >>>= 0;
      maxSize >>>= 0;
      if (type > MAX_BUFFER_TYPE) return WasmResult.BadArgument;
      if (start + maxSize > 0xffffffff) return WasmResult.BadArgument;
      const buf = vm.effectiveContext().buffer(type as BufferType);
      if (!buf) return WasmResult.NotFound;
      const end = Math.min(buf.length, start + maxSize);
      const slice = start < end ? buf.subarray(start, end) : buf.subarray(0, 0);
      return vm.returnBytes(slice, ptrOut, sizeOut);
    },
  },
  {
    module: "env", name: "proxy_get_buffer_status", type: sig("iii>i"),
    create: (vm) => (type: number, sizeOut: number, flagsOut: number) => {
      type >>>= 0;
      if (type > MAX_BUFFER_TYPE) return WasmResult.BadArgument;
      const buf = vm.effectiveContext().buffer(type as BufferType);
      if (!buf) return WasmResult.NotFound;
      vm.mem.check(flagsOut, 4);
      vm.mem.setU32(sizeOut, buf.length);
      vm.mem.setU32(flagsOut, 0);
      return WasmResult.Ok;
    },
  },
  {
    module: "env", name: "proxy_set_buffer_bytes", type: sig("iiiii>i"),
    create: (vm) => (type: number, start: number, size: number, dataPtr: number, dataLen: number) => {
      type >>>= 0;
      if (type > MAX_BUFFER_TYPE) return WasmResult.BadArgument;
      const data = vm.mem.copy(dataPtr, dataLen);
      return vm.effectiveContext().setBuffer(type as BufferType, start >>> 0, size >>> 0, data);
    },
  },
];
