// Hand-written WAT modules at the edges of the ABI: a wrong signature on every callback export,
// every host import declared with a wrong signature, imports the host does not have, and a trap in
// every callback Envoy calls. The host refuses what Envoy refuses, naming the problem, and fails
// exactly one VM for a trap — it never throws.
import { describe, expect, it } from "vitest";
import type { AbiVersion } from "../../host/abi/constants.js";
import { PluginLoadError, ProxyWasmHost } from "../../host/index.js";
import { HOST_FUNCTIONS } from "../../host/imports/registry.js";
import type { HostFunctionDef } from "../../host/imports/types.js";
import { createTestHost, type TestHost } from "../../host/testing/test_host.js";
import { callbackSignature, validateModule } from "../../host/plugin/validate.js";
import type { FuncType, ValType } from "../../host/wasm/binary.js";
import { wat } from "../helpers/wat.js";
import { TRAP_SITES, exportOf, functionNameOf, trappingModule, type TrapSite } from "../fixtures/wat/trap_module.js";

const MARKER: Record<AbiVersion, string> = {
  "0.1.0": "proxy_abi_version_0_1_0",
  "0.2.0": "proxy_abi_version_0_2_0",
  "0.2.1": "proxy_abi_version_0_2_1",
};

/** A minimal valid module of `abi` plus `extra` fields. */
const moduleWith = (extra: string, abi: AbiVersion = "0.2.1") => wat(`(module
  ${extra}
  (memory (export "memory") 1)
  (func (export "${MARKER[abi]}"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024)))`);

const funcType = (t: FuncType) =>
  `${t.params.length ? `(param ${t.params.join(" ")})` : ""} ${t.results.length ? `(result ${t.results.join(" ")})` : ""}`;

/** A function body returning the zero of the results, so any signature validates. */
const zeroBody = (t: FuncType) => t.results.map((r) => `(${r}.const 0)`).join(" ");

/** Signatures that differ from `t` in one way each. */
function wrongSignatures(t: FuncType): Array<{ label: string; type: FuncType }> {
  const flip = (v: ValType): ValType => (v === "i32" ? "i64" : "i32");
  const out: Array<{ label: string; type: FuncType }> = [
    { label: "an extra parameter", type: { params: [...t.params, "i32"], results: t.results } },
    { label: t.results.length ? "no result" : "an i32 result", type: { params: t.params, results: t.results.length ? [] : ["i32"] } },
  ];
  if (t.params.length > 0) {
    out.push({ label: "a missing parameter", type: { params: t.params.slice(0, -1), results: t.results } });
    out.push({ label: "the first parameter's type flipped", type: { params: [flip(t.params[0]!), ...t.params.slice(1)], results: t.results } });
  }
  if (t.results.length > 0) out.push({ label: "an i64 result", type: { params: t.params, results: ["i64"] } });
  return out;
}

// Every callback of the ABI; the host's table says which signature each must have.
const CALLBACKS = [
  "malloc", "proxy_on_memory_allocate", "_initialize", "_start", "main", "__main_void",
  "proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", "proxy_validate_configuration",
  "proxy_on_tick", "proxy_on_queue_ready", "proxy_on_foreign_function",
  "proxy_on_new_connection", "proxy_on_downstream_data", "proxy_on_upstream_data",
  "proxy_on_downstream_connection_close", "proxy_on_upstream_connection_close",
  "proxy_on_request_headers", "proxy_on_request_body", "proxy_on_request_trailers", "proxy_on_request_metadata",
  "proxy_on_response_headers", "proxy_on_response_body", "proxy_on_response_trailers", "proxy_on_response_metadata",
  "proxy_on_http_call_response", "proxy_on_grpc_receive_initial_metadata", "proxy_on_grpc_receive",
  "proxy_on_grpc_receive_trailing_metadata", "proxy_on_grpc_close",
  "proxy_on_done", "proxy_on_log", "proxy_on_delete", "envoy_on_resolve_dns",
];

const refusal = (bytes: Uint8Array): Error => {
  try {
    validateModule(bytes);
  } catch (err) {
    return err as Error;
  }
  throw new Error("the module was accepted");
};

describe("callback exports with a wrong signature", () => {
  for (const abi of ["0.2.1", "0.1.0"] as AbiVersion[]) {
    for (const name of CALLBACKS) {
      const want = callbackSignature(name, abi);
      if (!want) continue;
      it(`ABI ${abi}: ${name} ${funcType(want).trim() || "()"} is refused with any other signature`, () => {
        // The right signature loads (so each refusal below is about the signature alone)...
        const right = name === "malloc" ? "" : `(func (export "${name}") ${funcType(want)} ${zeroBody(want)})`;
        expect(() => validateModule(moduleWith(right, abi))).not.toThrow();
        // ...every other one is refused, naming the export.
        for (const wrong of wrongSignatures(want)) {
          const fn = `(func (export "${name}") ${funcType(wrong.type)} ${zeroBody(wrong.type)})`;
          const bytes = name === "malloc"
            ? wat(`(module (memory (export "memory") 1) (func (export "${MARKER[abi]}")) ${fn})`)
            : moduleWith(fn, abi);
          const err = refusal(bytes);
          expect(err, wrong.label).toBeInstanceOf(PluginLoadError);
          expect(err.message, wrong.label).toMatch(new RegExp(`^Bad function signature for: ${name} is `));
        }
      });
    }
  }
});

describe("host imports with a wrong signature", () => {
  const abiOf = (d: HostFunctionDef): AbiVersion => (["0.2.1", "0.2.0", "0.1.0"] as AbiVersion[]).find((v) => !d.versions || d.versions.includes(v))!;
  it("every host function links with its own signature and is refused with any other", () => {
    let refused = 0;
    for (const def of HOST_FUNCTIONS) {
      const abi = abiOf(def);
      const imp = (t: FuncType) => `(import "${def.module}" "${def.name}" (func ${funcType(t)}))`;
      expect(() => validateModule(moduleWith(imp(def.type), abi)), `${def.name} with its own signature`).not.toThrow();
      for (const wrong of wrongSignatures(def.type)) {
        const err = refusal(moduleWith(imp(wrong.type), abi));
        expect(err.message, `${def.module}.${def.name} with ${wrong.label}`).toMatch(
          new RegExp(`^Failed to load Wasm module due to an import type mismatch: ${def.module}\\.${def.name} is `),
        );
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(HOST_FUNCTIONS.length * 2);
  });

  it("takes wasi_unstable as the same set as wasi_snapshot_preview1", () => {
    expect(() => validateModule(moduleWith(`(import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32)))`))).not.toThrow();
    expect(refusal(moduleWith(`(import "wasi_unstable" "fd_write" (func (param i32 i32 i32) (result i32)))`)).message)
      .toMatch(/import type mismatch: wasi_unstable\.fd_write/);
  });
});

describe("imports the host does not provide", () => {
  const cases: Array<{ label: string; imp: string; abi?: AbiVersion; memory?: false; error: RegExp }> = [
    { label: "an unknown env function", imp: `(import "env" "proxy_teleport" (func (param i32) (result i32)))`, error: /missing import: env\.proxy_teleport/ },
    { label: "a proxy function under the WASI module", imp: `(import "wasi_snapshot_preview1" "proxy_log" (func (param i32 i32 i32) (result i32)))`, error: /missing import: wasi_snapshot_preview1\.proxy_log/ },
    { label: "a WASI function under env", imp: `(import "env" "fd_write" (func (param i32 i32 i32 i32) (result i32)))`, error: /missing import: env\.fd_write/ },
    { label: "a module the host does not know", imp: `(import "wasi_snapshot_preview2" "fd_write" (func (param i32 i32 i32 i32) (result i32)))`, error: /missing import: wasi_snapshot_preview2\.fd_write/ },
    {
      label: "an imported memory", imp: `(import "env" "memory" (memory 1))`, memory: false,
      error: /missing import: env\.memory \(memory imports are not provided\)/,
    },
    { label: "an imported table", imp: `(import "env" "table" (table 1 funcref))`, error: /missing import: env\.table \(table imports are not provided\)/ },
    { label: "an imported global", imp: `(import "env" "__stack_pointer" (global (mut i32)))`, error: /missing import: env\.__stack_pointer \(global imports are not provided\)/ },
    { label: "AssemblyScript's env.trace", imp: `(import "env" "trace" (func (param i32 i32 f64 f64 f64 f64 f64)))`, error: /missing import: env\.trace/ },
    { label: "a 0.2.1-only function in a 0.1.0 module", imp: `(import "env" "proxy_get_log_level" (func (param i32) (result i32)))`, abi: "0.1.0", error: /missing import: env\.proxy_get_log_level \(not provided for ABI 0\.1\.0\)/ },
    { label: "a 0.1.0-only function in a 0.2.0 module", imp: `(import "env" "proxy_continue_request" (func (result i32)))`, abi: "0.2.0", error: /missing import: env\.proxy_continue_request \(not provided for ABI 0\.2\.0\)/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.label}`, async () => {
      // An imported memory is exported as the module's memory instead of defining one.
      const bytes = c.memory === false
        ? wat(`(module ${c.imp} (export "memory" (memory 0)) (func (export "proxy_abi_version_0_2_1")) (func (export "malloc") (param i32) (result i32) (i32.const 1024)))`)
        : moduleWith(c.imp, c.abi);
      const err = await new ProxyWasmHost().loadPlugin(bytes).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PluginLoadError);
      expect((err as Error).message).toMatch(c.error);
    });
  }
});

// Drives the host into one callback; returns what the test should check afterwards.
async function driveTo(site: TrapSite, host: TestHost): Promise<{ streamReply?: number | undefined }> {
  switch (site) {
    case "proxy_on_context_create:stream":
    case "proxy_on_request_headers":
    case "malloc": {
      const s = host.httpStream();
      s.callOnRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "h" });
      return { streamReply: s.localResponse?.status };
    }
    case "proxy_on_request_body":
    case "proxy_on_request_trailers":
    case "proxy_on_response_headers":
    case "proxy_on_response_body":
    case "proxy_on_response_trailers":
    case "proxy_on_log":
    case "proxy_on_done:stream":
    case "proxy_on_delete:stream": {
      const s = host.httpStream();
      s.callOnRequestHeaders({ ":method": "POST", ":path": "/", ":authority": "h" });
      s.callOnRequestBody("body");
      s.callOnRequestTrailers({ "x-t": "1" });
      s.callOnResponseHeaders({ ":status": "200" });
      s.callOnResponseBody("response");
      s.callOnResponseTrailers({ "x-rt": "1" });
      s.complete();
      return { streamReply: s.localResponse?.status };
    }
    case "proxy_on_done:root":
    case "proxy_on_delete:root":
      host.shutdown();
      return {};
    case "proxy_on_tick":
      host.tick();
      return {};
    case "envoy_on_resolve_dns":
    case "proxy_on_queue_ready":
    case "proxy_on_http_call_response":
    case "proxy_on_grpc_receive":
    case "proxy_on_grpc_close":
    case "proxy_on_grpc_receive_initial_metadata":
    case "proxy_on_grpc_receive_trailing_metadata": {
      host.httpStream().callOnRequestHeaders({ ":method": "GET", ":path": "/", ":authority": "h" });
      if (site === "proxy_on_http_call_response") host.respondToHttpCall({ status: 200, body: "ok" });
      const call = host.grpc.calls[0]?.token;
      const stream = host.grpc.streams[0]?.token;
      if (site === "proxy_on_grpc_receive") host.grpc.respond("reply", call);
      if (site === "proxy_on_grpc_close") host.grpc.fail(14, "unavailable", call);
      if (site === "proxy_on_grpc_receive_initial_metadata") host.grpc.sendInitialMetadata({ k: "v" }, stream);
      if (site === "proxy_on_grpc_receive_trailing_metadata") host.grpc.sendTrailingMetadata({ k: "v" }, stream);
      host.runPending();
      return {};
    }
    case "proxy_on_foreign_function":
      host.callOnForeignFunction(7, "args");
      return {};
    case "proxy_on_new_connection":
    case "proxy_on_downstream_data":
    case "proxy_on_upstream_data":
    case "proxy_on_downstream_connection_close":
    case "proxy_on_upstream_connection_close": {
      const c = host.tcpConnection();
      c.callOnDownstreamData("hello");
      c.callOnUpstreamData("world");
      // The downstream close ends the connection, so the upstream one comes first.
      c.closeUpstream();
      c.closeDownstream();
      return {};
    }
    default:
      throw new Error(`${site} is reached while the plugin loads`);
  }
}

const LOAD_SITES: TrapSite[] = ["_initialize", "proxy_on_context_create:root", "proxy_on_vm_start", "proxy_on_configure"];
// Callbacks whose trap fails the stream before anything reached the client: it gets Envoy's 503.
const REPLY_503: TrapSite[] = [
  "proxy_on_context_create:stream", "proxy_on_request_headers", "malloc", "proxy_on_request_body",
  "proxy_on_request_trailers", "proxy_on_response_headers",
];

describe("a trap in each callback", () => {
  for (const site of TRAP_SITES) {
    it(`${site}: fails the VM with the callback named and a backtrace; the host does not throw`, async () => {
      const bytes = trappingModule(site);
      if (LOAD_SITES.includes(site)) {
        const err = await createTestHost({ wasm: bytes }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PluginLoadError);
        expect((err as Error).message).toMatch(new RegExp(`Function: ${exportOf(site)} failed: Uncaught RuntimeError: unreachable`));
        return;
      }
      const host = await createTestHost({ wasm: bytes });
      expect(host.failures).toEqual([]);
      const seen = await driveTo(site, host);
      expect(host.failures, host.logLines().join("\n")).toHaveLength(1);
      const failure = host.failures[0]!;
      // A trap in the allocator surfaces in the callback whose host call ran it.
      expect(failure.callback).toBe(site === "malloc" ? "proxy_on_request_headers" : exportOf(site));
      expect(failure.message).toMatch(/^Uncaught RuntimeError: unreachable/);
      expect(failure.backtrace[0]).toContain(functionNameOf(site));
      expect(host.logs("error").join("\n")).toContain(`Function: ${failure.callback} failed: Uncaught RuntimeError: unreachable`);
      if (REPLY_503.includes(site)) expect(seen.streamReply).toBe(503);
    });
  }
});
