// A descriptor's `size` bounds the download of its blob and its `digest` names what is downloaded,
// so a manifest whose sizes are not plain non-negative integers, or whose digests are not
// `sha256:<64 hex>`, is refused before anything is downloaded. That includes sizes JSON can write
// but Go's int64 decoding refuses (1e3, 1.0): Istio's fetcher would fail on the manifest; and
// digests that are not a digest at all ("latest", "sha256:../../x"), which would make the request
// address a tag or another path (docs/registry-client.md).

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Why `digest` cannot address a verified download (pwasm verifies sha256 only), or undefined. */
export function digestProblem(digest: unknown): string | undefined {
  if (typeof digest === "string" && SHA256_DIGEST.test(digest)) return undefined;
  if (digest === undefined) return "digest is missing";
  return `digest ${JSON.stringify(digest)?.slice(0, 80) ?? String(digest)} is not sha256: and 64 lower-case hex digits`;
}

/** Why `size` cannot bound a download (`size "12abc" is not a non-negative integer`), or undefined. */
export function sizeProblem(size: unknown): string | undefined {
  if (typeof size === "number" && Number.isSafeInteger(size) && size >= 0) return undefined;
  if (size === undefined) return "size is missing";
  const shown = typeof size === "string" ? JSON.stringify(size.slice(0, 40)) : typeof size === "number" ? String(size) : JSON.stringify(size).slice(0, 40);
  return `size ${shown} is not a non-negative integer`;
}

/**
 * The raw text of every `"size"` value in `json` that JSON.parse reads as a whole number but that
 * is not written as one (`1e3`, `1000.0`, `-0`): Go's int64 decoding refuses those.
 */
export function unplainSizeNumbers(json: string): string[] {
  // Strings are matched whole (so a "size" inside a string value is not a key); numbers after them.
  const token = /"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*/g;
  const colon = /\s*:\s*/y;
  const found: string[] = [];
  let sizeValueAt = -1;
  for (let m = token.exec(json); m; m = token.exec(json)) {
    const text = m[0];
    if (text.startsWith('"')) {
      colon.lastIndex = m.index + text.length;
      sizeValueAt = text === '"size"' && colon.test(json) ? colon.lastIndex : -1;
      continue;
    }
    const n = Number(text);
    if (m.index === sizeValueAt && Number.isSafeInteger(n) && n >= 0 && !/^(0|[1-9]\d*)$/.test(text)) found.push(text);
    sizeValueAt = -1;
  }
  return found;
}

/** The problem of the first descriptor in `descriptors` whose size or digest is unusable, or undefined. */
export function descriptorsProblem(descriptors: Array<{ role: string; size?: unknown; digest?: unknown }>, rawJson: string): string | undefined {
  const unplain = unplainSizeNumbers(rawJson);
  if (unplain.length) return `size ${unplain[0]} is not written as a plain integer (Go's JSON decoder, and so Istio, refuses it)`;
  for (const d of descriptors) {
    const problem = sizeProblem(d.size) ?? digestProblem(d.digest);
    if (problem) return `${d.role}: ${problem}`;
  }
  return undefined;
}
