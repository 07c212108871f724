// Callback time limits (docs/deadlines.md). V8 has no time limit for a call into wasm, so a plugin
// callback that loops forever would hold Node's only thread — every connection, the admin listener
// and Ctrl-C — for good. The host compiles a module with its loops instrumented (wasm/deadline.ts):
// every LOOP_BUDGET loop iterations the guest calls `check`, which looks at the clock; once the
// host's call into the guest has run past its limit, the guest is stopped with a trap it cannot
// catch and its VM fails (the failure policy applies), as a Wasmtime host's epoch interruption does.
// The host side stays cheap: a call into the guest only counts itself (PluginVm.entry); the clock is
// read in `check` alone, and a call's time starts at its first check (at most one budget late).
import { performance } from "node:perf_hooks";
import { BUDGET_EXPORT, DEADLINE_IMPORT } from "../wasm/deadline.js";
import { HostTrap } from "./errors.js";

/**
 * A host's default limit by mode: the dev proxy ("real") stalls every connection while a callback
 * runs, so it stops one soon; tests ("manual") fail instead of hanging, with room for a slow machine.
 */
export const DEFAULT_CALLBACK_TIME_LIMIT_MS = { real: 1000, manual: 2000 } as const;

/** Loop iterations between two looks at the clock. */
export const LOOP_BUDGET = 20_000;

/**
 * Starting a VM (module initialization, proxy_on_vm_start, proxy_on_configure) may parse a large
 * configuration or start a language runtime: it gets at least this long.
 */
export const START_TIME_LIMIT_MS = 10_000;

const START_CALLS: ReadonlySet<string> = new Set(["_initialize", "_start", "main", "__main_void", "start", "proxy_on_vm_start", "proxy_on_configure"]);

/** The host stopped a call into the guest that ran past its time limit. */
export class CallbackTimeLimitError extends HostTrap {
  constructor(readonly callback: string, readonly limitMs: number, elapsedMs: number) {
    super(`callback time limit exceeded: ${callback} ran for ${Math.round(elapsedMs)} ms (limit ${limitMs} ms)`);
    this.name = "CallbackTimeLimitError";
  }
}

/** What the deadline reads of its VM: which call into the guest is running. */
export interface GuestEntries {
  /** Counts the host's calls into the guest (not the guest's calls back in): the running one's number. */
  readonly entry: number;
  /** The export the running call started with. */
  readonly entryName: string;
}

// `(module (func (export "trap") unreachable))`: the RuntimeError of its trap is one wasm code cannot
// catch (V8 marks traps uncatchable), unlike an Error thrown from JS, which a module's catch_all
// would swallow and loop on.
const TRAP_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00,
  0x07, 0x08, 0x01, 0x04, 0x74, 0x72, 0x61, 0x70, 0x00, 0x00, 0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b,
]);
let trap: (() => void) | undefined;

function trapUncatchably(): never {
  trap ??= new WebAssembly.Instance(new WebAssembly.Module(TRAP_MODULE)).exports.trap as () => void;
  trap();
  throw new Error("unreachable: the trap module returned");
}

/** One VM's time limit. */
export class CallbackDeadline {
  /** Why the running call was stopped, for the VM's failure report (the trap itself says nothing). */
  expired: CallbackTimeLimitError | undefined;
  private budget: WebAssembly.Global | undefined;
  private seen = -1;
  private startedAt = 0;

  constructor(private readonly vm: GuestEntries, readonly limitMs: number) {}

  /** The import an instrumented module links. */
  imports(): Record<string, WebAssembly.ModuleImports> {
    return { [DEADLINE_IMPORT.module]: { [DEADLINE_IMPORT.name]: () => this.check() } };
  }

  /** Finds the module's loop budget once it is instantiated. */
  attach(exports: WebAssembly.Exports): void {
    const budget = exports[BUDGET_EXPORT];
    if (budget instanceof WebAssembly.Global) this.budget = budget;
  }

  // The guest spent its loop budget: refill it, and stop the guest once the running call is past
  // its limit. (A start section runs before the budget can be reached: its loops ask again only
  // after 2^32 iterations.)
  private check(): void {
    const now = performance.now();
    if (this.budget) this.budget.value = LOOP_BUDGET;
    const { entry, entryName } = this.vm;
    if (this.seen !== entry) {
      this.seen = entry;
      this.startedAt = now;
      return;
    }
    const limit = START_CALLS.has(entryName) ? Math.max(this.limitMs, START_TIME_LIMIT_MS) : this.limitMs;
    const elapsed = now - this.startedAt;
    if (elapsed <= limit) return;
    // The report's backtrace is this error's stack: keep the guest's frames below the host's two.
    const frames = Error.stackTraceLimit;
    Error.stackTraceLimit = 32;
    this.expired = new CallbackTimeLimitError(entryName, limit, elapsed);
    Error.stackTraceLimit = frames;
    if (this.budget) this.budget.value = 0;
    trapUncatchably();
  }
}
