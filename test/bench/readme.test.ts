// The benchmark suites rewrite only their own block of the README, between marker comments.
import { expect, it } from "vitest";
import { replaceReadmeBlock } from "../../bench/readme.js";

it("replaces the text between a suite's markers and nothing else", () => {
  const readme = "intro\n<!-- bench:envoy -->\nold table\n<!-- /bench:envoy -->\n<!-- bench:embedded -->\nkept\n<!-- /bench:embedded -->\nend\n";
  expect(replaceReadmeBlock(readme, "envoy", "| new | table |\n")).toBe(
    "intro\n<!-- bench:envoy -->\n| new | table |\n<!-- /bench:envoy -->\n<!-- bench:embedded -->\nkept\n<!-- /bench:embedded -->\nend\n",
  );
});

it("refuses a README without the suite's markers", () => {
  expect(() => replaceReadmeBlock("no markers\n", "envoy", "x")).toThrow(/no <!-- bench:envoy --> … <!-- \/bench:envoy --> block/);
});
