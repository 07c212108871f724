// Every module Envoy refuses is refused with an error that names the problem — in the library and
// as one line from the CLI.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PluginLoadError, ProxyWasmHost } from "../../host/index.js";
import { runPwasm } from "../helpers/cli.js";
import { wat } from "../helpers/wat.js";

// The smallest valid 0.2.1 module; each case breaks one thing.
const base = (extra = "", { marker = true, memory = true, malloc = true } = {}) => wat(`(module
  ${extra}
  ${memory ? '(memory (export "memory") 1)' : "(memory 1)"}
  ${marker ? '(func (export "proxy_abi_version_0_2_1"))' : ""}
  ${malloc ? '(func (export "malloc") (param i32) (result i32) i32.const 1024)' : ""}
)`);

const cases: Array<{ name: string; bytes: Uint8Array; error: RegExp }> = [
  { name: "not wasm", bytes: new TextEncoder().encode("#!/bin/sh\necho not a module\n"), error: /not a WebAssembly module/ },
  { name: "truncated wasm", bytes: base().subarray(0, 20), error: /malformed WebAssembly module|invalid WebAssembly module/ },
  { name: "no proxy_abi_version_* export", bytes: base("", { marker: false }), error: /Missing or unknown Proxy-Wasm ABI version/ },
  {
    name: "unknown ABI version",
    bytes: wat(`(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_9_9")) (func (export "malloc") (param i32) (result i32) i32.const 0))`),
    error: /proxy_abi_version_0_9_9 is not one of/,
  },
  { name: "no allocator", bytes: base("", { malloc: false }), error: /missing malloc function/ },
  { name: "no memory export", bytes: base("", { memory: false }), error: /does not export its memory/ },
  {
    name: "an import the host does not provide",
    bytes: base('(import "env" "proxy_make_coffee" (func (param i32) (result i32)))'),
    error: /missing import: env\.proxy_make_coffee/,
  },
  {
    name: "AssemblyScript's default env.abort",
    bytes: base('(import "env" "abort" (func (param i32 i32 i32 i32)))'),
    error: /missing import: env\.abort/,
  },
  {
    name: "an import with the wrong signature",
    bytes: base('(import "env" "proxy_log" (func (param i32 i32) (result i32)))'),
    error: /import type mismatch: env\.proxy_log is \(i32, i32\) -> i32 in the module, the host provides \(i32, i32, i32\) -> i32/,
  },
  {
    name: "a 0.2.1 module importing a 0.1.0-only function",
    bytes: base('(import "env" "proxy_get_configuration" (func (param i32 i32) (result i32)))'),
    error: /missing import: env\.proxy_get_configuration \(not provided for ABI 0\.2\.1\)/,
  },
  {
    name: "a callback export with the wrong signature",
    bytes: base('(func (export "proxy_on_request_headers") (param i32 i32) (result i32) i32.const 0)'),
    error: /Bad function signature for: proxy_on_request_headers is \(i32, i32\) -> i32, ABI 0\.2\.1 requires \(i32, i32, i32\) -> i32/,
  },
];

describe("load refusals", () => {
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const host = new ProxyWasmHost();
      const err = await host.loadPlugin(c.bytes).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PluginLoadError);
      expect((err as Error).message).toMatch(c.error);
    });
  }

  it("accepts the base module (so each case above fails for its own reason)", async () => {
    const plugin = await new ProxyWasmHost().loadPlugin(base());
    expect(plugin.abiVersion).toBe("0.2.1");
  });

  it("reports a refusal as one line from `pwasm run`, exit code 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pwasm-refuse-"));
    const file = join(dir, "bad.wasm");
    writeFileSync(file, base('(import "env" "proxy_make_coffee" (func (param i32) (result i32)))'));
    const r = await runPwasm(["run", file, "--listen", "127.0.0.1:0", "--admin", "off"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      "pwasm: plugin refused: Failed to load Wasm module due to a missing import: env.proxy_make_coffee (not provided for ABI 0.2.1)",
    ]);
  });

  it("reports a missing plugin file as one line, exit code 1", async () => {
    const r = await runPwasm(["run", "no/such/plugin.wasm", "--admin", "off"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("pwasm: no such plugin: no/such/plugin.wasm (expected a .wasm file or a project directory)\n");
  });

  it("reports a build of a directory without asconfig.json as one line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pwasm-empty-"));
    const r = await runPwasm(["build", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pwasm: no asconfig\.json in .*: not an AssemblyScript project \(try `pwasm init`\)\n$/);
  });
});
