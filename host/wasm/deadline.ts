// Execution deadlines for guest code, as Wasmtime's epoch interruption gives proxy-wasm-cpp-host:
// V8 (in Node as in Envoy) has no per-call time limit, so a callback that loops forever would hold
// the host's thread forever. The host rewrites the module before compiling it:
// - a new function import `pwasm.deadline_check` (appended to the imports, so the module's own
//   functions move up by one index: every call, ref.func, export, start, element segment and
//   function name is renumbered);
// - a new mutable i32 global, the loop budget, exported as `pwasm.loop_budget`;
// - at the head of every `loop`: decrement the budget, and when it reaches zero call
//   `deadline_check`, which refills it and throws once the running callback is past its limit.
// So a loop pays a few instructions per iteration and the host looks at the clock once per budget
// (docs/deadlines.md). Recursion needs no check: it ends in a stack overflow trap.
// Code moves, so trap offsets and function indices reported by V8 are mapped back to the original
// module's (for backtraces and source maps).
import { WasmFormatError } from "./binary.js";

/** The import the instrumented module calls when its loop budget runs out. */
export const DEADLINE_IMPORT = { module: "pwasm", name: "deadline_check" } as const;
/** The export holding the loop budget (a WebAssembly.Global). */
export const BUDGET_EXPORT = "pwasm.loop_budget";

/** An instrumented module and how to map what V8 reports back to the original. */
export interface InstrumentedModule {
  bytes: Uint8Array<ArrayBuffer>;
  /** Loops instrumented. */
  loops: number;
  /** Maps a byte offset in `bytes` to the original module's (inside code; other offsets best effort). */
  originalOffset(offset: number): number;
  /** Maps a function index of `bytes` to the original module's (undefined for the added import). */
  originalFunction(index: number): number | undefined;
}

/** Thrown when a module uses instructions the instrumenter does not know (it then runs unchanged). */
export class UnsupportedInstructionError extends WasmFormatError {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedInstructionError";
  }
}

class In {
  pos: number;
  readonly end: number;
  constructor(readonly b: Uint8Array, pos: number, end: number) {
    this.pos = pos;
    // A size field may claim more than the module holds: never read past its bytes.
    this.end = Math.min(end, b.length);
  }
  u8(): number {
    if (this.pos >= this.end) throw new WasmFormatError(`unexpected end of module at byte ${this.pos}`);
    return this.b[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const x = this.u8();
      result += (x & 0x7f) * mul;
      if ((x & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new WasmFormatError(`malformed LEB128 at byte ${this.pos}`);
  }
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.u8() & 0x80) === 0) return;
    throw new WasmFormatError(`malformed LEB128 at byte ${this.pos}`);
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new WasmFormatError(`unexpected end of module at byte ${this.pos}`);
    this.pos += n;
  }
  name(): void {
    this.skip(this.u32());
  }
}

/** Growable output bytes. */
class Out {
  private buf = new Uint8Array(1024);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  byte(x: number): void {
    this.room(1);
    this.buf[this.length++] = x;
  }
  bytes(x: Uint8Array | number[]): void {
    this.room(x.length);
    this.buf.set(x, this.length);
    this.length += x.length;
  }
  u32(v: number): void {
    do {
      let x = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) x |= 0x80;
      this.byte(x);
    } while (v > 0);
  }
  result(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }
}

const leb = (v: number): number[] => {
  const o = new Out();
  o.u32(v);
  return [...o.result()];
};

// Skips a block type: 0x40, a value type, or a type index (s33).
function blockType(r: In): void {
  const first = r.b[r.pos]!;
  if (first === 0x40 || (first >= 0x7b && first <= 0x7f) || first === 0x70 || first === 0x6f) {
    r.pos++;
    return;
  }
  if (first === 0x63 || first === 0x64) {
    r.pos++;
    r.skipLeb();
    return;
  }
  r.skipLeb();
}

function memarg(r: In): void {
  const align = r.u32();
  if (align & 0x40) r.u32(); // multi-memory: memory index follows
  r.u32();
}

/** What the walker reports about one instruction. */
interface Visitor {
  /** A function index immediate at [start, end) of the input. */
  funcIndex(start: number, end: number, index: number): void;
  /** A `loop` whose block type ends at `pos` (its body starts there). */
  loop(pos: number): void;
}

// Walks instructions until the `end` that closes depth 0 (or `limit`), reporting function-index
// immediates and loop heads. Throws UnsupportedInstructionError on unknown opcodes.
function walk(r: In, v: Visitor, untilEnd: boolean): void {
  let depth = 0;
  while (r.pos < r.end) {
    const op = r.u8();
    switch (op) {
      case 0x02: case 0x04: case 0x06:
        blockType(r);
        depth++;
        break;
      case 0x03:
        blockType(r);
        depth++;
        v.loop(r.pos);
        break;
      case 0x1f: { // try_table
        blockType(r);
        for (let n = r.u32(); n > 0; n--) {
          const kind = r.u8();
          if (kind === 0 || kind === 1) r.u32();
          r.u32();
        }
        depth++;
        break;
      }
      case 0x0b:
        if (depth === 0) {
          if (untilEnd) return;
        } else depth--;
        break;
      case 0x00: case 0x01: case 0x05: case 0x0a: case 0x0f: case 0x19: case 0x1a: case 0x1b: case 0xd1: case 0xd3: case 0xd4:
        break;
      case 0x07: case 0x08: case 0x09: case 0x0c: case 0x0d: case 0x18: case 0x14: case 0x15: case 0xd5: case 0xd6:
      case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26:
        r.u32();
        break;
      case 0x0e:
        for (let n = r.u32(); n >= 0; n--) r.u32();
        break;
      case 0x10: case 0x12: case 0xd2: {
        const start = r.pos;
        const index = r.u32();
        v.funcIndex(start, r.pos, index);
        break;
      }
      case 0x11: case 0x13:
        r.u32();
        r.u32();
        break;
      case 0x1c:
        for (let n = r.u32(); n > 0; n--) {
          const t = r.u8();
          if (t === 0x63 || t === 0x64) r.skipLeb();
        }
        break;
      case 0x3f: case 0x40:
        r.u32();
        break;
      case 0x41: case 0x42:
        r.skipLeb();
        break;
      case 0x43:
        r.skip(4);
        break;
      case 0x44:
        r.skip(8);
        break;
      case 0xd0: {
        const t = r.b[r.pos]!;
        if (t === 0x63 || t === 0x64) r.pos++;
        r.skipLeb();
        break;
      }
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) break;
        if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { r.u32(); r.u32(); break; }
        if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) { r.u32(); break; }
        throw new UnsupportedInstructionError(`unknown instruction 0xfc ${sub}`);
      }
      case 0xfd: {
        const sub = r.u32();
        if (sub <= 11 || sub === 92 || sub === 93) memarg(r);
        else if (sub === 12 || sub === 13) r.skip(16);
        else if (sub >= 21 && sub <= 34) r.skip(1);
        else if (sub >= 84 && sub <= 91) { memarg(r); r.skip(1); }
        else if (sub > 0x113) throw new UnsupportedInstructionError(`unknown instruction 0xfd ${sub}`);
        break;
      }
      case 0xfe: {
        const sub = r.u32();
        if (sub === 3) r.skip(1);
        else if (sub <= 2 || (sub >= 0x10 && sub <= 0x4e)) memarg(r);
        else throw new UnsupportedInstructionError(`unknown instruction 0xfe ${sub}`);
        break;
      }
      default:
        if ((op >= 0x28 && op <= 0x3e)) {
          memarg(r);
          break;
        }
        if (op >= 0x45 && op <= 0xc4) break;
        throw new UnsupportedInstructionError(`unknown instruction 0x${op.toString(16)} at byte ${r.pos - 1}`);
    }
  }
  if (untilEnd) throw new WasmFormatError("unterminated expression");
}

// Copies a constant expression, renumbering ref.func immediates.
function copyConstExpr(r: In, out: Out, renumber: (i: number) => number): void {
  const start = r.pos;
  let last = start;
  walk(r, {
    funcIndex(s, e, index) {
      out.bytes(r.b.subarray(last, s));
      out.u32(renumber(index));
      last = e;
    },
    loop() {
      throw new WasmFormatError("a loop in a constant expression");
    },
  }, true);
  out.bytes(r.b.subarray(last, r.pos));
}

/**
 * Rewrites a module as the file comment says. Throws UnsupportedInstructionError for instructions
 * it does not know (callers run such a module without deadlines) and WasmFormatError for
 * malformed bytes.
 */
export function instrumentDeadlines(bytes: Uint8Array): InstrumentedModule {
  const r0 = new In(bytes, 8, bytes.length);
  interface Section { id: number; start: number; end: number; headerStart: number }
  const sections: Section[] = [];
  while (r0.pos < bytes.length) {
    const headerStart = r0.pos;
    const id = r0.u8();
    const size = r0.u32();
    const start = r0.pos;
    if (start + size > bytes.length) throw new WasmFormatError(`section ${id} runs past the end of the module`);
    sections.push({ id, start, end: start + size, headerStart });
    r0.pos = start + size;
  }
  const find = (id: number) => sections.find((s) => s.id === id);

  // Counts: types, imported functions and globals, own globals.
  let typeCount = 0;
  let importedFuncs = 0;
  let importedGlobals = 0;
  let ownGlobals = 0;
  const typeSec = find(1);
  if (typeSec) typeCount = new In(bytes, typeSec.start, typeSec.end).u32();
  const importSec = find(2);
  if (importSec) {
    const r = new In(bytes, importSec.start, importSec.end);
    for (let n = r.u32(); n > 0; n--) {
      r.name();
      r.name();
      const kind = r.u8();
      if (kind === 0) { r.u32(); importedFuncs++; }
      else if (kind === 1) { r.u8(); const f = r.u8(); r.u32(); if (f & 1) r.u32(); }
      else if (kind === 2) { const f = r.u8(); r.u32(); if (f & 1) r.u32(); }
      else if (kind === 3) { r.u8(); r.u8(); importedGlobals++; }
      else if (kind === 4) { r.u8(); r.u32(); }
      else throw new WasmFormatError(`unknown import kind ${kind}`);
    }
  }
  const globalSec = find(6);
  if (globalSec) ownGlobals = new In(bytes, globalSec.start, globalSec.end).u32();
  const budgetGlobal = importedGlobals + ownGlobals;
  const checkFunc = importedFuncs;
  const renumber = (i: number) => (i >= importedFuncs ? i + 1 : i);
  const checkType = typeCount;

  // The check inserted at each loop head:
  //   global.get $budget; i32.eqz; if; call $check; end;
  //   global.get $budget; i32.const 1; i32.sub; global.set $budget
  const g = leb(budgetGlobal);
  const check = [0x23, ...g, 0x45, 0x04, 0x40, 0x10, ...leb(checkFunc), 0x0b, 0x23, ...g, 0x41, 0x01, 0x6b, 0x24, ...g];

  const out = new Out();
  out.bytes(bytes.subarray(0, 8));
  // Offset mapping: [new offset, original offset] at each point where the shift changes.
  const marks: Array<[number, number]> = [];
  let loops = 0;
  const emit = (id: number, body: Uint8Array | Out) => {
    const content = body instanceof Out ? body.result() : body;
    out.byte(id);
    out.u32(content.length);
    const contentStart = out.length;
    out.bytes(content);
    return contentStart;
  };
  let wroteType = false;
  let wroteImport = false;
  let wroteGlobal = false;
  let wroteExport = false;
  // Sections in their required order; the new ones are added where missing.
  // (the tag section sits between memory and global, the data count section before code)
  const order = (id: number) => (id === 13 ? 5.5 : id === 12 ? 9.5 : id);
  const insertMissing = (beforeId: number) => {
    const at = order(beforeId);
    if (!wroteType && at > 1) {
      const o = new Out();
      o.u32(1);
      o.bytes([0x60, 0, 0]);
      emit(1, o);
      wroteType = true;
    }
    if (!wroteImport && at > 2) {
      const o = new Out();
      o.u32(1);
      importEntry(o);
      emit(2, o);
      wroteImport = true;
    }
    if (!wroteGlobal && at > 6) {
      const o = new Out();
      o.u32(1);
      globalEntry(o);
      emit(6, o);
      wroteGlobal = true;
    }
    if (!wroteExport && at > 7) {
      const o = new Out();
      o.u32(1);
      exportEntry(o);
      emit(7, o);
      wroteExport = true;
    }
  };
  const importEntry = (o: Out) => {
    const m = Buffer.from(DEADLINE_IMPORT.module);
    const n = Buffer.from(DEADLINE_IMPORT.name);
    o.u32(m.length);
    o.bytes(m);
    o.u32(n.length);
    o.bytes(n);
    o.byte(0);
    o.u32(checkType);
  };
  // A mutable i32 starting at 0: the first loop iteration asks the host (which sets the budget).
  const globalEntry = (o: Out) => o.bytes([0x7f, 0x01, 0x41, 0x00, 0x0b]);
  const exportEntry = (o: Out) => {
    const n = Buffer.from(BUDGET_EXPORT);
    o.u32(n.length);
    o.bytes(n);
    o.byte(3);
    o.u32(budgetGlobal);
  };

  for (const s of sections) {
    if (s.id !== 0) insertMissing(s.id);
    const r = new In(bytes, s.start, s.end);
    switch (s.id) {
      case 1: {
        const o = new Out();
        o.u32(r.u32() + 1);
        o.bytes(bytes.subarray(r.pos, s.end));
        o.bytes([0x60, 0, 0]);
        emit(1, o);
        wroteType = true;
        break;
      }
      case 2: {
        const o = new Out();
        o.u32(r.u32() + 1);
        o.bytes(bytes.subarray(r.pos, s.end));
        importEntry(o);
        emit(2, o);
        wroteImport = true;
        break;
      }
      case 6: {
        const o = new Out();
        const n = r.u32();
        o.u32(n + 1);
        for (let i = 0; i < n; i++) {
          const t = bytes[r.pos]!;
          if (t === 0x63 || t === 0x64) throw new UnsupportedInstructionError("a global of a typed reference type");
          o.bytes(bytes.subarray(r.pos, r.pos + 2)); // valtype, mutability
          r.pos += 2;
          copyConstExpr(r, o, renumber);
        }
        globalEntry(o);
        emit(6, o);
        wroteGlobal = true;
        break;
      }
      case 7: {
        const o = new Out();
        const n = r.u32();
        o.u32(n + 1);
        for (let i = 0; i < n; i++) {
          const nameLen = r.u32();
          const nameStart = r.pos;
          r.skip(nameLen);
          o.u32(nameLen);
          o.bytes(bytes.subarray(nameStart, r.pos));
          const kind = r.u8();
          const index = r.u32();
          o.byte(kind);
          o.u32(kind === 0 ? renumber(index) : index);
        }
        exportEntry(o);
        emit(7, o);
        wroteExport = true;
        break;
      }
      case 8: {
        const o = new Out();
        o.u32(renumber(r.u32()));
        emit(8, o);
        break;
      }
      case 9: {
        const o = new Out();
        const n = r.u32();
        o.u32(n);
        for (let i = 0; i < n; i++) {
          const flags = r.u32();
          o.u32(flags);
          if (flags & 2 && !(flags & 1)) o.u32(r.u32()); // table index (active, explicit)
          if (!(flags & 1)) copyConstExpr(r, o, renumber); // offset (active)
          if (flags & 4) {
            if (flags & 3) o.byte(r.u8()); // reftype
            const count = r.u32();
            o.u32(count);
            for (let k = 0; k < count; k++) copyConstExpr(r, o, renumber);
          } else {
            if (flags & 3) o.byte(r.u8()); // elemkind
            const count = r.u32();
            o.u32(count);
            for (let k = 0; k < count; k++) o.u32(renumber(r.u32()));
          }
        }
        emit(9, o);
        break;
      }
      case 10: {
        // Bodies: copy runs of bytes, renumbering calls and inserting the check after loop heads.
        const o = new Out();
        const n = r.u32();
        o.u32(n);
        // Where this section's content will start in the output: after its id and size LEB,
        // which depends on the content's length. Computed after, by shifting marks.
        const local: Array<[number, number]> = [];
        for (let i = 0; i < n; i++) {
          const size = r.u32();
          const bodyStart = r.pos;
          const bodyEnd = bodyStart + size;
          if (bodyEnd > s.end) throw new WasmFormatError(`function body ${i} runs past the code section`);
          const body = new Out();
          const bodyMarks: Array<[number, number]> = [];
          const br = new In(bytes, bodyStart, bodyEnd);
          for (let l = br.u32(); l > 0; l--) {
            br.u32();
            const t = br.u8();
            if (t === 0x63 || t === 0x64) br.skipLeb();
          }
          let last = bodyStart;
          const flush = (to: number) => {
            body.bytes(bytes.subarray(last, to));
            last = to;
          };
          walk(br, {
            funcIndex(st, e, index) {
              flush(st);
              body.u32(renumber(index));
              last = e;
              bodyMarks.push([body.length, e]);
            },
            loop(pos) {
              flush(pos);
              body.bytes(check);
              loops++;
              bodyMarks.push([body.length, pos]);
            },
          }, false);
          flush(bodyEnd);
          const content = body.result();
          o.u32(content.length);
          const at = o.length;
          // Marks relative to the section content: the body's start, and every change inside it.
          local.push([at, bodyStart]);
          for (const [b, orig] of bodyMarks) local.push([at + b, orig]);
          o.bytes(content);
          r.pos = bodyEnd;
        }
        const contentStart = emit(10, o);
        for (const [rel, orig] of local) marks.push([contentStart + rel, orig]);
        marks.push([out.length, s.end]);
        break;
      }
      case 0: {
        // The name section's function-indexed parts are renumbered; other custom sections copied.
        const nameLen = r.u32();
        const isName = Buffer.from(bytes.subarray(r.pos, r.pos + nameLen)).toString() === "name";
        if (!isName) {
          const contentStart = emit(0, bytes.subarray(s.start, s.end));
          marks.push([contentStart, s.start]);
          marks.push([out.length, s.end]);
          break;
        }
        r.pos += nameLen;
        const o = new Out();
        o.u32(nameLen);
        o.bytes(Buffer.from("name"));
        while (r.pos < s.end) {
          const sub = r.u8();
          const size = r.u32();
          const end = r.pos + size;
          const so = new Out();
          if (sub === 1 || sub === 2 || sub === 3) {
            const count = r.u32();
            so.u32(count);
            for (let k = 0; k < count; k++) {
              so.u32(renumber(r.u32()));
              if (sub === 1) {
                const len = r.u32();
                so.u32(len);
                so.bytes(bytes.subarray(r.pos, r.pos + len));
                r.pos += len;
              } else {
                const inner = r.u32();
                so.u32(inner);
                for (let m = 0; m < inner; m++) {
                  so.u32(r.u32());
                  const len = r.u32();
                  so.u32(len);
                  so.bytes(bytes.subarray(r.pos, r.pos + len));
                  r.pos += len;
                }
              }
            }
          } else {
            so.bytes(bytes.subarray(r.pos, end));
          }
          r.pos = end;
          o.byte(sub);
          o.u32(so.length);
          o.bytes(so.result());
        }
        emit(0, o);
        break;
      }
      default: {
        const contentStart = emit(s.id, bytes.subarray(s.start, s.end));
        marks.push([contentStart, s.start]);
        marks.push([out.length, s.end]);
      }
    }
  }
  insertMissing(Infinity);
  const result = out.result();
  marks.sort((a, b) => a[0] - b[0]);
  return {
    bytes: result,
    loops,
    originalOffset(offset: number): number {
      // The last mark at or before `offset`: the original position there plus the distance.
      let lo = 0;
      let hi = marks.length - 1;
      let best = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (marks[mid]![0] <= offset) {
          best = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (best < 0) return offset;
      const [n, o] = marks[best]!;
      return o + (offset - n);
    },
    originalFunction(index: number): number | undefined {
      if (index < importedFuncs) return index;
      if (index === importedFuncs) return undefined;
      return index - 1;
    },
  };
}
