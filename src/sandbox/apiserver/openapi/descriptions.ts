// Descriptions and required fields of the built-in models, read from the JSDoc that
// @kubernetes/client-node ships in its generated `.d.ts` files (the runtime attributeTypeMap
// carries neither). Read lazily from the installed dependency and cached per model.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as models from "@kubernetes/client-node/dist/gen/models/all.js";

export interface ModelDocs {
  /** The class comment, e.g. "PodSpec is a description of a pod." */
  description?: string;
  /** JSON field name → field comment. Fields that reference another model usually have none. */
  fields: Map<string, string>;
  /** JSON names of the fields the model declares as required (no `?`). */
  required: string[];
}

const cache = new Map<string, ModelDocs | null>();
let modelsDir: string | undefined;

function dir(): string {
  modelsDir ??= dirname(fileURLToPath(import.meta.resolve("@kubernetes/client-node/dist/gen/models/all.js")));
  return modelsDir;
}

/** The documentation of a generated model, or undefined when there is no such model. */
export function modelDocs(model: string): ModelDocs | undefined {
  let docs = cache.get(model);
  if (docs === undefined) {
    docs = readDocs(model);
    cache.set(model, docs);
  }
  return docs ?? undefined;
}

export const modelDescription = (model: string) => modelDocs(model)?.description;
export const fieldDescription = (model: string, field: string) => modelDocs(model)?.fields.get(field);

function readDocs(model: string): ModelDocs | null {
  // The model name doubles as a file name: only accept what the library exports.
  const attrs: { name: string; baseName: string }[] | undefined = (models as Record<string, any>)[model]
    ?.attributeTypeMap;
  if (!Array.isArray(attrs)) return null;
  let text: string;
  try {
    text = readFileSync(join(dir(), `${model}.d.ts`), "utf8");
  } catch {
    return { fields: new Map(), required: [] };
  }
  // TypeScript property names differ from JSON names for a few fields (`_default` → `default`).
  const jsonName = new Map(attrs.map((a) => [a.name, a.baseName]));
  const classAt = text.indexOf(`export declare class ${model} `);
  const head = classAt < 0 ? "" : text.slice(0, classAt);
  const body = classAt < 0 ? text : text.slice(classAt);

  const docs: ModelDocs = { fields: new Map(), required: [] };
  const classComment = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*$/.exec(head);
  if (classComment) docs.description = cleanComment(classComment[1]);

  // An optional comment followed by a quoted property declaration: `'restartPolicy'?: string;`.
  const prop = /(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?'([^']+)'(\?)?:/g;
  for (const m of body.matchAll(prop)) {
    const name = jsonName.get(m[2]);
    if (!name) continue;
    if (m[1] !== undefined) {
      const d = cleanComment(m[1]);
      if (d) docs.fields.set(name, d);
    }
    if (!m[3]) docs.required.push(name);
  }
  return docs;
}

/** Strips the comment's leading asterisks and undoes the generator's string escaping. */
function cleanComment(raw: string): string | undefined {
  const text = raw
    .split("\n")
    .map((l) => l.replace(/^\s*\*\s?/, "").trim())
    .filter((l) => l !== "")
    .join(" ")
    .replace(/\\(.)/g, "$1");
  return text || undefined;
}
