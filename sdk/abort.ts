// The abort handler every plugin compiles with (`--use abort=pwasm_abort`, set in asconfig.json).
// AssemblyScript's default imports `env.abort`, which Envoy does not provide; WASI `proc_exit` does
// not stop execution in Envoy. So: log at CRITICAL through proxy_log, then trap.
import { proxy_log } from "./imports";
import { LogLevel } from "./types";
import { encodeUtf8 } from "./utf8";

// The message is assembled in static memory: an abort may come from running out of memory, so it
// must not allocate.
const ABORT_BUF_SIZE: usize = 1024;
const ABORT_BUF: usize = memory.data(<i32>ABORT_BUF_SIZE);

function put(pos: usize, s: string | null): usize {
  if (s === null) return pos;
  const units = <usize>s.length;
  // Worst case 3 bytes per UTF-16 unit; clip to what fits (keeping room for the location).
  const room = (ABORT_BUF_SIZE - 32 - pos) / 3;
  return pos + encodeUtf8(changetype<usize>(s), units < room ? units : room, ABORT_BUF + pos);
}

function putNumber(pos: usize, n: u32): usize {
  let digits: usize = 1;
  for (let t = n; t >= 10; t /= 10) digits++;
  for (let i = digits; i > 0; i--) {
    store<u8>(ABORT_BUF + pos + i - 1, <u8>(48 + n % 10));
    n /= 10;
  }
  return pos + digits;
}

/**
 * Called by the compiler for `throw`, failed `assert`s and runtime errors. Logs
 * `message at file:line:column` at CRITICAL and traps, which fails the VM under the host's
 * failure policy.
 */
// @ts-ignore: decorator
@global
export function pwasm_abort(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {
  let pos = put(0, message !== null ? message : "abort");
  if (fileName !== null) {
    pos = put(pos, " at ");
    pos = put(pos, fileName);
    store<u8>(ABORT_BUF + pos++, 58); // ':'
    pos = putNumber(pos, lineNumber);
    store<u8>(ABORT_BUF + pos++, 58);
    pos = putNumber(pos, columnNumber);
  }
  proxy_log(<u32>LogLevel.Critical, ABORT_BUF, pos);
  unreachable();
}
