// Host functions: proxy_continue_stream, proxy_close_stream, proxy_send_local_response, and the
// 0.1.0 forms proxy_continue_request / proxy_continue_response.
import { StreamType, WasmResult } from "../abi/constants.js";
import { decodePairs } from "../abi/pairs.js";
import { lowerKey } from "../values/header_map.js";
import { sig, type HostFunctionDef } from "./types.js";

export const streamFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_continue_stream", type: sig("i>i"), versions: ["0.2.0", "0.2.1"],
    create: (vm) => (type: number) => vm.effectiveContext().continueStream(type >>> 0),
  },
  {
    module: "env", name: "proxy_close_stream", type: sig("i>i"), versions: ["0.2.0", "0.2.1"],
    create: (vm) => (type: number) => vm.effectiveContext().closeStream(type >>> 0),
  },
  {
    module: "env", name: "proxy_continue_request", type: sig(">i"), versions: ["0.1.0"],
    create: (vm) => () => vm.effectiveContext().continueStream(StreamType.HttpRequest),
  },
  {
    module: "env", name: "proxy_continue_response", type: sig(">i"), versions: ["0.1.0"],
    create: (vm) => () => vm.effectiveContext().continueStream(StreamType.HttpResponse),
  },
  {
    module: "env", name: "proxy_send_local_response", type: sig("iiiiiiii>i"),
    create: (vm) => (
      status: number, detailsPtr: number, detailsLen: number, bodyPtr: number, bodyLen: number,
      headersPtr: number, headersLen: number, grpcStatus: number,
    ) => {
      const details = vm.mem.latin1(detailsPtr, detailsLen).replace(/\s/g, "_");
      const body = vm.mem.copy(bodyPtr, bodyLen);
      const pairs = decodePairs(vm.mem.check(headersPtr, headersLen), headersPtr >>> 0, headersLen >>> 0) ?? [];
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < pairs.length; i += 2) headers.push([lowerKey(pairs[i]!), pairs[i + 1]!]);
      const g = grpcStatus | 0;
      return vm.effectiveContext().sendLocalResponse({
        statusCode: status >>> 0, details, body, headers, grpcStatus: g >= 0 && g <= 16 ? g : undefined,
      });
    },
  },
];
