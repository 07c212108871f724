// CPU time and resident memory of a process, from Linux's /proc: what `pwasm bench --envoy` reads
// from Envoy. CPU is the time the scheduler ran each of its threads (the time utime + stime count,
// in ns rather than 10 ms ticks, so runs of a few milliseconds can be measured); memory is VmRSS.
import { readdirSync, readFileSync } from "node:fs";

/** Whether this machine has /proc with per-thread CPU time and per-process memory. */
export function hasProcStats(): boolean {
  try {
    readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, "utf8");
    return /VmRSS:/.test(readFileSync("/proc/self/status", "utf8"));
  } catch {
    return false;
  }
}

/** Resident memory (VmRSS) of process `pid`, in bytes. */
export function processRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS`);
  return Number(m[1]) * 1024;
}

/**
 * CPU time of process `pid` in nanoseconds, summed over its live threads' scheduler statistics
 * (/proc/<pid>/task/<tid>/schedstat). Threads that exited in between are not counted (Envoy's
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
