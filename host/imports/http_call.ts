// Host function proxy_http_call, and delivery of its response to proxy_on_http_call_response.
// The call belongs to the root context, even when a stream made it (Envoy).
import { WasmResult } from "../abi/constants.js";
import { decodePairs } from "../abi/pairs.js";
import { HeaderMap, REQUEST_HEADERS_INLINE, REQUEST_TRAILERS_INLINE } from "../values/header_map.js";
import type { HttpCalloutResult } from "../services/transports.js";
import type { RootContextState } from "../vm/contexts.js";
import { onHttpCallResponse } from "../vm/guest.js";
import type { PluginVm } from "../vm/plugin_vm.js";
import { sig, type HostFunctionDef } from "./types.js";

/** Delivers a callout's outcome to the plugin, unless the VM failed or the root is gone. */
export function deliverHttpCallResponse(vm: PluginVm, root: RootContextState, token: number, result: HttpCalloutResult): void {
  if (!root.callouts.delete(token) || vm.failure || !vm.contexts.has(root.id)) return;
  if ("reset" in result) {
    // Envoy reports a failed callout as BrokenConnection / "reset" in proxy_get_status; the
    // message is cleared after the callback, the code stays.
    root.status = { code: WasmResult.BrokenConnection, message: result.reset };
    try {
      onHttpCallResponse(root, token, 0, 0, 0);
    } finally {
      root.status = { code: root.status.code, message: "" };
    }
    return;
  }
  // A successful callout leaves proxy_get_status alone (its HTTP status is the `:status` header).
  root.calloutResponse = result;
  try {
    onHttpCallResponse(root, token, result.headers.count, result.body.length, result.trailers.count);
  } finally {
    root.calloutResponse = undefined;
  }
}

export const httpCallFunctions: HostFunctionDef[] = [
  {
    module: "env", name: "proxy_http_call", type: sig("iiiiiiiiii>i"),
    create: (vm) => (
      upPtr: number, upLen: number, hPtr: number, hLen: number, bPtr: number, bLen: number,
      tPtr: number, tLen: number, timeoutMs: number, tokenOut: number,
    ) => {
      const cluster = vm.mem.utf8(upPtr, upLen);
      // Envoy builds the callout's maps pair by pair (addCopy): pseudo-headers in front, repeats of
      // inline headers joined (docs/envoy/http-stream.md).
      const headers = new HeaderMap([], REQUEST_HEADERS_INLINE);
      headers.replaceAll(decodePairs(vm.mem.check(hPtr, hLen), hPtr >>> 0, hLen >>> 0) ?? []);
      const body = vm.mem.copy(bPtr, bLen);
      const trailers = new HeaderMap([], REQUEST_TRAILERS_INLINE);
      trailers.replaceAll(decodePairs(vm.mem.check(tPtr, tLen), tPtr >>> 0, tLen >>> 0) ?? []);
      // Envoy writes a zero token first, so a bad token pointer fails before anything is sent.
      vm.mem.setU32(tokenOut, 0);
      // Envoy takes the timeout as a signed int: negative is BAD_ARGUMENT, 0 means none.
      if ((timeoutMs | 0) < 0) return WasmResult.BadArgument;
      const transport = vm.runtime.services.callouts;
      if (!transport.hasCluster(cluster)) return WasmResult.BadArgument;
      if (!headers.has(":method") || !headers.has(":path") || !headers.has(":authority")) return WasmResult.BadArgument;
      if (body.length > 0) headers.set("content-length", String(body.length));
      const root = vm.effectiveContext().root;
      const token = vm.newCalloutToken(0);
      const handle = transport.send(
        { cluster, headers, body, trailers, timeoutMs: timeoutMs | 0 }, token,
        (result) => vm.defer(() => {
          try {
            deliverHttpCallResponse(vm, root, token, result);
          } catch (err) {
            // A trap already failed the VM (and was logged); nothing waits for this callback.
            if (!vm.failure) throw err;
          }
        }),
      );
      if (!handle) return WasmResult.InternalFailure;
      root.callouts.set(token, { token, cancel: () => handle.cancel() });
      vm.mem.setU32(tokenOut, token);
      return WasmResult.Ok;
    },
  },
];
