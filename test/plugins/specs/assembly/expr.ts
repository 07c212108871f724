// Spec module of the stats plugin's CEL subset (plugins/stats/assembly/expr.ts): parses an
// expression and evaluates it. Attribute reads go to the host's proxy_get_property, which the
// driving test answers.
import { evalExpr, exprError, parseExpr, ValKind } from "../../../../plugins/stats/assembly/expr";
export { proxy_on_memory_allocate } from "pwasm/sdk/exports";

/** "" when the expression is in the subset, else "!" and the reason. */
export function parse(text: string): string {
  return parseExpr(text) === null ? "!" + exprError : "";
}

/** The value, typed: "s:text", "i:42", "b:true", or "error" (evaluation failed) or "!reason" (parse). */
export function evaluate(text: string): string {
  const e = parseExpr(text);
  if (e === null) return "!" + exprError;
  const v = evalExpr(e);
  if (v.kind == ValKind.Str) return "s:" + v.s;
  if (v.kind == ValKind.Int) return "i:" + v.i.toString();
  if (v.kind == ValKind.Bool) return "b:" + (v.i != 0 ? "true" : "false");
  return "error";
}
