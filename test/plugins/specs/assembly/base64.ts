// Spec module of plugins/common/assembly/base64.ts.
import { base64Decode, base64EncodeBuffer } from "../../../../plugins/common/assembly/base64";

export function encode(bytes: ArrayBuffer): string {
  return base64EncodeBuffer(bytes);
}

/** The decoded bytes, or null when the text is refused. */
export function decode(text: string, maxChars: i32): ArrayBuffer | null {
  return base64Decode(text, maxChars);
}
