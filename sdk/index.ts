// pwasm SDK: write Proxy-Wasm plugins in AssemblyScript.
//
//   import { RootContext, HttpContext, Action, registerRootContext } from "pwasm/sdk";
//   export * from "pwasm/sdk/exports";
//
// Map of ABI functions to wrappers: sdk/README.md. proxy-runtime's API: "pwasm/sdk/compat".
export * from "./types";
export * from "./context";
export { registerRootContext, RootContextFactory, getContext } from "./dispatcher";
export * from "./headers";
export * from "./buffers";
export * from "./properties";
export * from "./metrics";
export * from "./stream";
export * from "./log";
export * from "./time";
export * from "./shared";
export * from "./foreign";
export { lastResult } from "./result";
export { grpcSend, grpcCancel, grpcClose, getStatus, CalloutStatus } from "./callouts";
