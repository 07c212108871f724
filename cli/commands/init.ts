// `pwasm init <dir>`: scaffold a plugin project.
import { Option, type Command } from "commander";
import { setExitStatus } from "../errors.js";
import { shownPath } from "../format.js";
import { initProject, TEMPLATES, type TemplateName } from "../scaffold/init.js";

/** Options of `pwasm init`, as parsed. */
export interface InitOptions {
  template: TemplateName;
  name?: string;
  force?: boolean;
  pwasm?: string;
}

/** Declares `pwasm init`: arguments, flags, help; the action runs initCommand. */
export function registerInit(program: Command): void {
  program
    .command("init")
    .description("create a plugin project (AssemblyScript source, a test on the embedded host, build targets)")
    .argument("<dir>", "project directory (created if missing; must be empty unless --force)")
    .addOption(new Option("-t, --template <name>", "what the plugin starts as").choices(Object.keys(TEMPLATES)).default("http-headers"))
    .option("--name <name>", "package name (default: the directory name); the root id is derived from it")
    .option("-f, --force", "write into a non-empty directory, replacing files the template has")
    .option("--pwasm <spec>", "how package.json depends on pwasm: a tarball, a git URL or a version (default: where this pwasm was installed from)")
    .addHelpText("after", `\nTemplates:\n${Object.entries(TEMPLATES).map(([k, v]) => `  ${k.padEnd(13)} ${v}`).join("\n")}\n`)
    .action(async (dir: string, o: InitOptions) => setExitStatus(await initCommand(dir, o)));
}

/** `pwasm init`'s work: writes the project, prints its files and the next steps. Returns 0 (a refusal throws). */
export async function initCommand(dir: string, o: InitOptions): Promise<number> {
  const r = await initProject({ dir, template: o.template, name: o.name, force: o.force, pwasm: o.pwasm });
  const shown = shownPath(r.dir);
  const rel = shown.startsWith("..") ? r.dir : shown;
  process.stdout.write(`created ${rel} (template ${o.template}, root id ${r.rootId}):\n`);
  for (const f of r.files) process.stdout.write(`  ${f}\n`);
  process.stdout.write(`\npackage.json depends on pwasm "${r.pwasm.spec}": ${r.pwasm.source}\n`);
  if (r.pwasm.warning) process.stderr.write(`pwasm: warning: ${r.pwasm.warning}\n`);
  process.stdout.write(`\nnext:\n  cd ${rel}\n  npm install\n  npm test\n  npx pwasm run . --watch --root-id ${r.rootId} --upstream http://127.0.0.1:8080\n`);
  return 0;
}
