// `pwasm run --watch`: rebuilds a plugin when its sources change and swaps it into the running dev
// proxy. Requests in flight finish on the old VM, new requests go to the new one; a build error or
// a plugin that refuses to start keeps the old one serving.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve, sep } from "node:path";
import type { DevProxy, DevProxyPlugin } from "../../host/proxy/dev_proxy.js";
import { compileProject } from "../build/compile.js";
import { isSourceFile, NOT_SOURCES } from "../build/stale.js";

/** A plugin of the chain and where it comes from. */
export interface WatchedPlugin {
  /** The settings it was started with (`wasm` is the built file). */
  options: DevProxyPlugin;
  /** Project directory to rebuild, or undefined for a plain .wasm file (reloaded when it changes). */
  projectDir?: string;
}

/** Events a watcher reports. */
export interface WatchEvents {
  onRebuildStart?(index: number): void;
  /** The new plugin serves new requests. */
  onSwapped?(index: number, details: { bytes?: number; ms: number; inFlight: number }): void;
  /** Build or load failed; the old plugin keeps serving. */
  onError?(index: number, message: string): void;
}

const DEBOUNCE_MS = 120;

/** Watches every plugin; returns a function that stops watching. */
export function watchPlugins(proxy: DevProxy, plugins: WatchedPlugin[], events: WatchEvents = {}, debug = false): () => void {
  const watchers: FSWatcher[] = [];
  // Set by the returned stop function: a reload still under way then goes nowhere (the proxy is
  // shutting down) and reports nothing.
  let stopped = false;
  plugins.forEach((p, index) => {
    let timer: NodeJS.Timeout | undefined;
    let running = false;
    let again = false;

    const reload = async () => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      const started = performance.now();
      events.onRebuildStart?.(index);
      try {
        let bytes: number | undefined;
        let wasm = p.options.wasm;
        if (p.projectDir) {
          const r = await compileProject({ dir: p.projectDir, target: debug ? "debug" : "release" });
          bytes = r.bytes;
          wasm = r.outFile;
        }
        const fresh = await proxy.host.loadPlugin(wasm, p.options);
        if (stopped) return;
        const next = proxy.plugins.slice();
        next[index] = fresh;
        const inFlight = proxy.inFlight;
        proxy.replacePlugins(next);
        events.onSwapped?.(index, { bytes, ms: Math.round(performance.now() - started), inFlight });
      } catch (err) {
        if (!stopped) events.onError?.(index, (err as Error).message);
      } finally {
        running = false;
        if (again) {
          again = false;
          void reload();
        }
      }
    };

    const schedule = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void reload(), DEBOUNCE_MS);
    };

    if (p.projectDir) {
      const w = watch(p.projectDir, { recursive: true }, (_event, file) => {
        if (!file) return schedule();
        // Only what the build reads: a log or an editor's swap file written here must not rebuild.
        if (NOT_SOURCES.has(String(file).split(sep)[0]!) || !isSourceFile(String(file))) return;
        schedule();
      });
      watchers.push(w);
    } else {
      const file = resolve(String(p.options.wasm));
      const w = watch(dirname(file), (_event, name) => {
        if (name && String(name) === basename(file)) schedule();
      });
      watchers.push(w);
    }
  });
  return () => {
    stopped = true;
    for (const w of watchers) w.close();
  };
}
