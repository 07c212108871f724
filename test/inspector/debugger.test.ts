// `pwasm run --inspect`: a debugger attached over the inspector protocol (as Chrome DevTools
// attaches) sets a breakpoint on an AssemblyScript source line through the source map the module
// carries, a request stops there, and the plugin's locals, call stack and stepping are available.
import http from "node:http";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeMappings } from "../../host/vm/source_map.js";
import { startPwasm, type CliProcess } from "../helpers/cli.js";
import { CdpClient } from "./cdp_client.js";
import { buildFixture, FIXTURE_DIR } from "./fixture.js";

interface ScriptParsed { scriptId: string; url: string; sourceMapURL?: string; scriptLanguage?: string }
interface CallFrame { callFrameId: string; functionName: string; location: { scriptId: string; lineNumber: number; columnNumber: number }; scopeChain: Array<{ type: string; object: { objectId?: string } }> }
interface Paused { callFrames: CallFrame[]; reason: string; hitBreakpoints?: string[] }
interface Property { name: string; value?: { objectId?: string; value?: unknown } }

const SOURCE = `${FIXTURE_DIR}/assembly/index.ts`;

describe("pwasm run --inspect", () => {
  let pwasm: CliProcess;
  let cdp: CdpClient;
  let listen: string;
  const scripts: ScriptParsed[] = [];

  beforeAll(async () => {
    const wasm = await buildFixture("debug");
    pwasm = startPwasm(["run", wasm, "--root-id", "inspected", "--inspect", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--admin", "off"]);
    const ws = (await pwasm.waitFor(/inspector on (ws:\/\/\S+)/))[1]!;
    listen = (await pwasm.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    cdp = await CdpClient.connect(ws);
    cdp.onEvent((method, params) => {
      if (method === "Debugger.scriptParsed" && params.scriptLanguage === "WebAssembly") scripts.push(params as unknown as ScriptParsed);
    });
    // Debugger.enable reports every script already compiled, the plugin's module among them.
    await cdp.send("Debugger.enable");
  });

  afterAll(async () => {
    cdp?.close();
    await pwasm?.stop();
  });

  it("stops on an AssemblyScript line on the next request, with locals, the call stack in AssemblyScript names, and stepping", async () => {
    expect(scripts).toHaveLength(1);
    const script = scripts[0]!;
    // V8 names a module compiled from bytes wasm://wasm/<hash>: a relative sourceMappingURL could
    // not be fetched, so the module carries its map as a data: URL.
    expect(script.url).toMatch(/^wasm:\/\/wasm\/[0-9a-f]+$/);
    expect(script.sourceMapURL).toMatch(/^data:application\/json;base64,/);
    const map = JSON.parse(Buffer.from(script.sourceMapURL!.split(",")[1]!, "base64").toString("utf8")) as { sources: string[]; sourcesContent: string[]; mappings: string };
    const sourceIndex = map.sources.indexOf(`file://${SOURCE}`);
    expect(sourceIndex).toBeGreaterThanOrEqual(0);
    expect(map.sourcesContent[sourceIndex]).toBe(readFileSync(SOURCE, "utf8"));

    // The line marked BREAK, and the code the map puts there (what DevTools does for a click in the gutter).
    const line = readFileSync(SOURCE, "utf8").split("\n").findIndex((l) => l.includes("// BREAK"));
    const offsets = decodeMappings(map.mappings).filter((m) => m.source === sourceIndex && m.line === line).map((m) => m.offset);
    expect(offsets.length).toBeGreaterThan(0);
    // V8 itself knows nothing of source maps: a breakpoint by the source file's URL binds nowhere.
    const bySource = await cdp.send<{ locations: unknown[] }>("Debugger.setBreakpointByUrl", { url: `file://${SOURCE}`, lineNumber: line });
    expect(bySource.locations).toEqual([]);
    const bp = await cdp.send<{ locations: Array<{ columnNumber: number }> }>("Debugger.setBreakpointByUrl", { url: script.url, lineNumber: 0, columnNumber: Math.min(...offsets) });
    expect(bp.locations).toEqual([expect.objectContaining({ columnNumber: Math.min(...offsets) })]);

    const paused = cdp.waitFor<Paused>("Debugger.paused");
    const response = new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${listen}/orders/7`, resolve).on("error", reject));
    const stop = await paused;
    const frame = stop.callFrames[0]!;
    expect(frame.functionName).toBe("$assembly/index/Inspected#onRequestHeaders");
    // Where it stopped maps back to the BREAK line.
    const at = decodeMappings(map.mappings).filter((m) => m.offset <= frame.location.columnNumber).pop()!;
    expect([map.sources[at.source], at.line]).toEqual([`file://${SOURCE}`, line]);
    expect(stop.callFrames.map((f) => f.functionName)).toEqual(expect.arrayContaining(["$~lib/pwasm/sdk/exports/proxy_on_request_headers"]));

    // The locals, by their AssemblyScript names: `pathLength` is the length of "/orders/7".
    const local = frame.scopeChain.find((s) => s.type === "local")!;
    const locals = await cdp.send<{ result: Property[] }>("Runtime.getProperties", { objectId: local.object.objectId, ownProperties: true });
    expect(locals.result.map((p) => p.name)).toEqual(expect.arrayContaining(["$this", "$numHeaders", "$endOfStream", "$path", "$pathLength"]));
    const pathLength = locals.result.find((p) => p.name === "$pathLength")!;
    const value = await cdp.send<{ result: Property[] }>("Runtime.getProperties", { objectId: pathLength.value!.objectId, ownProperties: true });
    expect(Object.fromEntries(value.result.map((p) => [p.name, p.value?.value]))).toEqual({ type: "i32", value: 9 });

    // Stepping moves on within the plugin.
    const stepped = cdp.waitFor<Paused>("Debugger.paused");
    await cdp.send("Debugger.stepOver");
    const next = await stepped;
    expect(next.callFrames[0]!.functionName).toBe("$assembly/index/Inspected#onRequestHeaders");
    expect(next.callFrames[0]!.location.columnNumber).toBeGreaterThan(frame.location.columnNumber);

    // Resumed, the request completes through a healthy VM.
    await cdp.send("Debugger.removeBreakpoint", { breakpointId: (bp as unknown as { breakpointId: string }).breakpointId });
    await cdp.send("Debugger.resume");
    const res = await response;
    res.resume();
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-inspected"]).toBe("yes");
  });
});
