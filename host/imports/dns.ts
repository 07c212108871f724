// Envoy's DNS extension: env.envoy_resolve_dns(name_ptr, name_size, *token) starts a lookup; the
// answer comes to the root context as envoy_on_resolve_dns(root, token, size) with buffer
// FOREIGN_FUNCTION_ARGUMENTS (8) holding: u32 count, count × u32 TTL (seconds), then count
// NUL-terminated addresses ("ip:0", as Envoy prints resolved addresses). A failed lookup
// delivers size 0. Tokens count up per VM.
import { WasmResult } from "../abi/constants.js";
import type { DnsAnswer } from "../services/transports.js";
import type { RootContextState } from "../vm/contexts.js";
import { VmFailedError } from "../vm/errors.js";
import { onResolveDns } from "../vm/guest.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import { sig, type HostFunctionDef } from "./types.js";

/** Encodes answers in Envoy's envoy_on_resolve_dns buffer layout. */
export function encodeDnsAnswers(answers: DnsAnswer[]): Buffer {
  const addrs = answers.map((a) => Buffer.from(`${a.address.includes(":") ? `[${a.address}]` : a.address}:0\0`, "latin1"));
  const out = Buffer.alloc(4 + 4 * answers.length + addrs.reduce((n, b) => n + b.length, 0));
  out.writeUInt32LE(answers.length, 0);
  answers.forEach((a, i) => out.writeUInt32LE(a.ttlSeconds >>> 0, 4 + 4 * i));
  let p = 4 + 4 * answers.length;
  for (const b of addrs) p += b.copy(out, p);
  return out;
}

const tokens = new WeakMap<PluginVm, number>();

function deliver(vm: PluginVm, root: RootContextState, token: number, answers: DnsAnswer[] | undefined): void {
  if (vm.failure || !vm.contexts.has(root.id)) return;
  const data = answers ? encodeDnsAnswers(answers) : Buffer.alloc(0);
  root.foreignCallArgs = data;
  try {
    onResolveDns(root, token, data.length);
  } catch (err) {
    if (!(err instanceof VmFailedError)) throw err;
  } finally {
    root.foreignCallArgs = undefined;
  }
}

export const dnsFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "envoy_resolve_dns", type: sig("iii>i"),
    create: (vm) => (namePtr: number, nameLen: number, tokenOut: number) => {
      const name = vm.mem.utf8(namePtr, nameLen);
      const token = (tokens.get(vm) ?? 0) + 1;
      // Envoy writes the token before it starts the lookup, so a bad pointer fails first.
      vm.mem.setU32(tokenOut, token);
      tokens.set(vm, token);
      const root = vm.effectiveContext().root;
      const resolver = vm.runtime.services.dns;
      if (!resolver) {
        vm.runtime.services.post(() => deliver(vm, root, token, undefined));
        return WasmResult.Ok;
      }
      resolver.resolve(name, (answers) => vm.runtime.services.post(() => deliver(vm, root, token, answers)));
      return WasmResult.Ok;
    },
  },
];
