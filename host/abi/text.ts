// The host keeps bytes that cross the ABI (header keys and values, property path segments) as byte
// strings: one char per byte (latin1). Text that users write is Unicode; on the wire it is UTF-8.
// These convert between the two without copying plain ASCII.

const ASCII = /^[\x00-\x7f]*$/;

/** Unicode text → byte string of its UTF-8 encoding. */
export function toByteString(s: string): string {
  return ASCII.test(s) ? s : Buffer.from(s, "utf8").toString("latin1");
}

/** Byte string holding UTF-8 → Unicode text. */
export function fromByteString(s: string): string {
  return ASCII.test(s) ? s : Buffer.from(s, "latin1").toString("utf8");
}
