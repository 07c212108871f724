// Outside tools some suites need. A suite whose tool is missing is skipped, never failed, and says
// which tool is missing and how .ci/run installs it (the README lists the same tools). Envoy and a
// container engine are found by test/helpers/envoy.ts, as the CLI finds them.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { ROOT } from "./paths.js";

/**
 * Build flags of the Go programs tests build (the OCI checker, Envoy's Go API): no optimization or
 * symbol tables. The programs do little computing, a cold build is a third shorter, and .ci/run
 * builds them ahead with the same flags, so the tests' builds are cache hits.
 */
export const GO_BUILD_FLAGS: readonly string[] = ["-gcflags=all=-N -l", "-ldflags=-s -w"];

/** A tool a suite can need. */
export type Tool = "clang" | "go" | "docker-registry" | "htpasswd" | "skopeo" | "oras" | "openssl" | "python3" | "git" | "chromium";

/** How each tool gets onto a machine; .ci/run does the first group on Debian. */
export const HOW_TO_INSTALL: Readonly<Record<Tool, string>> = {
  clang: ".ci/run installs it: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32",
  "docker-registry": ".ci/run installs it: apt-get install docker-registry",
  htpasswd: ".ci/run installs it: apt-get install apache2-utils",
  skopeo: ".ci/run installs it: apt-get install skopeo",
  oras: ".ci/run installs it: go install oras.land/oras/cmd/oras@v1.3.6 (into .cache/bin)",
  go: ".ci/run needs it and does not install it: Go 1.24 or later from https://go.dev/dl",
  openssl: ".ci/run installs it: apt-get install ca-certificates, which brings openssl",
  python3: ".ci/run installs it: apt-get install python3-venv",
  git: ".ci/run runs in a git clone: apt-get install git",
  chromium: ".ci/run installs it: apt-get install chromium",
};

/** The executable `name` on PATH, or undefined. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

// clang alone does not build the C fixture: it needs wasm-ld, wasi-libc and the wasm32 builtins.
function clangProblem(): string | undefined {
  if (!onPath("clang")) return "clang is not on PATH";
  if (!onPath("wasm-ld")) return "wasm-ld (lld) is not on PATH";
  if (!existsSync("/usr/include/wasm32-wasi")) return "wasi-libc is not installed (no /usr/include/wasm32-wasi)";
  try {
    const builtins = execFileSync("clang", ["--target=wasm32-wasi", "--sysroot=/usr", "-print-libgcc-file-name"], { encoding: "utf8" }).trim();
    if (!existsSync(builtins)) return `clang's wasm32 builtins are not installed (no ${builtins})`;
  } catch {
    return "clang cannot target wasm32-wasi";
  }
  return undefined;
}

/** Why `tool` cannot be used here, or undefined when it can. */
export function toolProblem(tool: Tool): string | undefined {
  switch (tool) {
    case "clang":
      return clangProblem();
    case "oras":
      // Where `pwasm push --with oras` looks (cli/oci/oras.ts): PWASM_ORAS, PATH, .cache/bin.
      if (process.env.PWASM_ORAS) return existsSync(process.env.PWASM_ORAS) ? undefined : `PWASM_ORAS ${process.env.PWASM_ORAS} does not exist`;
      return onPath("oras") || existsSync(join(ROOT, ".cache", "bin", "oras")) ? undefined : "oras is not on PATH or in .cache/bin";
    default:
      return onPath(tool) ? undefined : `${tool} is not on PATH`;
  }
}

const printed = new Set<string>();

/**
 * Undefined when every tool is usable; else the reason to skip `what`, naming each missing tool and
 * how to install it — printed once, so `npm test` shows it (vitest prints a file's console output).
 * Use as `describe.skipIf(skip)(…)`: a file whose tests are all skipped runs none of its hooks.
 */
export function skipWithout(tools: readonly Tool[], what: string): string | undefined {
  const missing = tools.flatMap((t) => {
    const problem = toolProblem(t);
    return problem ? [`${problem} (${HOW_TO_INSTALL[t]})`] : [];
  });
  if (missing.length === 0) return undefined;
  const reason = `${what} skipped: ${missing.join("; ")}`;
  if (!printed.has(reason)) {
    printed.add(reason);
    console.warn(reason);
  }
  return reason;
}
