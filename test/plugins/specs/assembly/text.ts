// What the spec modules hand back to vitest: JSON text, written here so that a parsed value reads
// the same as JavaScript's JSON.stringify would print it.

/** A JSON string literal of `s`, escaped as JSON.stringify escapes (lone surrogates as \uXXXX). */
export function quote(s: string): string {
  // Runs that need no escape are copied whole: long strings must not cost a copy per character.
  const parts = new Array<string>();
  parts.push("\"");
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc = "";
    if (c == 34) esc = "\\\"";
    else if (c == 92) esc = "\\\\";
    else if (c == 8) esc = "\\b";
    else if (c == 9) esc = "\\t";
    else if (c == 10) esc = "\\n";
    else if (c == 12) esc = "\\f";
    else if (c == 13) esc = "\\r";
    else if (c < 0x20 || isLoneSurrogate(s, i)) esc = "\\u" + c.toString(16).padStart(4, "0");
    else continue;
    if (i > run) parts.push(s.substring(run, i));
    parts.push(esc);
    run = i + 1;
  }
  if (s.length > run) parts.push(s.substring(run));
  parts.push("\"");
  return parts.join("");
}

function isLoneSurrogate(s: string, i: i32): bool {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const n = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    return !(n >= 0xdc00 && n <= 0xdfff);
  }
  if (c >= 0xdc00 && c <= 0xdfff) {
    const p = i > 0 ? s.charCodeAt(i - 1) : 0;
    return !(p >= 0xd800 && p <= 0xdbff);
  }
  return false;
}

/** A number as JSON.stringify prints it for the values the specs use (integers exactly, others by dtoa). */
export function number(n: f64): string {
  if (!isFinite(n)) return "null";
  if (n == Math.floor(n) && Math.abs(n) < 9007199254740992) return (<i64>n).toString();
  return n.toString();
}
