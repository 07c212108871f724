// `pwasm run --watch`: an edit rebuilds the plugin and swaps the VM while requests keep flowing;
// none fails, and new requests see the new behaviour. A build error keeps the old VM serving.
import http from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliProcess } from "../helpers/cli.js";
import { startWatchedProject, type WatchedProject } from "./watched_project.js";

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function get(url: string): Promise<{ status: number; greeting: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, greeting: res.headers["x-greeting"] as string | undefined }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

describe("pwasm run --watch", () => {
  let project: WatchedProject;
  let dir: string;
  let proc: CliProcess;
  let url: string;

  beforeAll(async () => {
    project = await startWatchedProject("pwasm-watch-");
    ({ dir, proc, url } = project);
  });

  afterAll(async () => {
    await project?.stop();
    agent.destroy();
  });

  it("swaps the VM under load with zero failed requests and serves the new behaviour", async () => {
    const results: Array<{ status: number; greeting: string | undefined } | Error> = [];
    let stop = false;
    let sawNew = false;
    // Bounded load: 4 concurrent clients, at most 3000 requests or until the new behaviour shows.
    const client = async () => {
      while (!stop && results.length < 3000) {
        const r = await get(`${url}/`).catch((e: Error) => e);
        results.push(r);
        if (!(r instanceof Error) && r.greeting === "hi from v2") sawNew = true;
        if (sawNew) stop = true;
      }
    };
    const load = Promise.all([client(), client(), client(), client()]);
    // Let traffic flow on the first VM, then edit the source.
    while (results.length < 50) await new Promise((r) => setTimeout(r, 10));
    const src = join(dir, "assembly", "index.ts");
    writeFileSync(src, readFileSync(src, "utf8").replace('greeting: string = "hello"', 'greeting: string = "hi from v2"'));
    await proc.waitFor(/reloaded .*new requests use the new VM/, 60_000);
    await load;

    const failures = results.filter((r) => r instanceof Error || r.status !== 200);
    console.log(`pwasm run --watch: ${results.length} requests across the swap, ${failures.length} failed`);
    expect(failures).toEqual([]);
    const greetings = new Set(results.map((r) => (r as { greeting?: string }).greeting));
    expect(greetings).toEqual(new Set(["hello", "hi from v2"]));
    expect(sawNew).toBe(true);
    // After the swap every new request gets the new behaviour.
    for (let i = 0; i < 5; i++) expect((await get(`${url}/`)).greeting).toBe("hi from v2");
  });

  it("keeps the old VM serving after a build error and prints the compiler's message", async () => {
    const src = join(dir, "assembly", "index.ts");
    const good = readFileSync(src, "utf8");
    writeFileSync(src, good.replace("return Action.Continue;", "return Action.Continu;"));
    await proc.waitFor(/not reloaded, the previous version keeps serving:[\s\S]*Property 'Continu' does not exist/, 60_000);
    const r = await get(`${url}/`);
    expect(r.status).toBe(200);
    expect(r.greeting).toBe("hi from v2");
    const reloads = () => proc.output().match(/pwasm: reloaded /g)?.length ?? 0;
    const before = reloads();
    writeFileSync(src, good);
    for (let i = 0; i < 600 && reloads() === before; i++) await new Promise((r) => setTimeout(r, 100));
    expect(reloads()).toBeGreaterThan(before);
  });

  it("rebuilds for source edits only, not for other files written into the project (a log, notes)", async () => {
    const rebuilds = () => proc.output().match(/changed, rebuilding/g)?.length ?? 0;
    const reloads = () => proc.output().match(/pwasm: reloaded /g)?.length ?? 0;
    const before = rebuilds();
    // `pwasm run . --watch 2>&1 | tee run.log` writes into the project on every line it prints.
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(dir, "run.log"), `line ${i}\n`, { flag: "a" });
      writeFileSync(join(dir, "notes.md"), `note ${i}\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500)); // well past the watcher's debounce
    expect(rebuilds()).toBe(before);
    // A source edit still rebuilds (the watcher is alive).
    const src = join(dir, "assembly", "index.ts");
    const reloadsBefore = reloads();
    writeFileSync(src, `${readFileSync(src, "utf8")}\n// edited\n`);
    for (let i = 0; i < 600 && reloads() === reloadsBefore; i++) await new Promise((r) => setTimeout(r, 100));
    expect(reloads()).toBe(reloadsBefore + 1);
    expect(rebuilds()).toBe(before + 1);
  });
});
