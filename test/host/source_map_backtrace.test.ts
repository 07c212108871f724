// Traps in a plugin built with `pwasm build --debug` show AssemblyScript file:line:column and
// function names, read from the build's source map (picked up next to the .wasm automatically).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../cli/build/compile.js";
import { createTestHost, WasmSourceMap } from "../../host/index.js";
import { decodeMappings, SourceMapError } from "../../host/vm/source_map.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "trapping");
const GET = { ":method": "GET", ":path": "/", ":authority": "example.com" };
let debugWasm: string;
let releaseWasm: string;

beforeAll(async () => {
  debugWasm = (await compileProject({ dir: FIXTURE, target: "debug" })).outFile;
  releaseWasm = (await compileProject({ dir: FIXTURE, target: "release" })).outFile;
});

// The 1-based line of `needle` in the fixture's source.
function lineOf(needle: string): number {
  const lines = readFileSync(join(FIXTURE, "assembly", "index.ts"), "utf8").split("\n");
  return lines.findIndex((l) => l.includes(needle)) + 1;
}

describe("backtraces from a debug build", () => {
  it("name the callback and show AssemblyScript file:line:column and function names", async () => {
    const host = await createTestHost({ wasm: debugWasm });
    const s = host.httpStream();
    s.callOnRequestHeaders({ ...GET, "x-quota": "0" }, true);
    expect(s.localResponse?.status).toBe(503);
    const failure = host.failures[0]!;
    expect(failure.callback).toBe("proxy_on_request_headers");
    expect(failure.message).toBe("Uncaught RuntimeError: unreachable");
    // Innermost first: the helper that trapped, then its caller, then the SDK's dispatch.
    expect(failure.backtrace[0]).toMatch(new RegExp(`^ {2}0: {2}0x[0-9a-f]+ - assembly/index/checkQuota \\(assembly/index\\.ts:${lineOf("unreachable();")}:5\\)$`));
    expect(failure.backtrace[1]).toMatch(new RegExp(`^ {2}1: {2}0x[0-9a-f]+ - assembly/index/Quota#onRequestHeaders \\(assembly/index\\.ts:${lineOf("checkQuota(quota);")}:\\d+\\)$`));
    expect(failure.backtrace.some((l) => /~lib\/pwasm\/sdk\/\w+\.ts:\d+:\d+\)$/.test(l))).toBe(true);
    expect(host.logs("error")[0]).toContain(`assembly/index.ts:${lineOf("unreachable();")}:5`);
  });

  it("a release build (no name section) has no backtrace, as in Envoy", async () => {
    const host = await createTestHost({ wasm: releaseWasm });
    host.httpStream().callOnRequestHeaders({ ...GET, "x-quota": "0" }, true);
    expect(host.failures[0]!.callback).toBe("proxy_on_request_headers");
    expect(host.failures[0]!.backtrace).toEqual([]);
    expect(host.logs("error")).toEqual(["Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable"]);
  });

  it("sourceMap: false turns the lookup off", async () => {
    const host = await createTestHost({ wasm: debugWasm, sourceMap: false });
    host.httpStream().callOnRequestHeaders({ ...GET, "x-quota": "0" }, true);
    expect(host.failures[0]!.backtrace.join("\n")).not.toContain("assembly/index.ts");
  });
});

describe("source map decoding", () => {
  it("decodes Base64 VLQ segments relative to each other", () => {
    // [0,0,0,0] then [+5, 0, +2, +3] then [+16, +1, -1, -3]: the classic spec example values.
    const entries = decodeMappings("AAAA,KAEG,gBCDH");
    expect(entries).toEqual([
      { offset: 0, source: 0, line: 0, column: 0 },
      { offset: 5, source: 0, line: 2, column: 3 },
      { offset: 21, source: 1, line: 1, column: 0 },
    ]);
    const map = WasmSourceMap.parse({ version: 3, sources: ["a.ts", "b.ts"], mappings: "AAAA,KAEG,gBCDH" });
    expect(map.resolve(4)).toMatchObject({ source: "a.ts", line: 1, column: 1 });
    expect(map.resolve(5)).toMatchObject({ source: "a.ts", line: 3, column: 4 });
    expect(map.resolve(1000)).toMatchObject({ source: "b.ts", line: 2, column: 1 });
  });

  it("refuses what is not a v3 map, with the reason", () => {
    expect(() => WasmSourceMap.parse("{")).toThrow(SourceMapError);
    expect(() => WasmSourceMap.parse({ version: 2, sources: [], mappings: "" })).toThrow(/unsupported source map version 2/);
    expect(() => WasmSourceMap.parse({ version: 3, sources: [], mappings: "A!" })).toThrow(/invalid character '!'/);
  });

  it("reads a real AssemblyScript debug map", () => {
    const map = WasmSourceMap.load(`${debugWasm}.map`)!;
    expect(map.size).toBeGreaterThan(100);
    expect(map.sources).toContain("assembly/index.ts");
  });
});
