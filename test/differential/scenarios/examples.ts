// Scenarios of the examples and of the end-to-end checks fixture: headers both ways, local replies,
// buffered bodies, metrics, callouts, chains.
import { join } from "node:path";
import type { Scenario } from "../../../cli/envoy/differential/scenario.js";
import { built, ROOT } from "../../helpers/paths.js";

/** The end-to-end checks fixture (headers, a local reply, a buffered body, metrics, a trap). */
export const CHECKS_PROJECT = join(ROOT, "test", "envoy", "fixtures", "checks");
const checks = join(CHECKS_PROJECT, "build", "release.wasm");

export const EXAMPLE_SCENARIOS: Scenario[] = [
  {
    name: "checks: headers both ways, a local reply, a buffered body, metrics",
    proxies: [{ plugins: [{ wasm: checks, rootId: "e2e_checks", configuration: "bonjour" }] }],
    steps: [
      {
        name: "GET goes upstream with headers changed; the response gets the configured header",
        request: { path: "/hello?x=1", headers: { "x-secret": "s3cret", "user-agent": "pwasm-e2e" } },
        expect: {
          status: 200, body: "upstream saw GET /hello?x=1 ",
          headers: { "x-greeting": "bonjour", "x-upstream": "yes", "x-blocked-by": null },
          reachedUpstream: true,
          upstreamHeaders: { "x-checked": "yes", "x-secret": null, "user-agent": "pwasm-e2e", "x-forwarded-proto": "http" },
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
        expect: { status: 403, body: "blocked\n", headers: { "x-blocked-by": "checks", "x-greeting": "bonjour", "x-upstream": null }, reachedUpstream: false },
      },
    ],
    prometheus: [["e2e_checks_requests_total{} 3", "e2e_checks_blocked_total{} 1", "e2e_checks_last_body_length{} 9"]],
  },
  {
    name: "checks: a direct response runs the plugin on both sides",
    proxies: [{ plugins: [{ wasm: checks, rootId: "e2e_checks" }] }],
    upstream: false,
    directResponse: { status: 200, body: "hello from the proxy\n" },
    steps: [{ name: "GET is answered by the route", request: { path: "/" }, expect: { status: 200, body: "hello from the proxy\n", headers: { "x-greeting": "hello" } } }],
  },
  {
    name: "add-header and checks as one filter chain",
    proxies: [{ plugins: [{ wasm: built("examples/add-header"), rootId: "add_header", configuration: "x-hello: world" }, { wasm: checks, rootId: "e2e_checks" }] }],
    steps: [{ name: "both plugins act on one request", request: { path: "/chain" }, expect: { status: 200, headers: { "x-hello": "world", "x-greeting": "hello" }, upstreamHeaders: { "x-checked": "yes" } } }],
    prometheus: [["add_header_requests_total{} 1", "e2e_checks_requests_total{} 1"]],
  },
  {
    name: "remove-headers",
    proxies: [{ plugins: [{ wasm: built("examples/remove-headers"), rootId: "remove_headers", configuration: "x-secret" }] }],
    steps: [{ name: "the configured header does not reach the upstream", request: { path: "/", headers: { "x-secret": "1", "x-keep": "2" } }, expect: { status: 200 } }],
  },
  {
    name: "auth-callout: granted and denied",
    proxies: [{ plugins: [{ wasm: built("examples/auth-callout"), rootId: "auth", configuration: "auth" }] }],
    clusters: { auth: "echo" },
    steps: [
      { name: "the auth service answers 200: the request goes on", request: { path: "/account", headers: { authorization: "Bearer demo" } }, expect: { status: 200, reachedUpstream: true } },
      { name: "the auth service answers 403: a local 401", request: { path: "/account", headers: { authorization: "Bearer demo", "x-echo-status": "403" } }, expect: { status: 401, reachedUpstream: false } },
    ],
  },
];
