// Scripted gRPC for the test API: the plugin's gRPC calls and streams wait here, and the test
// answers them — a response or a failure for a call; initial metadata, messages, trailing
// metadata and a close for a stream — and reads what the plugin sent.
import type { HeadersInit } from "../values/header_map.js";
import type {
  GrpcCallHandle, GrpcCalloutRequest, GrpcEvents, GrpcStreamHandle, GrpcTransport,
} from "../services/transports.js";
import { fromWire, headersFromUser } from "./encoding.js";

/** A gRPC call or stream as the plugin opened it. */
export interface TestGrpcRequest {
  token: number;
  cluster: string;
  serviceName: string;
  method: string;
  initialMetadata: Record<string, string>;
}

/** A unary call waiting for an answer. */
export interface TestGrpcCall extends TestGrpcRequest {
  /** The request message. */
  message: Buffer;
  timeoutMs: number;
}

/** An open stream. */
export interface TestGrpcStream extends TestGrpcRequest {
  /** Messages the plugin sent (proxy_grpc_send), oldest first. */
  sent: Buffer[];
  /** The plugin half-closed (end_stream on a send, or proxy_grpc_close). */
  halfClosed: boolean;
}

interface PendingCall {
  request: GrpcCalloutRequest;
  events: GrpcEvents;
}

interface OpenStream extends PendingCall {
  sent: Buffer[];
  halfClosed: boolean;
}

const bytes = (b: string | Uint8Array): Buffer => (typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b));

function describe(token: number, r: GrpcCalloutRequest): TestGrpcRequest {
  return { token, cluster: r.cluster, serviceName: r.serviceName, method: r.method, initialMetadata: fromWire(r.initialMetadata).toObject() };
}

/** The transport a test host gives its plugins: records calls and streams for the test to answer. */
export class ScriptedGrpc implements GrpcTransport {
  readonly calls = new Map<number, PendingCall>();
  readonly streams = new Map<number, OpenStream>();
  /** Tokens of calls the plugin cancelled and streams it reset. */
  readonly cancelled: number[] = [];

  constructor(private readonly clusters: string[] | "*") {}

  hasCluster(cluster: string): boolean {
    return this.clusters === "*" || this.clusters.includes(cluster);
  }

  call(request: GrpcCalloutRequest, token: number, events: GrpcEvents): GrpcCallHandle {
    this.calls.set(token, { request, events });
    return { cancel: () => { if (this.calls.delete(token)) this.cancelled.push(token); } };
  }

  stream(request: GrpcCalloutRequest, token: number, events: GrpcEvents): GrpcStreamHandle {
    const s: OpenStream = { request, events, sent: [], halfClosed: false };
    this.streams.set(token, s);
    return {
      send: (message, endStream) => {
        s.sent.push(Buffer.from(message));
        s.halfClosed ||= endStream;
      },
      close: () => { s.halfClosed = true; },
      reset: () => { if (this.streams.delete(token)) this.cancelled.push(token); },
    };
  }
}

/** What a test sees of gRPC: `host.grpc`. */
export class TestGrpc {
  constructor(private readonly transport: ScriptedGrpc, private readonly runPending: () => void) {}

  /** Unary calls waiting for an answer, oldest first. */
  get calls(): TestGrpcCall[] {
    return [...this.transport.calls.entries()].map(([token, c]) => ({
      ...describe(token, c.request), message: c.request.message, timeoutMs: c.request.timeoutMs,
    }));
  }

  /** Open streams, oldest first. */
  get streams(): TestGrpcStream[] {
    return [...this.transport.streams.entries()].map(([token, s]) => ({
      ...describe(token, s.request), sent: s.sent, halfClosed: s.halfClosed,
    }));
  }

  /** Tokens of calls the plugin cancelled and streams it reset (proxy_grpc_cancel, proxy_grpc_close on a call). */
  get cancelled(): number[] {
    return this.transport.cancelled;
  }

  /** Answers a unary call with its response message (proxy_on_grpc_receive); the oldest when `token` is omitted. */
  respond(message: string | Uint8Array, token?: number): void {
    const [t, c] = this.pendingCall(token);
    this.transport.calls.delete(t);
    c.events.message(bytes(message));
    this.runPending();
  }

  /** Fails a unary call (proxy_on_grpc_close with `status`; `message` via proxy_get_status). */
  fail(status: number, message = "", token?: number): void {
    const [t, c] = this.pendingCall(token);
    this.transport.calls.delete(t);
    c.events.close(status, message);
    this.runPending();
  }

  /** The server's initial metadata on a stream (proxy_on_grpc_receive_initial_metadata). */
  sendInitialMetadata(metadata: HeadersInit, token?: number): void {
    this.openStream(token).events.initialMetadata(headersFromUser(metadata));
    this.runPending();
  }

  /** A server message on a stream (proxy_on_grpc_receive). */
  sendMessage(message: string | Uint8Array, token?: number): void {
    this.openStream(token).events.message(bytes(message));
    this.runPending();
  }

  /** The server's trailing metadata on a stream (proxy_on_grpc_receive_trailing_metadata). */
  sendTrailingMetadata(metadata: HeadersInit, token?: number): void {
    this.openStream(token).events.trailingMetadata(headersFromUser(metadata));
    this.runPending();
  }

  /** The server closes a stream (proxy_on_grpc_close with `status`). */
  closeStream(status = 0, message = "", token?: number): void {
    const t = token ?? this.transport.streams.keys().next().value;
    const s = this.openStream(t);
    this.transport.streams.delete(t!);
    s.events.close(status, message);
    this.runPending();
  }

  private pendingCall(token?: number): [number, PendingCall] {
    const t = token ?? this.transport.calls.keys().next().value;
    const c = t === undefined ? undefined : this.transport.calls.get(t);
    if (t === undefined || !c) throw new Error(token === undefined ? "no gRPC call is waiting" : `no gRPC call with token ${token} is waiting`);
    return [t, c];
  }

  private openStream(token?: number): OpenStream {
    const t = token ?? this.transport.streams.keys().next().value;
    const s = t === undefined ? undefined : this.transport.streams.get(t);
    if (!s) throw new Error(token === undefined ? "no gRPC stream is open" : `no gRPC stream with token ${token} is open`);
    return s;
  }
}
