// CPU time and resident memory of a process, from Linux's /proc: what `pwasm bench --envoy` reads
// from Envoy. CPU is the process's utime + stime (all its threads, including exited ones), in clock
// ticks converted to microseconds (or, for short runs, the threads' scheduler times in ns); memory is VmRSS.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless built otherwise). */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Whether this machine has /proc with per-process CPU and memory figures. */
export function hasProcStats(): boolean {
  try {
    readFileSync("/proc/self/stat", "utf8");
    return /VmRSS:/.test(readFileSync("/proc/self/status", "utf8"));
  } catch {
    return false;
  }
}

/** CPU time (user + system, every thread) of process `pid`, in microseconds. */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 (utime, stime) are at 11 and 12 after the name and state.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / ticksPerSecond();
}

/** Resident memory (VmRSS) of process `pid`, in bytes. */
export function processRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS`);
  return Number(m[1]) * 1024;
}

/**
 * CPU time of process `pid` in nanoseconds, summed over its live threads' scheduler statistics
 * (/proc/<pid>/task/<tid>/schedstat): the same time utime + stime count, without their 10 ms
 * ticks, so short runs can be measured. Threads that exited in between are not counted (Envoy's
 * threads live as long as it does).
 */
export function processCpuNanos(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended while we read
    }
  }
  return total;
}
