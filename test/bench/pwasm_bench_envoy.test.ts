// `pwasm bench --envoy`: a plugin in a real Envoy against no filter (and a --compare module): CPU
// per request and resident memory per concurrency, as JSON or tables; instructions under callgrind;
// clear one-line refusals of what does not fit.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runEnvoyBench, noFilterVariant, type EnvoyBenchResult } from "../../cli/bench/envoy_bench.js";
import { runPwasm } from "../helpers/cli.js";
import { testEnvoy } from "../helpers/envoy.js";
import { built } from "../helpers/paths.js";

const local = await testEnvoy();
const skipped = local.skip ? ` — skipped: ${local.skip}` : "";
const valgrind = (() => {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "valgrind is not on PATH (apt-get install valgrind)";
  }
})();

describe("pwasm bench --envoy", () => {
  it.skipIf(!local.envoy)(`measures a plugin and a --compare module against no filter, as JSON${skipped}`, async () => {
    const addHeader = built("examples/add-header");
    const r = await runPwasm([
      "bench", "--envoy", "--envoy-bin", local.envoy!.path, addHeader, "--root-id", "add_header", "-c", "x-hello: world",
      "--compare", built("examples/remove-headers"), "-n", "400", "--warmup", "100", "--rounds", "2", "--concurrency", "1,2", "--json",
    ], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as EnvoyBenchResult;
    expect(result.envoy.version).toMatch(/^1\.\d+\.\d+$/);
    expect(result.variants.map((v) => v.name)).toEqual(["no filter", "add-header", "remove-headers (--compare)"]);
    expect(result.memoryConcurrencies).toEqual([1, 2]);
    for (const v of result.variants) {
      expect(v.cpuUsPerRequest).toHaveLength(2);
      expect(v.cpu.median).toBeGreaterThan(0);
      expect(v.rss.map((m) => m.concurrency)).toEqual([1, 2]);
      for (const m of v.rss) expect(m.medianBytes).toBeGreaterThan(10 * 2 ** 20);
    }
    // A Wasm VM per worker costs memory Envoy without the filter does not spend.
    expect(result.variants[1]!.rss[1]!.aboveBaselineBytes).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/round 2\/2 \(µs\/request\)/);
  }, 300_000);

  it.skipIf(!local.envoy)(`prints the tables, and fails in one line when the plugin does not answer 2xx${skipped}`, async () => {
    const ok = await runPwasm([
      "bench", "--envoy", "--envoy-bin", local.envoy!.path, built("examples/add-header"), "--root-id", "add_header",
      "-n", "200", "--warmup", "50", "--rounds", "1", "--concurrency", "1",
    ], { timeoutMs: 180_000 });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^\| filter \| module \(bytes\) \| CPU µs\/request, median \(min–max\) \|/);
    expect(ok.stdout).toContain("| no filter |");
    expect(ok.stdout).toContain("RSS MiB, concurrency 1");
    // The auth-callout example with no auth cluster: every request is answered 503 by the plugin.
    const bad = await runPwasm([
      "bench", "--envoy", "--envoy-bin", local.envoy!.path, built("examples/auth-callout"),
      "-n", "50", "--warmup", "10", "--rounds", "1", "--concurrency", "1",
    ], { timeoutMs: 180_000 });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trimEnd().split("\n").at(-1)).toMatch(/^pwasm: auth-callout: HTTP [45]\d\d from http:\/\/127\.0\.0\.1:\d+\//);
  }, 300_000);

  it.skipIf(!local.envoy || valgrind)(`counts instructions per request under callgrind, repeatably, keeping the profiles${local.skip ? skipped : valgrind ? ` — skipped: ${valgrind}` : ""}`, async () => {
    const keep = join(mkdtempSync(join(tmpdir(), "pwasm-bench-test-")), "profiles");
    const result = await runEnvoyBench({
      envoy: local.envoy!,
      variants: [noFilterVariant(), { name: "add-header", plugins: [{ wasm: built("examples/add-header"), rootId: "add_header" }] }],
      requests: 200, rounds: 1, warmupRequests: 200, connections: 4, memoryConcurrencies: [],
      instructions: { requests: 200, rounds: 2, keepProfilesIn: keep },
    });
    // One callgrind profile per count, named by the variant, whose total is the count.
    const files = readdirSync(keep).sort();
    expect(files).toEqual(["01-no-filter.1.callgrind.out", "01-no-filter.2.callgrind.out", "02-add-header.1.callgrind.out", "02-add-header.2.callgrind.out"]);
    const text = readFileSync(join(keep, files[2]!), "utf8");
    const total = Number((/^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text))![1]);
    expect(total / 200).toBeCloseTo(result.variants[1]!.instructionsPerRequest![0]!, 0);
    rmSync(keep, { recursive: true, force: true });
    const [none, plugin] = result.variants;
    for (const v of [none!, plugin!]) {
      expect(v.instructionsPerRequest).toHaveLength(2);
      // Envoy's own work per request is tens of thousands of instructions; counts repeat closely.
      expect(v.instructions!.min).toBeGreaterThan(10_000);
      expect(v.instructions!.max / v.instructions!.min).toBeLessThan(1.05);
    }
    expect(plugin!.instructions!.median).toBeGreaterThan(none!.instructions!.median);
  }, 300_000);
});

describe("pwasm bench refusals", () => {
  it("refuses a chain, --compare and other Envoy options without --envoy, in one line", async () => {
    const a = built("examples/add-header");
    const two = await runPwasm(["bench", a, a]);
    expect(two.code).toBe(1);
    expect(two.stderr).toBe("pwasm: the embedded host measures one plugin, got 2 (--envoy measures a chain)\n");
    const compare = await runPwasm(["bench", a, "--compare", a]);
    expect(compare.code).toBe(1);
    expect(compare.stderr).toBe("pwasm: --compare is for --envoy\n");
  });

  it("refuses embedded-host options and bad concurrencies with --envoy, before starting anything", async () => {
    const a = built("examples/add-header");
    const body = await runPwasm(["bench", "--envoy", a, "--body", "x"]);
    expect(body.code).toBe(1);
    expect(body.stderr).toMatch(/^pwasm: --body is for the embedded host/);
    const conc = await runPwasm(["bench", "--envoy", a, "--concurrency", "1,0"]);
    expect(conc.code).toBe(1);
    expect(conc.stderr).toMatch(/^pwasm: --concurrency expects positive integers separated by commas, got '1,0'\n$/);
    const twice = await runPwasm(["bench", "--envoy", a, "--root-id", "x", "--root-id", "y"]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe("pwasm: --root-id was given 2 times for 1 plugin(s)\n");
  });

  it("keeps callgrind profiles only with --instructions, and only in a new or empty directory", async () => {
    const a = built("examples/add-header");
    const dir = mkdtempSync(join(tmpdir(), "pwasm-bench-test-"));
    const alone = await runPwasm(["bench", "--envoy", a, "--callgrind-out", join(dir, "new")]);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toBe("pwasm: --callgrind-out keeps the profiles of --instructions; give both\n");
    const used = join(dir, "used");
    mkdirSync(used);
    writeFileSync(join(used, "earlier.callgrind.out"), "kept");
    const full = await runPwasm(["bench", "--envoy", a, "--instructions", "--callgrind-out", used]);
    expect(full.code).toBe(1);
    expect(full.stderr).toBe(`pwasm: --callgrind-out ${used} is not empty (give a new or empty directory)\n`);
    expect(readFileSync(join(used, "earlier.callgrind.out"), "utf8")).toBe("kept");
    const embedded = await runPwasm(["bench", a, "--callgrind-out", join(dir, "new")]);
    expect(embedded.code).toBe(1);
    expect(embedded.stderr).toBe("pwasm: --callgrind-out is for --envoy\n");
    expect(readdirSync(dir).sort()).toEqual(["used"]);
    rmSync(dir, { recursive: true, force: true });
  });
});
