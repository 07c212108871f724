// Parsers for command-line values shared by several commands.
import { readFileSync } from "node:fs";
import { InvalidArgumentError, Option } from "commander";
import { UserError } from "./errors.js";

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** An option that may be given several times; values (parsed by `parse`) collect into an array. */
export function repeatable(flags: string, description: string, parse: (v: string) => string = (v) => v): Option {
  return new Option(flags, `${description} (repeatable)`).argParser((v: string, prev: string[] | undefined) => collect(parse(v), prev));
}

/** Reads `@file` as the file's text; anything else is the text itself. */
export function textOrFile(value: string): string {
  if (!value.startsWith("@")) return value;
  try {
    return readFileSync(value.slice(1), "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${value.slice(1)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Parses `host:port` (or just `port`, on 127.0.0.1). */
export function hostPort(value: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`expected host:port or port, got '${value}'`);
  return { host: m[1] || "127.0.0.1", port };
}

/** Parses an http:// or https:// URL given as `what` (e.g. "--upstream"); anything else is a UserError. */
export function httpUrl(spec: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new UserError(`${what} is not a URL: ${spec}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UserError(`${what} must be an http:// or https:// URL, got ${spec}`);
  return url;
}

/** Parses a positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** Parses 0 or a positive integer. */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected 0 or a positive integer, got '${value}'`);
  return n;
}

/**
 * Splits `key=value` (value may contain '=') given to `option`, whose form `form` names
 * ("name=url"). Called from actions, after commander's parsing: a UserError, so it is printed.
 */
export function keyValue(value: string, option: string, form = "key=value"): [string, string] {
  const i = value.indexOf("=");
  if (i <= 0) throw new UserError(`${option} expects ${form}, got '${value}'`);
  return [value.slice(0, i), value.slice(i + 1)];
}
