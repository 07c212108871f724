// Compiles WebAssembly text (WAT) fixtures with wabt (its wasm build from npm), so edge-case
// modules are written as readable text and built in the test run.
import wabtInit from "wabt";

const wabt = await wabtInit();

/** Compiles WAT text to module bytes. */
export function wat(text: string): Uint8Array {
  const mod = wabt.parseWat("fixture.wat", text, { bulk_memory: true, mutable_globals: true, sign_extension: true });
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({ log: false, write_debug_names: true }).buffer);
  } finally {
    mod.destroy();
  }
}
