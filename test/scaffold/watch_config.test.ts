// `pwasm run --watch --config @file`: editing the configuration file reloads the plugin with it (a
// fresh VM gets the new configuration at on_configure), as an edit of its sources does.
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startPwasm, type CliProcess } from "../helpers/cli.js";
import { httpRequest } from "../helpers/http.js";
import { built } from "../helpers/paths.js";

let proc: CliProcess | undefined;
afterAll(async () => {
  await proc?.stop();
});

it("reloads the plugin when its --config file changes (a rename-style save too)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pwasm-watch-config-"));
  const config = join(dir, "headers.txt");
  writeFileSync(config, "x-hello: one");
  proc = startPwasm(["run", built("examples/add-header"), "--watch", "--root-id", "add_header", "--config", `@${config}`, "--listen", "127.0.0.1:0", "--admin", "off"]);
  const url = (await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  await proc.waitFor(/watching .*release\.wasm and .*headers\.txt for changes/);
  expect((await httpRequest(url)).headers["x-hello"]).toBe("one");

  // An editor's rename-style save.
  writeFileSync(`${config}.swp`, "x-hello: two");
  renameSync(`${config}.swp`, config);
  await proc.waitFor(/headers\.txt changed, reloading plugin 1…[\s\S]*reloaded /);
  await expect.poll(async () => (await httpRequest(url)).headers["x-hello"]).toBe("two");
});
