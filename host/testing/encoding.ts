// The host keeps header bytes as byte strings (latin1); tests speak Unicode. These convert at the
// boundary: Unicode text ↔ its UTF-8 bytes.
import { fromByteString, toByteString } from "../abi/text.js";
import { HeaderMap, type HeadersInit } from "../values/header_map.js";

/** Unicode text → byte string of its UTF-8 encoding. */
export const toWire = toByteString;

/** Byte string of UTF-8 → Unicode text. */
export const fromWireString = fromByteString;

/** Builds a host header map from user input (Unicode strings). */
export function headersFromUser(init?: HeadersInit): HeaderMap {
  const m = HeaderMap.from(init);
  for (let i = 0; i < m.pairs.length; i++) m.pairs[i] = toByteString(m.pairs[i]!);
  return m;
}

/** A copy of a host header map with Unicode strings. */
export function fromWire(m: HeaderMap | undefined): HeaderMap {
  return new HeaderMap((m?.pairs ?? []).map(fromByteString));
}
