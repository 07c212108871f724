// watchPlugins once stopped (Ctrl-C in `pwasm run --watch`): a reload already under way when the
// proxy shuts down neither swaps the plugin into the closed proxy nor reports a reload.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { DevProxy } from "../../host/proxy/dev_proxy.js";
import { devProxySwap, watchPlugins } from "../../cli/watch/watch.js";
import { built } from "../helpers/paths.js";

it("a reload in progress when watching stops is dropped", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pwasm-watch-stop-"));
  const wasm = join(dir, "plugin.wasm");
  copyFileSync(built("examples/add-header"), wasm);
  let loadStarted!: () => void;
  const started = new Promise<void>((r) => (loadStarted = r));
  let finishLoad!: () => void;
  const loaded = new Promise<void>((r) => (finishLoad = r));
  const swaps: unknown[] = [];
  // Only what the watcher touches: a load that waits until the test lets it finish.
  const proxy = {
    host: { loadPlugin: async () => { loadStarted(); await loaded; return {}; } },
    plugins: [{}],
    inFlight: 0,
    replacePlugins: (next: unknown[]) => swaps.push(next),
  } as unknown as DevProxy;
  const events: string[] = [];
  const stop = watchPlugins(devProxySwap(proxy), [{ options: { wasm } }], {
    onSwapped: () => events.push("swapped"),
    onError: (_i, m) => events.push(`error ${m}`),
  });
  writeFileSync(wasm, readFileSync(wasm)); // a change
  await started;
  stop();
  finishLoad();
  await new Promise((r) => setTimeout(r, 300));
  expect(swaps).toEqual([]);
  expect(events).toEqual([]);
});
