// Review findings on a plugin's VMs: a VM the host throws away (its configuration was refused, or a
// later worker failed to start) must not keep receiving callbacks — Envoy cancels a destroyed
// root's callouts.
import { describe, expect, it } from "vitest";
import { PluginLoadError, ProxyWasmHost } from "../../host/index.js";
import type { CalloutTransport, HttpCalloutResult } from "../../host/services/transports.js";
import { HeaderMap } from "../../host/values/header_map.js";
import { OUT, proxyModule } from "./helpers/proxy_wat.js";

// Sends one callout from proxy_on_configure, then refuses the configuration when it is "reject";
// logs "callout answered" when the response arrives.
const wasm = proxyModule((m) => `
  (func (export "proxy_on_configure") (param i32) (param $size i32) (result i32)
    (drop (call $proxy_http_call ${m.s("jwks")} ${m.pairs([[":method", "GET"], [":path", "/keys"], [":authority", "idp"]])}
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const ${OUT})))
    (i32.ne (local.get $size) (i32.const 6)))
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
    (drop (call $proxy_log (i32.const 2) ${m.s("callout answered")})))`);

function recordingTransport() {
  const sent: Array<{ onResult: (r: HttpCalloutResult) => void; cancelled: boolean }> = [];
  const transport: CalloutTransport = {
    hasCluster: () => true,
    send: (_req, _token, onResult) => {
      const c = { onResult, cancelled: false };
      sent.push(c);
      return { cancel: () => { c.cancelled = true; } };
    },
  };
  return { sent, transport };
}

const answer = (): HttpCalloutResult => ({ headers: new HeaderMap([":status", "200"]), body: Buffer.from("{}"), trailers: new HeaderMap() });

describe("a VM the host discards", () => {
  it("a refused configuration cancels the callouts its VM started, and their answers reach nobody", async () => {
    const { sent, transport } = recordingTransport();
    const host = new ProxyWasmHost({ callouts: transport, logLevel: "trace" });
    await expect(host.loadPlugin(wasm, { configuration: "reject" })).rejects.toThrow(PluginLoadError);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.cancelled).toBe(true);
    sent[0]!.onResult(answer());
    host.runPending();
    expect(host.logs.at("info")).toEqual([]);
  });

  it("when a later worker fails to start, the VMs already started are stopped too", async () => {
    const { sent, transport } = recordingTransport();
    const host = new ProxyWasmHost({ callouts: transport, logLevel: "trace" });
    // The first VM starts (its configure sends a callout and accepts); the second traps in on_vm_start.
    const wasm2 = proxyModule((m) => `
      (global $n (mut i32) (i32.const 0))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (drop (call $proxy_http_call ${m.s("jwks")} ${m.pairs([[":method", "GET"], [":path", "/keys"], [":authority", "idp"]])}
          (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const ${OUT})))
        (i32.const 1))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
        (i32.eqz (call $proxy_get_shared_data ${m.s("started")} (i32.const ${OUT}) (i32.const ${OUT + 4}) (i32.const ${OUT + 8})))
        (if (then unreachable))
        (drop (call $proxy_set_shared_data ${m.s("started")} ${m.s("1")} (i32.const 0)))
        (i32.const 1))
      (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
        (drop (call $proxy_log (i32.const 2) ${m.s("callout answered")})))`);
    await expect(host.loadPlugin(wasm2, { concurrency: 2 })).rejects.toThrow(PluginLoadError);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.cancelled).toBe(true);
    sent[0]!.onResult(answer());
    expect(host.logs.at("info")).toEqual([]);
  });
});
