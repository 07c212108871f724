// The pwasm command line: a thin layer over library functions. Each command lives in
// cli/commands/<name>.ts and registers itself on the program.
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { PluginLoadError } from "../host/vm/errors.js";
import { registerBench } from "./commands/bench.js";
import { registerBuild } from "./commands/build.js";
import { registerDemo } from "./commands/demo.js";
import { registerEnvoyConfig } from "./commands/envoy_config.js";
import { registerInit } from "./commands/init.js";
import { registerInspect } from "./commands/inspect.js";
import { registerManifest } from "./commands/manifest.js";
import { registerPull } from "./commands/pull.js";
import { registerPush } from "./commands/push.js";
import { registerRun } from "./commands/run.js";
import { registerTest } from "./commands/test.js";
import { UserError } from "./errors.js";
import { PACKAGE_VERSION } from "./package_root.js";

/** Builds the command tree. */
export function createProgram(): Command {
  const program = new Command("pwasm")
    .description("Proxy-Wasm toolkit: build, test, run and ship Envoy/Istio Wasm plugins written in AssemblyScript")
    .version(PACKAGE_VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: false });
  registerInit(program);
  registerBuild(program);
  registerTest(program);
  registerRun(program);
  registerEnvoyConfig(program);
  registerPush(program);
  registerPull(program);
  registerInspect(program);
  registerManifest(program);
  registerBench(program);
  registerDemo(program);
  return program;
}

/**
 * `pwasm help <name>` for a name that is no command: commander would print the whole help and exit
 * 0; as `pwasm <name>` it is an unknown command, with the suggestion commander makes ("Did you mean
 * build?").
 */
function helpForUnknownCommand(program: Command, argv: string[]): string[] {
  const [first, name] = argv.slice(2);
  if (first !== "help" || name === undefined || name.startsWith("-")) return argv;
  const known = program.commands.some((c) => c.name() === name || c.aliases().includes(name));
  return known ? argv : [...argv.slice(0, 2), name];
}

/** Runs the CLI; returns the exit code. Errors meant for users print as one line. */
export async function runCli(argv: string[]): Promise<number> {
  const program = createProgram().exitOverride();
  try {
    await program.parseAsync(helpForUnknownCommand(program, argv));
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    // Commander prints what its own parsing refuses; the same error thrown by an action was not printed.
    if (err instanceof InvalidArgumentError) {
      process.stderr.write(`pwasm: ${err.message}\n`);
      return 1;
    }
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof UserError) {
      process.stderr.write(`pwasm: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof PluginLoadError) {
      process.stderr.write(`pwasm: plugin refused: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`pwasm: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return 70;
  }
}
