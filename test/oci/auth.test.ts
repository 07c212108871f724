// A registry behind htpasswd (Basic) auth: credentials from --username/--password-stdin, from
// DOCKER_CONFIG (auths and credential helpers), through oras, and Istio's fetcher pulling with a
// dockerconfigjson pull secret.
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPwasm } from "../helpers/cli.js";
import { built } from "../helpers/paths.js";
import { buildGoCheck, lastJson, run, startRegistry, startTokenRegistry, type TestRegistry, type TokenRegistry } from "./registry.js";
import { skipWithout } from "../helpers/tools.js";

// Outside tools: the registry, htpasswd and openssl (the token registry's key), skopeo, oras, Go (the checker).
const skip = skipWithout(["docker-registry", "htpasswd", "openssl", "skopeo", "oras", "go"], "test/oci/auth.test.ts");

const AUTH = { username: "ci-bot", password: "s3cret:with colon" };
const module = readFileSync(built("examples/add-header"));
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

let reg: TestRegistry;
let plainRealm: TestRegistry;
let gocheck: string;
let work: string;
let dockerConfig: string;

beforeAll(async () => {
  // Recent Istio refuses a 401 whose realm is not a public http(s) URL, even for Basic auth; the
  // main registry uses a URL realm, `plainRealm` the usual plain name.
  [reg, plainRealm, gocheck] = await Promise.all([startRegistry({ auth: AUTH, realm: "https://registry.pwasm.test/" }), startRegistry({ auth: AUTH }), buildGoCheck()]);
  work = mkdtempSync(join(tmpdir(), "pwasm-auth-"));
  dockerConfig = join(work, "docker");
  mkdirSync(dockerConfig);
  const auth = Buffer.from(`${AUTH.username}:${AUTH.password}`).toString("base64");
  writeFileSync(join(dockerConfig, "config.json"), JSON.stringify({ auths: { [reg.host]: { auth } } }));
}, 600_000);

afterAll(async () => {
  await reg?.close();
  await plainRealm?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

// An empty DOCKER_CONFIG: tests that mean "no stored credentials" must not see the machine's own.
const noConfig = () => ({ DOCKER_CONFIG: join(work, "none") });

describe.skipIf(skip)("htpasswd registry", () => {
  it("is really protected: anonymous access is refused, with a hint how to log in", async () => {
    const skopeo = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/plugins/a:1`]);
    expect(skopeo.code).not.toBe(0);
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/a:1`], { env: noConfig() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pwasm: registry 127\.0\.0\.1:\d+ requires a login \(use --username with --password-stdin, or docker login\)$/m);
  });

  it("pushes with --username and --password-stdin; a wrong password is refused clearly", async () => {
    const bad = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/a:1`, "-u", AUTH.username, "--password-stdin"], { input: "wrong\n", env: noConfig() });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/rejected the credentials from --username\/--password-stdin/);
    const ok = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/a:1`, "-u", AUTH.username, "--password-stdin", "--json"], { input: `${AUTH.password}\n`, env: noConfig() });
    expect(ok.code, ok.stderr).toBe(0);
    const digest = (JSON.parse(ok.stdout) as { digest: string }).digest;
    const skopeo = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", `${AUTH.username}:${AUTH.password}`, `docker://${reg.host}/plugins/a:1`]);
    expect(skopeo.code, skopeo.stderr).toBe(0);
    expect(sha(Buffer.from(skopeo.stdout.trim()))).toBe(digest);
  });

  it("uses DOCKER_CONFIG for push, pull, inspect and oras; Istio's fetcher pulls with a pull secret and with its default keychain", async () => {
    const env = { DOCKER_CONFIG: dockerConfig };
    const pushed = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/b:1`, "--variant", "oci", "--json"], { env });
    expect(pushed.code, pushed.stderr).toBe(0);
    const digest = (JSON.parse(pushed.stdout) as { digest: string }).digest;
    const out = join(work, "b.wasm");
    const pulled = await runPwasm(["pull", `oci://${reg.host}/plugins/b:1`, "-o", out], { env });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(readFileSync(out).equals(module)).toBe(true);
    const inspect = await runPwasm(["inspect", `oci://${reg.host}/plugins/b:1`], { env });
    expect(inspect.code, inspect.stderr).toBe(0);

    const oras = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/oras:1`, "--variant", "oci", "--with", "oras", "-u", AUTH.username, "--password-stdin", "--json"], { input: AUTH.password, env: noConfig() });
    expect(oras.code, oras.stderr).toBe(0);
    expect((JSON.parse(oras.stdout) as { digest: string }).digest).toBe(digest);

    // What istio-agent gets from imagePullSecret: the dockerconfigjson bytes.
    const secret = join(work, "pull-secret.json");
    writeFileSync(secret, readFileSync(join(dockerConfig, "config.json")));
    for (const [ref, args, fetchEnv] of [
      [`${reg.host}/plugins/b:1`, [secret], noConfig()],
      [`${reg.host}/plugins/oras:1`, [], env],
    ] as const) {
      const wasmOut = join(work, `istio-${Math.random()}.wasm`);
      const r = await run(gocheck, ["fetch", ref, wasmOut, ...args], { env: fetchEnv });
      expect(r.code, r.stderr).toBe(0);
      expect(`sha256:${lastJson<{ digest: string }>(r.stdout).digest}`).toBe(digest);
      expect(readFileSync(wasmOut).equals(module)).toBe(true);
    }
    const ggcr = await run(gocheck, ["validate-image", `${reg.host}/plugins/b:1`], { env });
    expect(ggcr.code, ggcr.stderr).toBe(0);
  });

  it("warns that recent Istio refuses a registry whose Basic realm is not an http(s) URL, as Istio's fetcher does", async () => {
    const env = { DOCKER_CONFIG: join(work, "plain-realm") };
    mkdirSync(env.DOCKER_CONFIG, { recursive: true });
    const auth = Buffer.from(`${AUTH.username}:${AUTH.password}`).toString("base64");
    writeFileSync(join(env.DOCKER_CONFIG, "config.json"), JSON.stringify({ auths: { [plainRealm.host]: { auth } } }));
    const pushed = await runPwasm(["push", built("examples/add-header"), `oci://${plainRealm.host}/plugins/p:1`], { env });
    expect(pushed.code, pushed.stderr).toBe(0);
    const inspect = await runPwasm(["inspect", `oci://${plainRealm.host}/plugins/p:1`], { env });
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toMatch(/warning {4}recent Istio \(master, 2026\) refuses this registry's 401 challenge: the registry's basic realm "pwasm-test" is not an http\(s\) URL/);
    const r = await run(gocheck, ["fetch", `${plainRealm.host}/plugins/p:1`, join(work, "refused.wasm")], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rejected unsafe bearer realm: realm scheme "" not allowed/);
    // The same registry with a URL realm: no warning.
    const ok = await runPwasm(["inspect", `oci://${reg.host}/plugins/a:1`], { env: { DOCKER_CONFIG: dockerConfig } });
    expect(ok.stdout).not.toMatch(/warning/);
  });

  it("asks a docker credential helper named in credHelpers", async () => {
    const bin = join(work, "bin");
    mkdirSync(bin, { recursive: true });
    const helper = join(bin, "docker-credential-pwasmtest");
    // The helper protocol: `get`, server URL on stdin, JSON on stdout; it logs what it was asked.
    writeFileSync(helper, `#!/bin/sh\nread server\necho "$1 $server" >> "${join(work, "helper.log")}"\nprintf '{"ServerURL":"%s","Username":"${AUTH.username}","Secret":"${AUTH.password}"}' "$server"\n`);
    chmodSync(helper, 0o755);
    const config = join(work, "helper-config");
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, "config.json"), JSON.stringify({ credHelpers: { [reg.host]: "pwasmtest" } }));
    const r = await runPwasm(["push", built("examples/add-header"), `oci://${reg.host}/plugins/helper:1`], { env: { DOCKER_CONFIG: config, PATH: `${bin}${delimiter}${process.env.PATH}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(work, "helper.log"), "utf8").trim()).toBe(`get ${reg.host}`);
  });

  it("refuses --username without --password-stdin (no passwords on the command line)", async () => {
    const r = await runPwasm(["pull", `oci://${reg.host}/plugins/a:1`, "-u", "x"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--username needs --password-stdin/);
  });
});

describe.skipIf(skip)("token (Bearer) registry", () => {
  let tokenReg: TokenRegistry;
  beforeAll(async () => {
    tokenReg = await startTokenRegistry(AUTH);
  });
  afterAll(async () => {
    await tokenReg?.close();
  });

  it("trades the credentials for scoped tokens: push, cross-repository mount, pull, inspect", async () => {
    const env = noConfig();
    const anonymous = await runPwasm(["push", built("examples/add-header"), `oci://${tokenReg.host}/team/a:1`], { env });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/requires a login/);

    const r = await runPwasm(["push", built("examples/add-header"), `oci://${tokenReg.host}/team/a:1`, `oci://${tokenReg.host}/team/b:1`, "-u", AUTH.username, "--password-stdin", "--json"], { input: AUTH.password, env });
    expect(r.code, r.stderr).toBe(0);
    const pushed = JSON.parse(r.stdout) as { digest: string; references: Array<{ blobs: Array<{ outcome: string }> }> };
    expect(pushed.references[1]!.blobs.map((b) => b.outcome)).toEqual(["mounted", "mounted"]);
    // The mount asks for push on the target and pull on the source in one token.
    expect(tokenReg.tokenRequests).toContain("repository:team/a:pull,push");
    expect(tokenReg.tokenRequests.some((s) => s.split(" ").sort().join(" ") === "repository:team/a:pull repository:team/b:pull,push")).toBe(true);

    const skopeo = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", `${AUTH.username}:${AUTH.password}`, `docker://${tokenReg.host}/team/b:1`]);
    expect(skopeo.code, skopeo.stderr).toBe(0);
    expect(sha(Buffer.from(skopeo.stdout.trim()))).toBe(pushed.digest);

    const out = join(work, "token.wasm");
    const pull = await runPwasm(["pull", `oci://${tokenReg.host}/team/b:1`, "-o", out, "-u", AUTH.username, "--password-stdin"], { input: AUTH.password, env });
    expect(pull.code, pull.stderr).toBe(0);
    expect(readFileSync(out).equals(module)).toBe(true);
    // Istio (master) would not follow a realm on loopback: inspect says so.
    expect(pull.stderr).toMatch(/warning: recent Istio .* realm "http:\/\/127\.0\.0\.1:\d+\/token" points at a private, loopback or link-local address/);

    const wrong = await runPwasm(["inspect", `oci://${tokenReg.host}/team/b:1`, "-u", AUTH.username, "--password-stdin"], { input: "nope", env });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused a token as ci-bot \(credentials from --username\/--password-stdin\): HTTP 401/);
  });
});
