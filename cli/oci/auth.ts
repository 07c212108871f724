// The registry auth handshake (Docker token spec): parse `WWW-Authenticate`, answer Basic
// challenges with the credentials, and trade them for scoped Bearer tokens at the realm.
import { isIP } from "node:net";
import type { Credentials } from "./credentials.js";
import { RegistryError } from "./registry_error.js";
import { BODY_CAP, exchange, readBounded, readTextCapped, type ExchangePolicy, type Exchanged } from "./transfer.js";

/** One parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: "basic" | "bearer" | string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted or token values; commas inside quotes). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

/** `Basic base64(user:password)`. */
export function basicAuthorization(c: Credentials): string | undefined {
  if (c.username === undefined || c.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

/** A token from the realm: the header value to send and when it stops being useful. */
export interface BearerToken {
  authorization: string;
  /** ms since the epoch; tokens are refreshed a little before. */
  expiresAt: number;
}

/** How a token request may travel. */
export interface TokenRequestOptions {
  doFetch: typeof fetch;
  /** The request's timeout (--timeout), for the whole exchange. */
  signal: AbortSignal;
  /** True when plain HTTP may carry credentials to this URL (see RegistryClient). */
  plainHttpAllowed(url: URL): boolean;
  /** The registry, for messages. */
  registry: string;
}

/**
 * Asks the token server (`realm`) for a token covering `scopes`. The credentials go to the realm
 * only over https, or plain HTTP where `plainHttpAllowed`; a redirect to another origin is
 * followed without them. The answer is read up to BODY_CAP.token.
 */
export async function fetchBearerToken(
  challenge: Challenge,
  scopes: string[],
  credentials: Credentials | undefined,
  options: TokenRequestOptions,
): Promise<{ ok: true; token: BearerToken } | { ok: false; status: number; message: string }> {
  const realm = challenge.params.realm;
  if (!realm) return { ok: false, status: 0, message: "Bearer challenge without a realm" };
  let url: URL | undefined;
  try {
    url = new URL(realm);
  } catch {
    // refused below
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) return { ok: false, status: 0, message: `the token realm ${JSON.stringify(realm.slice(0, 200))} is not an http(s) URL` };
  const service = challenge.params.service;
  const wanted = scopes.length ? scopes : challenge.params.scope ? [challenge.params.scope] : [];
  const basic = credentials && basicAuthorization(credentials);
  if ((credentials?.identityToken || basic) && url.protocol === "http:" && !options.plainHttpAllowed(url)) {
    throw new RegistryError(
      `registry ${options.registry}'s token realm ${url.origin}${url.pathname} is plain HTTP: not sending the credentials from ${credentials!.source} there in clear (--insecure allows it)`,
      401,
    );
  }
  const realmOrigin = url.origin;
  const policy: ExchangePolicy = {
    mayAuthorize: (u) => u.origin === realmOrigin,
    checkUrl: (u) => {
      if (u.protocol !== "https:" && u.protocol !== "http:") throw new RegistryError(`the token server of ${options.registry} redirected to ${u.protocol} URL`, 0);
    },
    bodyIsCredential: true,
  };
  let exchanged: Exchanged;
  if (credentials?.identityToken) {
    // OAuth2 refresh-token grant, as docker does with an identity token.
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credentials.identityToken, client_id: "pwasm" });
    if (service) form.set("service", service);
    if (wanted.length) form.set("scope", wanted.join(" "));
    exchanged = await exchange(options.doFetch, { method: "POST", url, headers: {}, body: form, signal: options.signal }, policy);
  } else {
    if (service) url.searchParams.set("service", service);
    for (const s of wanted) url.searchParams.append("scope", s);
    exchanged = await exchange(options.doFetch, { method: "GET", url, headers: {}, authorization: basic, signal: options.signal }, policy);
  }
  const res = exchanged.res;
  if (!res.ok) {
    const text = await readTextCapped(res, BODY_CAP.error);
    return { ok: false, status: res.status, message: text.slice(0, 200).trim() || res.statusText };
  }
  const text = new TextDecoder().decode(await readBounded(res, BODY_CAP.token, `the token response from ${exchanged.url.origin}`));
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { ok: false, status: res.status, message: "token server answered with something other than JSON" };
  }
  const token = body?.token ?? body?.access_token;
  if (typeof token !== "string" || !token) return { ok: false, status: res.status, message: "token server answered without a token" };
  // Docker's spec: 60 s when the server does not say.
  const expiresIn = typeof body.expires_in === "number" && Number.isFinite(body.expires_in) ? body.expires_in : 60;
  const lifetime = Math.max(10, expiresIn) * 1000;
  return { ok: true, token: { authorization: `Bearer ${token}`, expiresAt: Date.now() + lifetime - 5_000 } };
}

/**
 * Why Istio's fetcher (istio/istio master, 2026: ssrfProtectionTransport) would refuse this
 * challenge, or undefined. It checks the realm of every 401 — Basic included — and wants an
 * http(s) URL whose host is not localhost, cloud metadata or a private/loopback/link-local IP.
 */
export function istioRealmProblem(challenge: Challenge | undefined): string | undefined {
  const realm = challenge?.params.realm;
  if (realm === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return `the registry's ${challenge!.scheme} realm "${realm}" is not an http(s) URL`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `the registry's realm "${realm}" is not an http(s) URL`;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host === "metadata.google.internal") return `the registry's realm "${realm}" points at ${host}`;
  if (isIP(host) && isPrivateOrLocal(host)) return `the registry's realm "${realm}" points at a private, loopback or link-local address`;
  return undefined;
}

function isPrivateOrLocal(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split(".").map(Number) as [number, number];
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  const v6 = ip.toLowerCase();
  return v6 === "::1" || v6.startsWith("fc") || v6.startsWith("fd") || /^fe[89ab]/.test(v6);
}
