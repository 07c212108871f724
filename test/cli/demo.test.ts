// The quick start's main job works: every sample plugin builds and every demo check passes.
import { expect, it } from "vitest";
import { runDemo } from "../../cli/demo/demo.js";

it("pwasm demo sends every request through its plugins as expected", async () => {
  const lines: string[] = [];
  const failed = await runDemo((l) => lines.push(l));
  const text = lines.join("\n");
  expect(text).toContain("GET / → 200  x-hello: world");
  expect(text).toContain("GET /account (Bearer demo) → 200  hello: wasm!");
  expect(text).toContain("GET /account (Bearer nope) → 401");
  expect(text).toMatch(/client \/stats\/prometheus: istio_requests_total\{reporter="source",source_workload="productpage-v1",.*destination_workload="reviews-v1",.*\} 3/);
  expect(text).toMatch(/server \/stats\/prometheus: istio_requests_total\{reporter="destination",source_workload="productpage-v1",.*destination_workload="reviews-v1",.*\} 3/);
  expect(failed).toBe(0);
  expect(lines.at(-1)).toBe("demo: every request went through its plugins as expected");
  // It builds four plugins from source first, as `npm run demo` does: a minute on a busy 2-core machine.
}, 240_000);
