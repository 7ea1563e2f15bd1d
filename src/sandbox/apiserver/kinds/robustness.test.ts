import assert from "node:assert/strict";
import { test } from "node:test";
import { fallbackStrategy, strategies } from "./index.ts";
import { validatePodStatusUpdate } from "./pods.ts";

// Bodies reach strategies only loosely typed; odd shapes must give field errors, not crashes.
const ODD_VALUES: unknown[] = [null, "x", 7, true, [], {}, [null], ["x"], [7], [{}], { a: null }, { a: 7 }];

const FIELDS = [
  "spec",
  "status",
  "data",
  "binaryData",
  "stringData",
  "subsets",
  "endpoints",
  "ports",
  "involvedObject",
  "addressType",
  "type",
  "immutable",
];
const SPEC_FIELDS = [
  "containers",
  "initContainers",
  "volumes",
  "ports",
  "selector",
  "template",
  "tolerations",
  "strategy",
  "updateStrategy",
  "clusterIPs",
  "externalIPs",
  "ipFamilies",
  "names",
  "versions",
  "podFailurePolicy",
  "dnsConfig",
  "hostAliases",
  "nodeSelector",
  "finalizers",
  "podCIDRs",
  "taints",
  "sessionAffinityConfig",
];

function* oddObjects(): Generator<any> {
  for (const v of ODD_VALUES) {
    for (const f of FIELDS) yield { metadata: { name: "x", namespace: "default" }, [f]: v };
    for (const f of SPEC_FIELDS) yield { metadata: { name: "x", namespace: "default" }, spec: { [f]: v } };
    for (const f of ["containers", "volumes"])
      yield {
        metadata: { name: "x", namespace: "default" },
        spec: {
          template: { spec: { [f]: [v] } },
          [f]: [{ name: "c", image: "i", ports: v, env: v, volumeMounts: v, resources: v, livenessProbe: v }],
        },
      };
  }
  for (const v of ODD_VALUES) {
    const meta = { name: "x", namespace: "default" };
    yield { metadata: meta, spec: { template: { metadata: v } } };
    yield {
      metadata: meta,
      spec: { template: { metadata: { labels: v } }, selector: { matchLabels: { a: "b" } } },
    };
    yield { metadata: meta, spec: { selector: { matchLabels: v } } };
    yield { metadata: meta, spec: { selector: { matchExpressions: v } } };
    yield {
      metadata: meta,
      spec: { selector: { matchExpressions: [{ key: "a", operator: "In", values: v }] } },
    };
    yield {
      metadata: meta,
      spec: { strategy: { type: "RollingUpdate", rollingUpdate: v }, updateStrategy: { rollingUpdate: v } },
    };
    yield {
      metadata: meta,
      spec: {
        names: { kind: v, plural: v, shortNames: v },
        versions: [{ name: v, schema: v, subresources: { scale: v } }],
      },
    };
    yield {
      metadata: meta,
      spec: { containers: [{ name: "c", image: v, resources: { limits: v, requests: v } }] },
    };
    yield {
      metadata: meta,
      spec: { volumes: [{ name: "v", configMap: v, secret: { items: v }, projected: { sources: v } }] },
    };
  }
  yield {
    metadata: {
      name: "x",
      namespace: "default",
      labels: { a: 7 },
      annotations: { b: null },
      ownerReferences: [null],
      finalizers: [7],
    },
  };
}

test("no strategy throws on malformed bodies", () => {
  for (const [key, s] of [...Object.entries(strategies), ["fallback", fallbackStrategy] as const]) {
    for (const body of oddObjects()) {
      const obj = structuredClone(body);
      const context = `${key}: ${JSON.stringify(body)}`;
      assert.doesNotThrow(() => {
        s.prepareForCreate?.(obj);
        s.defaults?.(obj);
        assert.ok(Array.isArray(s.validate?.(obj) ?? []));
        assert.ok(Array.isArray(s.validateUpdate?.(obj, structuredClone(body)) ?? []));
        s.selectableFields?.(obj);
        if (key === "/pods") validatePodStatusUpdate(obj, structuredClone(body));
      }, context);
    }
  }
});
