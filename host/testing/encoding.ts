// The host keeps header bytes as byte strings (latin1); tests speak Unicode. These convert at the
// boundary: Unicode text ↔ its UTF-8 bytes.
import { HeaderMap, type HeadersInit } from "../state/header_map.js";

// Strings of plain ASCII are the same in both forms.
const ASCII = /^[\x00-\x7f]*$/;

/** Unicode text → byte string of its UTF-8 encoding. */
export function toWire(s: string): string {
  return ASCII.test(s) ? s : Buffer.from(s, "utf8").toString("latin1");
}

/** Byte string of UTF-8 → Unicode text. */
export function fromWireString(s: string): string {
  return ASCII.test(s) ? s : Buffer.from(s, "latin1").toString("utf8");
}

/** Builds a host header map from user input (Unicode strings). */
export function headersFromUser(init?: HeadersInit): HeaderMap {
  const m = HeaderMap.from(init);
  for (let i = 0; i < m.pairs.length; i++) m.pairs[i] = toWire(m.pairs[i]!);
  return m;
}

/** A copy of a host header map with Unicode strings. */
export function fromWire(m: HeaderMap | undefined): HeaderMap {
  return new HeaderMap((m?.pairs ?? []).map(fromWireString));
}
