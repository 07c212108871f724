// The SDK documents itself: every public symbol has a doc comment, and sdk/README.md maps every
// ABI function the SDK imports or exports to its wrapper.
import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "../helpers/paths.js";

const SDK = join(ROOT, "sdk");

// Proxy-Wasm ABI 0.2.1: the env functions a module may import, and the functions it may export.
const ABI_IMPORTS = [
  "proxy_log", "proxy_get_log_level", "proxy_get_current_time_nanoseconds", "proxy_set_tick_period_milliseconds",
  "proxy_set_effective_context", "proxy_done", "proxy_get_status", "proxy_call_foreign_function",
  "proxy_get_buffer_bytes", "proxy_get_buffer_status", "proxy_set_buffer_bytes",
  "proxy_get_header_map_pairs", "proxy_set_header_map_pairs", "proxy_get_header_map_value", "proxy_add_header_map_value",
  "proxy_replace_header_map_value", "proxy_remove_header_map_value", "proxy_get_header_map_size",
  "proxy_continue_stream", "proxy_close_stream", "proxy_send_local_response",
  "proxy_http_call", "proxy_grpc_call", "proxy_grpc_stream", "proxy_grpc_send", "proxy_grpc_cancel", "proxy_grpc_close",
  "proxy_get_shared_data", "proxy_set_shared_data", "proxy_register_shared_queue", "proxy_resolve_shared_queue",
  "proxy_enqueue_shared_queue", "proxy_dequeue_shared_queue",
  "proxy_define_metric", "proxy_increment_metric", "proxy_record_metric", "proxy_get_metric",
  "proxy_get_property", "proxy_set_property",
];
const ABI_EXPORTS = [
  "proxy_abi_version_0_2_1", "proxy_on_memory_allocate", "malloc", "proxy_on_context_create", "proxy_on_vm_start",
  "proxy_on_configure", "proxy_on_tick", "proxy_on_queue_ready", "proxy_on_foreign_function",
  "proxy_on_request_headers", "proxy_on_request_body", "proxy_on_request_trailers",
  "proxy_on_response_headers", "proxy_on_response_body", "proxy_on_response_trailers",
  "proxy_on_new_connection", "proxy_on_downstream_data", "proxy_on_upstream_data",
  "proxy_on_downstream_connection_close", "proxy_on_upstream_connection_close",
  "proxy_on_http_call_response", "proxy_on_grpc_receive_initial_metadata", "proxy_on_grpc_receive",
  "proxy_on_grpc_receive_trailing_metadata", "proxy_on_grpc_close", "proxy_on_log", "proxy_on_done", "proxy_on_delete",
];

function sdkFiles(dir = SDK): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sdkFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const TOP_LEVEL = /^export\s+(?:declare\s+|abstract\s+)*(?:function|class|enum|const|let|type)\s+(\w+)/;
// A public member of a class: method, getter, field (not private, not the constructor).
const MEMBER = /^ {2}(?:static\s+|readonly\s+|get\s+|set\s+|public\s+)*(\w+)\s*(?:[(<]|:|=|!)/;
const SKIPPED = /^\s*(?:\/\/ @ts-ignore.*|@\w+.*)$/;

/** Public declarations without a doc comment, as "file:line name". */
function undocumented(file: string): string[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const missing: string[] = [];
  let classDepth = -1; // brace depth of the exported class body we are in, or -1
  let depth = 0;
  const documented = (i: number): boolean => {
    let j = i - 1;
    while (j >= 0 && SKIPPED.test(lines[j]!)) j--;
    return j >= 0 && lines[j]!.trimEnd().endsWith("*/");
  };
  lines.forEach((line, i) => {
    const top = depth === 0 ? TOP_LEVEL.exec(line) : null;
    if (top) {
      if (!documented(i)) missing.push(`${relative(ROOT, file)}:${i + 1} ${top[1]}`);
      if (/\bclass\b/.test(line)) classDepth = 1;
    } else if (classDepth === 1 && depth === 1) {
      const m = MEMBER.exec(line);
      if (m && m[1] !== "constructor" && !/^\s*private\b/.test(line) && !documented(i)) {
        missing.push(`${relative(ROOT, file)}:${i + 1} ${m[1]}`);
      }
    }
    for (const ch of line.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|\/\/.*$/g, "")) {
      if (ch === "{") depth++;
      else if (ch === "}") {
        depth--;
        if (depth === 0) classDepth = -1;
      }
    }
  });
  return missing;
}

describe("SDK documentation", () => {
  it("has a doc comment on every public symbol", () => {
    expect(sdkFiles().flatMap(undocumented)).toEqual([]);
  });

  it("maps every ABI import and callback to its wrapper in sdk/README.md", () => {
    const readme = readFileSync(join(SDK, "README.md"), "utf8");
    const imports = [...readFileSync(join(SDK, "imports.ts"), "utf8").matchAll(/@external\("env", "(\w+)"\)/g)].map((m) => m[1]!);
    const exports = [...readFileSync(join(SDK, "exports.ts"), "utf8").matchAll(/^export function (\w+)/gm)].map((m) => m[1]!);
    // Every env function and callback of ABI 0.2.1 is there.
    expect(new Set(imports)).toEqual(new Set(ABI_IMPORTS));
    expect(new Set(exports)).toEqual(new Set(ABI_EXPORTS));
    const rows = (name: string) => readme.split("\n").filter((l) => l.startsWith("|") && l.includes(`\`${name}\``));
    expect([...imports, ...exports].filter((name) => rows(name).length === 0)).toEqual([]);
  });
});
