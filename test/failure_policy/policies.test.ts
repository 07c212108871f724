// The failure policies on a VM that traps (WAT modules through the test API): FAIL_RELOAD's fresh VM
// after the backoff, and FAIL_OPEN's pass-through for later streams. The other failure-policy
// tests: trap_policy.test.ts here (an AssemblyScript plugin), test/proxy/pwasm_run.test.ts and
// test/proxy/tcp_proxy.test.ts (the dev proxy), test/sdk/abi_tcp.test.ts (TCP in every SDK
// variant), test/host/lifecycle.test.ts (VMs shared by plugins), test/host/runaway_plugin.test.ts
// (a callback past its time limit), test/differential/failures.test.ts (compared with Envoy).
import { describe, expect, it } from "vitest";
import { createTestHost } from "../../host/index.js";
import { OUT, proxyModule } from "../host/helpers/proxy_wat.js";

const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };

describe("failure policies", () => {
  const trapOnHeader = () => proxyModule((m) => `
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
      (if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) ${m.s("x-trap")} (i32.const ${OUT}) (i32.const ${OUT + 4})))
        (then (unreachable)))
      (i32.const 0))`);

  it("13.14 after a failure a new stream does not reuse the failed VM (FAIL_RELOAD, after the backoff)", async () => {
    const host = await createTestHost({ wasm: trapOnHeader(), reloadBackoffMs: 1000 });
    const first = host.plugin.currentVms()[0];
    host.httpStream().callOnRequestHeaders({ ...GET, "x-trap": "1" }, true);
    // Within the backoff interval (Envoy: base 1 s, jittered up to 1.5 s) streams still fail.
    const during = host.httpStream();
    during.callOnRequestHeaders(GET, true);
    expect(during.localResponse?.status).toBe(503);
    expect(host.plugin.reloadStats.backoff).toBe(1);
    host.advanceTime(1500);
    const after = host.httpStream();
    after.callOnRequestHeaders(GET, true);
    expect(after.localResponse).toBeUndefined();
    expect(after.upstream.headers?.get(":path")).toBe("/");
    expect(host.plugin.currentVms()[0]).not.toBe(first);
    expect(host.plugin.reloadStats.success).toBe(1);
    // The fresh VM numbers its contexts from the start again.
    expect(after.stream.id).toBe(2);
  });

  it("FAIL_OPEN: the request during which the VM fails gets a 503; later streams pass untouched", async () => {
    const host = await createTestHost({ wasm: trapOnHeader(), failurePolicy: "FAIL_OPEN" });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-trap": "1" }, true);
    // Envoy 1.40 fails the stream the trap happened in whatever the policy (docs/envoy/http-stream.md).
    expect(s.localResponse).toMatchObject({ status: 503, details: "wasm_fail_stream" });
    expect(s.upstream.headers).toBeUndefined();
    const next = host.httpStream();
    next.callOnRequestHeaders(GET, true);
    expect(next.upstream.ended).toBe(true);
    host.advanceTime(5000);
    expect(host.plugin.currentVms()[0]!.failure).toBeDefined();
  });
});
