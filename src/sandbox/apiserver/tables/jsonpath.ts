// The subset of Kubernetes JSONPath that CRD printer columns use in practice:
//   .a.b   .a[0].b   .a[-1]   .a[1:3]   .a[*].b   .a.*   .metadata.labels['app']   .a["x.y"]   .a.x\.y
//   .status.conditions[?(@.type=="Ready")].status   (filters with ==, != or a bare @.path existence test)
// Missing keys yield no result rather than an error, as with AllowMissingKeys(true).

export type Segment =
  | { kind: "field"; name: string }
  | { kind: "wildcard" }
  | { kind: "index"; index: number }
  | { kind: "slice"; start?: number; end?: number }
  | { kind: "filter"; path: Segment[]; op?: "==" | "!="; value?: unknown };

export class JsonPathError extends Error {}

/** Parses a path such as `.spec.replicas`; a surrounding `{...}` (kubectl template form) is accepted too. */
export function parseJsonPath(text: string): Segment[] {
  let s = text.trim();
  if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1).trim();
  if (s.startsWith("$")) s = s.slice(1);
  const p = new Parser(s);
  const segments = p.segments(false);
  if (!p.done())
    throw new JsonPathError(`unexpected ${JSON.stringify(s.slice(p.pos))} in ${JSON.stringify(text)}`);
  return segments;
}

/** All values the path selects, in document order. */
export function evaluateJsonPath(segments: Segment[], root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const seg of segments) current = current.flatMap((v) => step(seg, v));
  return current;
}

function step(seg: Segment, v: unknown): unknown[] {
  switch (seg.kind) {
    case "field":
      return isObject(v) && Object.hasOwn(v, seg.name) ? [v[seg.name]] : [];
    case "wildcard":
      return Array.isArray(v) ? v : isObject(v) ? Object.values(v) : [];
    case "index": {
      if (!Array.isArray(v)) return [];
      const i = seg.index < 0 ? v.length + seg.index : seg.index;
      return i >= 0 && i < v.length ? [v[i]] : [];
    }
    case "slice":
      return Array.isArray(v) ? v.slice(seg.start ?? 0, seg.end ?? v.length) : [];
    case "filter":
      return Array.isArray(v) ? v.filter((item) => matchesFilter(seg, item)) : [];
  }
}

function matchesFilter(seg: Extract<Segment, { kind: "filter" }>, item: unknown): boolean {
  const found = evaluateJsonPath(seg.path, item);
  if (!seg.op) return found.length > 0;
  const equal = found.some((f) => f === seg.value);
  return seg.op === "==" ? equal : found.length > 0 && !equal;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

class Parser {
  pos = 0;
  private readonly s: string;

  constructor(s: string) {
    this.s = s;
  }

  done(): boolean {
    return this.pos >= this.s.length;
  }

  /** Segments until the end, or (inside a filter) until a comparison operator or the closing ")". */
  segments(inFilter: boolean): Segment[] {
    const out: Segment[] = [];
    while (!this.done()) {
      const c = this.s[this.pos];
      if (c === ".") {
        this.pos++;
        if (this.s[this.pos] === "*") {
          this.pos++;
          out.push({ kind: "wildcard" });
        } else if (!this.done() && this.s[this.pos] !== "[" && this.s[this.pos] !== ".") {
          out.push({ kind: "field", name: this.fieldName() });
        } else if (this.s[this.pos] === ".") {
          throw new JsonPathError("recursive descent (..) is not supported");
        }
        // A lone "." (the root) or ".[0]" selects nothing extra.
      } else if (c === "[") {
        out.push(this.bracket());
      } else if (inFilter && (c === "=" || c === "!" || c === ")" || c === " ")) {
        break;
      } else {
        throw new JsonPathError(`unexpected character ${JSON.stringify(c)} at ${this.pos}`);
      }
    }
    return out;
  }

  /** A dotted field name: up to the next unescaped "." or "[" ("\." keeps a dot in the name). */
  private fieldName(): string {
    let name = "";
    while (!this.done()) {
      const c = this.s[this.pos];
      if (c === "\\" && this.s[this.pos + 1] === ".") {
        name += ".";
        this.pos += 2;
        continue;
      }
      if (c === "." || c === "[" || c === "=" || c === "!" || c === ")" || c === " ") break;
      name += c;
      this.pos++;
    }
    if (!name) throw new JsonPathError(`empty field name at ${this.pos}`);
    return name;
  }

  private bracket(): Segment {
    this.expect("[");
    const c = this.s[this.pos];
    let seg: Segment;
    if (c === "'" || c === '"') {
      seg = { kind: "field", name: this.quoted() };
    } else if (c === "*") {
      this.pos++;
      seg = { kind: "wildcard" };
    } else if (c === "?") {
      seg = this.filter();
    } else {
      seg = this.indexOrSlice();
    }
    this.expect("]");
    return seg;
  }

  private filter(): Segment {
    this.expect("?");
    this.expect("(");
    this.skipSpaces();
    this.expect("@");
    const path = this.segments(true);
    this.skipSpaces();
    let seg: Segment = { kind: "filter", path };
    if (this.s.startsWith("==", this.pos) || this.s.startsWith("!=", this.pos)) {
      const op = this.s.slice(this.pos, this.pos + 2) as "==" | "!=";
      this.pos += 2;
      this.skipSpaces();
      seg = { kind: "filter", path, op, value: this.literal() };
      this.skipSpaces();
    }
    this.expect(")");
    return seg;
  }

  private literal(): unknown {
    const c = this.s[this.pos];
    if (c === "'" || c === '"') return this.quoted();
    const m = /^(-?\d+(\.\d+)?|true|false)/.exec(this.s.slice(this.pos));
    if (!m) throw new JsonPathError(`expected a literal at ${this.pos}`);
    this.pos += m[0].length;
    return m[0] === "true" ? true : m[0] === "false" ? false : Number(m[0]);
  }

  private indexOrSlice(): Segment {
    const m = /^\s*(-?\d+)?\s*(:\s*(-?\d+)?\s*)?/.exec(this.s.slice(this.pos));
    if (!m || m[0].trim() === "") throw new JsonPathError(`expected an index at ${this.pos}`);
    this.pos += m[0].length;
    if (m[2] === undefined) return { kind: "index", index: Number(m[1]) };
    return {
      kind: "slice",
      start: m[1] === undefined ? undefined : Number(m[1]),
      end: m[3] === undefined ? undefined : Number(m[3]),
    };
  }

  private quoted(): string {
    const q = this.s[this.pos++];
    let out = "";
    while (!this.done() && this.s[this.pos] !== q) {
      if (this.s[this.pos] === "\\" && this.pos + 1 < this.s.length) this.pos++;
      out += this.s[this.pos++];
    }
    this.expect(q);
    return out;
  }

  private skipSpaces(): void {
    while (this.s[this.pos] === " ") this.pos++;
  }

  private expect(ch: string): void {
    if (this.s[this.pos] !== ch) throw new JsonPathError(`expected ${JSON.stringify(ch)} at ${this.pos}`);
    this.pos++;
  }
}
