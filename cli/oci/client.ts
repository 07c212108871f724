// A client for the OCI distribution API on Node's fetch: ping and scheme choice, Basic and Bearer
// auth, retries with backoff on 5xx/429 and dropped connections, blob HEAD/mount/upload
// (monolithic or chunked, resuming a chunked upload from the registry's reported range), manifest
// GET/PUT, and verified blob downloads.
import { createHash } from "node:crypto";
import { UserError } from "../errors.js";
import { basicAuthorization, fetchBearerToken, parseChallenge, type BearerToken, type Challenge } from "./auth.js";
import type { Credentials } from "./credentials.js";
import { sha256Digest } from "./digest.js";
import { MANIFEST_ACCEPT } from "./media_types.js";
import { isLoopback } from "./reference.js";

/** Settings of a client for one registry. */
export interface RegistryClientOptions {
  /** Registry as named in references (`host[:port]`, `docker.io`). */
  registry: string;
  /** Host[:port] the API is served on (differs for Docker Hub). Default: `registry`. */
  apiHost?: string;
  /** Allow plain HTTP to a non-loopback registry. */
  insecure?: boolean;
  credentials?: Credentials;
  /** Retries after the first attempt for 5xx, 429 and dropped connections (default 4). */
  retries?: number;
  /** First backoff delay in ms, doubled each retry, with jitter (default 250). */
  backoffMs?: number;
  /** Per-request timeout in ms (default 120 000). */
  timeoutMs?: number;
  /** Called before each retry (for verbose output). */
  onRetry?: (event: RetryEvent) => void;
  userAgent?: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** Why a request is being retried. */
export interface RetryEvent {
  method: string;
  url: string;
  attempt: number;
  delayMs: number;
  reason: string;
}

/** A failed registry request: HTTP status and the registry's error code, if any. */
export class RegistryError extends UserError {
  constructor(message: string, readonly status: number, readonly code?: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/** A fetched manifest: exact bytes, media type and digest (verified). */
export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

/** Upload progress of one blob. */
export type ProgressCallback = (done: number, total: number) => void;

/** How a blob reached the repository. */
export type UploadOutcome = "exists" | "mounted" | "uploaded";

/** Options of one blob upload. */
export interface UploadOptions {
  /** Upload in PATCH chunks of this many bytes when the blob is larger (default: monolithic). */
  chunkSize?: number;
  /** Repository on the same registry to mount the blob from, when it has it. */
  mountFrom?: string;
  onProgress?: ProgressCallback;
}

const RETRIABLE_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH",
  "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CLOSED",
]);

/** The low-level cause of a fetch failure, e.g. "ECONNRESET" or "TimeoutError". */
export function networkCause(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === "TimeoutError" || err.name === "AbortError") return "timeout";
  const cause = (err as Error & { cause?: unknown }).cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? (err as NodeJS.ErrnoException).code;
  if (code) return code;
  if (cause instanceof Error) return cause.message;
  return err.message === "fetch failed" ? "connection failed" : undefined;
}

function isRetriableNetworkError(err: unknown): boolean {
  const cause = networkCause(err);
  if (!cause) return false;
  return cause === "timeout" || RETRIABLE_CODES.has(cause) || /other side closed|socket|terminated/i.test(cause);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Repository scope strings of the token spec. */
export const scope = {
  pull: (repo: string) => `repository:${repo}:pull`,
  push: (repo: string) => `repository:${repo}:pull,push`,
};

interface SendInit {
  headers?: Record<string, string>;
  body?: Uint8Array;
  scopes: string[];
  /** Retry 5xx and dropped connections (default true). Chunk PATCHes recover by themselves. */
  retry?: boolean;
}

/** Maximum manifest size we read (distribution's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A client for one registry. */
export class RegistryClient {
  readonly registry: string;
  private readonly apiHost: string;
  private readonly options: RegistryClientOptions;
  private readonly doFetch: typeof fetch;
  private base: string | undefined;
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, BearerToken>();

  constructor(options: RegistryClientOptions) {
    this.options = options;
    this.registry = options.registry;
    this.apiHost = options.apiHost ?? options.registry;
    this.doFetch = options.fetch ?? fetch;
  }

  /** The auth challenge the registry answered with (after a ping), if any. */
  get authChallenge(): Challenge | undefined {
    return this.challenge;
  }

  /** `https://host` or `http://host`, once pinged. */
  get baseUrl(): string | undefined {
    return this.base;
  }

  private get plainHttpAllowed(): boolean {
    return !!this.options.insecure || isLoopback(this.apiHost);
  }

  /**
   * GET /v2/: picks the scheme (HTTPS; plain HTTP only for loopback or --insecure, when HTTPS
   * fails) and learns the auth challenge. Idempotent.
   */
  async ping(): Promise<void> {
    if (this.base) return;
    const schemes = this.plainHttpAllowed ? ["https", "http"] : ["https"];
    const retries = this.options.retries ?? 4;
    const errors: string[] = [];
    for (let attempt = 0; attempt <= retries; attempt++) {
      errors.length = 0;
      for (const s of schemes) {
        const url = `${s}://${this.apiHost}/v2/`;
        let res: Response;
        try {
          res = await this.doFetch(url, { headers: this.baseHeaders(), signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000) });
        } catch (err) {
          errors.push(`${url}: ${networkCause(err) ?? (err as Error).message}`);
          continue;
        }
        await res.arrayBuffer().catch(() => undefined);
        if (res.status >= 500 || res.status === 429) {
          errors.push(`${url}: HTTP ${res.status}`);
          break; // a server answered on this scheme: retry it, do not fall back
        }
        this.base = `${s}://${this.apiHost}`;
        if (res.status === 401) this.challenge = parseChallenge(res.headers.get("www-authenticate"));
        else if (res.status !== 200) throw new RegistryError(`${url} answered HTTP ${res.status}: not an OCI registry`, res.status);
        return;
      }
      if (attempt < retries) {
        const delay = this.backoff(attempt);
        this.options.onRetry?.({ method: "GET", url: `/v2/`, attempt: attempt + 1, delayMs: delay, reason: errors.join("; ") });
        await sleep(delay);
      }
    }
    const hint = this.plainHttpAllowed ? "" : " (a plain-HTTP registry needs --insecure)";
    throw new UserError(`cannot reach registry ${this.registry}: ${errors.join("; ")}${hint}`);
  }

  private baseHeaders(): Record<string, string> {
    return { "user-agent": this.options.userAgent ?? "pwasm", "docker-distribution-api-version": "registry/2.0" };
  }

  private backoff(attempt: number, retryAfter?: string | null): number {
    const base = (this.options.backoffMs ?? 250) * 2 ** attempt;
    const after = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    // Jitter so many clients retrying together spread out; Retry-After capped at 30 s.
    return Math.min(Math.max(base + Math.floor(Math.random() * base * 0.2), after), 30_000);
  }

  /** The Authorization header for these scopes, fetching a token first when the registry wants Bearer. */
  private async authorization(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const c = this.options.credentials;
    if (c?.registryToken) return `Bearer ${c.registryToken}`;
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === "basic") {
      const basic = c && basicAuthorization(c);
      if (!basic) throw new RegistryError(`registry ${this.registry} requires a login (use --username with --password-stdin, or docker login)`, 401);
      return basic;
    }
    if (this.challenge.scheme !== "bearer") throw new RegistryError(`registry ${this.registry} wants unsupported auth scheme '${this.challenge.scheme}'`, 401);
    const key = [...scopes].sort().join(" ");
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.authorization;
    const r = await fetchBearerToken(this.challenge, scopes, c, this.doFetch, signal);
    if (!r.ok) {
      const who = c ? `as ${c.username ?? "token"} (credentials from ${c.source})` : "anonymously";
      throw new RegistryError(`registry ${this.registry} refused a token ${who}: ${r.status ? `HTTP ${r.status} ` : ""}${r.message}`, r.status || 401);
    }
    this.tokens.set(key, r.token);
    return r.token.authorization;
  }

  private url(pathOrUrl: string): string {
    return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl}`;
  }

  /** One request with auth (answering one 401 challenge) and retries. */
  private async send(method: string, pathOrUrl: string, init: SendInit): Promise<Response> {
    await this.ping();
    const url = this.url(pathOrUrl);
    const retries = init.retry === false ? 0 : this.options.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.once(method, url, init);
      } catch (err) {
        if (err instanceof UserError || attempt >= retries || !isRetriableNetworkError(err)) throw this.wrapNetworkError(err, method, url);
        const delay = this.backoff(attempt);
        this.options.onRetry?.({ method, url, attempt: attempt + 1, delayMs: delay, reason: networkCause(err) ?? String(err) });
        await sleep(delay);
        continue;
      }
      if ((res.status >= 500 || res.status === 429) && attempt < retries) {
        await res.arrayBuffer().catch(() => undefined);
        const delay = this.backoff(attempt, res.headers.get("retry-after"));
        this.options.onRetry?.({ method, url, attempt: attempt + 1, delayMs: delay, reason: `HTTP ${res.status}` });
        await sleep(delay);
        continue;
      }
      return res;
    }
  }

  private wrapNetworkError(err: unknown, method: string, url: string): Error {
    if (err instanceof UserError) return err;
    const cause = networkCause(err);
    if (cause) return new RegistryError(`${method} ${new URL(url).pathname} on ${this.registry} failed: ${cause}`, 0, cause);
    return err as Error;
  }

  private async once(method: string, url: string, init: SendInit): Promise<Response> {
    const timeout = this.options.timeoutMs ?? 120_000;
    const request = async (authorization: string | undefined) => {
      const headers: Record<string, string> = { ...this.baseHeaders(), ...init.headers };
      if (authorization) headers.authorization = authorization;
      // A Uint8Array is a valid body; the DOM typings only want ArrayBuffer-backed views.
      return this.doFetch(url, { method, headers, body: init.body as unknown as BodyInit | undefined, redirect: "follow", signal: AbortSignal.timeout(timeout) });
    };
    let res = await request(await this.authorization(init.scopes));
    if (res.status !== 401) return res;
    // The registry (or this scope) wants auth we did not send: learn the challenge, answer once.
    await res.arrayBuffer().catch(() => undefined);
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    if (!challenge) throw new RegistryError(`${method} ${new URL(url).pathname}: HTTP 401 without a WWW-Authenticate challenge`, 401);
    const had = this.challenge;
    this.challenge = challenge;
    this.tokens.delete([...init.scopes].sort().join(" "));
    res = await request(await this.authorization(init.scopes));
    if (res.status === 401) {
      await res.arrayBuffer().catch(() => undefined);
      const c = this.options.credentials;
      throw new RegistryError(
        c ? `registry ${this.registry} rejected the credentials from ${c.source}` : `registry ${this.registry} requires a login (use --username with --password-stdin, or docker login)`,
        401,
        had ? "UNAUTHORIZED" : undefined,
      );
    }
    return res;
  }

  /** Turns a non-success response into a RegistryError with the registry's own message. */
  private async fail(res: Response, what: string): Promise<never> {
    const text = await res.text().catch(() => "");
    let code: string | undefined;
    let detail = "";
    try {
      const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
      const e = body.errors?.[0];
      if (e) {
        code = e.code;
        detail = `${e.code ?? ""}${e.message ? `: ${e.message}` : ""}`;
      }
    } catch {
      detail = text.trim().slice(0, 200);
    }
    const denied = res.status === 403 ? " (access denied: check the credentials' permissions)" : "";
    throw new RegistryError(`${what} on ${this.registry}: HTTP ${res.status}${detail ? ` ${detail}` : ""}${denied}`, res.status, code);
  }

  /** Size of a blob in the repository, or undefined when it is not there. */
  async blobSize(repo: string, digest: string): Promise<number | undefined> {
    const res = await this.send("HEAD", `/v2/${repo}/blobs/${digest}`, { scopes: [scope.pull(repo)] });
    if (res.status === 404) return undefined;
    if (!res.ok) await this.fail(res, `HEAD blob ${digest}`);
    const len = res.headers.get("content-length");
    return len === null ? -1 : Number(len);
  }

  private locationOf(res: Response, what: string): string {
    const loc = res.headers.get("location");
    if (!loc) throw new RegistryError(`${what} on ${this.registry}: HTTP ${res.status} without a Location header`, res.status);
    return new URL(loc, `${this.base}/`).toString();
  }

  private static withDigest(location: string, digest: string): string {
    const u = new URL(location);
    u.searchParams.set("digest", digest);
    return u.toString();
  }

  /** Starts an upload session (or mounts the blob from `mountFrom`). */
  private async startUpload(repo: string, digest: string, mountFrom?: string): Promise<{ mounted: true } | { mounted: false; location: string; minChunk: number }> {
    const scopes = [scope.push(repo), ...(mountFrom ? [scope.pull(mountFrom)] : [])];
    const path = mountFrom
      ? `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}`
      : `/v2/${repo}/blobs/uploads/`;
    const res = await this.send("POST", path, { scopes, headers: { "content-length": "0" } });
    if (mountFrom && res.status === 201) {
      await res.arrayBuffer();
      return { mounted: true };
    }
    if (res.status !== 202) await this.fail(res, `starting the upload of ${digest}`);
    await res.arrayBuffer();
    const minChunk = Number(res.headers.get("oci-chunk-min-length") ?? 0) || 0;
    return { mounted: false, location: this.locationOf(res, "starting an upload"), minChunk };
  }

  /**
   * Makes sure the repository has the blob: HEAD first, then a cross-repository mount when
   * `mountFrom` is given, else an upload (chunked when larger than `chunkSize`).
   */
  async pushBlob(repo: string, digest: string, data: Uint8Array, options: UploadOptions = {}): Promise<UploadOutcome> {
    const size = await this.blobSize(repo, digest);
    if (size === data.length) {
      options.onProgress?.(data.length, data.length);
      return "exists";
    }
    for (let restart = 0; ; restart++) {
      const session = await this.startUpload(repo, digest, options.mountFrom);
      if (session.mounted) {
        options.onProgress?.(data.length, data.length);
        return "mounted";
      }
      const chunk = options.chunkSize && data.length > options.chunkSize ? Math.max(options.chunkSize, session.minChunk) : 0;
      try {
        if (chunk) await this.uploadChunks(repo, session.location, digest, data, chunk, options.onProgress);
        else await this.uploadMonolithic(repo, session.location, digest, data, options.onProgress);
        return "uploaded";
      } catch (err) {
        // A session the registry forgot (restarted without its upload state): begin again, once.
        if (err instanceof RegistryError && err.code === "BLOB_UPLOAD_UNKNOWN" && restart === 0) continue;
        throw err;
      }
    }
  }

  private async uploadMonolithic(repo: string, location: string, digest: string, data: Uint8Array, onProgress?: ProgressCallback): Promise<void> {
    onProgress?.(0, data.length);
    const res = await this.send("PUT", RegistryClient.withDigest(location, digest), {
      scopes: [scope.push(repo)],
      headers: { "content-type": "application/octet-stream", "content-length": String(data.length) },
      body: data,
    });
    if (res.status !== 201) await this.fail(res, `uploading ${digest}`);
    await res.arrayBuffer();
    this.checkDigestHeader(res, digest, "blob upload");
    onProgress?.(data.length, data.length);
  }

  /** Where an upload stands (GET on its location): next offset and the location to continue at. */
  private async uploadStatus(repo: string, location: string): Promise<{ offset: number; location: string }> {
    const res = await this.send("GET", location, { scopes: [scope.push(repo)] });
    if (res.status !== 204 && res.status !== 202) await this.fail(res, "checking an upload");
    await res.arrayBuffer();
    const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get("range") ?? "");
    return { offset: range ? Number(range[1]) + 1 : 0, location: res.headers.get("location") ? this.locationOf(res, "upload status") : location };
  }

  private async uploadChunks(repo: string, location: string, digest: string, data: Uint8Array, chunk: number, onProgress?: ProgressCallback): Promise<void> {
    let offset = 0;
    let failures = 0;
    const retries = this.options.retries ?? 4;
    onProgress?.(0, data.length);
    while (offset < data.length) {
      const end = Math.min(offset + chunk, data.length);
      let res: Response | undefined;
      let problem: string | undefined;
      try {
        res = await this.send("PATCH", location, {
          scopes: [scope.push(repo)],
          headers: { "content-type": "application/octet-stream", "content-range": `${offset}-${end - 1}`, "content-length": String(end - offset) },
          body: data.subarray(offset, end),
          retry: false,
        });
      } catch (err) {
        if (err instanceof RegistryError && err.status === 0 && err.code && err.code !== "UNAUTHORIZED") problem = err.code;
        else throw err;
      }
      if (res && res.status === 202) {
        await res.arrayBuffer();
        location = this.locationOf(res, "uploading a chunk");
        const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get("range") ?? "");
        offset = range ? Number(range[1]) + 1 : end;
        failures = 0;
        onProgress?.(offset, data.length);
        continue;
      }
      if (res && res.status < 500 && res.status !== 416 && res.status !== 429) await this.fail(res, `uploading a chunk of ${digest}`);
      if (res) {
        problem = `HTTP ${res.status}`;
        await res.arrayBuffer().catch(() => undefined);
      }
      // The chunk may or may not have landed: ask the registry where the upload stands, go on from there.
      if (++failures > retries) throw new RegistryError(`uploading ${digest} to ${this.registry} failed at byte ${offset}: ${problem}`, res?.status ?? 0, problem);
      const delay = this.backoff(failures - 1);
      this.options.onRetry?.({ method: "PATCH", url: location, attempt: failures, delayMs: delay, reason: `${problem}; resuming from the registry's range` });
      await sleep(delay);
      const status = await this.uploadStatus(repo, location);
      offset = status.offset;
      location = status.location;
    }
    const res = await this.send("PUT", RegistryClient.withDigest(location, digest), { scopes: [scope.push(repo)], headers: { "content-length": "0" } });
    if (res.status !== 201) await this.fail(res, `completing the upload of ${digest}`);
    await res.arrayBuffer();
    this.checkDigestHeader(res, digest, "blob upload");
  }

  private checkDigestHeader(res: Response, expected: string, what: string): void {
    const got = res.headers.get("docker-content-digest");
    if (got && got !== expected) throw new RegistryError(`${what}: registry ${this.registry} reports digest ${got}, expected ${expected}`, res.status);
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry stored. */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const digest = sha256Digest(bytes);
    const res = await this.send("PUT", `/v2/${repo}/manifests/${reference}`, {
      scopes: [scope.push(repo)],
      headers: { "content-type": mediaType, "content-length": String(bytes.length) },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200) await this.fail(res, `PUT manifest ${repo}:${reference}`);
    await res.arrayBuffer();
    this.checkDigestHeader(res, digest, "manifest PUT");
    return digest;
  }

  /** GET a manifest by tag or digest; verifies its digest. Undefined on 404. */
  async getManifest(repo: string, reference: string, accept = MANIFEST_ACCEPT): Promise<FetchedManifest | undefined> {
    const res = await this.send("GET", `/v2/${repo}/manifests/${reference}`, { scopes: [scope.pull(repo)], headers: { accept } });
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    if (!res.ok) await this.fail(res, `GET manifest ${repo}:${reference}`);
    const bytes = await readBounded(res, MAX_MANIFEST_BYTES, `manifest ${repo}:${reference}`);
    const digest = sha256Digest(bytes);
    if (reference.startsWith("sha256:") && reference !== digest) {
      throw new RegistryError(`manifest ${repo}@${reference} from ${this.registry} has digest ${digest}: content does not match`, res.status);
    }
    this.checkDigestHeader(res, digest, `manifest ${repo}:${reference}`);
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, mediaType, digest };
  }

  /** The digest a tag points at (HEAD), or undefined when the tag does not exist. */
  async resolveDigest(repo: string, reference: string): Promise<string | undefined> {
    const res = await this.send("HEAD", `/v2/${repo}/manifests/${reference}`, { scopes: [scope.pull(repo)], headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    if (!res.ok) await this.fail(res, `HEAD manifest ${repo}:${reference}`);
    const d = res.headers.get("docker-content-digest");
    if (d) return d;
    return (await this.getManifest(repo, reference))?.digest;
  }

  /** Downloads a blob, checking its size and digest against the descriptor. */
  async getBlob(repo: string, digest: string, size: number, maxBytes = size): Promise<Uint8Array> {
    if (size > maxBytes) throw new RegistryError(`blob ${digest} is ${size} bytes, more than the ${maxBytes} allowed`, 0);
    const res = await this.send("GET", `/v2/${repo}/blobs/${digest}`, { scopes: [scope.pull(repo)] });
    if (!res.ok) await this.fail(res, `GET blob ${digest}`);
    const bytes = await readBounded(res, size, `blob ${digest}`);
    if (bytes.length !== size) throw new RegistryError(`blob ${digest}: the descriptor says ${size} bytes, the registry sent ${bytes.length}`, res.status);
    const got = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    if (got !== digest) throw new RegistryError(`blob ${digest} from ${this.registry} has digest ${got}: content does not match`, res.status);
    return bytes;
  }
}

/** Reads a response body, refusing more than `max` bytes. */
async function readBounded(res: Response, max: number, what: string): Promise<Uint8Array> {
  const declared = res.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await res.body?.cancel();
    throw new RegistryError(`${what} is ${declared} bytes, more than the ${max} expected`, res.status);
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += c.length;
    if (total > max) break; // leaving the loop cancels the stream
    chunks.push(c);
  }
  if (total > max) throw new RegistryError(`${what} is longer than the ${max} bytes expected`, res.status);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
