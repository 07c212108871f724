// The HTTP checks the embedded host passes, as data: run on the dev proxy always, and on Envoy in a
// container in the end-to-end mode (PWASM_E2E=envoy), where every difference is reported.
import { join } from "node:path";
import type { ProxyScenario } from "../../cli/envoy/e2e.js";
import { built } from "../helpers/paths.js";

/** Plugin projects the scenarios use, built by the test before running. */
export const CHECKS_PROJECT = join(import.meta.dirname, "fixtures", "checks");
const checks = join(CHECKS_PROJECT, "build", "release.wasm");
const addHeader = built("examples/add-header");

export const SCENARIOS: ProxyScenario[] = [
  {
    name: "headers both ways, a local reply, a buffered body, metrics",
    plugins: [{ wasm: checks, rootId: "e2e_checks", configuration: "bonjour" }],
    upstream: true,
    checks: [
      {
        name: "GET goes upstream with headers changed; the response gets the configured header",
        request: { path: "/hello?x=1", headers: { "x-secret": "s3cret", "user-agent": "pwasm-e2e" } },
        expect: {
          status: 200, body: "upstream saw GET /hello?x=1 ",
          headers: { "x-greeting": "bonjour", "x-upstream": "yes", "x-blocked-by": null },
          reachedUpstream: true,
          upstreamHeaders: { "x-checked": "yes", "x-secret": null, "user-agent": "pwasm-e2e", "x-forwarded-proto": "http", "x-request-id": "<generated>" },
        },
      },
      {
        name: "POST body is buffered by the plugin, then forwarded whole",
        request: { method: "POST", path: "/orders", headers: { "content-type": "application/json" }, body: '{"id":42}' },
        expect: { status: 200, body: 'upstream saw POST /orders {"id":42}', headers: { "x-greeting": "bonjour" }, reachedUpstream: true },
      },
      {
        name: "a blocked request gets the plugin's local reply, which passes its response callback",
        request: { path: "/admin", headers: { "x-block": "1" } },
        expect: {
          status: 403, body: "blocked\n",
          headers: { "x-blocked-by": "checks", "x-greeting": "bonjour", "x-upstream": null },
          reachedUpstream: false,
        },
      },
    ],
    prometheus: [
      "e2e_checks_requests_total{} 3",
      "e2e_checks_blocked_total{} 1",
      "e2e_checks_last_body_length{} 9",
    ],
  },
  {
    name: "a direct response runs the plugin on both sides",
    plugins: [{ wasm: checks, rootId: "e2e_checks" }],
    directResponse: { status: 200, body: "hello from the proxy\n" },
    checks: [
      {
        name: "GET is answered by the route",
        request: { path: "/" },
        expect: { status: 200, body: "hello from the proxy\n", headers: { "x-greeting": "hello", "content-type": "text/plain" } },
      },
    ],
  },
  {
    name: "a trap under FAIL_RELOAD fails its request; after the reload backoff a fresh VM serves",
    plugins: [{ wasm: checks, rootId: "e2e_checks", failurePolicy: "FAIL_RELOAD", reloadBackoffMs: 200 }],
    upstream: true,
    checks: [
      { name: "the trapping request gets a 503", request: { path: "/", headers: { "x-trap": "1" } }, expect: { status: 503, reachedUpstream: false } },
      // Envoy's backoff is the base interval plus up to half of it again.
      { name: "a request after the backoff is served", afterMs: 600, request: { path: "/" }, expect: { status: 200, headers: { "x-greeting": "hello" }, reachedUpstream: true } },
    ],
  },
  {
    name: "two plugins as one filter chain",
    plugins: [{ wasm: addHeader, rootId: "add_header", configuration: "x-hello: world" }, { wasm: checks, rootId: "e2e_checks" }],
    upstream: true,
    checks: [
      {
        name: "both plugins act on one request",
        request: { path: "/chain" },
        expect: { status: 200, headers: { "x-hello": "world", "x-greeting": "hello" }, upstreamHeaders: { "x-checked": "yes" } },
      },
    ],
    prometheus: ["add_header_requests_total{} 1", "e2e_checks_requests_total{} 1"],
  },
];
