// An npm registry on loopback for tests that install pwasm the way a user does, with no network: it
// serves the packages this repository's package-lock.json installed, as byte-identical tarballs
// taken from the local npm cache (so the lockfile's integrity hashes hold), with packuments written
// from their package.json files. `primeCache` copies what an install needs into a fresh npm cache;
// after that the registry is closed and installs run with `--offline` against that cache.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../helpers/paths.js";

const exec = promisify(execFile);

/** One package version the registry serves. */
interface Entry {
  name: string;
  version: string;
  integrity: string;
  /** The package's manifest (its package.json, or the lockfile's record for one not installed here). */
  manifest: Record<string, unknown>;
  /** Tarball bytes' location in the npm cache; undefined for a package not installed here. */
  tarball?: string;
}

interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  link?: boolean;
  [field: string]: unknown;
}

/** The npm cache directory (`npm config get cache`). */
export function npmCacheDir(): string {
  return execFileSync("npm", ["config", "get", "cache"], { encoding: "utf8" }).trim();
}

// cacache's content address of an integrity string: content-v2/<algorithm>/<hex[0:2]>/<hex[2:4]>/<hex[4:]>.
function contentPath(cache: string, integrity: string): string {
  const [algorithm, base64] = integrity.split(/-(.*)/s) as [string, string];
  const hex = Buffer.from(base64, "base64").toString("hex");
  return join(cache, "_cacache", "content-v2", algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

// Lockfile fields that belong in a packument's version record.
const MANIFEST_FIELDS = ["dependencies", "optionalDependencies", "peerDependencies", "peerDependenciesMeta", "bin", "engines", "os", "cpu", "libc", "license"];

/**
 * The packages package-lock.json records, with their tarballs in the npm cache. Throws, naming the
 * first one, when a package installed here has no tarball in the cache (it was installed from
 * another cache: `npm ci` fills this one).
 */
export function lockedPackages(cache = npmCacheDir()): Entry[] {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const out: Entry[] = [];
  for (const [path, e] of Object.entries(lock.packages)) {
    if (!path.startsWith("node_modules/") || e.link || !e.integrity || !e.version) continue;
    const name = e.name ?? path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    const installed = join(ROOT, path, "package.json");
    if (existsSync(installed)) {
      const tarball = contentPath(cache, e.integrity);
      if (!existsSync(tarball)) throw new Error(`the npm cache (${cache}) has no tarball of ${name}@${e.version}: run npm ci`);
      out.push({ name, version: e.version, integrity: e.integrity, manifest: JSON.parse(readFileSync(installed, "utf8")) as Record<string, unknown>, tarball });
    } else {
      // Another platform's optional package: its record lets npm see it does not apply here.
      const manifest: Record<string, unknown> = { name, version: e.version };
      for (const f of MANIFEST_FIELDS) if (e[f] !== undefined) manifest[f] = e[f];
      out.push({ name, version: e.version, integrity: e.integrity, manifest });
    }
  }
  return out;
}

/** A running loopback registry. */
export interface LocalRegistry {
  url: string;
  /** `name@version` of every package it has a tarball of. */
  specs: string[];
  close(): Promise<void>;
}

/** Starts the registry on a free loopback port. */
export async function startNpmRegistry(entries: Entry[] = lockedPackages()): Promise<LocalRegistry> {
  const byName = new Map<string, Entry[]>();
  for (const e of entries) {
    const list = byName.get(e.name) ?? [];
    if (!list.some((x) => x.version === e.version)) list.push(e);
    byName.set(e.name, list);
  }
  const tarballs = new Map<string, string>();
  let base = "";
  const packument = (name: string, list: Entry[]) => {
    const versions: Record<string, unknown> = {};
    for (const e of list) {
      const file = `${name.replace("/", "-")}-${e.version}.tgz`;
      if (e.tarball) tarballs.set(file, e.tarball);
      versions[e.version] = { ...e.manifest, name, version: e.version, _id: `${name}@${e.version}`, dist: { tarball: `${base}/-/${file}`, integrity: e.integrity } };
    }
    const newest = list.map((e) => e.version).sort((a, b) => a.localeCompare(b, "en", { numeric: true })).at(-1)!;
    return JSON.stringify({ name, "dist-tags": { latest: newest }, versions });
  };
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!).slice(1);
    const list = byName.get(path);
    if (list) {
      res.writeHead(200, { "content-type": "application/json" }).end(packument(path, list));
      return;
    }
    const tarball = path.startsWith("-/") ? tarballs.get(path.slice(2)) : undefined;
    if (tarball) {
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(readFileSync(tarball));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Packuments are rendered on request, after `base` is known; render once now to fill `tarballs`.
  for (const [name, list] of byName) packument(name, list);
  return {
    url: base,
    specs: entries.filter((e) => e.tarball).map((e) => `${e.name}@${e.version}`),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Fills `cache` with every package the registry has (packuments and tarballs), through `npm cache add`. */
export async function primeCache(registry: LocalRegistry, cache: string): Promise<void> {
  await exec("npm", ["cache", "add", ...registry.specs, `--cache=${cache}`, `--registry=${registry.url}/`], { timeout: 300_000, maxBuffer: 16 << 20 });
}
