// Validates Envoy configuration (as parsed from YAML/JSON) against Envoy's v3 API: the message
// descriptors in envoy-api.json (generated from go-control-plane, see gen/main.go). It follows the
// proto3 JSON mapping Envoy parses configs with — unknown fields, wrong JSON types, unknown enum
// names and unresolvable Any types fail — and checks the protoc-gen-validate rules Envoy enforces
// after parsing (required, lengths, ranges, defined enums, item counts). Deprecated fields and enum
// values are reported too: a generator should not emit them.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** One problem, at a JSON path such as `static_resources.clusters[0].name`. */
export interface ConfigIssue {
  path: string;
  message: string;
}

// The parts of google.protobuf.FileDescriptorProto (proto3 JSON form) the validator reads.
interface FieldDescriptor {
  name: string;
  jsonName?: string;
  number: number;
  label?: "LABEL_OPTIONAL" | "LABEL_REPEATED" | "LABEL_REQUIRED";
  type: string;
  typeName?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
  options?: { deprecated?: boolean; "[validate.rules]"?: FieldRules };
}
interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  oneofDecl?: Array<{ name: string; options?: { "[validate.required]"?: boolean } }>;
  options?: { mapEntry?: boolean; deprecated?: boolean; "[validate.disabled]"?: boolean; "[validate.ignored]"?: boolean };
}
interface EnumDescriptor {
  name: string;
  value?: Array<{ name: string; number?: number; options?: { deprecated?: boolean; "[envoy.annotations.disallowed_by_default_enum]"?: boolean } }>;
}
interface FileDescriptor {
  name: string;
  package?: string;
  messageType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
}

// protoc-gen-validate rules (validate.FieldRules), as far as the validator checks them. 64-bit
// numbers arrive as strings in proto3 JSON.
type Num = number | string;
interface NumberRules { const?: Num; lt?: Num; lte?: Num; gt?: Num; gte?: Num; in?: Num[]; notIn?: Num[]; ignoreEmpty?: boolean }
interface StringRules {
  const?: string; len?: Num; minLen?: Num; maxLen?: Num; minBytes?: Num; maxBytes?: Num; pattern?: string;
  prefix?: string; suffix?: string; contains?: string; notContains?: string; in?: string[]; notIn?: string[];
  wellKnownRegex?: "HTTP_HEADER_NAME" | "HTTP_HEADER_VALUE" | "UNKNOWN"; strict?: boolean; ignoreEmpty?: boolean;
}
// google.protobuf.Duration bounds, in proto3 JSON form ("0s").
type DurationValueRules = string;
interface FieldRules {
  message?: { required?: boolean; skip?: boolean };
  string?: StringRules;
  bytes?: { minLen?: Num; maxLen?: Num; len?: Num; ignoreEmpty?: boolean };
  bool?: { const?: boolean };
  enum?: { definedOnly?: boolean; const?: number; in?: number[]; notIn?: number[] };
  repeated?: { minItems?: Num; maxItems?: Num; unique?: boolean; items?: FieldRules; ignoreEmpty?: boolean };
  map?: { minPairs?: Num; maxPairs?: Num; keys?: FieldRules; values?: FieldRules; ignoreEmpty?: boolean };
  duration?: { required?: boolean; lt?: DurationValueRules; lte?: DurationValueRules; gt?: DurationValueRules; gte?: DurationValueRules };
  any?: { required?: boolean; in?: string[]; notIn?: string[] };
  timestamp?: { required?: boolean };
  double?: NumberRules; float?: NumberRules; int32?: NumberRules; int64?: NumberRules; uint32?: NumberRules; uint64?: NumberRules;
  sint32?: NumberRules; sint64?: NumberRules; fixed32?: NumberRules; fixed64?: NumberRules; sfixed32?: NumberRules; sfixed64?: NumberRules;
}

const NUMBER_RULE_KINDS = ["double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"] as const;

// Well-known types whose JSON form is not an object of fields.
const WRAPPERS: Record<string, string> = {
  ".google.protobuf.DoubleValue": "TYPE_DOUBLE",
  ".google.protobuf.FloatValue": "TYPE_FLOAT",
  ".google.protobuf.Int64Value": "TYPE_INT64",
  ".google.protobuf.UInt64Value": "TYPE_UINT64",
  ".google.protobuf.Int32Value": "TYPE_INT32",
  ".google.protobuf.UInt32Value": "TYPE_UINT32",
  ".google.protobuf.BoolValue": "TYPE_BOOL",
  ".google.protobuf.StringValue": "TYPE_STRING",
  ".google.protobuf.BytesValue": "TYPE_BYTES",
};
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPERS),
  ".google.protobuf.Duration", ".google.protobuf.Timestamp", ".google.protobuf.FieldMask",
  ".google.protobuf.Struct", ".google.protobuf.Value", ".google.protobuf.ListValue", ".google.protobuf.Any",
]);

const INT_RANGES: Record<string, [bigint, bigint]> = {
  TYPE_INT32: [-(2n ** 31n), 2n ** 31n - 1n], TYPE_SINT32: [-(2n ** 31n), 2n ** 31n - 1n], TYPE_SFIXED32: [-(2n ** 31n), 2n ** 31n - 1n],
  TYPE_UINT32: [0n, 2n ** 32n - 1n], TYPE_FIXED32: [0n, 2n ** 32n - 1n],
  TYPE_INT64: [-(2n ** 63n), 2n ** 63n - 1n], TYPE_SINT64: [-(2n ** 63n), 2n ** 63n - 1n], TYPE_SFIXED64: [-(2n ** 63n), 2n ** 63n - 1n],
  TYPE_UINT64: [0n, 2n ** 64n - 1n], TYPE_FIXED64: [0n, 2n ** 64n - 1n],
};

const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
// Envoy's non-strict header value rule: no NUL, CR or LF.
const HEADER_VALUE = /^[^\u0000\n\r]*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const fieldPath = (base: string, key: string) => (base ? `${base}.${key}` : key);

/** Envoy's v3 API, loaded from a FileDescriptorSet. */
export class EnvoyApi {
  private readonly messages = new Map<string, MessageDescriptor>();
  private readonly enums = new Map<string, EnumDescriptor>();

  constructor(files: FileDescriptor[], readonly source: string) {
    for (const f of files) {
      const prefix = f.package ? `.${f.package}` : "";
      for (const m of f.messageType ?? []) this.indexMessage(prefix, m);
      for (const e of f.enumType ?? []) this.enums.set(`${prefix}.${e.name}`, e);
    }
  }

  /** Loads envoy-api.json next to this file. */
  static load(): EnvoyApi {
    const raw = JSON.parse(readFileSync(join(import.meta.dirname, "envoy-api.json"), "utf8")) as { source: string; fileDescriptorSet: { file: FileDescriptor[] } };
    return new EnvoyApi(raw.fileDescriptorSet.file, raw.source);
  }

  private indexMessage(prefix: string, m: MessageDescriptor): void {
    const name = `${prefix}.${m.name}`;
    this.messages.set(name, m);
    for (const n of m.nestedType ?? []) this.indexMessage(name, n);
    for (const e of m.enumType ?? []) this.enums.set(`${name}.${e.name}`, e);
  }

  /** Whether the API knows this message (full name, with or without the leading dot). */
  hasMessage(fullName: string): boolean {
    return this.messages.has(fullName.startsWith(".") ? fullName : `.${fullName}`);
  }

  /** Field names of a message, as written in the protos. */
  fieldNames(fullName: string): string[] {
    return (this.messages.get(fullName.startsWith(".") ? fullName : `.${fullName}`)?.field ?? []).map((f) => f.name);
  }

  /** Validates `value` as message `typeName` (e.g. "envoy.config.bootstrap.v3.Bootstrap"). */
  validate(value: unknown, typeName: string): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    this.checkMessage(value, typeName.startsWith(".") ? typeName : `.${typeName}`, "", issues);
    return issues;
  }

  private checkMessage(value: unknown, typeName: string, path: string, issues: ConfigIssue[]): void {
    if (SPECIAL_JSON.has(typeName)) return this.checkSpecial(value, typeName, path, issues);
    const msg = this.messages.get(typeName);
    if (!msg) return void issues.push({ path, message: `message type ${typeName.slice(1)} is not in the API descriptors` });
    if (!isObject(value)) return void issues.push({ path, message: `expected an object (${typeName.slice(1)}), got ${describe(value)}` });
    const fields = msg.field ?? [];
    const byName = new Map<string, FieldDescriptor>();
    for (const f of fields) {
      byName.set(f.name, f);
      if (f.jsonName) byName.set(f.jsonName, f);
    }
    const present = new Map<FieldDescriptor, unknown>();
    for (const [key, v] of Object.entries(value)) {
      const f = byName.get(key);
      const p = fieldPath(path, key);
      if (!f) {
        issues.push({ path: p, message: `unknown field "${key}" in ${typeName.slice(1)}` });
        continue;
      }
      if (present.has(f)) issues.push({ path: p, message: `field ${f.name} given twice (as ${f.name} and ${f.jsonName})` });
      if (v === null) continue; // null means "not set" in proto3 JSON
      present.set(f, v);
      if (f.options?.deprecated) issues.push({ path: p, message: `deprecated field ${typeName.slice(1)}.${f.name}` });
      this.checkField(v, f, p, issues);
    }
    const rulesOn = !(msg.options?.["[validate.disabled]"] || msg.options?.["[validate.ignored]"]);
    // Oneofs: at most one member; validate.required oneofs exactly one.
    (msg.oneofDecl ?? []).forEach((o, i) => {
      const members = fields.filter((f) => f.oneofIndex === i);
      if (members.some((f) => f.proto3Optional)) return;
      const set = members.filter((f) => present.has(f));
      if (set.length > 1) issues.push({ path, message: `oneof ${o.name} has several members set: ${set.map((f) => f.name).join(", ")}` });
      if (rulesOn && set.length === 0 && o.options?.["[validate.required]"]) {
        issues.push({ path, message: `oneof ${o.name} of ${typeName.slice(1)} is required: set one of ${members.map((f) => f.name).join(", ")}` });
      }
    });
    if (!rulesOn) return;
    // Rules on absent fields: required messages, and scalar rules applied to the default value
    // (protoc-gen-validate checks proto3 scalars whether or not they were written).
    for (const f of fields) {
      const rules = f.options?.["[validate.rules]"];
      // Rules of a oneof member apply only when it is the one set.
      if (!rules || present.has(f) || f.oneofIndex !== undefined) continue;
      const p = fieldPath(path, f.name);
      if (rules.message?.required || rules.duration?.required || rules.any?.required || rules.timestamp?.required) {
        issues.push({ path: p, message: `required field ${typeName.slice(1)}.${f.name} is missing` });
        continue;
      }
      if (f.label === "LABEL_REPEATED") this.checkRules(this.messages.get(f.typeName ?? "")?.options?.mapEntry ? {} : [], f, rules, p, issues);
      else if (f.type !== "TYPE_MESSAGE") this.checkRules(defaultOf(f.type), f, rules, p, issues);
    }
  }

  private checkField(value: unknown, f: FieldDescriptor, path: string, issues: ConfigIssue[]): void {
    const rules = f.options?.["[validate.rules]"];
    const entry = f.type === "TYPE_MESSAGE" ? this.messages.get(f.typeName!) : undefined;
    if (entry?.options?.mapEntry) {
      if (!isObject(value)) return void issues.push({ path, message: `expected a map (object), got ${describe(value)}` });
      const [kf, vf] = [entry.field!.find((x) => x.number === 1)!, entry.field!.find((x) => x.number === 2)!];
      for (const [k, v] of Object.entries(value)) {
        this.checkMapKey(k, kf.type, `${path}[${JSON.stringify(k)}]`, issues);
        if (rules?.map?.keys) this.checkRules(k, kf, rules.map.keys, `${path}[${JSON.stringify(k)}]`, issues);
        this.checkSingular(v, vf, `${path}[${JSON.stringify(k)}]`, issues);
        if (rules?.map?.values) this.checkRules(v, vf, rules.map.values, `${path}[${JSON.stringify(k)}]`, issues);
      }
      if (rules) this.checkRules(value, f, rules, path, issues);
      return;
    }
    if (f.label === "LABEL_REPEATED") {
      if (!Array.isArray(value)) return void issues.push({ path, message: `expected a list, got ${describe(value)}` });
      value.forEach((item, i) => {
        this.checkSingular(item, f, `${path}[${i}]`, issues);
        if (rules?.repeated?.items) this.checkRules(item, f, rules.repeated.items, `${path}[${i}]`, issues);
      });
      if (rules) this.checkRules(value, f, rules, path, issues);
      return;
    }
    this.checkSingular(value, f, path, issues);
    if (rules) this.checkRules(value, f, rules, path, issues);
  }

  private checkSingular(value: unknown, f: FieldDescriptor, path: string, issues: ConfigIssue[]): void {
    if (f.type === "TYPE_MESSAGE") return this.checkMessage(value, f.typeName!, path, issues);
    if (f.type === "TYPE_ENUM") return this.checkEnum(value, f.typeName!, path, issues);
    checkScalar(value, f.type, path, issues);
  }

  private checkEnum(value: unknown, typeName: string, path: string, issues: ConfigIssue[]): void {
    if (typeName === ".google.protobuf.NullValue") {
      if (value !== null) issues.push({ path, message: `expected null, got ${describe(value)}` });
      return;
    }
    const e = this.enums.get(typeName);
    if (!e) return void issues.push({ path, message: `enum type ${typeName.slice(1)} is not in the API descriptors` });
    const values = e.value ?? [];
    const v = typeof value === "string" ? values.find((x) => x.name === value) : typeof value === "number" ? values.find((x) => (x.number ?? 0) === value) : undefined;
    if (typeof value !== "string" && typeof value !== "number") return void issues.push({ path, message: `expected an enum name of ${typeName.slice(1)}, got ${describe(value)}` });
    if (!v) {
      if (typeof value === "string") issues.push({ path, message: `"${value}" is not a value of ${typeName.slice(1)} (one of ${values.map((x) => x.name).join(", ")})` });
      return; // an unknown number parses (open enum); validate.rules.enum.defined_only rejects it
    }
    if (v.options?.deprecated) issues.push({ path, message: `deprecated enum value ${typeName.slice(1)}.${v.name}` });
    if (v.options?.["[envoy.annotations.disallowed_by_default_enum]"]) issues.push({ path, message: `enum value ${v.name} is disallowed by default in Envoy` });
  }

  private checkMapKey(key: string, type: string, path: string, issues: ConfigIssue[]): void {
    if (type === "TYPE_STRING") return;
    if (type === "TYPE_BOOL") {
      if (key !== "true" && key !== "false") issues.push({ path, message: `map key must be true or false, got "${key}"` });
      return;
    }
    checkScalar(key, type, path, issues);
  }

  private checkSpecial(value: unknown, typeName: string, path: string, issues: ConfigIssue[]): void {
    const wrapped = WRAPPERS[typeName];
    if (wrapped) return checkScalar(value, wrapped, path, issues);
    switch (typeName) {
      case ".google.protobuf.Duration":
        if (typeof value !== "string" || parseDuration(value) === undefined) issues.push({ path, message: `expected a duration such as "1.5s", got ${describe(value)}` });
        return;
      case ".google.protobuf.Timestamp":
        if (typeof value !== "string" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(value)) issues.push({ path, message: `expected an RFC 3339 timestamp, got ${describe(value)}` });
        return;
      case ".google.protobuf.FieldMask":
        if (typeof value !== "string") issues.push({ path, message: `expected a field mask string, got ${describe(value)}` });
        return;
      case ".google.protobuf.Struct":
        if (!isObject(value)) issues.push({ path, message: `expected an object (Struct), got ${describe(value)}` });
        return;
      case ".google.protobuf.ListValue":
        if (!Array.isArray(value)) issues.push({ path, message: `expected a list (ListValue), got ${describe(value)}` });
        return;
      case ".google.protobuf.Value":
        return; // any JSON value
      case ".google.protobuf.Any":
        return this.checkAny(value, path, issues);
    }
  }

  private checkAny(value: unknown, path: string, issues: ConfigIssue[]): void {
    if (!isObject(value)) return void issues.push({ path, message: `expected an object with "@type" (Any), got ${describe(value)}` });
    const url = value["@type"];
    if (typeof url !== "string") return void issues.push({ path, message: `Any without a string "@type"` });
    const slash = url.lastIndexOf("/");
    if (slash < 0) return void issues.push({ path: `${path}.@type`, message: `"${url}" is not a type URL (type.googleapis.com/<message>)` });
    const typeName = `.${url.slice(slash + 1)}`;
    if (!this.messages.has(typeName)) return void issues.push({ path: `${path}.@type`, message: `unknown type ${url.slice(slash + 1)}: not a message of the Envoy API descriptors` });
    if (SPECIAL_JSON.has(typeName)) {
      for (const k of Object.keys(value)) if (k !== "@type" && k !== "value") issues.push({ path: fieldPath(path, k), message: `unknown field "${k}" in Any of ${typeName.slice(1)} (its JSON form is {"@type", "value"})` });
      if (!("value" in value)) return void issues.push({ path, message: `Any of ${typeName.slice(1)} needs "value"` });
      return this.checkSpecial(value.value, typeName, fieldPath(path, "value"), issues);
    }
    const { "@type": _, ...rest } = value;
    this.checkMessage(rest, typeName, path, issues);
  }

  private checkRules(value: unknown, f: FieldDescriptor, rules: FieldRules, path: string, issues: ConfigIssue[]): void {
    const fail = (message: string) => issues.push({ path, message: `${f.name}: ${message}` });
    if (rules.repeated && Array.isArray(value)) {
      const r = rules.repeated;
      if (r.ignoreEmpty && value.length === 0) return;
      if (r.minItems !== undefined && value.length < Number(r.minItems)) fail(`needs at least ${r.minItems} item(s), has ${value.length}`);
      if (r.maxItems !== undefined && value.length > Number(r.maxItems)) fail(`allows at most ${r.maxItems} item(s), has ${value.length}`);
      if (r.unique && new Set(value.map((x) => JSON.stringify(x))).size !== value.length) fail("items must be unique");
      return;
    }
    if (rules.map && isObject(value)) {
      const n = Object.keys(value).length;
      if (rules.map.ignoreEmpty && n === 0) return;
      if (rules.map.minPairs !== undefined && n < Number(rules.map.minPairs)) fail(`needs at least ${rules.map.minPairs} entries, has ${n}`);
      if (rules.map.maxPairs !== undefined && n > Number(rules.map.maxPairs)) fail(`allows at most ${rules.map.maxPairs} entries, has ${n}`);
      return;
    }
    if (rules.string && typeof value === "string") {
      const r = rules.string;
      if (r.ignoreEmpty && value === "") return;
      const chars = [...value].length;
      const bytes = Buffer.byteLength(value);
      if (r.const !== undefined && value !== r.const) fail(`must be "${r.const}"`);
      if (r.len !== undefined && chars !== Number(r.len)) fail(`must be ${r.len} characters long`);
      if (r.minLen !== undefined && chars < Number(r.minLen)) fail(`must be at least ${r.minLen} character(s) long`);
      if (r.maxLen !== undefined && chars > Number(r.maxLen)) fail(`must be at most ${r.maxLen} characters long`);
      if (r.minBytes !== undefined && bytes < Number(r.minBytes)) fail(`must be at least ${r.minBytes} byte(s) long`);
      if (r.maxBytes !== undefined && bytes > Number(r.maxBytes)) fail(`must be at most ${r.maxBytes} bytes long`);
      if (r.pattern !== undefined && !new RegExp(r.pattern, "u").test(value)) fail(`must match /${r.pattern}/`);
      if (r.prefix !== undefined && !value.startsWith(r.prefix)) fail(`must start with "${r.prefix}"`);
      if (r.suffix !== undefined && !value.endsWith(r.suffix)) fail(`must end with "${r.suffix}"`);
      if (r.contains !== undefined && !value.includes(r.contains)) fail(`must contain "${r.contains}"`);
      if (r.notContains !== undefined && value.includes(r.notContains)) fail(`must not contain "${r.notContains}"`);
      if (r.in && !r.in.includes(value)) fail(`must be one of ${r.in.join(", ")}`);
      if (r.notIn?.includes(value)) fail(`must not be one of ${r.notIn.join(", ")}`);
      if (r.wellKnownRegex === "HTTP_HEADER_NAME" && r.strict !== false && !HEADER_NAME.test(value)) fail(`"${value}" is not a valid HTTP header name`);
      if (r.wellKnownRegex === "HTTP_HEADER_VALUE" && !HEADER_VALUE.test(value)) fail("is not a valid HTTP header value");
      return;
    }
    if (rules.bytes && typeof value === "string") {
      const n = Buffer.from(value, "base64").length;
      if (rules.bytes.ignoreEmpty && n === 0) return;
      if (rules.bytes.minLen !== undefined && n < Number(rules.bytes.minLen)) fail(`must be at least ${rules.bytes.minLen} byte(s)`);
      if (rules.bytes.maxLen !== undefined && n > Number(rules.bytes.maxLen)) fail(`must be at most ${rules.bytes.maxLen} bytes`);
      return;
    }
    if (rules.bool?.const !== undefined && typeof value === "boolean" && value !== rules.bool.const) return void fail(`must be ${rules.bool.const}`);
    if (rules.enum) {
      const e = this.enums.get(f.typeName ?? "");
      const values = e?.value ?? [];
      const n = typeof value === "string" ? values.find((x) => x.name === value)?.number ?? 0 : typeof value === "number" ? value : undefined;
      if (n === undefined) return;
      if (rules.enum.definedOnly && !values.some((x) => (x.number ?? 0) === n)) fail(`${n} is not a defined value of ${f.typeName!.slice(1)}`);
      if (rules.enum.const !== undefined && n !== rules.enum.const) fail(`must be ${rules.enum.const}`);
      if (rules.enum.in && !rules.enum.in.includes(n)) fail(`must be one of ${rules.enum.in.join(", ")}`);
      if (rules.enum.notIn?.includes(n)) fail(`must not be ${n}`);
      return;
    }
    if (rules.duration && typeof value === "string") {
      const d = parseDuration(value);
      if (d === undefined) return;
      const bound = (b: DurationValueRules | undefined) => (b === undefined ? undefined : parseDuration(b));
      const [lt, lte, gt, gte] = [bound(rules.duration.lt), bound(rules.duration.lte), bound(rules.duration.gt), bound(rules.duration.gte)];
      if (lt !== undefined && !(d < lt)) fail(`must be less than ${lt}s`);
      if (lte !== undefined && !(d <= lte)) fail(`must be at most ${lte}s`);
      if (gt !== undefined && !(d > gt)) fail(`must be greater than ${gt}s`);
      if (gte !== undefined && !(d >= gte)) fail(`must be at least ${gte}s`);
      return;
    }
    if (rules.any && isObject(value) && typeof value["@type"] === "string") {
      if (rules.any.in && !rules.any.in.includes(value["@type"])) fail(`@type must be one of ${rules.any.in.join(", ")}`);
      if (rules.any.notIn?.includes(value["@type"])) fail(`@type must not be ${value["@type"]}`);
      return;
    }
    for (const kind of NUMBER_RULE_KINDS) {
      const r = rules[kind];
      if (!r) continue;
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      if (Number.isNaN(n)) return;
      if (r.ignoreEmpty && n === 0) return;
      if (r.const !== undefined && n !== Number(r.const)) fail(`must be ${r.const}`);
      if (r.lt !== undefined && !(n < Number(r.lt))) fail(`must be less than ${r.lt}`);
      if (r.lte !== undefined && !(n <= Number(r.lte))) fail(`must be at most ${r.lte}`);
      if (r.gt !== undefined && !(n > Number(r.gt))) fail(`must be greater than ${r.gt}`);
      if (r.gte !== undefined && !(n >= Number(r.gte))) fail(`must be at least ${r.gte}`);
      if (r.in && !r.in.map(Number).includes(n)) fail(`must be one of ${r.in.join(", ")}`);
      if (r.notIn?.map(Number).includes(n)) fail(`must not be ${n}`);
    }
  }
}

function checkScalar(value: unknown, type: string, path: string, issues: ConfigIssue[]): void {
  const bad = (what: string): void => void issues.push({ path, message: `expected ${what}, got ${describe(value)}` });
  switch (type) {
    case "TYPE_STRING":
      if (typeof value !== "string") bad("a string");
      return;
    case "TYPE_BOOL":
      if (typeof value !== "boolean") bad("true or false");
      return;
    case "TYPE_BYTES":
      if (typeof value !== "string" || !/^[A-Za-z0-9+/\-_]*={0,2}$/.test(value)) bad("base64 bytes");
      return;
    case "TYPE_DOUBLE":
    case "TYPE_FLOAT":
      if (typeof value === "number") return;
      if (typeof value === "string" && (["NaN", "Infinity", "-Infinity"].includes(value) || (value.trim() !== "" && !Number.isNaN(Number(value))))) return;
      bad("a number");
      return;
  }
  const range = INT_RANGES[type];
  if (!range) return void issues.push({ path, message: `unsupported field type ${type}` });
  let n: bigint | undefined;
  if (typeof value === "number" && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === "string" && /^-?\d+$/.test(value)) n = BigInt(value);
  if (n === undefined) return bad(`an integer (${type.slice(5).toLowerCase()})`);
  if (n < range[0] || n > range[1]) issues.push({ path, message: `${n} is out of range for ${type.slice(5).toLowerCase()}` });
}

function defaultOf(type: string): unknown {
  if (type === "TYPE_STRING" || type === "TYPE_BYTES") return "";
  if (type === "TYPE_BOOL") return false;
  return 0;
}

// Seconds of a proto3 JSON duration ("1.5s"), or undefined when malformed.
function parseDuration(s: string): number | undefined {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) return undefined;
  const v = Number(m[2]) + (m[3] ? Number(`0.${m[3]}`) : 0);
  if (v > 315_576_000_000) return undefined;
  return m[1] ? -v : v;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}
