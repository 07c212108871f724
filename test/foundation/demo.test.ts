// The quick start's main job works: every sample plugin builds and every demo request behaves.
import { expect, it } from "vitest";
import { runDemo } from "../../cli/commands/demo.js";

it("pwasm demo sends every request through its plugin as expected", async () => {
  const lines: string[] = [];
  const failed = await runDemo((l) => lines.push(l));
  expect(lines.join("\n")).toContain("GET / → 200  x-hello: world");
  expect(failed).toBe(0);
  expect(lines.at(-1)).toBe("demo: every request went through its plugin as expected");
});
