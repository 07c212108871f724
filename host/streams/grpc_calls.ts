// gRPC callouts of a root context (proxy_grpc_call / proxy_grpc_stream), as Envoy keeps them: a
// unary call ends with its response (proxy_on_grpc_receive) or a failure (proxy_on_grpc_close);
// a stream delivers initial metadata, messages, trailing metadata and a close, and is forgotten
// once both sides closed. The transport behind them is pluggable: scripted by the test API, real
// HTTP/2 in the dev proxy.
import { WasmResult } from "../abi/constants.js";
import type { GrpcCallHandle, GrpcEvents, GrpcStreamHandle } from "../services/transports.js";
import type { RootContextState } from "../vm/contexts.js";
import { onGrpcClose, onGrpcReceive, onGrpcReceiveInitialMetadata, onGrpcReceiveTrailingMetadata } from "../vm/guest.js";
import type { PluginVm } from "../vm/plugin_vm.js";

/** Token kinds in the low two bits (Envoy): 1 gRPC call, 2 gRPC stream. */
export const GRPC_CALL_KIND = 1;
export const GRPC_STREAM_KIND = 2;

/** One gRPC callout of a root context. */
export interface GrpcCallout {
  token: number;
  root: RootContextState;
  call?: GrpcCallHandle;
  stream?: GrpcStreamHandle;
  /** The plugin half-closed the stream (proxy_grpc_close). */
  localClosed: boolean;
  /** The server closed the stream. */
  remoteClosed: boolean;
}

// Callouts by root context, then token (tokens are unique per VM).
const byRoot = new WeakMap<RootContextState, Map<number, GrpcCallout>>();

/** The gRPC callouts of a root context. */
export function grpcCallouts(root: RootContextState): Map<number, GrpcCallout> {
  let m = byRoot.get(root);
  if (!m) {
    m = new Map();
    byRoot.set(root, m);
  }
  return m;
}

/** Registers a callout (also as a pending callout of the root, so a VM failure cancels it). */
export function trackGrpcCallout(c: GrpcCallout): void {
  grpcCallouts(c.root).set(c.token, c);
  c.root.callouts.set(c.token, { token: c.token, cancel: () => { c.call?.cancel(); c.stream?.reset(); } });
}

/** Forgets a callout. */
export function forgetGrpcCallout(c: GrpcCallout): void {
  grpcCallouts(c.root).delete(c.token);
  c.root.callouts.delete(c.token);
}

/** True while the callout is tracked and its VM and root can still receive callbacks. */
function live(vm: PluginVm, c: GrpcCallout): boolean {
  return !vm.failure && vm.contexts.has(c.root.id) && grpcCallouts(c.root).get(c.token) === c;
}

/**
 * The event sink for one callout: each event is delivered as its proxy_on_grpc_* callback once
 * the VM is idle (Envoy defers re-entrant deliveries), with the metadata or message readable
 * during the callback only.
 */
export function grpcEventsFor(vm: PluginVm, c: GrpcCallout): GrpcEvents {
  const root = c.root;
  const isCall = (c.token & 3) === GRPC_CALL_KIND;
  const deliver = (fn: () => void) => vm.defer(() => {
    if (!live(vm, c)) return;
    try {
      fn();
    } catch (err) {
      // A trap already failed the VM (and was logged); nothing waits for this callback.
      if (!vm.failure) throw err;
    }
  });
  return {
    initialMetadata: (metadata) => deliver(() => {
      root.grpcInitialMetadata = metadata;
      try {
        onGrpcReceiveInitialMetadata(root, c.token, metadata.count);
      } finally {
        root.grpcInitialMetadata = undefined;
      }
    }),
    message: (message) => deliver(() => {
      // A unary call ends with its response.
      if (isCall) forgetGrpcCallout(c);
      root.grpcReceiveBuffer = message;
      try {
        onGrpcReceive(root, c.token, message.length);
      } finally {
        root.grpcReceiveBuffer = undefined;
      }
    }),
    trailingMetadata: (metadata) => deliver(() => {
      root.grpcTrailingMetadata = metadata;
      try {
        onGrpcReceiveTrailingMetadata(root, c.token, metadata.count);
      } finally {
        root.grpcTrailingMetadata = undefined;
      }
    }),
    close: (status, message) => deliver(() => {
      c.remoteClosed = true;
      // Envoy forgets a call at once, a stream once the plugin closed its side too.
      if (isCall || c.localClosed) forgetGrpcCallout(c);
      root.status = { code: status >>> 0, message };
      try {
        onGrpcClose(root, c.token, status);
      } finally {
        root.status = { code: root.status.code, message: "" };
      }
    }),
  };
}

/** proxy_grpc_send: only for stream tokens (else BAD_ARGUMENT); unknown stream NOT_FOUND. */
export function grpcSend(root: RootContextState, token: number, message: Buffer, endStream: boolean): number {
  if ((token & 3) !== GRPC_STREAM_KIND) return WasmResult.BadArgument;
  const c = grpcCallouts(root).get(token);
  if (!c) return WasmResult.NotFound;
  if (!c.remoteClosed) c.stream?.send(message, endStream);
  return WasmResult.Ok;
}

/** proxy_grpc_cancel: cancels a call or resets a stream, and forgets it. */
export function grpcCancel(root: RootContextState, token: number): number {
  const kind = token & 3;
  if (kind !== GRPC_CALL_KIND && kind !== GRPC_STREAM_KIND) return WasmResult.BadArgument;
  const c = grpcCallouts(root).get(token);
  if (!c) return WasmResult.NotFound;
  forgetGrpcCallout(c);
  c.call?.cancel();
  c.stream?.reset();
  return WasmResult.Ok;
}

/** proxy_grpc_close: cancels a call; half-closes a stream (forgotten once the server closed too). */
export function grpcClose(root: RootContextState, token: number): number {
  const kind = token & 3;
  if (kind !== GRPC_CALL_KIND && kind !== GRPC_STREAM_KIND) return WasmResult.BadArgument;
  const c = grpcCallouts(root).get(token);
  if (!c) return WasmResult.NotFound;
  if (kind === GRPC_CALL_KIND) {
    forgetGrpcCallout(c);
    c.call?.cancel();
    return WasmResult.Ok;
  }
  if (!c.localClosed) c.stream?.close();
  c.localClosed = true;
  if (c.remoteClosed) forgetGrpcCallout(c);
  return WasmResult.Ok;
}

/**
 * The cluster a `service` argument names: a serialized GrpcService's `envoy_grpc.cluster_name`
 * (field 1 → field 1), else the bytes themselves as a cluster name — Envoy tries the proto first.
 */
export function grpcServiceCluster(service: Buffer): string {
  const envoyGrpc = protoField(service, 1);
  const cluster = envoyGrpc ? protoField(envoyGrpc, 1) : undefined;
  return cluster && cluster.length > 0 ? cluster.toString("utf8") : service.toString("utf8");
}

// The bytes of length-delimited field `field` of a protobuf message, if the whole message parses.
function protoField(buf: Buffer, field: number): Buffer | undefined {
  let i = 0;
  let found: Buffer | undefined;
  const varint = (): number | undefined => {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (i >= buf.length) return undefined;
      const b = buf[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    return undefined;
  };
  while (i < buf.length) {
    const key = varint();
    if (key === undefined || key >>> 3 === 0) return undefined;
    const wire = key & 7;
    if (wire === 0) {
      if (varint() === undefined) return undefined;
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || i + len > buf.length) return undefined;
      if (key >>> 3 === field) found = buf.subarray(i, i + len);
      i += len;
    } else {
      return undefined;
    }
    if (i > buf.length) return undefined;
  }
  return found;
}
