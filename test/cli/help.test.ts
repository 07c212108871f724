// Help texts read the same across commands: defaults written one way, every option described.
import { describe, expect, it } from "vitest";
import { createProgram } from "../../cli/program.js";

describe("pwasm --help", () => {
  const program = createProgram();
  for (const cmd of program.commands) {
    it(`${cmd.name()}: every option is described, and a default in a description reads "(default: …)"`, () => {
      for (const opt of cmd.options) {
        expect(opt.description, opt.flags).not.toBe("");
        // Commander prints declared defaults as "(default: x)"; descriptions that state one say it the same way.
        expect(opt.description, opt.flags).not.toMatch(/\(default [^:]|[;,] default \w/);
      }
    });
  }
});
