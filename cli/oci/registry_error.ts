// Errors of registry exchanges: one line for the user (UserError), with the HTTP status and the
// registry's error code for callers that decide on them.
import { UserError } from "../errors.js";

/** A failed registry request: HTTP status and the registry's error code, if any. */
export class RegistryError extends UserError {
  constructor(message: string, readonly status: number, readonly code?: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/**
 * A request that failed on the network (connection refused or reset, timeout): status 0 and the
 * low-level cause as the code ("ECONNRESET", "timeout"), so a caller can retry it.
 */
export class NetworkError extends RegistryError {
  constructor(message: string, cause: string) {
    super(message, 0, cause);
    this.name = "NetworkError";
  }
}
