// Label selectors: the string form (`a=b,c!=d,e in (x,y),!f`) and metav1.LabelSelector,
// compiled to one requirement list with one matcher (k8s.io/apimachinery/pkg/labels).

export type Operator = "=" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export class SelectorError extends Error {}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  const prefix = slash < 0 ? "" : key.slice(0, slash);
  if (!KEY.test(key))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  if (name.length > 63) return "name part must be no more than 63 characters";
  if (prefix.length > 253) return "prefix part must be no more than 253 characters";
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return "must be no more than 63 characters";
  if (!VALUE.test(value))
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  return undefined;
}

/** Parses the string form used in `?labelSelector=` and `kubectl -l`. Empty string selects everything. */
export function parseSelector(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  let i = 0;
  const s = text;
  const skipWs = () => {
    while (i < s.length && s[i] === " ") i++;
  };
  const readWord = () => {
    skipWs();
    const start = i;
    while (i < s.length && !" ,()=!<>".includes(s[i])) i++;
    return s.slice(start, i);
  };
  const fail = (msg: string): never => {
    throw new SelectorError(`unable to parse requirement: ${msg}`);
  };
  const checkValue = (v: string) => {
    const e = labelValueError(v);
    if (e) fail(`values[0][${v}]: Invalid value: "${v}": ${e}`);
  };
  skipWs();
  if (i >= s.length) return reqs;
  for (;;) {
    skipWs();
    let negate = false;
    if (s[i] === "!") {
      negate = true;
      i++;
    }
    const key = readWord();
    if (!key) fail(`found '${s[i] ?? "EOS"}', expected: identifier`);
    const ke = labelKeyError(key);
    if (ke) fail(`key: Invalid value: "${key}": ${ke}`);
    skipWs();
    if (negate) {
      reqs.push({ key, op: "!", values: [] });
    } else if (i >= s.length || s[i] === ",") {
      reqs.push({ key, op: "exists", values: [] });
    } else if (s.startsWith("==", i) || s.startsWith("!=", i) || s[i] === "=") {
      const op = s.startsWith("!=", i) ? "!=" : "=";
      i += s.startsWith("==", i) || s.startsWith("!=", i) ? 2 : 1;
      const v = readWord();
      checkValue(v);
      reqs.push({ key, op, values: [v] });
    } else if (s[i] === ">" || s[i] === "<") {
      const op = s[i] === ">" ? "gt" : "lt";
      i++;
      const v = readWord();
      if (!/^-?\d+$/.test(v)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
      reqs.push({ key, op, values: [v] });
    } else {
      const word = readWord().toLowerCase();
      if (word !== "in" && word !== "notin")
        fail(`found '${word || s[i]}', expected: in, notin, =, ==, !=, gt, lt`);
      skipWs();
      if (s[i] !== "(") fail(`found '${s[i] ?? "EOS"}', expected: '('`);
      i++;
      const values: string[] = [];
      for (;;) {
        const v = readWord();
        checkValue(v);
        values.push(v);
        skipWs();
        if (s[i] === ",") {
          i++;
          continue;
        }
        if (s[i] === ")") {
          i++;
          break;
        }
        fail(`found '${s[i] ?? "EOS"}', expected: ',', ')' or identifier`);
      }
      reqs.push({ key, op: word === "in" ? "in" : "notin", values });
    }
    skipWs();
    if (i >= s.length) break;
    if (s[i] !== ",") fail(`found '${s[i]}', expected: ',' or 'end of string'`);
    i++;
  }
  return reqs;
}

/** Compiles a metav1.LabelSelector. A null/undefined selector selects nothing; `{}` selects everything. */
export function fromLabelSelector(sel: LabelSelector | null | undefined): Requirement[] | null {
  if (!sel) return null;
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, op: "=", values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator;
    if (op === "In") reqs.push({ key: e.key, op: "in", values: e.values ?? [] });
    else if (op === "NotIn") reqs.push({ key: e.key, op: "notin", values: e.values ?? [] });
    else if (op === "Exists") reqs.push({ key: e.key, op: "exists", values: [] });
    else if (op === "DoesNotExist") reqs.push({ key: e.key, op: "!", values: [] });
    else throw new SelectorError(`"${op}" is not a valid label selector operator`);
  }
  return reqs;
}

export function matches(reqs: Requirement[] | null, labels: Record<string, string> | undefined): boolean {
  if (reqs === null) return false;
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=":
        if (!has || v !== r.values[0]) return false;
        break;
      case "!=":
        if (has && v === r.values[0]) return false;
        break;
      case "in":
        if (!has || !r.values.includes(v)) return false;
        break;
      case "notin":
        if (has && r.values.includes(v)) return false;
        break;
      case "exists":
        if (!has) return false;
        break;
      case "!":
        if (has) return false;
        break;
      case "gt":
      case "lt": {
        if (!has || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        const want = Number(r.values[0]);
        if (r.op === "gt" ? !(n > want) : !(n < want)) return false;
        break;
      }
    }
  }
  return true;
}

/** The string form of a selector (`app=demo,tier in (a,b)`), as kubectl and Scale.status.selector show it. */
export function selectorString(reqs: Requirement[]): string {
  return reqs
    .map((r) => {
      switch (r.op) {
        case "=":
        case "!=":
          return `${r.key}${r.op}${r.values[0]}`;
        case "in":
        case "notin":
          return `${r.key} ${r.op} (${r.values.join(",")})`;
        case "exists":
          return r.key;
        case "!":
          return `!${r.key}`;
        case "gt":
          return `${r.key}>${r.values[0]}`;
        case "lt":
          return `${r.key}<${r.values[0]}`;
        default:
          return "";
      }
    })
    .join(",");
}

/** matchLabels as a selector string, for `Scale.status.selector` and the like. */
export function labelSelectorString(sel: LabelSelector | undefined): string {
  const reqs = fromLabelSelector(sel ?? {}) ?? [];
  return selectorString([...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
}
