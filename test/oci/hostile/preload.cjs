// Preloaded into the pwasm process of the hostile-registry tests (NODE_OPTIONS=--require):
// names under .pwasm.test resolve to 127.0.0.1, so the client sees distinct hosts that are not
// loopback by name (each fixture server stands for another machine); and at exit the process's
// peak RSS is written to $PWASM_TEST_RSS_FILE, the memory bound the tests assert.
const dns = require("node:dns");
const fs = require("node:fs");

const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  if (typeof hostname === "string" && hostname.toLowerCase().endsWith(".pwasm.test")) {
    if (options && typeof options === "object" && options.all) return process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]);
    return process.nextTick(callback, null, "127.0.0.1", 4);
  }
  return lookup.call(this, hostname, options, callback);
};

const rssFile = process.env.PWASM_TEST_RSS_FILE;
if (rssFile) {
  process.on("exit", () => fs.writeFileSync(rssFile, String(process.resourceUsage().maxRSS * 1024)));
}
