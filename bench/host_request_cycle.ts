// Per-request cost of the host: full HTTP request cycles (request headers, response headers,
// complete) of examples/add-header through the test API, and through the bare HttpStream (no test
// API conversions). Prints the mean time per cycle. Run after `npm run build`:
//   node dist/bench/host_request_cycle.js [cycles]
import { join } from "node:path";
import { createTestHost } from "../host/index.js";
import { HeaderMap } from "../host/values/header_map.js";

const ROOT = join(import.meta.dirname, "..", "..");
const wasm = join(ROOT, "examples", "add-header", "build", "release.wasm");
const cycles = Number(process.argv[2] ?? 100_000);

const host = await createTestHost({ wasm, rootId: "add_header", configuration: "x-hello: world", logLevel: "info" });
const REQ = { ":method": "GET", ":path": "/", ":authority": "example.com", "user-agent": "bench" };
const RESP = { ":status": "200", "content-type": "text/plain" };

function viaTestApi(n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = host.httpStream();
    s.callOnRequestHeaders(REQ, true);
    s.callOnResponseHeaders(RESP, true);
    s.complete();
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

function viaHttpStream(n: number): number {
  const sink = {};
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = host.plugin.newHttpStream(sink);
    s.decodeHeaders(new HeaderMap([":method", "GET", ":path", "/", ":authority", "example.com", "user-agent", "bench"]), true);
    s.encodeHeaders(new HeaderMap([":status", "200", "content-type", "text/plain"]), true);
    s.complete();
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

viaTestApi(Math.min(cycles, 10_000)); // warm-up
viaHttpStream(Math.min(cycles, 10_000));
const api = viaTestApi(cycles);
const raw = viaHttpStream(cycles);
console.log(`add-header, ${cycles} request cycles`);
console.log(`  test API:   ${(api / 1000).toFixed(2)} µs/cycle`);
console.log(`  HttpStream: ${(raw / 1000).toFixed(2)} µs/cycle`);
if (host.metric("add_header.requests_total") !== 2 * (cycles + Math.min(cycles, 10_000))) throw new Error("plugin did not see every request");
