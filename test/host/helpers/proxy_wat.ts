// Builds Proxy-Wasm test modules from WAT: the boilerplate (memory, a bump allocator, the ABI
// marker) plus the callbacks a test writes. Host imports are declared automatically for every
// `call $proxy_…` / WASI call in the body, with the signature the host links for that ABI version.
// A module reports what it saw by storing i32 values in numbered slots (`call $rec`), which the
// test reads back from the VM's memory, and can log strings (`call $log_out`).
import { findHostFunction } from "../../../host/imports/registry.js";
import type { AbiVersion } from "../../../host/abi/constants.js";
import { encodePairs } from "../../../host/abi/pairs.js";
import type { TestHost } from "../../../host/index.js";
import { wat } from "../../helpers/wat.js";

/** Out-parameters: the host writes returned pointers/sizes here (ptr at OUT, size at OUT + 4, …). */
export const OUT = 0x100;
/** Recorded values: slot i is the i32 at SLOTS + 4 * i. */
export const SLOTS = 0x800;
/** Static data (strings, pairs) starts here. */
const DATA = 0x2000;
/** The bump allocator's heap starts here. */
const HEAP = 0x10000;

const SNIPPETS: Record<string, string> = {
  rec: `(func $rec (param $slot i32) (param $v i32)
    (i32.store (i32.add (i32.const ${SLOTS}) (i32.shl (local.get $slot) (i32.const 2))) (local.get $v)))`,
  slot: `(func $slot (param $slot i32) (result i32)
    (i32.load (i32.add (i32.const ${SLOTS}) (i32.shl (local.get $slot) (i32.const 2)))))`,
  // Logs the buffer the last hostcall returned at OUT/OUT+4, at info.
  log_out: `(func $log_out
    (drop (call $proxy_log (i32.const 2) (i32.load (i32.const ${OUT})) (i32.load (i32.const ${OUT + 4})))))`,
  // Increments slot i.
  inc: `(func $inc (param $slot i32)
    (call $rec (local.get $slot) (i32.add (call $slot (local.get $slot)) (i32.const 1))))`,
};
const SNIPPET_DEPS: Record<string, string[]> = { log_out: ["proxy_log"], inc: ["rec", "slot"] };

function valType(t: string): string {
  return t;
}

function signature(params: string[], results: string[]): string {
  return `${params.length ? ` (param ${params.map(valType).join(" ")})` : ""}${results.length ? ` (result ${results.map(valType).join(" ")})` : ""}`;
}

/** Options of a module. */
export interface ModuleOptions {
  /** ABI marker to export (default 0.2.1); "none" exports none. */
  abi?: AbiVersion | "none";
  /** Leave out the default `malloc` (the body exports its own allocator). */
  noMalloc?: boolean;
  /** Initial memory pages (default 2). */
  pages?: number;
}

/** A Proxy-Wasm module under construction. */
export class ProxyWat {
  private readonly segments: string[] = [];
  private nextData = DATA;
  private readonly cache = new Map<string, string>();

  /** `(i32.const ptr) (i32.const len)` of static bytes (a string is UTF-8). */
  s(data: string | Uint8Array): string {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data);
    const key = bytes.toString("hex");
    const hit = this.cache.get(key);
    if (hit) return hit;
    const ptr = this.nextData;
    this.nextData += bytes.length + 8 - (bytes.length % 8);
    if (bytes.length > 0) this.segments.push(`(data (i32.const ${ptr}) "${[...bytes].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("")}")`);
    const ref = `(i32.const ${ptr}) (i32.const ${bytes.length})`;
    this.cache.set(key, ref);
    return ref;
  }

  /** `(i32.const ptr) (i32.const len)` of a serialized header map. */
  pairs(entries: Array<[string, string]>): string {
    return this.s(encodePairs(entries.flatMap(([k, v]) => [k, v])));
  }

  /** The module text. */
  text(body: string, options: ModuleOptions = {}): string {
    const abi = options.abi ?? "0.2.1";
    const abiForLink: AbiVersion = abi === "none" ? "0.2.1" : abi;
    const used = new Set<string>();
    const snippets: string[] = [];
    const want = (name: string) => {
      if (used.has(name)) return;
      used.add(name);
      for (const dep of SNIPPET_DEPS[name] ?? []) want(dep);
      if (SNIPPETS[name]) snippets.push(SNIPPETS[name]!);
    };
    for (const m of body.matchAll(/call \$([A-Za-z0-9_]+)/g)) want(m[1]!);
    const defined = new Set([...body.matchAll(/\(func \$([A-Za-z0-9_]+)/g)].map((m) => m[1]!));
    const imports: string[] = [];
    for (const name of used) {
      if (SNIPPETS[name] || defined.has(name)) continue;
      const def = findHostFunction("env", name, abiForLink) ?? findHostFunction("wasi_snapshot_preview1", name, abiForLink);
      if (!def) throw new Error(`no host function ${name} for ABI ${abiForLink}`);
      imports.push(`(import "${def.module}" "${name}" (func $${name}${signature(def.type.params, def.type.results)}))`);
    }
    const marker = abi === "none" ? "" : `(func (export "proxy_abi_version_${abi.replace(/\./g, "_")}"))`;
    const malloc = options.noMalloc ? "" : `
      (global $heap (mut i32) (i32.const ${HEAP}))
      (func (export "malloc") (param $n i32) (result i32) (local $p i32)
        (local.set $p (global.get $heap))
        (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
        (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
          (then (drop (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))))))
        (local.get $p))`;
    return `(module
      ${imports.join("\n      ")}
      (memory (export "memory") ${options.pages ?? 2})
      ${marker}
      ${malloc}
      ${snippets.join("\n      ")}
      ${this.segments.join("\n      ")}
      ${body}
    )`;
  }

  /** The module bytes. */
  build(body: string, options?: ModuleOptions): Uint8Array {
    return wat(this.text(body, options));
  }
}

/** Builds a module in one go: `proxyModule((m) => \`(func …)\`)`. */
export function proxyModule(body: (m: ProxyWat) => string, options?: ModuleOptions): Uint8Array {
  const m = new ProxyWat();
  const text = body(m);
  return m.build(text, options);
}

/** Reads recorded slot `i` of the plugin's first VM (as a signed i32). */
export function slot(host: TestHost, i: number, vmIndex = 0): number {
  const vm = host.plugin.currentVms()[vmIndex]!;
  return vm.mem.bytes.readInt32LE(SLOTS + 4 * i);
}

/** Reads `len` bytes at `ptr` of the plugin's first VM. */
export function guestBytes(host: TestHost, ptr: number, len: number, vmIndex = 0): Buffer {
  const vm = host.plugin.currentVms()[vmIndex]!;
  return Buffer.from(vm.mem.bytes.subarray(ptr, ptr + len));
}
