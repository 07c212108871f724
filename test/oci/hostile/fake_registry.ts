// An in-memory registry speaking enough of the distribution API for pwasm push and pull (ping,
// Basic or Bearer challenges, manifests, blobs, monolithic and chunked uploads), whose every
// answer a test can replace to make it hostile.
import { createHash, randomUUID } from "node:crypto";
import type http from "node:http";
import type { Artifact } from "../../../cli/oci/artifact.js";
import { BASIC, LOGIN, type Handler } from "./net.js";

/** How the registry wants to be authenticated. */
export type RegistryAuth = { scheme: "none" } | { scheme: "basic" } | { scheme: "bearer"; realm: string; service?: string };

/** A request the registry is about to answer: return true after answering it yourself. */
export type Override = (route: Route, req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

/** What a request addresses. */
export interface Route {
  kind: "ping" | "manifest" | "blob" | "upload-start" | "upload" | "other";
  repo?: string;
  /** Tag or digest (manifests, blobs), upload id (uploads). */
  ref?: string;
  query: URLSearchParams;
}

/** The token a Bearer registry accepts (what the fixture token servers hand out). */
export const TOKEN = "tok-3f1a";

export const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** The registry's contents, readable and writable by tests. */
export interface FakeRegistry {
  handler: Handler;
  blobs: Map<string, Uint8Array>;
  /** repo:ref → manifest. */
  manifests: Map<string, { bytes: Uint8Array; mediaType: string }>;
  /** Replaces answers (checked before the normal ones). */
  override?: Override;
}

export function route(req: http.IncomingMessage): Route {
  const url = new URL(req.url ?? "/", "http://x");
  const p = url.pathname;
  const q = url.searchParams;
  if (p === "/v2/" || p === "/v2") return { kind: "ping", query: q };
  let m = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(p);
  if (m) return { kind: "upload-start", repo: m[1], query: q };
  m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(p);
  if (m) return { kind: "upload", repo: m[1], ref: m[2], query: q };
  m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(p);
  if (m) return { kind: m[2] === "manifests" ? "manifest" : "blob", repo: m[1], ref: m[3], query: q };
  return { kind: "other", query: q };
}

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code, message }] }));
}

/** Puts an artifact's blobs and manifest in the registry, the manifest under repo:tag. */
export function stockArtifact(reg: FakeRegistry, artifact: Artifact, repo: string, tag: string): void {
  for (const b of artifact.blobs) reg.blobs.set(b.descriptor.digest, b.data);
  reg.manifests.set(`${repo}:${tag}`, { bytes: artifact.manifestBytes, mediaType: artifact.manifest.mediaType! });
}

/** A registry with `auth`; Basic accepts LOGIN, Bearer accepts TOKEN. */
export function fakeRegistry(auth: RegistryAuth = { scheme: "none" }): FakeRegistry {
  const uploads = new Map<string, Buffer>();
  const reg: FakeRegistry = { blobs: new Map(), manifests: new Map(), handler: async () => undefined };
  const authorized = (req: http.IncomingMessage) =>
    auth.scheme === "none" || (auth.scheme === "basic" ? req.headers.authorization === BASIC : req.headers.authorization === `Bearer ${TOKEN}`);
  const challenge = () =>
    auth.scheme === "basic" ? `Basic realm="fake"` : auth.scheme === "bearer" ? `Bearer realm="${auth.realm}",service="${auth.service ?? "fake"}"` : "";
  reg.handler = async (req, res) => {
    const r = route(req);
    if (reg.override && (await reg.override(r, req, res))) return;
    if (!authorized(req)) {
      await body(req);
      res.writeHead(401, { "www-authenticate": challenge(), "content-type": "application/json" }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const method = req.method ?? "GET";
    const data = await body(req);
    if (r.kind === "ping") {
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    } else if (r.kind === "manifest") {
      const key = `${r.repo}:${r.ref}`;
      if (method === "PUT") {
        const digest = sha256(data);
        const m = { bytes: new Uint8Array(data), mediaType: String(req.headers["content-type"] ?? "") };
        reg.manifests.set(key, m);
        reg.manifests.set(`${r.repo}:${digest}`, m);
        res.writeHead(201, { location: `/v2/${r.repo}/manifests/${digest}`, "docker-content-digest": digest }).end();
        return;
      }
      const m = reg.manifests.get(key);
      if (!m) return error(res, 404, "MANIFEST_UNKNOWN", "manifest unknown");
      res.writeHead(200, { "content-type": m.mediaType, "content-length": m.bytes.length, "docker-content-digest": sha256(m.bytes) });
      res.end(method === "HEAD" ? undefined : Buffer.from(m.bytes));
    } else if (r.kind === "blob") {
      const b = reg.blobs.get(r.ref!);
      if (!b) return error(res, 404, "BLOB_UNKNOWN", "blob unknown");
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": b.length, "docker-content-digest": r.ref! });
      res.end(method === "HEAD" ? undefined : Buffer.from(b));
    } else if (r.kind === "upload-start" && method === "POST") {
      const id = randomUUID();
      uploads.set(id, Buffer.alloc(0));
      res.writeHead(202, { location: `/v2/${r.repo}/blobs/uploads/${id}`, range: "0-0", "docker-upload-uuid": id, "content-length": 0 }).end();
    } else if (r.kind === "upload") {
      const have = uploads.get(r.ref!);
      if (!have) return error(res, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
      const next = Buffer.concat([have, data]);
      uploads.set(r.ref!, next);
      const range = next.length ? `0-${next.length - 1}` : "0-0";
      if (method === "PATCH" || method === "GET") {
        res.writeHead(method === "GET" ? 204 : 202, { location: `/v2/${r.repo}/blobs/uploads/${r.ref}`, range, "content-length": 0 }).end();
      } else if (method === "PUT") {
        const digest = r.query.get("digest") ?? "";
        if (sha256(next) !== digest) return error(res, 400, "DIGEST_INVALID", "digest does not match");
        reg.blobs.set(digest, new Uint8Array(next));
        uploads.delete(r.ref!);
        res.writeHead(201, { location: `/v2/${r.repo}/blobs/${digest}`, "docker-content-digest": digest, "content-length": 0 }).end();
      } else error(res, 405, "UNSUPPORTED", method);
    } else {
      error(res, 404, "NAME_UNKNOWN", "not found");
    }
  };
  return reg;
}

/** A token server answering every request with TOKEN (or a wrong-password 401 for other Basic credentials). */
export const tokenServer: Handler = async (req, res) => {
  await body(req);
  if (req.headers.authorization && req.headers.authorization !== BASIC) {
    res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
    return;
  }
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: TOKEN, expires_in: 300 }));
};

export { LOGIN };
