// The subset of CEL that `metrics[].dimensions` and `definitions[].value` accept. Istio evaluated
// these through Envoy's CEL foreign functions; this plugin parses and evaluates them itself, so the
// filter works on any Proxy-Wasm host. Supported (and nothing else — anything outside is refused at
// configuration time with a message naming it):
//
//   attribute paths   request.host, request.headers['x-user'], node.metadata['NAMESPACE'],
//                     istio_operationId (filter state), upstream_peer.labels['app'].value
//   literals          'text', "text", 42, true, false
//   functions         string(x), int(x), has(path)
//   operators         a + b (string concatenation, integer addition), ==, !=, &&, ||, !, c ? a : b,
//                     parentheses
//
// Attribute values take Envoy's types: integers for sizes, codes, ports, ids and flags; booleans for
// connection.mtls; durations and timestamps as integer nanoseconds; strings otherwise.
// `upstream_peer` / `downstream_peer` read the FlatNode the metadata-exchange plugin stored
// (fields name, namespace, owner, workload_name, istio_version, mesh_id, cluster_id, identity,
// labels[k], platform_metadata[k], each map entry optionally followed by `.value`).
// An evaluation failure (missing attribute, wrong type) makes a dimension `unknown`, a value 0.
import { FlatNodeField, FlatNodeView } from "../../common/assembly/flat_node";
import { DOWNSTREAM_PEER, UPSTREAM_PEER } from "../../common/assembly/peer";
import { hostAttribute } from "../../common/assembly/attributes";
import { PropertyPath } from "../../common/assembly/property";

/** A value's type during evaluation. */
export enum ValKind {
  /** Evaluation failed (absent attribute, type mismatch). */
  Error = 0,
  Str = 1,
  Int = 2,
  Bool = 3,
}

export class Val {
  kind: ValKind = ValKind.Error;
  s: string = "";
  i: i64 = 0;

  static str(s: string): Val { const v = new Val(); v.kind = ValKind.Str; v.s = s; return v; }
  static int(i: i64): Val { const v = new Val(); v.kind = ValKind.Int; v.i = i; return v; }
  static bool(b: bool): Val { const v = new Val(); v.kind = ValKind.Bool; v.i = b ? 1 : 0; return v; }
  static error(): Val { return new Val(); }

  /** The value as text, as CEL's string() prints it; null on error. */
  toText(): string | null {
    if (this.kind == ValKind.Str) return this.s;
    if (this.kind == ValKind.Int) return this.i.toString();
    if (this.kind == ValKind.Bool) return this.i != 0 ? "true" : "false";
    return null;
  }
}

// Attributes with non-string types in Envoy (everything else reads as a string).
const INT_ATTRIBUTES: StaticArray<string> = [
  "request.size", "request.total_size", "request.headers_bytes", "request.time", "request.duration",
  "response.code", "response.size", "response.total_size", "response.grpc_status", "response.flags",
  "response.headers_bytes", "response.trailers_bytes", "response.backend_latency",
  "source.port", "destination.port", "upstream.port", "upstream.request_attempt_count",
  "upstream.num_endpoints", "connection.id", "connection_id", "listener_direction", "xds.listener_direction",
];
const BOOL_ATTRIBUTES: StaticArray<string> = ["connection.mtls"];

const enum NodeKind {
  Literal = 0,
  Path = 1,
  Peer = 2,
  Has = 3,
  ToString = 4,
  ToInt = 5,
  Not = 6,
  And = 7,
  Or = 8,
  Eq = 9,
  Ne = 10,
  Add = 11,
  Cond = 12,
}

/** A parsed expression. */
export class Expr {
  kind: NodeKind = NodeKind.Literal;
  literal: Val | null = null;
  path: PropertyPath | null = null;
  /** Type of a property path's value. */
  valueKind: ValKind = ValKind.Str;
  /** Peer field: which peer, FlatNode field id, map key (UTF-8) for labels / platform metadata. */
  peerPath: PropertyPath | null = null;
  peerField: i32 = 0;
  peerKey: ArrayBuffer | null = null;
  a: Expr | null = null;
  b: Expr | null = null;
  c: Expr | null = null;
}

/** Why the last parseExpr failed (with the 1-based column). */
export let exprError: string = "";

// ---- tokens -----------------------------------------------------------------------------------

const enum Tok {
  End = 0,
  Ident = 1,
  Str = 2,
  Int = 3,
  Punct = 4,
}

class Lexer {
  pos: i32 = 0;
  tok: Tok = Tok.End;
  text: string = "";
  start: i32 = 0;
  intValue: i64 = 0;
  failed: bool = false;

  constructor(public src: string) {
    this.next();
  }

  fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    exprError = message + " at column " + (this.start + 1).toString();
    this.tok = Tok.End;
  }

  next(): void {
    const s = this.src;
    while (this.pos < s.length && isSpace(s.charCodeAt(this.pos))) this.pos++;
    this.start = this.pos;
    if (this.pos >= s.length) { this.tok = Tok.End; this.text = ""; return; }
    const c = s.charCodeAt(this.pos);
    if (isIdentStart(c)) {
      let e = this.pos + 1;
      while (e < s.length && isIdentPart(s.charCodeAt(e))) e++;
      this.text = s.substring(this.pos, e);
      this.pos = e;
      this.tok = Tok.Ident;
      return;
    }
    if (c >= 48 && c <= 57) {
      let e = this.pos;
      let v: i64 = 0;
      while (e < s.length && s.charCodeAt(e) >= 48 && s.charCodeAt(e) <= 57) {
        v = v * 10 + <i64>(s.charCodeAt(e) - 48);
        e++;
        if (v > 0x7fffffffffff) { this.fail("integer literal too large"); return; }
      }
      if (e < s.length && (s.charCodeAt(e) == 46 || s.charCodeAt(e) == 117 || s.charCodeAt(e) == 120)) {
        this.fail("only decimal integer literals are supported");
        return;
      }
      this.intValue = v;
      this.text = s.substring(this.pos, e);
      this.pos = e;
      this.tok = Tok.Int;
      return;
    }
    if (c == 39 || c == 34) {
      this.readString(c);
      return;
    }
    // Two-character operators first.
    const two = s.substr(this.pos, 2);
    if (two == "==" || two == "!=" || two == "&&" || two == "||" || two == "<=" || two == ">=") {
      this.text = two;
      this.pos += 2;
      this.tok = Tok.Punct;
      return;
    }
    this.text = s.charAt(this.pos);
    this.pos++;
    this.tok = Tok.Punct;
  }

  readString(quote: i32): void {
    const s = this.src;
    let i = this.pos + 1;
    let out = "";
    while (true) {
      if (i >= s.length) { this.fail("unterminated string literal"); return; }
      const c = s.charCodeAt(i);
      if (c == quote) break;
      if (c == 92) {
        if (i + 1 >= s.length) { this.fail("unterminated string literal"); return; }
        const e = s.charCodeAt(i + 1);
        if (e == 92) out += "\\";
        else if (e == 39) out += "'";
        else if (e == 34) out += "\"";
        else if (e == 110) out += "\n";
        else if (e == 116) out += "\t";
        else if (e == 114) out += "\r";
        else { this.fail("unsupported escape in string literal"); return; }
        i += 2;
        continue;
      }
      out += String.fromCharCode(c);
      i++;
    }
    this.text = out;
    this.pos = i + 1;
    this.tok = Tok.Str;
  }

  isPunct(p: string): bool {
    return this.tok == Tok.Punct && this.text == p;
  }
}

function isSpace(c: i32): bool {
  return c == 32 || c == 9 || c == 10 || c == 13;
}

function isIdentStart(c: i32): bool {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95;
}

function isIdentPart(c: i32): bool {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

// ---- parser -----------------------------------------------------------------------------------

function node(kind: NodeKind, a: Expr | null = null, b: Expr | null = null, c: Expr | null = null): Expr {
  const e = new Expr();
  e.kind = kind;
  e.a = a;
  e.b = b;
  e.c = c;
  return e;
}

function literal(v: Val): Expr {
  const e = new Expr();
  e.literal = v;
  return e;
}

class Parser {
  constructor(public lx: Lexer) {}

  get ok(): bool {
    return !this.lx.failed;
  }

  cond(): Expr | null {
    const c = this.or();
    if (c === null || !this.lx.isPunct("?")) return c;
    this.lx.next();
    const a = this.cond();
    if (a === null) return null;
    if (!this.lx.isPunct(":")) { this.lx.fail("expected ':' of '?:'"); return null; }
    this.lx.next();
    const b = this.cond();
    if (b === null) return null;
    return node(NodeKind.Cond, c, a, b);
  }

  or(): Expr | null {
    let l = this.and();
    while (l !== null && this.lx.isPunct("||")) {
      this.lx.next();
      const r = this.and();
      if (r === null) return null;
      l = node(NodeKind.Or, l, r);
    }
    return l;
  }

  and(): Expr | null {
    let l = this.eq();
    while (l !== null && this.lx.isPunct("&&")) {
      this.lx.next();
      const r = this.eq();
      if (r === null) return null;
      l = node(NodeKind.And, l, r);
    }
    return l;
  }

  eq(): Expr | null {
    let l = this.add();
    while (l !== null && (this.lx.isPunct("==") || this.lx.isPunct("!="))) {
      const kind = this.lx.text == "==" ? NodeKind.Eq : NodeKind.Ne;
      this.lx.next();
      const r = this.add();
      if (r === null) return null;
      l = node(kind, l, r);
    }
    if (l !== null && this.lx.tok == Tok.Punct) {
      const t = this.lx.text;
      if (t == "<" || t == ">" || t == "<=" || t == ">=") { this.lx.fail("unsupported operator '" + t + "'"); return null; }
    }
    return l;
  }

  add(): Expr | null {
    let l = this.unary();
    while (l !== null && this.lx.isPunct("+")) {
      this.lx.next();
      const r = this.unary();
      if (r === null) return null;
      l = node(NodeKind.Add, l, r);
    }
    if (l !== null && this.lx.tok == Tok.Punct) {
      const t = this.lx.text;
      if (t == "-" || t == "*" || t == "/" || t == "%") { this.lx.fail("unsupported operator '" + t + "'"); return null; }
    }
    return l;
  }

  unary(): Expr | null {
    if (this.lx.isPunct("!")) {
      this.lx.next();
      const x = this.unary();
      return x === null ? null : node(NodeKind.Not, x);
    }
    if (this.lx.isPunct("-")) { this.lx.fail("unsupported operator '-'"); return null; }
    return this.primary();
  }

  primary(): Expr | null {
    const lx = this.lx;
    if (lx.tok == Tok.Str) {
      const e = literal(Val.str(lx.text));
      lx.next();
      return e;
    }
    if (lx.tok == Tok.Int) {
      const e = literal(Val.int(lx.intValue));
      lx.next();
      return e;
    }
    if (lx.isPunct("(")) {
      lx.next();
      const e = this.cond();
      if (e === null) return null;
      if (!lx.isPunct(")")) { lx.fail("expected ')'"); return null; }
      lx.next();
      return e;
    }
    if (lx.tok == Tok.Ident) {
      const name = lx.text;
      if (name == "true" || name == "false") {
        lx.next();
        return literal(Val.bool(name == "true"));
      }
      if (name == "null") { lx.fail("null is not supported"); return null; }
      if (name == "in") { lx.fail("unsupported operator 'in'"); return null; }
      lx.next();
      if (lx.isPunct("(")) return this.call(name);
      return this.path(name);
    }
    if (lx.isPunct("[") || lx.isPunct("{")) { lx.fail("list and map literals are not supported"); return null; }
    lx.fail(lx.tok == Tok.End ? "unexpected end of expression" : "unexpected '" + lx.text + "'");
    return null;
  }

  call(name: string): Expr | null {
    const lx = this.lx;
    lx.next(); // '('
    if (name != "string" && name != "int" && name != "has") {
      lx.fail("unsupported function '" + name + "' (supported: string, int, has)");
      return null;
    }
    const arg = this.cond();
    if (arg === null) return null;
    if (!lx.isPunct(")")) { lx.fail(name + "() takes one argument"); return null; }
    lx.next();
    if (name == "has") {
      if (arg.kind != NodeKind.Path && arg.kind != NodeKind.Peer) { lx.fail("has() needs an attribute path"); return null; }
      return node(NodeKind.Has, arg);
    }
    return node(name == "string" ? NodeKind.ToString : NodeKind.ToInt, arg);
  }

  path(first: string): Expr | null {
    const lx = this.lx;
    const segments = new Array<string>();
    segments.push(first);
    while (true) {
      if (lx.isPunct(".")) {
        lx.next();
        if (lx.tok != Tok.Ident) { lx.fail("expected a field name after '.'"); return null; }
        const field = lx.text;
        lx.next();
        if (lx.isPunct("(")) { lx.fail("method calls ('." + field + "()') are not supported"); return null; }
        segments.push(field);
      } else if (lx.isPunct("[")) {
        lx.next();
        if (lx.tok == Tok.Str) segments.push(lx.text);
        else if (lx.tok == Tok.Int) segments.push(lx.text);
        else { lx.fail("an index must be a string or integer literal"); return null; }
        lx.next();
        if (!lx.isPunct("]")) { lx.fail("expected ']'"); return null; }
        lx.next();
      } else {
        break;
      }
    }
    if (first == UPSTREAM_PEER || first == DOWNSTREAM_PEER) return this.peer(segments);
    const e = node(NodeKind.Path);
    // `node.metadata['X']`, `cluster_name`, … as Istio's docs write them: read under the name this
    // host answers (`xds.node…` on Envoy ≥ 1.33), and `xds.…` on an older host under the old name.
    e.path = new PropertyPath(hostAttribute(segments));
    const dotted = segments.join(".");
    if (INT_ATTRIBUTES.includes(dotted)) e.valueKind = ValKind.Int;
    else if (BOOL_ATTRIBUTES.includes(dotted)) e.valueKind = ValKind.Bool;
    return e;
  }

  peer(segments: Array<string>): Expr | null {
    const e = node(NodeKind.Peer);
    e.peerPath = new PropertyPath([segments[0]]);
    if (segments.length < 2) { this.lx.fail(segments[0] + " needs a field, e.g. " + segments[0] + ".workload_name"); return null; }
    const f = segments[1];
    let id = -1;
    if (f == "name") id = FlatNodeField.NAME;
    else if (f == "namespace") id = FlatNodeField.NAMESPACE;
    else if (f == "owner") id = FlatNodeField.OWNER;
    else if (f == "workload_name") id = FlatNodeField.WORKLOAD_NAME;
    else if (f == "istio_version") id = FlatNodeField.ISTIO_VERSION;
    else if (f == "mesh_id") id = FlatNodeField.MESH_ID;
    else if (f == "cluster_id") id = FlatNodeField.CLUSTER_ID;
    else if (f == "identity") id = FlatNodeField.IDENTITY;
    else if (f == "labels") id = FlatNodeField.LABELS;
    else if (f == "platform_metadata") id = FlatNodeField.PLATFORM_METADATA;
    if (id < 0) { this.lx.fail("unknown peer field '" + f + "'"); return null; }
    const isMap = id == FlatNodeField.LABELS || id == FlatNodeField.PLATFORM_METADATA;
    if (isMap) {
      if (segments.length < 3 || segments.length > 4 || (segments.length == 4 && segments[3] != "value")) {
        this.lx.fail(f + " needs a key: " + segments[0] + "." + f + "['app']");
        return null;
      }
      e.peerKey = String.UTF8.encode(segments[2]);
    } else if (segments.length > 2) {
      this.lx.fail("peer field '" + f + "' is a string");
      return null;
    }
    e.peerField = id;
    return e;
  }
}

/** Parses an expression of the supported subset; null with {@link exprError} set when it is outside it. */
export function parseExpr(text: string): Expr | null {
  exprError = "";
  const lx = new Lexer(text);
  if (lx.failed) return null;
  const p = new Parser(lx);
  const e = p.cond();
  if (e === null || !p.ok) return null;
  if (lx.tok != Tok.End) {
    if (lx.tok == Tok.Ident && lx.text == "in") lx.fail("unsupported operator 'in'");
    else lx.fail("unexpected '" + lx.text + "'");
    return null;
  }
  return e;
}

// ---- evaluation -------------------------------------------------------------------------------

function evalPath(e: Expr): Val {
  const p = changetype<PropertyPath>(e.path);
  if (e.valueKind == ValKind.Int) {
    const raw = p.get();
    if (raw === null || raw.byteLength != 8) return Val.error();
    return Val.int(load<i64>(changetype<usize>(raw)));
  }
  if (e.valueKind == ValKind.Bool) {
    const b = p.getBool();
    return b < 0 ? Val.error() : Val.bool(b == 1);
  }
  const s = p.getString();
  return s === null ? Val.error() : Val.str(s);
}

function evalPeer(e: Expr): Val {
  const raw = changetype<PropertyPath>(e.peerPath).get();
  if (raw === null) return Val.error();
  const view = new FlatNodeView(raw);
  if (!view.valid) return Val.error();
  const key = e.peerKey;
  const s = key !== null ? view.lookup(e.peerField, key) : view.getString(e.peerField);
  return s === null ? Val.error() : Val.str(s);
}

function equal(a: Val, b: Val): Val {
  if (a.kind == ValKind.Error || b.kind == ValKind.Error || a.kind != b.kind) return Val.error();
  return Val.bool(a.kind == ValKind.Str ? a.s == b.s : a.i == b.i);
}

/** Evaluates an expression in the current context (stream attributes are read as needed). */
export function evalExpr(e: Expr): Val {
  switch (e.kind) {
    case NodeKind.Literal: return changetype<Val>(e.literal);
    case NodeKind.Path: return evalPath(e);
    case NodeKind.Peer: return evalPeer(e);
    case NodeKind.Has: {
      const x = changetype<Expr>(e.a);
      if (x.kind == NodeKind.Peer) return Val.bool(evalPeer(x).kind != ValKind.Error);
      return Val.bool(changetype<PropertyPath>(x.path).exists());
    }
    case NodeKind.ToString: {
      const t = evalExpr(changetype<Expr>(e.a)).toText();
      return t === null ? Val.error() : Val.str(t);
    }
    case NodeKind.ToInt: {
      const v = evalExpr(changetype<Expr>(e.a));
      if (v.kind == ValKind.Int) return v;
      if (v.kind != ValKind.Str) return Val.error();
      return parseDecimal(v.s);
    }
    case NodeKind.Not: {
      const v = evalExpr(changetype<Expr>(e.a));
      return v.kind == ValKind.Bool ? Val.bool(v.i == 0) : Val.error();
    }
    case NodeKind.And: {
      const l = evalExpr(changetype<Expr>(e.a));
      if (l.kind != ValKind.Bool) return Val.error();
      if (l.i == 0) return l;
      const r = evalExpr(changetype<Expr>(e.b));
      return r.kind == ValKind.Bool ? r : Val.error();
    }
    case NodeKind.Or: {
      const l = evalExpr(changetype<Expr>(e.a));
      if (l.kind != ValKind.Bool) return Val.error();
      if (l.i != 0) return l;
      const r = evalExpr(changetype<Expr>(e.b));
      return r.kind == ValKind.Bool ? r : Val.error();
    }
    case NodeKind.Eq: return equal(evalExpr(changetype<Expr>(e.a)), evalExpr(changetype<Expr>(e.b)));
    case NodeKind.Ne: {
      const v = equal(evalExpr(changetype<Expr>(e.a)), evalExpr(changetype<Expr>(e.b)));
      return v.kind == ValKind.Bool ? Val.bool(v.i == 0) : v;
    }
    case NodeKind.Add: {
      const l = evalExpr(changetype<Expr>(e.a));
      const r = evalExpr(changetype<Expr>(e.b));
      if (l.kind == ValKind.Str && r.kind == ValKind.Str) return Val.str(l.s + r.s);
      if (l.kind == ValKind.Int && r.kind == ValKind.Int) return Val.int(l.i + r.i);
      return Val.error();
    }
    case NodeKind.Cond: {
      const c = evalExpr(changetype<Expr>(e.a));
      if (c.kind != ValKind.Bool) return Val.error();
      return evalExpr(changetype<Expr>(c.i != 0 ? e.b : e.c));
    }
    default: return Val.error();
  }
}

function parseDecimal(s: string): Val {
  let i = 0;
  let neg = false;
  if (s.length > 0 && (s.charCodeAt(0) == 45 || s.charCodeAt(0) == 43)) {
    neg = s.charCodeAt(0) == 45;
    i = 1;
  }
  if (i >= s.length || s.length - i > 18) return Val.error();
  let v: i64 = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return Val.error();
    v = v * 10 + <i64>(c - 48);
  }
  return Val.int(neg ? -v : v);
}
