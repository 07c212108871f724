// What every dev-proxy listener (HTTP or TCP) stands on: the Proxy-Wasm host its plugins run in
// (callouts to the configured clusters, gRPC over HTTP/2, the system resolver, the node and
// listener facts), the plugin chain loaded into it, and the admin listener beside it (/ready,
// /stats, /stats/prometheus).
import http from "node:http";
import type { AddressInfo, Server } from "node:net";
import { ProxyWasmHost, type HostOptions } from "../host.js";
import type { Plugin, PluginOptions } from "../plugin/plugin.js";
import type { MetadataInit, NodeInfo } from "../values/envoy_messages.js";
import type { PropertyLiteral } from "../values/stream_info.js";
import { istioTagExtractor } from "../istio/tag_extractor.js";
import { SystemDnsResolver } from "./dns_resolver.js";
import { Http2GrpcTransport } from "./grpc_transport.js";
import type { DevProxy } from "./dev_proxy_options.js";
import { HttpCalloutTransport } from "./http_callouts.js";

/** The settings a proxy's host takes. */
export interface ProxyHostOptions {
  clusters?: Record<string, string>;
  node?: NodeInfo;
  listenerDirection?: HostOptions["listenerDirection"];
  listenerMetadata?: MetadataInit;
  properties?: Record<string, PropertyLiteral>;
  logLevel?: HostOptions["logLevel"];
  onLog?: HostOptions["onLog"];
  tagExtractor?: HostOptions["tagExtractor"];
  debugging?: HostOptions["debugging"];
  callbackTimeLimitMs?: HostOptions["callbackTimeLimitMs"];
}

/** A proxy's host and the transport it must close when done. */
export interface ProxyHost {
  host: ProxyWasmHost;
  /** Shuts the plugins down and closes the gRPC connections. */
  shutdown(): void;
}

// The node pwasm's Envoy bootstrap declares (cli/envoy/bootstrap.ts): id and cluster "pwasm"
// unless given, so `xds.node` answers alike in both (docs/envoy/properties.md).
function proxyNode(node: NodeInfo | undefined): NodeInfo {
  return { ...node, id: node?.id ?? "pwasm", cluster: node?.cluster ?? "pwasm" };
}

/** The host a proxy listener runs its plugins in. */
export function createProxyHost(options: ProxyHostOptions): ProxyHost {
  const clusters = new Map(Object.entries(options.clusters ?? {}).map(([k, v]) => [k, new URL(v)]));
  const grpc = new Http2GrpcTransport(clusters);
  const host = new ProxyWasmHost({
    mode: "real", keepLogs: false, logLevel: options.logLevel ?? "info", onLog: options.onLog,
    callouts: new HttpCalloutTransport(clusters), grpc, dns: new SystemDnsResolver(), properties: options.properties,
    node: proxyNode(options.node), listenerDirection: options.listenerDirection, listenerMetadata: options.listenerMetadata,
    tagExtractor: options.tagExtractor ?? istioTagExtractor, debugging: options.debugging,
    callbackTimeLimitMs: options.callbackTimeLimitMs,
  });
  return {
    host,
    shutdown() {
      host.shutdown();
      grpc.close();
    },
  };
}

/** Loads a chain's plugins in filter order; a refusal shuts the host down and is rethrown. */
export async function loadChain(p: ProxyHost, plugins: Array<PluginOptions & { wasm: Uint8Array | string }>): Promise<Plugin[]> {
  const loaded: Plugin[] = [];
  try {
    for (const options of plugins) loaded.push(await p.host.loadPlugin(options.wasm, options));
  } catch (err) {
    p.shutdown();
    throw err;
  }
  return loaded;
}

/** Listens on host:port; resolves with the bound address. */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** A running admin listener. */
export interface AdminListener {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the admin listener at `address` (default 127.0.0.1:9901): /ready, /stats,
 * /stats/prometheus, and whatever `more` answers (true when it handled the request).
 */
export async function startAdmin(host: ProxyWasmHost, address: { host?: string; port?: number } = {}, more?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean): Promise<AdminListener> {
  const server = http.createServer((req, res) => {
    if (more?.(req, res)) return;
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/ready") {
      res.writeHead(200, { "content-type": "text/plain" }).end("LIVE\n");
    } else if (path === "/stats/prometheus" || (path === "/stats" && req.url?.includes("format=prometheus"))) {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(host.prometheus());
    } else if (path === "/stats") {
      const lines = host.metrics.all().map((m) => `${m.name}: ${m.type === 2 ? `P0(nan) count=${m.count} sum=${m.sum}` : m.value}`);
      res.writeHead(200, { "content-type": "text/plain" }).end(lines.sort().join("\n") + "\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  const addr = await listen(server, address.host ?? "127.0.0.1", address.port ?? 9901);
  return {
    url: `http://${addr.address}:${addr.port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The plugin chain a listener runs, swappable while streams or connections are in flight: each
 * keeps the chain it started with, and a replaced plugin shuts down (proxy_on_done) once the last
 * of them ends.
 */
export class LiveChain {
  /** Streams or connections in flight. */
  inFlight = 0;
  private readonly active = new Map<Plugin, number>();
  private readonly retiring = new Set<Plugin>();
  private onIdle: (() => void) | undefined;

  constructor(private readonly host: ProxyWasmHost, public plugins: Plugin[]) {}

  /** A stream or connection starts: returns the chain it keeps until `end`. */
  begin(): Plugin[] {
    this.inFlight++;
    const chain = this.plugins;
    for (const p of chain) this.active.set(p, (this.active.get(p) ?? 0) + 1);
    return chain;
  }

  /** A stream or connection that began with `chain` ended. */
  end(chain: Plugin[]): void {
    this.inFlight--;
    for (const p of chain) {
      this.active.set(p, this.active.get(p)! - 1);
      this.retireIfIdle(p);
    }
    if (this.inFlight === 0) this.onIdle?.();
  }

  /** New streams use `next`; plugins no longer in it shut down once idle. */
  replace(next: Plugin[]): void {
    const old = this.plugins;
    this.plugins = next;
    for (const p of old) {
      if (next.includes(p)) continue;
      this.retiring.add(p);
      this.retireIfIdle(p);
    }
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => { this.onIdle = r; });
  }

  private retireIfIdle(p: Plugin): void {
    if (this.retiring.has(p) && !this.active.get(p)) {
      this.retiring.delete(p);
      this.active.delete(p);
      this.host.unloadPlugin(p);
    }
  }
}

/** The DevProxy handle of a listener whose chain is `live`. */
export function runningProxy(p: { url: string; adminUrl: string | undefined; host: ProxyWasmHost; live: LiveChain; close(): Promise<void>; onReplace?: (next: Plugin[], previous: Plugin[]) => void }): DevProxy {
  const { live } = p;
  return {
    url: p.url,
    adminUrl: p.adminUrl,
    host: p.host,
    get plugins() {
      return live.plugins;
    },
    get inFlight() {
      return live.inFlight;
    },
    replacePlugins: (next) => {
      const previous = live.plugins;
      live.replace(next);
      p.onReplace?.(next, previous);
    },
    close: () => p.close(),
  };
}
