#!/usr/bin/env node
// The `pwasm` command.
import { runCli } from "./program.js";

process.exitCode = await runCli(process.argv);
