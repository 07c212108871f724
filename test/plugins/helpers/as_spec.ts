// Loads a spec module of test/plugins/specs (an AssemblyScript file that drives one codec of
// plugins/common) built with the project's compiler, and passes strings and byte buffers in and
// out through the AssemblyScript runtime it exports (--exportRuntime): __new allocates an object of
// a class id (1 ArrayBuffer, 2 String), whose byte length sits in the 4 bytes before it. The minimal
// runtime collects only when asked, so nothing handed in is freed during a call.
import { readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { compileProject } from "../../../cli/build/compile.js";
import { isStale } from "../../../cli/build/stale.js";
import { ROOT } from "../../helpers/paths.js";
import { AS_027_MINIMAL, AS_028_MINIMAL, type BuildVariant } from "../../sdk/variants.js";

/** The spec modules' project (asconfig.json, assembly/<codec>.ts). */
export const SPECS = join(import.meta.dirname, "..", "specs");

/** The compilers the specs run under: the one pwasm builds with and the older one it supports. */
export const SPEC_VARIANTS: BuildVariant[] = [AS_028_MINIMAL, AS_027_MINIMAL];

/** A value crossing into a spec function: text, bytes, or an i32. */
export type SpecArg = string | Uint8Array | number;

/** Host functions the spec module may import (by name, module "env"), given the loaded module. */
export type SpecImports = (spec: Spec) => Record<string, (...args: number[]) => number | void>;

/** A loaded spec module. */
export class Spec {
  constructor(readonly instance: WebAssembly.Instance) {}

  get exports(): Record<string, unknown> {
    return this.instance.exports as Record<string, unknown>;
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory as WebAssembly.Memory;
  }

  /** Copies bytes into a new guest ArrayBuffer; returns its pointer. */
  bytesIn(bytes: Uint8Array): number {
    const ptr = (this.exports.__new as (size: number, id: number) => number)(bytes.length, 1);
    new Uint8Array(this.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }

  /** Copies a string into a new guest String (UTF-16, as JavaScript holds it, lone surrogates included). */
  stringIn(s: string): number {
    const ptr = (this.exports.__new as (size: number, id: number) => number)(s.length * 2, 2);
    const units = new Uint16Array(this.memory.buffer, ptr, s.length);
    for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
    return ptr;
  }

  /** The bytes of a guest object (ArrayBuffer or String) at `ptr`; null for a null pointer. */
  objectBytes(ptr: number): Uint8Array | null {
    if (ptr === 0) return null;
    const size = new Uint32Array(this.memory.buffer, ptr - 4, 1)[0]!;
    return new Uint8Array(this.memory.buffer.slice(ptr, ptr + size));
  }

  /** Calls an exported function that returns a String (null for a null result). */
  text(name: string, ...args: SpecArg[]): string | null {
    const bytes = this.objectBytes(this.call(name, args));
    return bytes === null ? null : utf16(bytes);
  }

  /** Calls an exported function that returns an ArrayBuffer (null for a null result). */
  bytes(name: string, ...args: SpecArg[]): Uint8Array | null {
    return this.objectBytes(this.call(name, args));
  }

  private call(name: string, args: SpecArg[]): number {
    const fn = this.exports[name];
    if (typeof fn !== "function") throw new Error(`spec module has no export ${name}`);
    const raw = args.map((a) => (typeof a === "string" ? this.stringIn(a) : typeof a === "number" ? a : this.bytesIn(a)));
    return (fn as (...a: number[]) => number)(...raw) >>> 0;
  }
}

/** A guest string at (ptr, UTF-16 length in bytes), e.g. abort's message. */
function guestString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "";
  const size = new Uint32Array(memory.buffer, ptr - 4, 1)[0]!;
  return utf16(new Uint8Array(memory.buffer.slice(ptr, ptr + size)));
}

/** UTF-16 code units as a string, unpaired surrogates kept (TextDecoder would replace them). */
function utf16(bytes: Uint8Array): string {
  const units = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  let s = "";
  for (let i = 0; i < units.length; i += 8192) s += String.fromCharCode(...units.subarray(i, i + 8192));
  return s;
}

/**
 * Builds test/plugins/specs/assembly/<name>.ts with `variant`'s compiler into the specs' build/
 * folder and instantiates it. An import the test does not answer throws when called, naming itself;
 * abort (a trap in AssemblyScript code) throws with its message and place.
 */
export async function loadSpec(name: string, variant: BuildVariant, imports: SpecImports = () => ({})): Promise<Spec> {
  const outFile = join(SPECS, "build", `${name}-${variant.slug}.wasm`);
  if (isStale(SPECS, outFile) || newestSource(join(ROOT, "plugins")) > statSync(outFile).mtimeMs) {
    await compileProject({
      dir: SPECS, target: "release", outFile, compilerDir: variant.compilerDir,
      extraArgs: [join("assembly", `${name}.ts`)], keepAllCallbacks: true,
    });
  }
  const module = await WebAssembly.compile(await readFile(outFile));
  let spec: Spec | undefined;
  const env: Record<string, WebAssembly.ImportValue> = {
    abort: (msg: number, file: number, line: number, col: number) => {
      throw new Error(`abort: ${guestString(spec!.memory, msg)} at ${guestString(spec!.memory, file)}:${line}:${col}`);
    },
  };
  const answered = new Map<string, (...args: number[]) => number | void>();
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function" || imp.name in env) continue;
    env[imp.name] = (...args: number[]) => {
      const fn = answered.get(imp.name);
      if (!fn) throw new Error(`spec module called ${imp.module}.${imp.name}, which this test does not answer`);
      return fn(...args);
    };
  }
  const instance = await WebAssembly.instantiate(module, { env });
  spec = new Spec(instance);
  for (const [k, fn] of Object.entries(imports(spec))) answered.set(k, fn);
  return spec;
}

// Newest modification time of the AssemblyScript sources under `dir` (the plugins' code the specs
// compile in; isStale covers the specs' own folder and the SDK).
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "build" || entry.name === "node_modules") continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}
