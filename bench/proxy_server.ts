// A dev proxy for the load test in bench/suite.ts: `node dist/bench/proxy_server.js [plugin.wasm]`
// listens on a free loopback port with a direct response, and prints its URL.
import { startDevProxy } from "../host/proxy/dev_proxy.js";

const plugin = process.argv[2];
const proxy = await startDevProxy({
  plugins: plugin ? [{ wasm: plugin }] : [],
  port: 0, admin: false, directResponse: { status: 200, body: "ok" }, logLevel: "warn",
});
process.stdout.write(`listening ${proxy.url}\n`);
process.once("SIGINT", () => void proxy.close().then(() => process.exit(0)));
