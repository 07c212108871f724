// Errors meant for the user: printed as one line, exit code non-zero, no stack trace.

/** An error the CLI reports as `pwasm: <message>` and exit code `exitCode`. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "UserError";
  }
}
