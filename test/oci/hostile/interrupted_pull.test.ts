// Ctrl-C during `pwasm pull`: the module is written through a temporary file and a rename, and an
// interrupt while the temporary file is being written removes it. The module is large (128 MiB)
// so the write takes a while; the signal is sent the moment the temporary file appears. Whatever
// the moment, the directory must hold no temporary file, and the output either not at all or whole.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, watch } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildArtifact } from "../../../cli/oci/artifact.js";
import { fakeRegistry, stockArtifact } from "./fake_registry.js";
import { hostileNet, type Machine } from "./net.js";
import { figures, runAgainst } from "./run.js";

const SIZE = 128 * 1024 * 1024;
const net = hostileNet();
let registry: Machine;
let moduleDigest: string;

beforeAll(async () => {
  // A "module" Istio's checks accept: the wasm magic and version, then zeros.
  const module = new Uint8Array(SIZE);
  module.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  moduleDigest = createHash("sha256").update(module).digest("hex");
  const artifact = buildArtifact(module, { variant: "oci" });
  const reg = fakeRegistry();
  stockArtifact(reg, artifact, "big/p", "1");
  registry = await net.serve("big", "https", reg.handler);
}, 120_000);

describe("pwasm pull interrupted", () => {
  it("by SIGINT while writing the module leaves no temporary file and no partial output", async () => {
    let inWindow = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = net.path(`out-${attempt}`);
      mkdirSync(dir);
      const out = `${dir}/plugin.wasm`;
      let watcher: ReturnType<typeof watch> | undefined;
      let signalled = false;
      const r = await runAgainst(net, ["pull", `oci://${registry.host}/big/p:1`, "-o", out], {
        timeoutMs: 120_000,
        onSpawn: (child) => {
          watcher = watch(dir, (_event, name) => {
            if (!signalled && String(name).startsWith("plugin.wasm.tmp-")) {
              signalled = true;
              child.kill("SIGINT");
            }
          });
        },
      });
      watcher?.close();
      const left = readdirSync(dir);
      const whole = left.includes("plugin.wasm") && statSync(out).size === SIZE && createHash("sha256").update(readFileSync(out)).digest("hex") === moduleDigest;
      if (!left.includes("plugin.wasm")) inWindow++;
      console.log(figures(`pull interrupted (attempt ${attempt + 1})`, r, `signal ${signalled ? "sent" : "not sent"}, exit signal ${r.signal}, left in the directory: ${JSON.stringify(left)}`));
      expect(r.timedOut).toBe(false);
      expect(signalled).toBe(true);
      expect(left.filter((f) => f.includes(".tmp-"))).toEqual([]);
      expect(left.length === 0 || (left.length === 1 && whole)).toBe(true);
      if (inWindow > 0) break;
    }
    console.log(`interrupts that landed while the module was being written: ${inWindow}`);
  }, 300_000);
});
