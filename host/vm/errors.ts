// Errors the host raises. Load errors refuse a module; traps fail a VM.

/** A module the host refuses to load, with the reason Envoy would give. */
export class PluginLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PluginLoadError";
  }
}

/**
 * Raised inside a host function to stop the guest as a trap would: proc_exit, a call not allowed in
 * the current phase (`restricted_callback`), the memory cap. It unwinds through the wasm frames
 * to the host's call site, which fails the VM.
 */
export class HostTrap extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HostTrap";
  }
}

/** What a failed VM reports: the callback that failed, why, and the in-VM backtrace. */
export interface VmFailure {
  /** The export that was running, e.g. `proxy_on_request_headers`. */
  callback: string;
  /** The trap message as Envoy's V8 words it, e.g. `Uncaught RuntimeError: unreachable`. */
  message: string;
  /**
   * Backtrace lines in Envoy's format, innermost first (none for a module without a name
   * section): `  0:  0x1a2b - AddHeader#onResponseHeaders (assembly/index.ts:31:5)`.
   */
  backtrace: string[];
  /** Set when the host stopped the callback for running past this time limit (docs/deadlines.md). */
  timeLimitMs?: number;
  /**
   * Set when what failed the VM was neither a trap of the module nor a HostTrap the host raised on
   * purpose: a bug in the host (a host function threw). Envoy would not have failed there.
   */
  hostError?: true;
}

/** Thrown to the caller of a VM callback when the VM fails (or had already failed). */
export class VmFailedError extends Error {
  constructor(readonly failure: VmFailure) {
    super(`Function: ${failure.callback} failed: ${failure.message}`);
    this.name = "VmFailedError";
  }
}

/** Thrown by guest-memory accessors for an out-of-bounds pointer; host functions turn it into a status. */
export class GuestMemoryFault extends Error {
  constructor(readonly ptr: number, readonly len: number) {
    super(`guest memory access out of bounds: [${ptr}, ${ptr + len})`);
    this.name = "GuestMemoryFault";
  }
}
