// The three interfaces an embedder implements to connect a host to the world, with what passes
// through them: where HTTP callouts go (proxy_http_call), where gRPC calls and streams go
// (proxy_grpc_call / proxy_grpc_stream), and who resolves names (envoy_resolve_dns). The test API
// scripts them (host/testing/), the dev proxy sends real HTTP/1.1, HTTP/2 and DNS (host/proxy/).
import type { HeaderMap } from "../values/header_map.js";

// ---- HTTP callouts ------------------------------------------------------------------------------

/** An HTTP callout as the plugin sent it. */
export interface HttpCalloutRequest {
  /** Cluster name given to proxy_http_call. */
  cluster: string;
  headers: HeaderMap;
  body: Buffer;
  trailers: HeaderMap;
  /** Timeout in ms; 0 = none (Envoy). */
  timeoutMs: number;
}

/** How a callout ended: a response (possibly generated, e.g. 504 on timeout), or a reset. */
export type HttpCalloutResult =
  | { headers: HeaderMap; body: Buffer; trailers: HeaderMap }
  | { reset: string };

/** Sends callouts somewhere: recorded for tests, real HTTP in the dev proxy. */
export interface CalloutTransport {
  /** False for an unknown cluster (proxy_http_call answers BAD_ARGUMENT). */
  hasCluster(cluster: string): boolean;
  /** Starts a callout; undefined when the send is refused (INTERNAL_FAILURE, no callback). */
  send(request: HttpCalloutRequest, token: number, onResult: (r: HttpCalloutResult) => void): { cancel(): void } | undefined;
}

/** A transport that knows no cluster (the default of a host without callout upstreams). */
export const NO_CLUSTERS: CalloutTransport = { hasCluster: () => false, send: () => undefined };

// ---- gRPC callouts ------------------------------------------------------------------------------

/** A gRPC callout as the plugin made it. */
export interface GrpcCalloutRequest {
  /** Cluster the call goes to: the `service` argument, or its GrpcService's `envoy_grpc.cluster_name`. */
  cluster: string;
  /** The raw `service` bytes (a cluster name, or a serialized envoy.config.core.v3.GrpcService). */
  service: Buffer;
  /** Fully qualified service name, e.g. `helloworld.Greeter`. */
  serviceName: string;
  /** Method name, e.g. `SayHello`. */
  method: string;
  /** Initial metadata (byte strings, keys lower-cased). */
  initialMetadata: HeaderMap;
  /** The request message (unary calls only; streams send with proxy_grpc_send). */
  message: Buffer;
  /** Timeout in ms (unary calls; 0 = none). */
  timeoutMs: number;
}

/** What a transport reports about a call or stream. Each may be called from any event-loop turn. */
export interface GrpcEvents {
  /** Stream: the server's initial metadata. */
  initialMetadata(metadata: HeaderMap): void;
  /** Call: the response (ends the call). Stream: one message. */
  message(message: Buffer): void;
  /** Stream: the server's trailing metadata. */
  trailingMetadata(metadata: HeaderMap): void;
  /** Call: a failure. Stream: the remote close. `status` is the gRPC status code. */
  close(status: number, message: string): void;
}

/** A unary call in flight. */
export interface GrpcCallHandle {
  /** Cancels the call; no event follows. */
  cancel(): void;
}

/** A stream in flight. */
export interface GrpcStreamHandle {
  /** Sends a message; `endStream` half-closes after it. */
  send(message: Buffer, endStream: boolean): void;
  /** Half-closes the stream from the plugin's side (the server may still answer). */
  close(): void;
  /** Resets the stream; no event follows. */
  reset(): void;
}

/** Sends gRPC callouts somewhere: scripted by tests, real HTTP/2 in the dev proxy. */
export interface GrpcTransport {
  /** False for an unknown cluster (proxy_grpc_call/stream answer PARSE_FAILURE, as Envoy does). */
  hasCluster(cluster: string): boolean;
  /** Starts a unary call; undefined when the send is refused (INTERNAL_FAILURE, no callback). */
  call(request: GrpcCalloutRequest, token: number, events: GrpcEvents): GrpcCallHandle | undefined;
  /** Opens a stream; undefined when refused (INTERNAL_FAILURE). */
  stream(request: GrpcCalloutRequest, token: number, events: GrpcEvents): GrpcStreamHandle | undefined;
}

/** A transport that knows no cluster (the default of a host without gRPC upstreams). */
export const NO_GRPC: GrpcTransport = { hasCluster: () => false, call: () => undefined, stream: () => undefined };

// ---- DNS ----------------------------------------------------------------------------------------

/** One resolved address. */
export interface DnsAnswer {
  address: string;
  ttlSeconds: number;
}

/** Resolves names for envoy_resolve_dns: `done(undefined)` reports a failed lookup. */
export interface DnsResolver {
  resolve(name: string, done: (answers: DnsAnswer[] | undefined) => void): void;
}
