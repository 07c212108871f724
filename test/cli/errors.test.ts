// Bad input through the real CLI: every mistake a user can make on the command line gets one line
// on stderr (`pwasm: …`, or commander's usage error), a non-zero exit, no stack trace, and leaves no
// file behind. None of these cases needs a registry: they fail before one is contacted.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPwasm, type CliResult } from "../helpers/cli.js";
import { built } from "../helpers/paths.js";

const WASM = built("examples/add-header");
// Nothing listens on port 1: a command that got as far as the registry would say "cannot reach".
const NO_REGISTRY = "oci://127.0.0.1:1/plugins/add-header:v1";

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pwasm-cli-errors-"));
  writeFileSync(join(dir, "not-wasm.wasm"), "#!/bin/sh\necho not a module\n");
  writeFileSync(join(dir, "a-file"), "");
  mkdirSync(join(dir, "a-dir"));
});

/** Asserts a one-line error matching `message` and a non-zero exit. */
function expectOneLineError(r: CliResult, message: RegExp): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.code, r.stderr).not.toBe(70); // 70: an unexpected error, printed with its stack
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("malformed key=value options are reported, not swallowed", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["run --cluster", ["run", WASM, "--cluster", "auth", "--listen", "127.0.0.1:0", "--admin", "off"], /^pwasm: --cluster expects name=url, got 'auth'$/],
    ["run --property", ["run", WASM, "--property", "request.id", "--listen", "127.0.0.1:0", "--admin", "off"], /^pwasm: --property expects path=value, got 'request.id'$/],
    ["run --env", ["run", WASM, "--env", "DEBUG", "--listen", "127.0.0.1:0", "--admin", "off"], /^pwasm: --env expects KEY=VALUE, got 'DEBUG'$/],
    ["envoy-config --cluster", ["envoy-config", WASM, "--cluster", "=http://127.0.0.1:9"], /^pwasm: --cluster expects name=url, got '=http:\/\/127.0.0.1:9'$/],
    ["manifest --selector", ["manifest", "oci://127.0.0.1:1/p:v1", "--no-resolve", "--selector", "app"], /^pwasm: --selector expects key=value, got 'app'$/],
    ["manifest --env", ["manifest", "oci://127.0.0.1:1/p:v1", "--no-resolve", "--env", "DEBUG"], /^pwasm: --env expects NAME=VALUE, got 'DEBUG'$/],
    ["push --annotation", ["push", WASM, NO_REGISTRY, "--annotation", "owner"], /^pwasm: --annotation expects key=value, got 'owner'$/],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      expectOneLineError(await runPwasm(args), message);
    });
  }
});

describe("plugin arguments", () => {
  it("pwasm init refuses a path that is a file", async () => {
    expectOneLineError(await runPwasm(["init", join(dir, "a-file")]), /^pwasm: .*a-file exists and is not a directory$/);
  });
});

describe("URLs", () => {
  it("pwasm run refuses an --upstream that is not http(s), before listening", async () => {
    expectOneLineError(
      await runPwasm(["run", WASM, "--upstream", "ftp://127.0.0.1/", "--listen", "127.0.0.1:0", "--admin", "off"], { timeoutMs: 15_000 }),
      /^pwasm: --upstream must be an http:\/\/ or https:\/\/ URL, got ftp:\/\/127.0.0.1\/$/,
    );
  });
});

describe("a plugin file that is not WebAssembly", () => {
  it("pwasm envoy-config refuses it and writes nothing", async () => {
    const out = join(dir, "envoy.yaml");
    const r = await runPwasm(["envoy-config", join(dir, "not-wasm.wasm"), "-o", out]);
    expectOneLineError(r, /^pwasm: .*not-wasm\.wasm is not a WebAssembly module \(no \\0asm magic and version 1\)$/);
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
  });

  it("pwasm manifest --wasm refuses it instead of writing its sha256 into a WasmPlugin", async () => {
    const r = await runPwasm(["manifest", "https://example.com/p.wasm", "--wasm", join(dir, "not-wasm.wasm")]);
    expectOneLineError(r, /^pwasm: .*not-wasm\.wasm is not a WebAssembly module \(no \\0asm magic and version 1\)$/);
    expect(r.stdout).toBe("");
  });

  it("pwasm bench and pwasm push refuse it with the same message", async () => {
    for (const args of [["bench", join(dir, "not-wasm.wasm")], ["push", join(dir, "not-wasm.wasm"), NO_REGISTRY]]) {
      expectOneLineError(await runPwasm(args), /^pwasm: .*not-wasm\.wasm is not a WebAssembly module \(no \\0asm magic and version 1\)$/);
    }
  });
});

describe("files that cannot be read or written", () => {
  it("pwasm manifest --wasm of a missing file or a directory", async () => {
    expectOneLineError(
      await runPwasm(["manifest", "https://example.com/p.wasm", "--wasm", join(dir, "missing.wasm")]),
      /^pwasm: cannot read .*missing\.wasm: ENOENT$/,
    );
    expectOneLineError(
      await runPwasm(["manifest", "https://example.com/p.wasm", "--wasm", join(dir, "a-dir")]),
      /^pwasm: cannot read .*a-dir: EISDIR$/,
    );
  });

  it("pwasm manifest -o into a missing directory", async () => {
    const r = await runPwasm(["manifest", "https://example.com/p.wasm", "--sha256", "a".repeat(64), "-o", join(dir, "missing", "wp.yaml")]);
    expectOneLineError(r, /^pwasm: cannot write .*missing\/wp\.yaml: ENOENT$/);
    expect(existsSync(join(dir, "missing"))).toBe(false);
  });

  it("pwasm push --manifest into a missing directory fails before contacting the registry", async () => {
    const r = await runPwasm(["push", WASM, NO_REGISTRY, "--manifest", join(dir, "missing", "wp.yaml")]);
    expectOneLineError(r, /^pwasm: cannot write .*missing\/wp\.yaml: ENOENT$/);
  });

  it("pwasm manifest and envoy-config -o a directory leave it as it was, with no temporary file", async () => {
    for (const args of [
      ["manifest", "https://example.com/p.wasm", "--sha256", "a".repeat(64), "-o", join(dir, "a-dir")],
      ["envoy-config", WASM, "-o", join(dir, "a-dir")],
    ]) {
      expectOneLineError(await runPwasm(args), /^pwasm: cannot write .*a-dir: EISDIR$/);
      expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
      expect(readdirSync(join(dir, "a-dir"))).toEqual([]);
    }
  });
});

describe("option values", () => {
  it("--retries takes 0, and says so when refusing a value", async () => {
    const r = await runPwasm(["pull", "oci://127.0.0.1:1/p:v1", "--retries", "-1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: option '--retries <n>' argument '-1' is invalid. expected 0 or a positive integer, got '-1'\n");
  });
});

describe("listen addresses", () => {
  it("pwasm run on an address this machine does not have says so in one line", async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address; binding fails, nothing is sent.
    expectOneLineError(
      await runPwasm(["run", WASM, "--listen", "192.0.2.1:8080", "--admin", "off"], { timeoutMs: 15_000 }),
      /^pwasm: cannot listen on 192\.0\.2\.1:8080: EADDRNOTAVAIL \(choose another with --listen \/ --admin\)$/,
    );
  });
});

describe("project files", () => {
  it("pwasm build names an asconfig.json that is not JSON, or extends a missing file", async () => {
    const project = join(dir, "bad-asconfig");
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, "asconfig.json"), "{ targets: ");
    expectOneLineError(await runPwasm(["build", project]), /^pwasm: .*bad-asconfig\/asconfig\.json is not valid JSON: /);
    writeFileSync(join(project, "asconfig.json"), JSON.stringify({ extends: "./base.json", targets: {} }));
    expectOneLineError(await runPwasm(["build", project]), /^pwasm: cannot read .*bad-asconfig\/base\.json: ENOENT$/);
  });
});

describe("arguments that name the wrong kind of thing", () => {
  it("pwasm help <unknown> is an unknown command, with the close one suggested (not the whole help)", async () => {
    const r = await runPwasm(["help", "biuld"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: unknown command 'biuld'\n\(Did you mean build\?\)\n/);
    // A known command still gets its help.
    const known = await runPwasm(["help", "build"]);
    expect(known.code).toBe(0);
    expect(known.stdout).toMatch(/^Usage: pwasm build /);
  });

  it("pwasm inspect of a local file says it needs an oci:// reference", async () => {
    expectOneLineError(
      await runPwasm(["inspect", WASM]),
      /^pwasm: inspect needs an oci:\/\/ reference, oci:\/\/host\[:port\]\/repo\[:tag\|@sha256:…\], got '.*release\.wasm' \(.*release\.wasm is a local file; inspect reads images in a registry\)$/,
    );
  });
});
