// `pwasm demo`: builds the sample plugins and sends real requests through them (cli/demo/demo.ts).
import type { Command } from "commander";
import { runDemo } from "../demo/demo.js";
import { setExitStatus } from "../errors.js";

/** Declares `pwasm demo`: help; the action runs demoCommand. */
export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("build the sample plugins and send real requests through them in the dev proxy")
    .action(async () => setExitStatus(await demoCommand()));
}

/** `pwasm demo`'s work: runs the demo, printing what happened. Returns 1 when a check did not behave as expected, else 0. */
export async function demoCommand(): Promise<number> {
  return (await runDemo()) > 0 ? 1 : 0;
}
