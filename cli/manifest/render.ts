// Renders resources as a multi-document YAML stream (cli/files.ts writes it atomically).
import { Document, isScalar, parse, visit } from "yaml";
import type { KubeResource } from "./wasmplugin.js";

// True when a plain (unquoted) scalar would not read back as this string under YAML 1.1
// (kubectl's parser: `y`, `on`, `no` are booleans) or YAML 1.2 (`0o10` is a number).
function needsQuotes(value: string): boolean {
  try {
    return parse(value, { version: "1.1" }) !== value || parse(value, { version: "1.2" }) !== value;
  } catch {
    return true;
  }
}

/** One resource as YAML, with every ambiguous string quoted. */
export function resourceYaml(resource: KubeResource): string {
  const doc = new Document(resource);
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === "string" && needsQuotes(node.value)) node.type = "QUOTE_DOUBLE";
    },
  });
  // lineWidth 0: never fold long strings (URLs, digests).
  return doc.toString({ lineWidth: 0 });
}

/** Resources as YAML documents separated by `---`. */
export function toYaml(resources: KubeResource[]): string {
  return resources.map(resourceYaml).join("---\n");
}
