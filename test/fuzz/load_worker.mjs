// Worker of the module fuzzer: loads each module it is sent into a fresh test host and, when the
// host accepts it, drives it through every kind of event. It runs in a worker thread so the fuzzer
// can stop a module that loops forever; it is plain JavaScript over the compiled host (dist/,
// built by the test setup) because worker threads cannot load TypeScript.
//
// In:  { id, bytes }          Out: { id, phase: "run" } once validation passed, then
//      { id, kind: "refused", message } | { id, kind: "loaded", failures: [messages] } |
//      { id, kind: "crash", error } | { id, kind: "time-limited", message }
import { parentPort, workerData } from "node:worker_threads";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dist = (p) => pathToFileURL(join(workerData.root, "dist", p)).href;
const { createTestHost, CallbackTimeoutError } = await import(dist("host/testing/test_host.js"));
const { PluginLoadError } = await import(dist("host/vm/errors.js"));
const { validateModule } = await import(dist("host/plugin/validate.js"));

// Every kind of event a plugin can get; a step that throws is a host crash.
function drive(host) {
  const s = host.httpStream();
  s.callOnRequestHeaders({ ":method": "POST", ":path": "/callout/fuzz", ":authority": "fuzz" });
  s.callOnRequestBody("request body", true);
  s.callOnResponseHeaders({ ":status": "200", "content-type": "text/plain" });
  s.callOnResponseBody("response body", true);
  s.complete();
  for (let i = 0; i < 4 && host.httpCalls.length > 0; i++) host.respondToHttpCall({ status: 200, body: "ok" });
  host.tick();
  const c = host.tcpConnection();
  c.callOnDownstreamData("client bytes");
  c.callOnUpstreamData("server bytes");
  c.closeUpstream();
  c.closeDownstream();
  host.shutdown();
}

parentPort.on("message", async ({ id, bytes }) => {
  try {
    try {
      validateModule(bytes);
    } catch (err) {
      if (!(err instanceof PluginLoadError)) throw err;
    }
    parentPort.postMessage({ id, phase: "run" });
    let host;
    try {
      host = await createTestHost({
        wasm: bytes,
        logLevel: "critical",
        memoryLimitBytes: workerData.memoryLimitBytes,
        callbackTimeLimitMs: workerData.callbackTimeLimitMs,
      });
    } catch (err) {
      if (err instanceof PluginLoadError) {
        parentPort.postMessage({ id, kind: "refused", message: err.message });
        return;
      }
      throw err;
    }
    try {
      drive(host);
    } catch (err) {
      // A callback that never ends is stopped by the host's time limit (the hardening under test),
      // which fails the VM and says so to the test API's caller: the host did its job.
      if (!(err instanceof CallbackTimeoutError)) throw err;
      parentPort.postMessage({ id, kind: "time-limited", message: err.message });
      return;
    }
    parentPort.postMessage({ id, kind: "loaded", failures: host.failures.map((f) => (f.hostError ? `host error: ${f.message}` : f.message)) });
  } catch (err) {
    parentPort.postMessage({ id, kind: "crash", error: err instanceof Error ? `${err.stack}` : String(err) });
  }
});
parentPort.postMessage({ ready: true });
