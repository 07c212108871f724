// The registry auth handshake (Docker token spec): parse `WWW-Authenticate`, answer Basic
// challenges with the credentials, and trade them for scoped Bearer tokens at the realm.
import { isIP } from "node:net";
import type { Credentials } from "./credentials.js";

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

/** Asks the token server (`realm`) for a token covering `scopes`. */
export async function fetchBearerToken(
  challenge: Challenge,
  scopes: string[],
  credentials: Credentials | undefined,
  doFetch: typeof fetch,
  signal?: AbortSignal,
): Promise<{ ok: true; token: BearerToken } | { ok: false; status: number; message: string }> {
  const realm = challenge.params.realm;
  if (!realm) return { ok: false, status: 0, message: "Bearer challenge without a realm" };
  const url = new URL(realm);
  const service = challenge.params.service;
  const wanted = scopes.length ? scopes : challenge.params.scope ? [challenge.params.scope] : [];
  let res: Response;
  if (credentials?.identityToken) {
    // OAuth2 refresh-token grant, as docker does with an identity token.
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credentials.identityToken, client_id: "pwasm" });
    if (service) form.set("service", service);
    if (wanted.length) form.set("scope", wanted.join(" "));
    res = await doFetch(url, { method: "POST", body: form, signal });
  } else {
    if (service) url.searchParams.set("service", service);
    for (const s of wanted) url.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    const basic = credentials && basicAuthorization(credentials);
    if (basic) headers.authorization = basic;
    res = await doFetch(url, { headers, signal });
  }
  const text = await res.text();
  if (!res.ok) return { ok: false, status: res.status, message: text.slice(0, 200).trim() || res.statusText };
  let body: { token?: string; access_token?: string; expires_in?: number };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { ok: false, status: res.status, message: "token server answered with something other than JSON" };
  }
  const token = body.token ?? body.access_token;
  if (!token) return { ok: false, status: res.status, message: "token server answered without a token" };
  // Docker's spec: 60 s when the server does not say.
  const lifetime = Math.max(10, body.expires_in ?? 60) * 1000;
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
