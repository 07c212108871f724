// `pwasm run --watch`: rebuilds a plugin when its sources change (or rereads its configuration
// file) and hands the result to whatever serves it: the dev proxy swaps the VM in place, Envoy gets
// it through extension config discovery (cli/envoy/agent.ts). Requests in flight finish on the old
// VM, new requests go to the new one; a build error or a plugin that refuses to start keeps the
// old one serving.
import { readFileSync, readdirSync, statSync, watch, type Dirent, type FSWatcher } from "node:fs";
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
  /** The file its configuration was read from (`--config @file`): a change reloads the plugin with it. */
  configFile?: string;
}

/** Events a watcher reports. */
export interface WatchEvents {
  /** `what`: "sources" (a rebuild) or "configuration" (the file was reread). */
  onRebuildStart?(index: number, what: "sources" | "configuration"): void;
  /** The new plugin serves new requests. */
  onSwapped?(index: number, details: { bytes?: number; ms: number; inFlight: number }): void;
  /** Build or load failed; the old plugin keeps serving. */
  onError?(index: number, message: string): void;
}

/**
 * Readies a new version of plugin `index`; rejects when it cannot (the old one keeps serving). The
 * watcher then commits it (it serves new requests) or, when watching stopped meanwhile, discards it.
 */
export type PluginSwap = (index: number, plugin: DevProxyPlugin) => Promise<{ commit(): { inFlight: number }; discard(): void }>;

/** The dev proxy's swap: load a fresh plugin in the proxy's host, then replace it in the chain. */
export function devProxySwap(proxy: DevProxy): PluginSwap {
  return async (index, options) => {
    const fresh = await proxy.host.loadPlugin(options.wasm, options);
    return {
      commit() {
        const next = proxy.plugins.slice();
        next[index] = fresh;
        const inFlight = proxy.inFlight;
        proxy.replacePlugins(next);
        return { inFlight };
      },
      discard: () => proxy.host.unloadPlugin(fresh),
    };
  };
}

const DEBOUNCE_MS = 120;

/** Watches every plugin; returns a function that stops watching. */
export function watchPlugins(swap: PluginSwap, plugins: WatchedPlugin[], events: WatchEvents = {}, debug = false): () => void {
  const watchers: Array<{ close(): void }> = [];
  // Set by the returned stop function: a reload still under way then goes nowhere (the proxy is
  // shutting down) and reports nothing.
  let stopped = false;
  plugins.forEach((p, index) => {
    let timer: NodeJS.Timeout | undefined;
    let running = false;
    let again = false;
    let pending: { sources: boolean; configuration: boolean } = { sources: false, configuration: false };
    // What serves now: the last module built and the configuration it got.
    let current: DevProxyPlugin = { ...p.options };

    const reload = async () => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      const what = pending;
      pending = { sources: false, configuration: false };
      const started = performance.now();
      events.onRebuildStart?.(index, what.sources ? "sources" : "configuration");
      try {
        let bytes: number | undefined;
        const next: DevProxyPlugin = { ...current };
        if (what.sources && p.projectDir) {
          const r = await compileProject({ dir: p.projectDir, target: debug ? "debug" : "release" });
          bytes = r.bytes;
          next.wasm = r.outFile;
        }
        if (what.configuration && p.configFile) next.configuration = readFileSync(p.configFile, "utf8");
        const ready = await swap(index, next);
        if (stopped) return ready.discard();
        const { inFlight } = ready.commit();
        current = next;
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

    const schedule = (what: "sources" | "configuration") => {
      pending[what] = true;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void reload(), DEBOUNCE_MS);
    };

    if (p.projectDir) {
      watchers.push(watchSources(p.projectDir, () => schedule("sources")));
    } else {
      watchers.push(watchFile(resolve(String(p.options.wasm)), () => schedule("sources")));
    }
    if (p.configFile) watchers.push(watchFile(resolve(p.configFile), () => schedule("configuration")));
  });
  return () => {
    stopped = true;
    for (const w of watchers) w.close();
  };
}

// One file, watched through its folder (so a rename-style save is seen too).
function watchFile(file: string, onChange: () => void): FSWatcher {
  return watch(dirname(file), (_event, name) => {
    if (name && String(name) === basename(file)) onChange();
  });
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
