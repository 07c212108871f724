// A client for the OCI distribution API on Node's fetch: ping and scheme choice, Basic and Bearer
// auth, retries with backoff on 5xx/429 and dropped connections (before or during a body), blob
// HEAD/mount/upload (monolithic or chunked, resuming a chunked upload from the registry's reported
// range), manifest GET/PUT, and verified blob downloads. A hostile registry is expected
// (docs/registry-client.md): credentials go only to the registry's origin and its token realm,
// every request is under the timeout, every body read has a cap.
import { createHash } from "node:crypto";
import { UserError } from "../errors.js";
import { basicAuthorization, fetchBearerToken, parseChallenge, type BearerToken, type Challenge } from "./auth.js";
import type { Credentials } from "./credentials.js";
import { digestProblem, sizeProblem } from "./descriptors.js";
import { sha256Digest } from "./digest.js";
import { MANIFEST_ACCEPT } from "./media_types.js";
import { isLoopback } from "./reference.js";
import { NetworkError, RegistryError } from "./registry_error.js";
import {
  BODY_CAP, discardBody, exchange, isRetriableCause, networkCause, readBounded, readTextCapped, resolveLocation,
  type ExchangePolicy, type Exchanged,
} from "./transfer.js";

export { networkCause, NetworkError, RegistryError };

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
export const MAX_MANIFEST_BYTES = BODY_CAP.manifest;

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

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 120_000;
  }

  /**
   * What may travel where: the Authorization only to the registry's own origin; plain HTTP only to
   * loopback or with --insecure (a Location or redirect elsewhere on plain HTTP is refused).
   */
  private readonly policy: ExchangePolicy = {
    mayAuthorize: (url) => this.base !== undefined && url.origin === new URL(this.base).origin,
    checkUrl: (url) => {
      if (url.protocol === "https:" || (url.protocol === "http:" && (this.options.insecure || isLoopback(url.host)))) return;
      const why = url.protocol === "http:" ? "plain HTTP to a host that is not loopback needs --insecure" : "not an http(s) URL";
      throw new RegistryError(`registry ${this.registry} sent pwasm to ${url.origin}${url.pathname}: ${why}`, 0);
    },
  };

  /**
   * Plain HTTP may carry credentials to a token realm only with --insecure, or when both the
   * registry and the realm are on loopback (they never cross a network then).
   */
  private plainHttpCredentialsAllowed(url: URL): boolean {
    return !!this.options.insecure || (isLoopback(this.apiHost) && isLoopback(url.host));
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
        const url = new URL(`${s}://${this.apiHost}/v2/`);
        let res: Response;
        try {
          ({ res } = await exchange(this.doFetch, { method: "GET", url, headers: this.baseHeaders(), signal: AbortSignal.timeout(this.timeoutMs) }, this.policy));
        } catch (err) {
          if (err instanceof UserError) throw err;
          errors.push(`${url}: ${this.describeCause(networkCause(err) ?? (err as Error).message)}`);
          continue;
        }
        await discardBody(res);
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

  private describeCause(cause: string): string {
    return cause === "timeout" ? `no answer within ${this.timeoutMs / 1000} s (--timeout)` : cause;
  }

  /** The Authorization header for these scopes, fetching a token first when the registry wants Bearer. */
  private async authorization(scopes: string[]): Promise<string | undefined> {
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
    let r: Awaited<ReturnType<typeof fetchBearerToken>>;
    try {
      r = await fetchBearerToken(this.challenge, scopes, c, {
        doFetch: this.doFetch,
        signal: AbortSignal.timeout(this.timeoutMs),
        plainHttpAllowed: (url) => this.plainHttpCredentialsAllowed(url),
        registry: this.registry,
      });
    } catch (err) {
      if (err instanceof UserError) throw err;
      const cause = networkCause(err) ?? (err as Error).message;
      throw new NetworkError(`token request for ${this.registry} to ${this.challenge.params.realm} failed: ${this.describeCause(cause)}`, cause);
    }
    if (!r.ok) {
      const who = c ? `as ${c.username ?? "token"} (credentials from ${c.source})` : "anonymously";
      throw new RegistryError(`registry ${this.registry} refused a token ${who}: ${r.status ? `HTTP ${r.status} ` : ""}${r.message}`, r.status || 401);
    }
    this.tokens.set(key, r.token);
    return r.token.authorization;
  }

  private url(pathOrUrl: string): URL {
    return /^https?:\/\//.test(pathOrUrl) ? new URL(pathOrUrl) : new URL(`${this.base}${pathOrUrl}`);
  }

  /**
   * One request with auth (answering one 401 challenge) and retries, and `handle` run on its
   * response inside the retry loop: a connection dropped while `handle` reads the body is retried
   * like one dropped before the headers.
   */
  private async send<T>(method: string, pathOrUrl: string, init: SendInit, handle: (res: Response, url: URL) => Promise<T>): Promise<T> {
    await this.ping();
    const url = this.url(pathOrUrl);
    const retries = init.retry === false ? 0 : this.options.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      let reason: string;
      let retryAfter: string | null = null;
      try {
        const { res, url: at } = await this.once(method, url, init);
        if ((res.status >= 500 || res.status === 429) && attempt < retries) {
          retryAfter = res.headers.get("retry-after");
          await discardBody(res);
          reason = `HTTP ${res.status}`;
        } else {
          return await handle(res, at);
        }
      } catch (err) {
        const cause = err instanceof NetworkError ? err.code : err instanceof UserError ? undefined : networkCause(err);
        if (attempt >= retries || !isRetriableCause(cause)) throw this.wrapNetworkError(err, method, url);
        reason = cause!;
      }
      const delay = this.backoff(attempt, retryAfter);
      this.options.onRetry?.({ method, url: url.toString(), attempt: attempt + 1, delayMs: delay, reason });
      await sleep(delay);
    }
  }

  /** A failure as one line: a UserError as it is, anything else as the request and its cause. */
  private wrapNetworkError(err: unknown, method: string, url: URL): Error {
    if (err instanceof UserError) return err;
    const cause = networkCause(err) ?? (err instanceof Error ? err.message : String(err));
    return new NetworkError(`${method} ${url.pathname} on ${this.registry} failed: ${this.describeCause(cause)}`, cause);
  }

  private async once(method: string, url: URL, init: SendInit): Promise<Exchanged> {
    const request = async () => {
      // The token request (if any) comes first, under its own timeout; then this one under its own.
      const authorization = this.policy.mayAuthorize(url) ? await this.authorization(init.scopes) : undefined;
      const headers: Record<string, string> = { ...this.baseHeaders(), ...init.headers };
      return exchange(this.doFetch, { method, url, headers, body: init.body, authorization, signal: AbortSignal.timeout(this.timeoutMs) }, this.policy);
    };
    let r = await request();
    if (r.res.status !== 401) return r;
    await discardBody(r.res);
    if (!this.policy.mayAuthorize(r.url)) {
      // A Location or redirect led elsewhere, and that host wants credentials: it gets none.
      throw new RegistryError(`${r.url.host}, where ${this.registry} sent this ${method}, asks for credentials: pwasm sends them only to ${this.registry}`, 401);
    }
    // The registry (or this scope) wants auth we did not send: learn the challenge, answer once.
    const challenge = parseChallenge(r.res.headers.get("www-authenticate"));
    if (!challenge) throw new RegistryError(`${method} ${url.pathname}: HTTP 401 without a WWW-Authenticate challenge`, 401);
    const had = this.challenge;
    this.challenge = challenge;
    this.tokens.delete([...init.scopes].sort().join(" "));
    r = await request();
    if (r.res.status === 401) {
      await discardBody(r.res);
      const c = this.options.credentials;
      throw new RegistryError(
        c ? `registry ${this.registry} rejected the credentials from ${c.source}` : `registry ${this.registry} requires a login (use --username with --password-stdin, or docker login)`,
        401,
        had ? "UNAUTHORIZED" : undefined,
      );
    }
    return r;
  }

  /** Turns a non-success response into a RegistryError with the registry's own message. */
  private async fail(res: Response, what: string): Promise<never> {
    const text = await readTextCapped(res, BODY_CAP.error).catch(() => "");
    let code: string | undefined;
    let detail = "";
    try {
      const body = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
      const e = body?.errors?.[0];
      if (e) {
        code = typeof e.code === "string" ? e.code : undefined;
        const message = typeof e.message === "string" ? e.message : "";
        detail = `${code ?? ""}${message ? `: ${message}` : ""}`;
      }
    } catch {
      detail = text.trim();
    }
    detail = oneLine(detail);
    const denied = res.status === 403 ? " (access denied: check the credentials' permissions)" : "";
    throw new RegistryError(`${what} on ${this.registry}: HTTP ${res.status}${detail ? ` ${detail}` : ""}${denied}`, res.status, code);
  }

  /** Size of a blob in the repository, or undefined when it is not there. */
  async blobSize(repo: string, digest: string): Promise<number | undefined> {
    return this.send("HEAD", `/v2/${repo}/blobs/${digest}`, { scopes: [scope.pull(repo)] }, async (res) => {
      if (res.status !== 404 && !res.ok) await this.fail(res, `HEAD blob ${digest}`);
      await discardBody(res);
      if (res.status === 404) return undefined;
      const len = res.headers.get("content-length");
      return len === null ? -1 : Number(len);
    });
  }

  private locationOf(res: Response, at: URL, what: string): string {
    const loc = res.headers.get("location");
    if (!loc) throw new RegistryError(`${what} on ${this.registry}: HTTP ${res.status} without a Location header`, res.status);
    return resolveLocation(loc, at, `${what} on ${this.registry}`).toString();
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
    return this.send("POST", path, { scopes, headers: { "content-length": "0" } }, async (res, at) => {
      if (mountFrom && res.status === 201) {
        await discardBody(res);
        return { mounted: true as const };
      }
      if (res.status !== 202) await this.fail(res, `starting the upload of ${digest}`);
      await discardBody(res);
      const minChunk = Number(res.headers.get("oci-chunk-min-length") ?? 0) || 0;
      return { mounted: false as const, location: this.locationOf(res, at, "starting an upload"), minChunk };
    });
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
    await this.send("PUT", RegistryClient.withDigest(location, digest), {
      scopes: [scope.push(repo)],
      headers: { "content-type": "application/octet-stream", "content-length": String(data.length) },
      body: data,
    }, async (res) => {
      if (res.status !== 201) await this.fail(res, `uploading ${digest}`);
      await discardBody(res);
      this.checkDigestHeader(res, digest, "blob upload");
    });
    onProgress?.(data.length, data.length);
  }

  /** Where an upload stands (GET on its location): next offset and the location to continue at. */
  private async uploadStatus(repo: string, location: string): Promise<{ offset: number; location: string }> {
    return this.send("GET", location, { scopes: [scope.push(repo)] }, async (res, at) => {
      if (res.status !== 204 && res.status !== 202) await this.fail(res, "checking an upload");
      await discardBody(res);
      const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get("range") ?? "");
      return { offset: range ? Number(range[1]) + 1 : 0, location: res.headers.get("location") ? this.locationOf(res, at, "upload status") : location };
    });
  }

  /**
   * PATCHes the chunks. A chunk that fails, or a round after which the registry's range does not
   * go past the furthest byte it ever confirmed, counts against `retries`; so a registry that never
   * advances (or goes back after each failure) ends the upload instead of keeping it going forever.
   */
  private async uploadChunks(repo: string, location: string, digest: string, data: Uint8Array, chunk: number, onProgress?: ProgressCallback): Promise<void> {
    let offset = 0;
    let furthest = 0;
    let idle = 0;
    const retries = this.options.retries ?? 4;
    onProgress?.(0, data.length);
    while (offset < data.length) {
      const end = Math.min(offset + chunk, data.length);
      let answer: { status: number; next?: number; location?: string } | undefined;
      let problem: string | undefined;
      try {
        answer = await this.send("PATCH", location, {
          scopes: [scope.push(repo)],
          headers: { "content-type": "application/octet-stream", "content-range": `${offset}-${end - 1}`, "content-length": String(end - offset) },
          body: data.subarray(offset, end),
          retry: false,
        }, async (res, at) => {
          if (res.status === 202) {
            await discardBody(res);
            const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get("range") ?? "");
            return { status: 202, next: range ? Number(range[1]) + 1 : end, location: this.locationOf(res, at, "uploading a chunk") };
          }
          if (res.status < 500 && res.status !== 416 && res.status !== 429) await this.fail(res, `uploading a chunk of ${digest}`);
          await discardBody(res);
          return { status: res.status };
        });
      } catch (err) {
        if (err instanceof NetworkError) problem = err.code;
        else throw err;
      }
      if (answer?.status === 202) {
        if (answer.next! > end) {
          throw new RegistryError(`uploading ${digest} to ${this.registry}: the registry reports ${answer.next} bytes received, but only ${end} were sent`, 202);
        }
        location = answer.location!;
        offset = answer.next!;
        onProgress?.(offset, data.length);
        if (offset > furthest) {
          furthest = offset;
          idle = 0;
          continue;
        }
        if (++idle > retries) {
          throw new RegistryError(`uploading ${digest} to ${this.registry} makes no progress: the registry's range stayed at byte ${offset} for ${idle} chunks`, 202);
        }
        continue;
      }
      problem ??= `HTTP ${answer!.status}`;
      // The chunk may or may not have landed: ask the registry where the upload stands, go on from there.
      if (++idle > retries) throw new RegistryError(`uploading ${digest} to ${this.registry} failed at byte ${offset}: ${problem}`, answer?.status ?? 0, problem);
      const delay = this.backoff(idle - 1);
      this.options.onRetry?.({ method: "PATCH", url: location, attempt: idle, delayMs: delay, reason: `${problem}; resuming from the registry's range` });
      await sleep(delay);
      const status = await this.uploadStatus(repo, location);
      if (status.offset > data.length) {
        throw new RegistryError(`uploading ${digest} to ${this.registry}: the registry reports ${status.offset} bytes received, more than the blob's ${data.length}`, 0);
      }
      offset = status.offset;
      location = status.location;
      if (offset > furthest) {
        furthest = offset;
        idle = 0;
      }
    }
    await this.send("PUT", RegistryClient.withDigest(location, digest), { scopes: [scope.push(repo)], headers: { "content-length": "0" } }, async (res) => {
      if (res.status !== 201) await this.fail(res, `completing the upload of ${digest}`);
      await discardBody(res);
      this.checkDigestHeader(res, digest, "blob upload");
    });
  }

  private checkDigestHeader(res: Response, expected: string, what: string): void {
    const got = res.headers.get("docker-content-digest");
    if (got && got !== expected) throw new RegistryError(`${what}: registry ${this.registry} reports digest ${oneLine(got)}, expected ${expected}`, res.status);
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry stored. */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const digest = sha256Digest(bytes);
    await this.send("PUT", `/v2/${repo}/manifests/${reference}`, {
      scopes: [scope.push(repo)],
      headers: { "content-type": mediaType, "content-length": String(bytes.length) },
      body: bytes,
    }, async (res) => {
      if (res.status !== 201 && res.status !== 200) await this.fail(res, `PUT manifest ${repo}:${reference}`);
      await discardBody(res);
      this.checkDigestHeader(res, digest, "manifest PUT");
    });
    return digest;
  }

  /** GET a manifest by tag or digest; verifies its digest. Undefined on 404. */
  async getManifest(repo: string, reference: string, accept = MANIFEST_ACCEPT): Promise<FetchedManifest | undefined> {
    return this.send("GET", `/v2/${repo}/manifests/${reference}`, { scopes: [scope.pull(repo)], headers: { accept } }, async (res) => {
      if (res.status === 404) {
        await discardBody(res);
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
    });
  }

  /** The digest a tag points at (HEAD), or undefined when the tag does not exist. */
  async resolveDigest(repo: string, reference: string): Promise<string | undefined> {
    const d = await this.send("HEAD", `/v2/${repo}/manifests/${reference}`, { scopes: [scope.pull(repo)], headers: { accept: MANIFEST_ACCEPT } }, async (res) => {
      if (res.status !== 404 && !res.ok) await this.fail(res, `HEAD manifest ${repo}:${reference}`);
      await discardBody(res);
      if (res.status === 404) return null;
      return res.headers.get("docker-content-digest") ?? undefined;
    });
    if (d === null) return undefined;
    return d ?? (await this.getManifest(repo, reference))?.digest;
  }

  /**
   * Downloads a blob, checking its size and digest against the descriptor. A size that is not a
   * non-negative integer, or more than `maxBytes`, or a digest that is not sha256, is refused
   * before anything is requested.
   */
  async getBlob(repo: string, digest: string, size: number, maxBytes = size): Promise<Uint8Array> {
    const problem = digestProblem(digest) ?? sizeProblem(size);
    if (problem) throw new RegistryError(`blob ${String(digest).slice(0, 80)}: the descriptor's ${problem}`, 0);
    if (size > maxBytes) throw new RegistryError(`blob ${digest} is ${size} bytes, more than the ${maxBytes} allowed`, 0);
    return this.send("GET", `/v2/${repo}/blobs/${digest}`, { scopes: [scope.pull(repo)] }, async (res) => {
      if (!res.ok) await this.fail(res, `GET blob ${digest}`);
      const bytes = await readBounded(res, size, `blob ${digest}`);
      if (bytes.length !== size) throw new RegistryError(`blob ${digest}: the descriptor says ${size} bytes, the registry sent ${bytes.length}`, res.status);
      const got = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      if (got !== digest) throw new RegistryError(`blob ${digest} from ${this.registry} has digest ${got}: content does not match`, res.status);
      return bytes;
    });
  }
}

/** Text a registry sent, as part of a one-line message: control characters out, at most 200 characters. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim().slice(0, 200);
}
