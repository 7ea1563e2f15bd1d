import assert from "node:assert/strict";
import { test } from "node:test";
import {
  dns1123Label,
  dns1123Subdomain,
  validateGenericMeta,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";
import { asText } from "./testing.ts";

const subdomain = { namespaced: true, nameValidator: dns1123Subdomain };

test("a bad name is reported with the kind's name rule", () => {
  assert.deepEqual(asText(validateObjectMeta({ name: "Foo_bar", namespace: "default" }, subdomain)), [
    `metadata.name: Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  ]);
  assert.deepEqual(asText(validateObjectMeta({ namespace: "default" }, subdomain)), [
    "metadata.name: Required value: name or generateName is required",
  ]);
  assert.deepEqual(
    asText(validateObjectMeta({ name: "a.b" }, { namespaced: false, nameValidator: dns1123Label })),
    ['metadata.name: Invalid value: "a.b": must not contain dots'],
  );
});

test("namespace presence follows the scope, and its format is a DNS label", () => {
  assert.deepEqual(asText(validateObjectMeta({ name: "x" }, subdomain)), [
    "metadata.namespace: Required value",
  ]);
  assert.deepEqual(
    asText(
      validateObjectMeta(
        { name: "x", namespace: "ns" },
        { namespaced: false, nameValidator: dns1123Subdomain },
      ),
    ),
    ["metadata.namespace: Forbidden: not allowed on this type"],
  );
  assert.equal(
    validateObjectMeta({ name: "x", namespace: "Bad_NS" }, subdomain)[0].field,
    "metadata.namespace",
  );
  assert.deepEqual(
    validateObjectMeta({ name: "x", namespace: "ns" }, { nameValidator: dns1123Subdomain }),
    [],
  );
});

test("labels and annotations are checked key by key, annotations also by total size", () => {
  const errs = asText(
    validateObjectMeta({ name: "x", namespace: "d", labels: { "bad key": "ok", app: "-x" } }, subdomain),
  );
  assert.equal(errs.length, 2);
  assert.match(errs[0], /^metadata\.labels: Invalid value: "-x": a valid label must be an empty string/);
  assert.match(
    errs[1],
    /^metadata\.labels: Invalid value: "bad key": name part must consist of alphanumeric characters/,
  );
  const big = { name: "x", namespace: "d", annotations: { note: "x".repeat(262144) } };
  assert.deepEqual(asText(validateObjectMeta(big, subdomain)), [
    "metadata.annotations: Too long: must have at most 262144 bytes",
  ]);
  const fits = { name: "x", namespace: "d", annotations: { note: "x".repeat(262140) } };
  assert.deepEqual(validateObjectMeta(fits, subdomain), []);
  // Keys are compared case-insensitively, so upper case is fine.
  assert.deepEqual(
    validateObjectMeta({ name: "x", namespace: "d", annotations: { "Example.COM/Key": "v" } }, subdomain),
    [],
  );
});

test("owner references need identity fields and at most one controller", () => {
  const refs = [
    { apiVersion: "apps/v1", kind: "ReplicaSet", name: "a", uid: "1", controller: true },
    { apiVersion: "apps/v1", kind: "Deployment", name: "b", uid: "2", controller: true },
    { apiVersion: "", kind: "", name: "c", uid: "" },
  ];
  const errs = asText(
    validateObjectMeta({ name: "x", namespace: "d", ownerReferences: refs as any }, subdomain),
  );
  assert.deepEqual(errs.slice(0, 1), [
    `metadata.ownerReferences: Invalid value: []v1.OwnerReference{v1.OwnerReference{APIVersion:"apps/v1", Kind:"ReplicaSet", Name:"a", UID:"1", Controller:(*bool)(true), BlockOwnerDeletion:(*bool)(nil)}, v1.OwnerReference{APIVersion:"apps/v1", Kind:"Deployment", Name:"b", UID:"2", Controller:(*bool)(true), BlockOwnerDeletion:(*bool)(nil)}, v1.OwnerReference{APIVersion:"", Kind:"", Name:"c", UID:"", Controller:(*bool)(nil), BlockOwnerDeletion:(*bool)(nil)}}: Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and Deployment/b`,
  ]);
  assert.deepEqual(errs.slice(1), [
    'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
    'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
    'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
  ]);
});

test("finalizers must be qualified, standard or prefixed, and not both orphan and foreground", () => {
  assert.deepEqual(
    asText(
      validateObjectMeta(
        { name: "x", namespace: "d", finalizers: ["kubernetes", "example.com/cleanup"] },
        subdomain,
      ),
    ),
    [],
  );
  assert.deepEqual(
    asText(validateObjectMeta({ name: "x", namespace: "d", finalizers: ["cleanup"] }, subdomain)),
    [
      'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified',
    ],
  );
  assert.deepEqual(
    asText(
      validateObjectMeta(
        { name: "x", namespace: "d", finalizers: ["cleanup"] },
        { ...subdomain, kubeFinalizers: false },
      ),
    ),
    [],
  );
  assert.deepEqual(
    asText(
      validateObjectMeta(
        { name: "x", namespace: "d", finalizers: ["orphan", "foregroundDeletion"] },
        subdomain,
      ),
    ),
    [
      'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set',
    ],
  );
});

test("identity fields are immutable and a deleting object takes no new finalizers", () => {
  const old = { name: "x", namespace: "d", uid: "u1", creationTimestamp: "2024-01-01T00:00:00Z" };
  assert.deepEqual(validateObjectMetaUpdate({ ...old, labels: { a: "b" } }, old), []);
  assert.deepEqual(asText(validateObjectMetaUpdate({ ...old, name: "y", uid: "u2" }, old)), [
    'metadata.name: Invalid value: "y": field is immutable',
    'metadata.uid: Invalid value: "u2": field is immutable',
  ]);
  const deleting = { ...old, deletionTimestamp: "2024-01-02T00:00:00Z", finalizers: ["a.io/x"] };
  assert.deepEqual(
    asText(validateObjectMetaUpdate({ ...deleting, finalizers: ["a.io/x", "b.io/y"] }, deleting)),
    [
      'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"b.io/y"}',
    ],
  );
  assert.deepEqual(validateObjectMetaUpdate({ ...deleting, finalizers: [] }, deleting), []);
});

test("every name must work as a URL path segment", () => {
  assert.deepEqual(asText(validateGenericMeta({ name: "a/b" })), [
    `metadata.name: Invalid value: "a/b": may not contain '/'`,
  ]);
  assert.deepEqual(validateGenericMeta({ name: "ok" }), []);
});
