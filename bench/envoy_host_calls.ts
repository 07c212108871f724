// What one crossing between Envoy and a module costs (`npm run bench:envoy:calls`; not part of the
// tests): for each kind of host call, a hand-written module makes it 20 times per request, and
// Envoy's instructions per request (callgrind) are set against the same module making none. Also
// the cost of one more callback Envoy calls. docs/envoy/host-call-costs.md explains the figures.
//
// Each module counts the calls that answered as expected (a header that is there: Ok; one that is
// not: NOT_FOUND; …) and adds the count to a counter once per request, the module making none
// included; the run fails unless every call answered as expected.
//
//   npm run bench:envoy:calls               print the table
//   npm run bench:envoy:calls -- --write    also write bench/results/envoy-host-calls.md
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import wabtInit from "wabt";
import { noFilterVariant, runEnvoyBench, type EnvoyBenchVariant } from "../cli/bench/envoy_bench.js";
import { httpGet } from "../cli/http_client.js";
import { findLocalEnvoy } from "../cli/envoy/local_envoy.js";
import { BENCH_CACHE, ROOT } from "./builds.js";

const { values: args } = parseArgs({
  options: {
    write: { type: "boolean", default: false },
    calls: { type: "string", default: "20" },
  },
});
const CALLS = Number(args.calls);
if (!Number.isInteger(CALLS) || CALLS < 1 || CALLS > 1000) throw new Error(`--calls expects a whole number from 1 to 1000, got '${args.calls}'`);
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- the modules ---------------------------------------------------------------------------------

// WasmResult codes (ABI 0.2.1).
const OK = 0;
const NOT_FOUND = 1;
const LONG_VALUE = "v".repeat(400);

/** Strings the calls use, placed in the module's memory. */
const STRINGS: Record<string, string> = {
  total: "request\0total_size",
  tls: "connection\0tls_version",
  state: "bench_state",
  long: "x-bench-long",
  short: "x-bench-short",
  absent: "x-bench-absent",
  replaced: "x-bench-replaced",
  value: "value",
  counter: "bench.counter",
  histogram: "bench.histogram",
  matched: "bench.matched",
};
const LAYOUT: Record<string, [number, number]> = {};
{
  let at = 64;
  for (const [k, s] of Object.entries(STRINGS)) {
    LAYOUT[k] = [at, Buffer.byteLength(s)];
    at += Buffer.byteLength(s) + 8;
  }
}
/** Pointer and length of a string, as two i32 operands. */
const str = (k: string) => `(i32.const ${LAYOUT[k]![0]}) (i32.const ${LAYOUT[k]![1]})`;
// Out-parameters: pointer at 0, size at 4; 400 bytes of filter state at 4096.
const OUT = "(i32.const 0) (i32.const 4)";
const STATE_VALUE = "(i32.const 4096) (i32.const 400)";

/** One kind of crossing: the call the module repeats, what it answers, and its row in the table. */
interface Crossing {
  name: string;
  /** What the row says. */
  what: string;
  /** The call (WAT, leaves the WasmResult on the stack). */
  call?: string;
  expect?: number;
  /** Done once per request before the calls. */
  before?: string;
  /** Extra exported callbacks (WAT functions). */
  exports?: string;
  /** Hands a value back to the module (Envoy allocates it with the module's malloc). */
  handsBack?: boolean;
}

const CROSSINGS: Crossing[] = [
  { name: "callback", what: "one more callback Envoy calls (`proxy_on_response_headers`, empty), per request", exports: `(func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))` },
  { name: "increment_metric", what: "`proxy_increment_metric` (counter)", call: `(call $increment_metric (global.get $counter) (i64.const 1))`, expect: OK },
  { name: "record_metric", what: "`proxy_record_metric` (histogram)", call: `(call $record_metric (global.get $histogram) (i64.const 17))`, expect: OK },
  { name: "get_current_time", what: "`proxy_get_current_time_nanoseconds` (written into the module's memory)", call: `(call $get_time (i32.const 8))`, expect: OK },
  { name: "get_header_map_size", what: "`proxy_get_header_map_size` (written into the module's memory)", call: `(call $get_map_size (i32.const 0) (i32.const 8))`, expect: OK },
  { name: "get_header_absent", what: "`proxy_get_header_map_value`, header absent (NOT_FOUND)", call: `(call $get_header (i32.const 0) ${str("absent")} ${OUT})`, expect: NOT_FOUND },
  { name: "get_property_absent", what: "`proxy_get_property` `connection.tls_version` on plaintext (NOT_FOUND)", call: `(call $get_property ${str("tls")} ${OUT})`, expect: NOT_FOUND },
  { name: "remove_header_absent", what: "`proxy_remove_header_map_value`, header absent", call: `(call $remove_header (i32.const 0) ${str("absent")})`, expect: OK },
  { name: "replace_header", what: "`proxy_replace_header_map_value`", call: `(call $replace_header (i32.const 0) ${str("replaced")} ${str("value")})`, expect: OK },
  { name: "set_property", what: "`proxy_set_property`, 400 bytes of filter state", call: `(call $set_property ${str("state")} ${STATE_VALUE})`, expect: OK },
  { name: "get_header_short", what: "`proxy_get_header_map_value`, an 8-byte value", call: `(call $get_header (i32.const 0) ${str("short")} ${OUT})`, expect: OK, handsBack: true },
  { name: "get_header_long", what: "`proxy_get_header_map_value`, a 400-byte value", call: `(call $get_header (i32.const 0) ${str("long")} ${OUT})`, expect: OK, handsBack: true },
  { name: "get_property_int", what: "`proxy_get_property` `request.total_size` (8 bytes)", call: `(call $get_property ${str("total")} ${OUT})`, expect: OK, handsBack: true },
  { name: "get_property_state", what: "`proxy_get_property` of 400 bytes of filter state", before: `(drop (call $set_property ${str("state")} ${STATE_VALUE}))`, call: `(call $get_property ${str("state")} ${OUT})`, expect: OK, handsBack: true },
  { name: "get_header_map_pairs", what: "`proxy_get_header_map_pairs` (the request's headers)", call: `(call $get_pairs (i32.const 0) ${OUT})`, expect: OK, handsBack: true },
];

function moduleText(c: Crossing | undefined): string {
  const data = Object.entries(STRINGS).map(([k, s]) => `(data (i32.const ${LAYOUT[k]![0]}) "${[...Buffer.from(s)].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("")}")`).join("\n  ");
  const calls = c?.call ? CALLS : 0;
  return `(module
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $get_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_size" (func $get_map_size (param i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $remove_header (param i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $get_time (param i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment_metric (param i32 i64) (result i32)))
  (import "env" "proxy_record_metric" (func $record_metric (param i32 i64) (result i32)))
  (memory (export "memory") 2)
  ${data}
  (global $next (mut i32) (i32.const 8192))
  (global $counter (mut i32) (i32.const 0))
  (global $histogram (mut i32) (i32.const 0))
  (global $matched (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  ;; Bump allocator, reset at each request.
  (func $malloc (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then (return (i32.const 0))))))
    (local.get $p))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32) (call $malloc (local.get $size)))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define_metric (i32.const 0) ${str("counter")} (i32.const 8)))
    (global.set $counter (i32.load (i32.const 8)))
    (drop (call $define_metric (i32.const 2) ${str("histogram")} (i32.const 8)))
    (global.set $histogram (i32.load (i32.const 8)))
    (drop (call $define_metric (i32.const 0) ${str("matched")} (i32.const 8)))
    (global.set $matched (i32.load (i32.const 8)))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $i i32)
    (local $n i32)
    (global.set $next (i32.const 8192))
    ${c?.before ?? ""}
    (block $done (loop $repeat
      (br_if $done (i32.ge_u (local.get $i) (i32.const ${calls})))
      ${c?.call ? `(if (i32.eq ${c.call} (i32.const ${c.expect})) (then (local.set $n (i32.add (local.get $n) (i32.const 1)))))` : ""}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $repeat)))
    (drop (call $increment_metric (global.get $matched) (i64.extend_i32_u (local.get $n))))
    (i32.const 0))
  ${c?.exports ?? ""})`;
}

async function buildModules(): Promise<Map<string, string>> {
  const wabt = await wabtInit();
  const dir = join(BENCH_CACHE, "host-calls");
  mkdirSync(dir, { recursive: true });
  const out = new Map<string, string>();
  for (const c of [undefined, ...CROSSINGS]) {
    const name = c?.name ?? "none";
    const m = wabt.parseWat(`${name}.wat`, moduleText(c));
    try {
      m.resolveNames();
      m.validate();
      const path = join(dir, `${name}.wasm`);
      writeFileSync(path, Buffer.from(m.toBinary({}).buffer));
      out.set(name, path);
    } finally {
      m.destroy();
    }
  }
  return out;
}

// ---- run -----------------------------------------------------------------------------------------

const NONE = "no calls (the module's own work)";

function variant(name: string, wasm: string, expectedPerRequest: number): EnvoyBenchVariant {
  return {
    name,
    plugins: [{ wasm }],
    async checkAdmin(adminUrl, requests) {
      const body = (await httpGet(`${adminUrl}/stats?filter=bench\\.matched`, 10_000)).body;
      const line = body.split("\n").find((l) => /bench\.matched: \d+$/.test(l));
      const got = line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : -1;
      return got === expectedPerRequest * requests ? undefined : `${got} calls answered as expected, not ${expectedPerRequest * requests} (${requests} requests)`;
    },
  };
}

async function main(): Promise<void> {
  const probe = await findLocalEnvoy();
  if (!probe.ok) throw new Error(`this benchmark needs a local Envoy: ${probe.reason}`);
  log("assembling the modules…");
  const modules = await buildModules();
  const variants = [
    noFilterVariant("no filter"),
    variant(NONE, modules.get("none")!, 0),
    ...CROSSINGS.map((c) => variant(c.name, modules.get(c.name)!, c.call ? CALLS : 0)),
  ];
  const result = await runEnvoyBench({
    envoy: probe.envoy,
    variants,
    headers: [["x-bench-long", LONG_VALUE], ["x-bench-short", "12345678"]],
    requests: 1_000,
    rounds: 1,
    warmupRequests: 1_000,
    memoryConcurrencies: [],
    instructions: { requests: 1_000, rounds: 3 },
    onProgress: log,
  });
  const instr = (name: string) => result.variants.find((v) => v.name === name)!.instructions!.median;
  const none = instr(NONE);
  const rows = CROSSINGS.map((c) => {
    const per = (instr(c.name) - none) / (c.call ? CALLS : 1);
    return { c, per };
  });
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const table = [
    `Made by \`npm run bench:envoy:calls\` on ${result.date.slice(0, 10)}: Envoy ${result.envoy.version}, instructions executed by the Envoy process (valgrind's callgrind, every thread) per request, ${result.instructions!.requests.toLocaleString("en-US")} requests per count, median of ${result.instructions!.rounds}; each module makes one kind of call ${CALLS} times in \`proxy_on_request_headers\` (the callback row: one more callback per request), and the cost of one is the difference from the module making none, divided by ${CALLS}. No filter: ${fmt(instr("no filter"))} instructions per request; the module making no calls: ${fmt(none)}.`,
    "",
    "| crossing | hands a value back | instructions per request | instructions per call |",
    "|---|:---:|---:|---:|",
    ...rows.map(({ c, per }) => `| ${c.what} | ${c.handsBack ? "yes" : "no"} | ${fmt(instr(c.name))} | ${fmt(per)} |`),
  ].join("\n");
  process.stdout.write(`${table}\n`);
  if (args.write) {
    writeFileSync(join(ROOT, "bench", "results", "envoy-host-calls.md"), `${table}\n`);
    log("wrote bench/results/envoy-host-calls.md");
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
