// Plugins from other toolchains: the xlang fixture on the Go SDK (Go's own wasip1 port) and in C
// on the raw ABI (clang + wasi-libc), built from source by test/fixtures/build.ts — the same
// plugins test/cross_language/xlang.test.ts checks with the test API — run in both proxies.
// Behaviour: test/fixtures/README.md ("The xlang plugin").
import type { EnvoyPlugin } from "../../../cli/envoy/bootstrap.js";
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { buildFixture, type FixtureLanguage } from "../../fixtures/build.js";
import { skipWithout } from "../../helpers/tools.js";

const LANGUAGES = ["go", "c"] as const satisfies readonly FixtureLanguage[];

/** Why a language's scenarios are left out here (its toolchain is missing), or undefined. */
const SKIP: Record<(typeof LANGUAGES)[number], string | undefined> = {
  go: skipWithout(["go"], "differential xlang scenarios (go)"),
  c: skipWithout(["clang"], "differential xlang scenarios (c)"),
};

// The plugins' modules are built by buildOtherSdkFixtures; until then their path says so.
const plugins = Object.fromEntries(LANGUAGES.map((l) => [l, { wasm: `(${l} xlang fixture not built yet)`, rootId: "xlang" }])) as Record<(typeof LANGUAGES)[number], EnvoyPlugin>;

/** Builds the Go and C fixtures (cached in .cache/fixtures) and points the scenarios at them. */
export async function buildOtherSdkFixtures(): Promise<void> {
  // One after the other: each toolchain uses both cores.
  for (const l of LANGUAGES) if (!SKIP[l]) plugins[l].wasm = (await buildFixture(l, "xlang")).path;
}

function xlangScenario(language: (typeof LANGUAGES)[number]): Scenario {
  return {
    name: `other SDKs: the xlang plugin (${language})`,
    proxies: [{ plugins: [plugins[language]] }],
    clusters: { auth: "echo" },
    // The plugin appends to response bodies without touching content-length: the upstream answers
    // chunked, and the plugin's local replies (whose length Envoy sets) reach the client broken in
    // both proxies alike.
    steps: [
      {
        name: "a request gets the shared count and the language both ways",
        request: { path: "/items", headers: { "x-echo-header": "x-internal=secret", "x-echo-chunks": "2" } },
        expect: {
          status: 200,
          headers: { "x-xlang-lang": language, "x-xlang-count": "1", "x-internal": null },
          upstreamHeaders: { "x-xlang-count": "1", "x-xlang-lang": language },
        },
      },
      {
        name: "a request body is buffered and upper-cased; the response body gets a line",
        request: { method: "POST", path: "/items", body: "hello, world", headers: { "x-echo-chunks": "2" } },
        expect: { status: 200, body: "upstream saw POST /items HELLO, WORLD\n-- xlang", upstreamHeaders: { "x-xlang-count": "2" } },
      },
      {
        name: "a forbidden body gets the plugin's 400 (its body grown past its content-length)",
        request: { method: "POST", path: "/items", body: "this is forbidden" },
        expect: { reachedUpstream: false },
      },
      {
        name: "a callout the auth service grants",
        request: { path: "/callout/42", headers: { "x-echo-chunks": "2" } },
        expect: { status: 200, reachedUpstream: true },
      },
    ],
    normalize: [
      // The 1 s timer ticks in the main-thread and the worker VM: how often depends on the run's length.
      [/^xlang_ticks\{\} \d+$/, "xlang_ticks{} <ticks>"],
      // Envoy's admin shows histogram samples only after a stats flush (every 5 s by default).
      [/^(xlang_request_body_bytes_\w+\{[^}]*\}) .*$/, "$1 <histogram>"],
    ],
    prometheus: [["xlang_requests_total{} 4"]],
  };
}

/** The scenarios of the languages whose toolchain is here (skipWithout says which are left out). */
export const OTHER_SDK_SCENARIOS: Scenario[] = LANGUAGES.filter((l) => !SKIP[l]).map(xlangScenario);
