// A NetworkAttachmentDefinition's spec.config, as the CNI configuration to run: a conf or a
// conflist (JSON), named after the NAD when it has no name of its own.
import type { KubeObject } from "../../kube/objects.ts";
import type { CniConfig } from "./cni-exec.ts";

export class NadError extends Error {}

export function nadConfig(nad: KubeObject): CniConfig {
  const ref = `${nad.metadata.namespace}/${nad.metadata.name}`;
  const text = nad.spec?.config;
  if (typeof text !== "string" || !text.trim())
    throw new NadError(`NetworkAttachmentDefinition ${ref} has no spec.config`);
  let conf: unknown;
  try {
    conf = JSON.parse(text);
  } catch (err) {
    throw new NadError(
      `NetworkAttachmentDefinition ${ref}: spec.config is not JSON (${(err as Error).message})`,
    );
  }
  if (!conf || typeof conf !== "object" || Array.isArray(conf))
    throw new NadError(`NetworkAttachmentDefinition ${ref}: spec.config is not a JSON object`);
  const c = conf as CniConfig;
  if (Array.isArray(c.plugins)) {
    if (!c.plugins.length || c.plugins.some((p) => typeof p?.type !== "string"))
      throw new NadError(`NetworkAttachmentDefinition ${ref}: every plugin of the list needs a "type"`);
  } else if (typeof c.type !== "string" || !c.type)
    throw new NadError(`NetworkAttachmentDefinition ${ref}: spec.config has no plugin "type"`);
  return { ...c, name: c.name ?? nad.metadata.name };
}
