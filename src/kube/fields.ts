// Field selectors (`metadata.name=x,spec.nodeName!=`): only =, == and != exist.

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

export class FieldSelectorError extends Error {}

/** Parses `?fieldSelector=`. Backslash escapes `\,`, `\=` and `\\` in values as upstream does. */
export function parseFieldSelector(text: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (!text.trim()) return out;
  for (const term of splitUnescaped(text, ",")) {
    const t = term.trim();
    if (!t) continue;
    const m = /^([^=!]+)(==|!=|=)(.*)$/.exec(t);
    if (!m) {
      throw new FieldSelectorError(`invalid selector: '${text}'; can't understand '${t}'`);
    }
    out.push({ field: m[1].trim(), op: m[2] === "!=" ? "!=" : "=", value: unescapeValue(m[3]) });
  }
  return out;
}

function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      parts.push(cur);
      cur = "";
    } else cur += s[i];
  }
  parts.push(cur);
  return parts;
}

const unescapeValue = (v: string) => v.replace(/\\(.)/g, "$1");

export function matchesFields(reqs: FieldRequirement[], fields: Record<string, string>): boolean {
  for (const r of reqs) {
    const v = fields[r.field] ?? "";
    if (r.op === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}
