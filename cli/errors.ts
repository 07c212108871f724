// Errors meant for the user: printed as one line, exit code non-zero, no stack trace; and the exit
// status a command's work returns.

/** An error the CLI reports as `pwasm: <message>` and exit code `exitCode`. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * Sets the exit status a command's work returned (`xCommand` in cli/commands/x.ts). 0 leaves it
 * alone: a signal handler (Ctrl-C while Envoy starts: 130) may have set one already.
 */
export function setExitStatus(status: number): void {
  if (status !== 0) process.exitCode = status;
}
