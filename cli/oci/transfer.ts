// One HTTP exchange of the registry client, on Node's fetch, with the rules that keep a hostile
// server from taking more than it is owed (docs/registry-client.md):
//  - redirects are followed here, hop by hop, never by fetch: the Authorization goes only to the
//    URLs the caller allows (the registry's origin, the token realm's), and a body that is itself
//    a credential never follows a redirect to another origin;
//  - a URL on plain HTTP is refused unless the caller allows it (loopback, or --insecure);
//  - one AbortSignal covers the exchange from the first byte sent to the last body byte read;
//  - bodies are read with a cap: what the caller needs, at most what it expects.
import { RegistryError } from "./registry_error.js";

/** Caps on bodies the client reads whole. */
export const BODY_CAP = {
  /** Bodies nobody reads (ping, retries, upload answers): this much is read, the rest dropped. */
  unused: 64 * 1024,
  /** Error bodies: enough for the registry's JSON error list. */
  error: 64 * 1024,
  /** Token responses (a JWT and its metadata are a few KiB). */
  token: 1024 * 1024,
  /** Manifests (distribution's own limit is 4 MiB). */
  manifest: 4 * 1024 * 1024,
} as const;

/** Redirects followed before giving up (fetch's own limit is 20; a registry needs one or two). */
export const MAX_REDIRECTS = 10;

/** Who may receive what on one exchange. */
export interface ExchangePolicy {
  /** True when `url` may receive the Authorization header. */
  mayAuthorize(url: URL): boolean;
  /** Throws when the client must not contact `url` at all (plain HTTP where that is not allowed). */
  checkUrl(url: URL): void;
  /** The body is a credential (a refresh-token form): never sent along a redirect to another origin. */
  bodyIsCredential?: boolean;
}

/** One request. */
export interface ExchangeRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Uint8Array | URLSearchParams;
  authorization?: string;
  signal: AbortSignal;
}

/** A response and the URL it came from (after redirects). */
export interface Exchanged {
  res: Response;
  url: URL;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Sends a request, following redirects under `policy`. */
export async function exchange(doFetch: typeof fetch, request: ExchangeRequest, policy: ExchangePolicy): Promise<Exchanged> {
  let { method, url, body } = request;
  let headers = { ...request.headers };
  const origin = url.origin;
  for (let hop = 0; ; hop++) {
    policy.checkUrl(url);
    const sent: Record<string, string> = { ...headers };
    if (request.authorization && policy.mayAuthorize(url)) sent.authorization = request.authorization;
    const res = await doFetch(url, {
      method,
      headers: sent,
      // A Uint8Array is a valid body; the DOM typings only want ArrayBuffer-backed views.
      body: body as unknown as BodyInit | undefined,
      redirect: "manual",
      signal: request.signal,
    });
    const location = res.headers.get("location");
    if (!REDIRECTS.has(res.status) || !location) return { res, url };
    await discardBody(res);
    if (hop >= MAX_REDIRECTS) throw new RegistryError(`${method} ${request.url.pathname}: more than ${MAX_REDIRECTS} redirects`, res.status);
    const next = resolveLocation(location, url, `${method} ${url.pathname}`);
    // As fetch does: 303 (and 301/302 after a POST) continue as a GET without the body.
    if ((res.status === 303 && method !== "GET" && method !== "HEAD") || ((res.status === 301 || res.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
    }
    if (body !== undefined && policy.bodyIsCredential && next.origin !== origin) {
      throw new RegistryError(`${method} ${request.url.origin}${request.url.pathname} redirected to ${next.origin}: not sending the credentials there`, res.status);
    }
    url = next;
  }
}

/** A Location header as a URL, or a one-line error naming what sent it. */
export function resolveLocation(location: string, base: URL | string, what: string): URL {
  try {
    return new URL(location, base);
  } catch {
    throw new RegistryError(`${what}: the registry answered with a Location that is not a URL: ${JSON.stringify(location.slice(0, 200))}`, 0);
  }
}

/** Reads up to `BODY_CAP.unused` bytes of a body nobody needs and drops the rest (and the connection with it). */
export async function discardBody(res: Response): Promise<void> {
  try {
    await readCapped(res, BODY_CAP.unused);
  } catch {
    // the body was never wanted
  }
}

/** The first `cap` bytes of a body as text (the rest dropped): for error messages. */
export async function readTextCapped(res: Response, cap: number): Promise<string> {
  const { bytes } = await readCapped(res, cap);
  return new TextDecoder().decode(bytes);
}

/** A whole body that must not be longer than `max` bytes (a RegistryError naming `what` when it is). */
export async function readBounded(res: Response, max: number, what: string): Promise<Uint8Array> {
  const declared = res.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new RegistryError(`${what} is ${declared} bytes, more than the ${max} expected`, res.status);
  }
  const { bytes, truncated } = await readCapped(res, max);
  if (truncated) throw new RegistryError(`${what} is longer than the ${max} bytes expected`, res.status);
  return bytes;
}

/** Reads at most `cap` bytes; `truncated` when the body had more (the stream is then cancelled). */
async function readCapped(res: Response, cap: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!res.body) return { bytes: new Uint8Array(0), truncated: false };
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (total + c.length > cap) {
      chunks.push(c.subarray(0, cap - total));
      total = cap;
      truncated = true;
      break; // leaving the loop cancels the stream
    }
    chunks.push(c);
    total += c.length;
  }
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  return { bytes, truncated };
}

const RETRIABLE_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH",
  "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CLOSED",
]);

/** The low-level cause of a fetch failure, e.g. "ECONNRESET" or "timeout". */
export function networkCause(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === "TimeoutError" || err.name === "AbortError") return "timeout";
  const cause = (err as Error & { cause?: unknown }).cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? (err as NodeJS.ErrnoException).code;
  if (code) return code;
  if (cause instanceof Error) return cause.message;
  if (err.message === "fetch failed") return "connection failed";
  return err.message === "terminated" ? "connection closed" : undefined;
}

/** True for a cause worth another attempt (dropped connections, timeouts). */
export function isRetriableCause(cause: string | undefined): boolean {
  if (!cause) return false;
  return cause === "timeout" || RETRIABLE_CODES.has(cause) || /other side closed|socket|terminated|connection closed/i.test(cause);
}
