// The WASI calls Envoy gives a Proxy-Wasm module (wasi_snapshot_preview1; wasi_unstable links the
// same set), and Envoy's two extra `env` helpers. stdout/stderr become plugin log lines; there is no
// file system, no arguments, and the environment is the plugin's configured variables.
import { randomFillSync } from "node:crypto";
import { LogLevel, WasiErrno } from "../abi/constants.js";
import { HostTrap } from "../vm/errors.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import { cutLogMessage, MAX_LOG_MESSAGE_BYTES } from "./logging.js";
import { sig, type HostFunctionDef, type HostFunctionImpl } from "./types.js";

const W = "wasi_snapshot_preview1" as const;
const MAX_RANDOM_BYTES = 65536;
const FD_WRITE_RIGHT = 64n;

// Reads an iovec list for a write: how many bytes the write takes, and the first
// MAX_LOG_MESSAGE_BYTES of them (all a log line keeps). A write takes at most what the guest's
// memory holds — more is the same memory again (iovecs may all point at it): the rest is a short
// write, which the guest's libc retries as it would for a pipe. So the host never copies more than
// a log line, whatever the iovecs say.
function gather(vm: PluginVm, iovs: number, count: number): { taken: number; head: Buffer } {
  count >>>= 0;
  vm.mem.check(iovs, count * 8);
  const most = vm.mem.size;
  const parts: Buffer[] = [];
  let taken = 0;
  let kept = 0;
  for (let i = 0; i < count && taken < most; i++) {
    const ptr = vm.mem.u32(iovs + i * 8);
    const len = vm.mem.u32(iovs + i * 8 + 4);
    // Envoy reads nothing for an empty iovec, so its pointer is not checked.
    if (len === 0) continue;
    vm.mem.check(ptr, len);
    const take = Math.min(len, most - taken);
    const keep = Math.min(take, MAX_LOG_MESSAGE_BYTES - kept);
    if (keep > 0) parts.push(vm.mem.copy(ptr, keep));
    kept += keep;
    taken += take;
  }
  return { taken, head: parts.length === 1 ? parts[0]! : Buffer.concat(parts) };
}

function fdWrite(vm: PluginVm, fd: number, iovs: number, count: number, nwrittenOut: number): number {
  if (fd !== 1 && fd !== 2) return WasiErrno.Badf;
  vm.mem.check(nwrittenOut, 4);
  const { taken, head } = gather(vm, iovs, count);
  // Envoy logs nothing for an empty write.
  if (taken > 0) {
    let text = head.toString("utf8");
    if (taken === head.length && text.endsWith("\n")) text = text.slice(0, -1);
    vm.guestLog(fd === 1 ? LogLevel.Info : LogLevel.Error, cutLogMessage(text, taken - head.length));
  }
  vm.mem.setU32(nwrittenOut, taken);
  return WasiErrno.Success;
}

// KEY=VALUE\0 strings of the configured environment.
function environ(vm: PluginVm): Buffer[] {
  return vm.runtime.environment.map(([k, v]) => Buffer.from(`${k}=${v}\0`, "utf8"));
}

const constant = (value: number) => (): HostFunctionImpl => () => value;

/** A stub that answers with a fixed errno, callable during init (Envoy's fd/path/sock stubs). */
function stub(name: string, type: string, errno: number): HostFunctionDef {
  return { module: W, name, type: sig(type), allowed: "init", create: constant(errno) };
}

export const wasiFunctions: HostFunctionDef[] = [
  {
    module: W, name: "fd_write", type: sig("iiii>i"), allowed: "anywhere",
    create: (vm) => (fd: number, iovs: number, count: number, out: number) => fdWrite(vm, fd, iovs, count, out),
  },
  {
    module: W, name: "fd_pwrite", type: sig("iiiIi>i"), allowed: "init",
    create: (vm) => (fd: number, iovs: number, count: number, _offset: bigint, out: number) => fdWrite(vm, fd, iovs, count, out),
  },
  stub("fd_read", "iiii>i", WasiErrno.Nosys),
  stub("fd_pread", "iiiIi>i", WasiErrno.Nosys),
  {
    module: W, name: "fd_seek", type: sig("iIii>i"), allowed: "init",
    create: (vm) => () => {
      vm.guestLog(LogLevel.Error, "wasi_snapshot_preview1 fd_seek is not supported");
      return WasiErrno.Success;
    },
  },
  {
    module: W, name: "fd_close", type: sig("i>i"), allowed: "init",
    create: (vm) => () => {
      vm.guestLog(LogLevel.Error, "wasi_snapshot_preview1 fd_close is not supported");
      return WasiErrno.Success;
    },
  },
  {
    module: W, name: "fd_fdstat_get", type: sig("ii>i"), allowed: "init",
    create: (vm) => (fd: number, statOut: number) => {
      if (fd !== 1 && fd !== 2) return WasiErrno.Badf;
      // 24-byte fdstat: filetype u8, flags u16, rights_base u64, rights_inheriting u64. Envoy
      // ignores a failed write here and still answers SUCCESS.
      const p = statOut >>> 0;
      const b = vm.mem.bytes;
      if (p + 24 > b.length) return WasiErrno.Success;
      b.fill(0, p, p + 24);
      b.writeBigUInt64LE(FD_WRITE_RIGHT, p + 8);
      return WasiErrno.Success;
    },
  },
  stub("fd_fdstat_set_flags", "ii>i", WasiErrno.Nosys),
  stub("fd_prestat_get", "ii>i", WasiErrno.Badf),
  stub("fd_prestat_dir_name", "iii>i", WasiErrno.Nosys),
  stub("fd_filestat_get", "ii>i", WasiErrno.Badf),
  stub("path_open", "iiiiiIIii>i", WasiErrno.Noent),
  stub("fd_tell", "ii>i", WasiErrno.Badf),
  stub("fd_sync", "i>i", WasiErrno.Badf),
  stub("fd_datasync", "i>i", WasiErrno.Badf),
  stub("fd_advise", "iIIi>i", WasiErrno.Badf),
  stub("fd_allocate", "iII>i", WasiErrno.Badf),
  stub("fd_readdir", "iiiIi>i", WasiErrno.Badf),
  stub("fd_renumber", "ii>i", WasiErrno.Badf),
  stub("fd_filestat_set_size", "iI>i", WasiErrno.Badf),
  stub("fd_filestat_set_times", "iIIi>i", WasiErrno.Badf),
  stub("fd_fdstat_set_rights", "iII>i", WasiErrno.Badf),
  stub("path_create_directory", "iii>i", WasiErrno.Notdir),
  stub("path_filestat_get", "iiiii>i", WasiErrno.Notdir),
  stub("path_filestat_set_times", "iiiiIIi>i", WasiErrno.Notdir),
  stub("path_link", "iiiiiii>i", WasiErrno.Notdir),
  stub("path_readlink", "iiiiii>i", WasiErrno.Notdir),
  stub("path_remove_directory", "iii>i", WasiErrno.Notdir),
  stub("path_rename", "iiiiii>i", WasiErrno.Notdir),
  stub("path_symlink", "iiiii>i", WasiErrno.Notdir),
  stub("path_unlink_file", "iii>i", WasiErrno.Notdir),
  stub("sock_accept", "iii>i", WasiErrno.Notsup),
  stub("sock_recv", "iiiiii>i", WasiErrno.Notsup),
  stub("sock_send", "iiiii>i", WasiErrno.Notsup),
  stub("sock_shutdown", "ii>i", WasiErrno.Notsup),
  {
    module: W, name: "environ_sizes_get", type: sig("ii>i"), allowed: "init",
    create: (vm) => (countOut: number, sizeOut: number) => {
      const env = environ(vm);
      vm.mem.check(countOut, 4);
      vm.mem.check(sizeOut, 4);
      vm.mem.setU32(countOut, env.length);
      vm.mem.setU32(sizeOut, env.reduce((n, b) => n + b.length, 0));
      return WasiErrno.Success;
    },
  },
  {
    module: W, name: "environ_get", type: sig("ii>i"), allowed: "init",
    create: (vm) => (ptrsOut: number, bufOut: number) => {
      const env = environ(vm);
      vm.mem.check(ptrsOut, env.length * 4);
      let p = bufOut >>> 0;
      env.forEach((b, i) => {
        vm.mem.write(p, b);
        vm.mem.setU32(ptrsOut + i * 4, p);
        p += b.length;
      });
      return WasiErrno.Success;
    },
  },
  {
    module: W, name: "args_sizes_get", type: sig("ii>i"), allowed: "init",
    create: (vm) => (countOut: number, sizeOut: number) => {
      vm.mem.check(countOut, 4);
      vm.mem.setU32(countOut, 0);
      vm.mem.setU32(sizeOut, 0);
      return WasiErrno.Success;
    },
  },
  { module: W, name: "args_get", type: sig("ii>i"), allowed: "init", create: constant(WasiErrno.Success) },
  {
    module: W, name: "clock_time_get", type: sig("iIi>i"), allowed: "anywhere",
    create: (vm) => (id: number, _precision: bigint, out: number) => {
      const clock = vm.runtime.services.clock;
      if (id === 0) vm.mem.setU64(out, clock.realtimeNanos());
      else if (id === 1) vm.mem.setU64(out, clock.monotonicNanos());
      else return WasiErrno.Notsup;
      return WasiErrno.Success;
    },
  },
  {
    module: W, name: "clock_res_get", type: sig("ii>i"), allowed: "init",
    create: (vm) => (id: number, out: number) => {
      if (id !== 0 && id !== 1) return WasiErrno.Notsup;
      vm.mem.setU64(out, 1n);
      return WasiErrno.Success;
    },
  },
  {
    module: W, name: "random_get", type: sig("ii>i"), allowed: "init",
    create: (vm) => (ptr: number, len: number) => {
      len >>>= 0;
      if (len > MAX_RANDOM_BYTES) return WasiErrno.Inval;
      if (len === 0) return WasiErrno.Success;
      const b = vm.mem.check(ptr, len);
      randomFillSync(b, ptr >>> 0, len);
      return WasiErrno.Success;
    },
  },
  { module: W, name: "sched_yield", type: sig(">i"), allowed: "init", create: constant(WasiErrno.Success) },
  {
    module: W, name: "poll_oneoff", type: sig("iiii>i"), allowed: "anywhere",
    create: (vm) => (_in: number, _out: number, _n: number, neventsOut: number) => {
      // Envoy reports no events, so sleeps return at once.
      vm.mem.setU32(neventsOut, 0);
      return WasiErrno.Success;
    },
  },
  {
    module: W, name: "proc_exit", type: sig("i>"), allowed: "init",
    create: (vm) => (code: number) => {
      // Envoy logs and returns; a JS host must unwind or Go/AS code runs on after "exit".
      vm.guestLog(LogLevel.Error, `wasi_snapshot_preview1 proc_exit(${code | 0})`);
      throw new HostTrap(`proc_exit(${code | 0})`);
    },
  },
  {
    module: "env", name: "pthread_equal", type: sig("ii>i"), allowed: "init",
    create: () => (a: number, b: number) => (a === b ? 1 : 0),
  },
  {
    module: "env", name: "emscripten_notify_memory_growth", type: sig("i>"), allowed: "init",
    create: () => () => undefined,
  },
];
