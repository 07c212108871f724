// `pwasm run --watch`: rebuilds a plugin when its sources change and swaps it into the running dev
// proxy. Requests in flight finish on the old VM, new requests go to the new one; a build error or
// a plugin that refuses to start keeps the old one serving.
import { readdirSync, statSync, watch, type Dirent, type FSWatcher } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
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
  const watchers: Array<{ close(): void }> = [];
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
      watchers.push(watchSources(p.projectDir, schedule));
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

/**
 * Calls `onChange` when a source file (what the build reads: isSourceFile, outside NOT_SOURCES)
 * under `root` is written, created, removed or replaced. One non-recursive watcher per folder, not
 * Node's recursive watch: on Linux that one watches each file by inode and loses a file after an
 * editor's rename-style save (sed -i, vim's backup rename, VS Code's atomic write), while a folder's
 * watcher reports every name renamed into it. Folders created later are watched as they appear.
 */
export function watchSources(root: string, onChange: () => void): { close(): void } {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;

  const unwatch = (dir: string) => {
    for (const [d, w] of watchers) {
      if (d === dir || d.startsWith(`${dir}${sep}`)) {
        w.close();
        watchers.delete(d);
      }
    }
  };

  // Watches `dir` and the folders below it; true when it holds a source file.
  const add = (dir: string): boolean => {
    if (closed || watchers.has(dir)) return false;
    let w: FSWatcher;
    try {
      w = watch(dir, (_event, name) => changed(dir, name === null ? undefined : String(name)));
    } catch {
      return false; // gone already
    }
    w.on("error", () => unwatch(dir));
    watchers.set(dir, w);
    let sources = false;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      if (e.isDirectory() && !NOT_SOURCES.has(e.name)) sources = add(join(dir, e.name)) || sources;
      else if (e.isFile() && isSourceFile(e.name)) sources = true;
    }
    return sources;
  };

  const changed = (dir: string, name: string | undefined) => {
    if (closed) return;
    if (name === undefined) return onChange();
    if (NOT_SOURCES.has(name)) return;
    const path = join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // removed, or renamed away
    }
    if (isDir) {
      // A folder created or moved in: watch it, and rebuild when it brought sources.
      if (add(path)) onChange();
      return;
    }
    if (watchers.has(path)) unwatch(path); // a watched folder removed or moved away
    if (isSourceFile(name)) onChange();
  };

  add(resolve(root));
  return {
    close() {
      closed = true;
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
