// Where the registry credentials go when the registry is hostile: only to the registry's own
// origin, or to a Bearer realm over https (plain http only with --insecure or on loopback); never
// along an upload Location or a redirect to another origin. Every fixture host here stands for
// another machine; the assertions count the requests each one received with an Authorization.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildArtifact } from "../../../cli/oci/artifact.js";
import { built } from "../../helpers/paths.js";
import { fakeRegistry, LOGIN, sha256, stockArtifact, tokenServer, type FakeRegistry } from "./fake_registry.js";
import { BASIC, hostileNet, type Machine } from "./net.js";
import { figures, oneLineError, runAgainst } from "./run.js";

const module = new Uint8Array(readFileSync(built("examples/add-header")));
const artifact = buildArtifact(module);
const login = ["-u", LOGIN.username, "--password-stdin"];
const input = `${LOGIN.password}\n`;
const net = hostileNet();
const stock = (reg: FakeRegistry, repo: string, tag: string) => stockArtifact(reg, artifact, repo, tag);

/** Sends every request to `target` (another origin) with a 307. */
const redirectTo = (target: () => string) => (_req: unknown, res: import("node:http").ServerResponse) => {
  res.writeHead(307, { location: `${target()}${(_req as { url: string }).url}`, "content-length": 0 }).end();
};

describe("Bearer realm", () => {
  let plainAuth: Machine;
  let tlsAuth: Machine;
  let toPlain: Machine;
  let toTls: Machine;

  beforeAll(async () => {
    plainAuth = await net.serve("auth-plain", "http", tokenServer);
    tlsAuth = await net.serve("auth", "https", tokenServer);
    const a = fakeRegistry({ scheme: "bearer", realm: `${plainAuth.origin}/token` });
    const b = fakeRegistry({ scheme: "bearer", realm: `${tlsAuth.origin}/token` });
    stock(a, "team/p", "1");
    stock(b, "team/p", "1");
    toPlain = await net.serve("registry", "https", a.handler);
    toTls = await net.serve("registry2", "https", b.handler);
  });

  it("on plain http at another host gets no credentials: the pull stops with one line", async () => {
    const r = await runAgainst(net, ["pull", `oci://${toPlain.host}/team/p:1`, "-o", net.path("a.wasm"), ...login], { input });
    console.log(figures("realm on plain http", r, `requests with credentials at ${plainAuth.host}: ${net.credentialed(plainAuth.origin).length}`));
    const line = oneLineError(r);
    expect(line).toMatch(/token realm http:\/\/auth-plain\.pwasm\.test:\d+\/token is plain HTTP.*--insecure/);
    expect(net.credentialed(plainAuth.origin)).toEqual([]);
    expect(net.seen.filter((s) => s.authorization === BASIC).map((s) => s.origin)).toEqual([]);
  });

  it("on plain http is used with --insecure, which allows plain HTTP for this registry", async () => {
    const r = await runAgainst(net, ["pull", `oci://${toPlain.host}/team/p:1`, "-o", net.path("b.wasm"), ...login, "--insecure"], { input });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(net.path("b.wasm"))).toEqual(Buffer.from(module));
    expect(net.credentialed(plainAuth.origin).every((s) => s.authorization === BASIC)).toBe(true);
    expect(net.credentialed(plainAuth.origin).length).toBeGreaterThan(0);
  });

  it("on https at another host gets the login (Docker Hub's layout), the registry only the token", async () => {
    const r = await runAgainst(net, ["pull", `oci://${toTls.host}/team/p:1`, "-o", net.path("c.wasm"), ...login], { input });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(net.path("c.wasm"))).toEqual(Buffer.from(module));
    const auth = net.credentialed(tlsAuth.origin);
    expect(auth.length).toBeGreaterThan(0);
    expect(auth.every((s) => s.authorization === BASIC)).toBe(true);
    expect(net.credentialed(toTls.origin).every((s) => s.authorization === "Bearer tok-3f1a")).toBe(true);
  });

  it("redirecting the token request to another origin does not take the login along", async () => {
    const thief = await net.serve("thief", "https", tokenServer);
    const hop = await net.serve("auth-hop", "https", redirectTo(() => thief.origin));
    const reg = fakeRegistry({ scheme: "bearer", realm: `${hop.origin}/token` });
    stock(reg, "team/p", "1");
    const registry = await net.serve("registry3", "https", reg.handler);
    const r = await runAgainst(net, ["pull", `oci://${registry.host}/team/p:1`, "-o", net.path("d.wasm"), ...login], { input });
    console.log(figures("token request redirected to another origin", r, `requests with credentials at ${thief.host}: ${net.credentialed(thief.origin).length}`));
    expect(net.credentialed(thief.origin)).toEqual([]);
    if (r.code !== 0) oneLineError(r);
  });
});

describe("Location on another origin", () => {
  it("an upload Location elsewhere receives the blobs without the login", async () => {
    const elsewhere = fakeRegistry();
    const evil = await net.serve("uploads", "https", elsewhere.handler);
    const reg = fakeRegistry({ scheme: "basic" });
    reg.override = (route, req, res) => {
      if (route.kind !== "upload-start") return false;
      req.resume();
      res.writeHead(202, { location: `${evil.origin}/v2/${route.repo}/blobs/uploads/${route.repo!.replace("/", "-")}-1`, "content-length": 0 }).end();
      return true;
    };
    // The other host knows the session (a storage backend would).
    elsewhere.override = (route, req, res) => {
      if (route.kind === "upload" && req.method === "PUT") {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const digest = route.query.get("digest")!;
          expect(sha256(Buffer.concat(chunks))).toBe(digest);
          reg.blobs.set(digest, Buffer.concat(chunks));
          res.writeHead(201, { "docker-content-digest": digest, "content-length": 0 }).end();
        });
        return true;
      }
      return false;
    };
    const registry = await net.serve("registry4", "https", reg.handler);
    const r = await runAgainst(net, ["push", built("examples/add-header"), `oci://${registry.host}/team/p:2`, ...login], { input });
    console.log(figures("upload Location on another origin", r, `requests with credentials at ${evil.host}: ${net.credentialed(evil.origin).length} of ${net.requests(evil.origin).length}`));
    expect(r.code, r.stderr).toBe(0);
    expect(net.requests(evil.origin).length).toBe(artifact.blobs.length);
    expect(net.credentialed(evil.origin)).toEqual([]);
    expect(net.credentialed(registry.origin).every((s) => s.authorization === BASIC)).toBe(true);
  });

  it("an upload Location elsewhere that asks for credentials gets none: one line names the host", async () => {
    const evil = await net.serve("greedy", "https", (req, res) => {
      req.resume();
      res.writeHead(401, { "www-authenticate": 'Basic realm="greedy"', "content-length": 0 }).end();
    });
    const reg = fakeRegistry({ scheme: "basic" });
    reg.override = (route, req, res) => {
      if (route.kind !== "upload-start") return false;
      req.resume();
      res.writeHead(202, { location: `${evil.origin}/v2/${route.repo}/blobs/uploads/x`, "content-length": 0 }).end();
      return true;
    };
    const registry = await net.serve("registry5", "https", reg.handler);
    const r = await runAgainst(net, ["push", built("examples/add-header"), `oci://${registry.host}/team/p:3`, ...login, "--retries", "0"], { input });
    console.log(figures("upload Location on another origin asking for credentials", r, `requests with credentials at ${evil.host}: ${net.credentialed(evil.origin).length}`));
    const line = oneLineError(r);
    expect(line).toMatch(/greedy\.pwasm\.test:\d+, where registry5\.pwasm\.test:\d+ sent this PUT, asks for credentials: pwasm sends them only to registry5/);
    expect(net.credentialed(evil.origin)).toEqual([]);
  });

  it("a blob or manifest redirect to another origin is followed without the login", async () => {
    const cdnReg = fakeRegistry();
    stock(cdnReg, "team/p", "1");
    const cdn = await net.serve("cdn", "https", cdnReg.handler);
    const reg = fakeRegistry({ scheme: "basic" });
    reg.override = (route, req, res) => {
      if (route.kind !== "blob" && route.kind !== "manifest") return false;
      if (req.headers.authorization !== BASIC) return false; // the 401 challenge first, as registries do
      req.resume();
      res.writeHead(307, { location: `${cdn.origin}${req.url}`, "content-length": 0 }).end();
      return true;
    };
    const registry = await net.serve("registry6", "https", reg.handler);
    const r = await runAgainst(net, ["pull", `oci://${registry.host}/team/p:1`, "-o", net.path("e.wasm"), ...login], { input });
    console.log(figures("blob and manifest redirects to another origin", r, `requests with credentials at ${cdn.host}: ${net.credentialed(cdn.origin).length} of ${net.requests(cdn.origin).length}`));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(net.path("e.wasm"))).toEqual(Buffer.from(module));
    expect(net.requests(cdn.origin).length).toBeGreaterThan(0);
    expect(net.credentialed(cdn.origin)).toEqual([]);
  });
});
