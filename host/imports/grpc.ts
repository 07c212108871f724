// Host functions: proxy_grpc_call, proxy_grpc_stream, proxy_grpc_send, proxy_grpc_cancel,
// proxy_grpc_close. Like HTTP callouts, gRPC callouts belong to the root context (Envoy); their
// events come back as proxy_on_grpc_* callbacks (streams/grpc_calls.ts).
import { WasmResult } from "../abi/constants.js";
import { decodePairs } from "../abi/pairs.js";
import { HeaderMap } from "../values/header_map.js";
import {
  GRPC_CALL_KIND, GRPC_STREAM_KIND, grpcCancel, grpcClose, grpcEventsFor, grpcSend, grpcServiceCluster,
  trackGrpcCallout, type GrpcCallout,
} from "../streams/grpc_calls.js";
import type { GrpcCalloutRequest, GrpcEvents, GrpcTransport } from "../services/transports.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import { sig, type HostFunctionDef } from "./types.js";

// The gRPC transport of the host; a host without one knows no cluster.
function transportOf(vm: PluginVm): GrpcTransport | undefined {
  return vm.runtime.services.grpc;
}

// Reads the arguments both calls share, or the status that refuses them.
function readRequest(
  vm: PluginVm, svcPtr: number, svcLen: number, snPtr: number, snLen: number, mPtr: number, mLen: number,
  mdPtr: number, mdLen: number, tokenOut: number,
): GrpcCalloutRequest | number {
  const service = vm.mem.copy(svcPtr, svcLen);
  const serviceName = vm.mem.utf8(snPtr, snLen);
  const method = vm.mem.utf8(mPtr, mLen);
  const initialMetadata = new HeaderMap(decodePairs(vm.mem.check(mdPtr, mdLen), mdPtr >>> 0, mdLen >>> 0) ?? []);
  initialMetadata.replaceAll(initialMetadata.pairs);
  vm.mem.setU32(tokenOut, 0);
  const cluster = grpcServiceCluster(service);
  // Envoy: an unknown cluster is PARSE_FAILURE (kept from ABI 0.1 for compatibility).
  if (!transportOf(vm)?.hasCluster(cluster)) return WasmResult.ParseFailure;
  return { cluster, service, serviceName, method, initialMetadata, message: Buffer.alloc(0), timeoutMs: 0 };
}

function rootOf(vm: PluginVm) {
  return vm.effectiveContext().root;
}

// Starts a call or stream for the caller's root context (Envoy: callouts belong to the root);
// `send` hands it to the transport and says whether the transport took it.
function start(
  vm: PluginVm, kind: typeof GRPC_CALL_KIND | typeof GRPC_STREAM_KIND, tokenOut: number,
  send: (c: GrpcCallout, events: GrpcEvents) => boolean,
): number {
  const c: GrpcCallout = { token: vm.newCalloutToken(kind), root: rootOf(vm), localClosed: false, remoteClosed: false };
  if (!send(c, grpcEventsFor(vm, c))) return WasmResult.InternalFailure;
  trackGrpcCallout(c);
  vm.mem.setU32(tokenOut, c.token);
  return WasmResult.Ok;
}

export const grpcFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_grpc_call", type: sig("iiiiiiiiiiii>i"),
    create: (vm) => (
      svcPtr: number, svcLen: number, snPtr: number, snLen: number, mPtr: number, mLen: number,
      mdPtr: number, mdLen: number, msgPtr: number, msgLen: number, timeoutMs: number, tokenOut: number,
    ) => {
      const message = vm.mem.copy(msgPtr, msgLen);
      const req = readRequest(vm, svcPtr, svcLen, snPtr, snLen, mPtr, mLen, mdPtr, mdLen, tokenOut);
      if (typeof req === "number") return req;
      req.message = message;
      req.timeoutMs = timeoutMs >>> 0;
      return start(vm, GRPC_CALL_KIND, tokenOut, (c, events) => {
        const call = transportOf(vm)!.call(req, c.token, events);
        c.call = call;
        return call !== undefined;
      });
    },
  },
  {
    module: "env", name: "proxy_grpc_stream", type: sig("iiiiiiiii>i"),
    create: (vm) => (
      svcPtr: number, svcLen: number, snPtr: number, snLen: number, mPtr: number, mLen: number,
      mdPtr: number, mdLen: number, tokenOut: number,
    ) => {
      const req = readRequest(vm, svcPtr, svcLen, snPtr, snLen, mPtr, mLen, mdPtr, mdLen, tokenOut);
      if (typeof req === "number") return req;
      return start(vm, GRPC_STREAM_KIND, tokenOut, (c, events) => {
        const stream = transportOf(vm)!.stream(req, c.token, events);
        c.stream = stream;
        return stream !== undefined;
      });
    },
  },
  {
    module: "env", name: "proxy_grpc_send", type: sig("iiii>i"),
    create: (vm) => (token: number, msgPtr: number, msgLen: number, endStream: number) => {
      const message = vm.mem.copy(msgPtr, msgLen);
      return grpcSend(rootOf(vm), token >>> 0, message, endStream !== 0);
    },
  },
  {
    module: "env", name: "proxy_grpc_cancel", type: sig("i>i"),
    create: (vm) => (token: number) => grpcCancel(rootOf(vm), token >>> 0),
  },
  {
    module: "env", name: "proxy_grpc_close", type: sig("i>i"),
    create: (vm) => (token: number) => grpcClose(rootOf(vm), token >>> 0),
  },
];
