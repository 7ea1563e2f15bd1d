// Test support only: the reconcilers' fixture, in sample-controller's shape. Objects go into
// fake listers (the informer caches), a sync runs against a fake API (patches are recorded and
// applied to the cached object, as the informer would deliver them) and the fake SDN backend
// (src/sdn/fake-backend.ts); a test compares the recorded actions and Events. Production code
// never imports this file.
import { annotationKeys } from "../api/annotations.ts";
import type { ObjectReference } from "../kube/events.ts";
import { silentLogger } from "../kube/log.ts";
import type { KubeObject } from "../kube/objects.ts";
import type { ApiResource } from "../kube/resource.ts";
import { NAMESPACE_INDEX, namespaceIndex } from "../kube/store.ts";
import { FakeSdnBackend, type FakeSdnBackendOptions } from "../sdn/fake-backend.ts";
import {
  CLUSTER_OWNER,
  type ControllerConfig,
  type ControllerDeps,
  DEFAULT_CONFIG,
  type Lister,
  type PatchClient,
  type Recorder,
} from "./context.ts";
import { ControllerMetrics } from "./metrics.ts";
import { NamespaceReconciler } from "./namespaces.ts";
import { NetworkPolicyReconciler } from "./network-policies.ts";
import { PodReconciler } from "./pods.ts";
import { ServiceReconciler } from "./services.ts";

const keyOf = (o: KubeObject) =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;

/** An informer cache with an index function per name. */
export class FakeLister implements Lister {
  private readonly objects = new Map<string, KubeObject>();
  private readonly indexers: Record<string, (o: KubeObject) => string[]>;

  constructor(indexers: Record<string, (o: KubeObject) => string[]> = {}) {
    this.indexers = indexers;
  }

  set(obj: KubeObject): void {
    this.objects.set(keyOf(obj), obj);
  }

  remove(key: string): void {
    this.objects.delete(key);
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  list(): KubeObject[] {
    return [...this.objects.values()];
  }

  byIndex(indexName: string, value: string): KubeObject[] {
    const fn = this.indexers[indexName];
    if (!fn) throw new Error(`no index ${indexName}`);
    return this.list().filter((o) => fn(o).includes(value));
  }
}

/** Records each patch as a line and applies metadata and status changes to the cached object. */
export class FakePatchClient implements PatchClient {
  readonly actions: string[] = [];
  /** Answers this error to the next patch of `resource/namespace/name` (once). */
  readonly failNext = new Map<string, Error>();
  private readonly caches: Record<string, FakeLister>;
  private rv = 100;

  constructor(caches: Record<string, FakeLister>) {
    this.caches = caches;
  }

  async patch(
    res: ApiResource,
    namespace: string,
    name: string,
    patchType: "strategic" | "merge",
    body: unknown,
    opts: { subresource?: string } = {},
  ): Promise<KubeObject> {
    const what = `${res.plural}${opts.subresource ? `/${opts.subresource}` : ""}`;
    const key = namespace ? `${namespace}/${name}` : name;
    this.actions.push(`patch ${what} ${key} ${patchType} ${JSON.stringify(body)}`);
    const failure = this.failNext.get(`${what}/${key}`);
    if (failure) {
      this.failNext.delete(`${what}/${key}`);
      throw failure;
    }
    const cache = this.caches[res.plural];
    const current = cache?.get(key);
    if (!current) throw Object.assign(new Error(`${key} not found`), { code: 404 });
    const next = structuredClone(current);
    applyMetadataPatch(next, body as Record<string, any>);
    next.metadata.resourceVersion = String(++this.rv);
    cache.set(next);
    return next;
  }
}

/** Enough of strategic merge for what reconcilers send: annotations, finalizers, status. */
function applyMetadataPatch(obj: KubeObject, body: Record<string, any>): void {
  const m = body.metadata ?? {};
  if (m.annotations) {
    const a = { ...(obj.metadata.annotations ?? {}) };
    for (const [k, v] of Object.entries(m.annotations)) {
      if (v === null) delete a[k];
      else a[k] = v as string;
    }
    obj.metadata.annotations = a;
  }
  if (m.finalizers)
    obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), ...m.finalizers])];
  const drop: string[] = m["$deleteFromPrimitiveList/finalizers"] ?? [];
  if (drop.length) obj.metadata.finalizers = (obj.metadata.finalizers ?? []).filter((f) => !drop.includes(f));
  if (body.status) obj.status = { ...(obj.status ?? {}), ...body.status };
}

export class FakeRecorder implements Recorder {
  readonly events: string[] = [];

  event(obj: KubeObject | ObjectReference, type: string, reason: string, message: string): void {
    const name = "metadata" in obj ? keyOf(obj as KubeObject) : `${obj.namespace}/${obj.name}`;
    this.events.push(`${type} ${reason} ${name}: ${message}`);
  }
}

export interface FixtureOptions extends FakeSdnBackendOptions {
  config?: Partial<ControllerConfig>;
}

/** The reconcilers over fakes, with helpers to add objects and read what happened. */
export class ControllerFixture {
  /** Indexed by namespace, as every informer is. */
  readonly pods = new FakeLister({ [NAMESPACE_INDEX]: namespaceIndex });
  readonly networkPolicies = new FakeLister();
  readonly services = new FakeLister();
  readonly namespaces = new FakeLister();
  readonly nads = new FakeLister();
  readonly endpointSlices = new FakeLister({
    service: (s) => {
      const svc = s.metadata.labels?.["kubernetes.io/service-name"];
      return svc ? [`${s.metadata.namespace}/${svc}`] : [];
    },
  });
  readonly api = new FakePatchClient({
    pods: this.pods,
    services: this.services,
    namespaces: this.namespaces,
  });
  readonly backend: FakeSdnBackend;
  readonly recorder = new FakeRecorder();
  readonly deps: ControllerDeps;
  readonly namespaceReconciler: NamespaceReconciler;
  readonly podReconciler: PodReconciler;
  readonly serviceReconciler: ServiceReconciler;
  readonly policyReconciler: NetworkPolicyReconciler;
  /** Service keys the reconciler queued for another sync. */
  readonly requeued: string[] = [];
  private uid = 0;

  constructor(opts: FixtureOptions = {}) {
    this.backend = new FakeSdnBackend(opts);
    this.deps = {
      config: { ...DEFAULT_CONFIG, ...opts.config },
      client: this.api,
      backend: this.backend,
      informers: {
        pods: this.pods,
        services: this.services,
        namespaces: this.namespaces,
        endpointSlices: this.endpointSlices,
        nads: this.nads,
      },
      keys: annotationKeys(),
      recorder: this.recorder,
      metrics: new ControllerMetrics(),
      log: silentLogger,
    };
    this.namespaceReconciler = new NamespaceReconciler(this.deps);
    this.podReconciler = new PodReconciler(this.deps, this.namespaceReconciler);
    this.serviceReconciler = new ServiceReconciler(this.deps, (key) => this.requeued.push(key));
    this.policyReconciler = new NetworkPolicyReconciler(this.deps, this.networkPolicies);
  }

  /** The cluster networks, as the leader ensures them first. */
  async clusterNetworks(): Promise<void> {
    const c = this.deps.config;
    await this.backend.ensureNetwork({
      owner: CLUSTER_OWNER,
      name: "raven-service",
      purpose: "services",
      cidr: c.serviceCidr,
    });
    await this.backend.ensureNetwork({
      owner: CLUSTER_OWNER,
      name: "raven-external",
      purpose: "external",
      cidr: c.externalCidr,
    });
    this.backend.actions.length = 0;
  }

  namespace(name: string, extra: Partial<KubeObject["metadata"]> = {}): KubeObject {
    const ns: KubeObject = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, uid: `ns-${name}`, resourceVersion: "1", ...extra },
    };
    this.namespaces.set(ns);
    return ns;
  }

  /** A scheduled, running pod (override anything). */
  pod(
    name: string,
    o: {
      namespace?: string;
      metadata?: Record<string, unknown>;
      spec?: Record<string, unknown>;
      status?: Record<string, unknown>;
    } = {},
  ): KubeObject {
    const namespace = o.namespace ?? "default";
    if (!this.namespaces.get(namespace)) this.namespace(namespace);
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, uid: `uid-${name}-${++this.uid}`, resourceVersion: "1", ...o.metadata },
      spec: { nodeName: "node-1", ...o.spec },
      status: { phase: "Running", ...o.status },
    };
    this.pods.set(pod);
    return pod;
  }

  service(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
    if (!this.namespaces.get("default")) this.namespace("default");
    const svc: KubeObject = {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name,
        namespace: "default",
        uid: `svc-${name}-${++this.uid}`,
        resourceVersion: "1",
        ...metadata,
      },
      spec: { type: "ClusterIP", selector: { app: name }, ports: [{ port: 80, protocol: "TCP" }], ...spec },
    };
    this.services.set(svc);
    return svc;
  }

  /** Replaces a cached object by a changed copy (as an update event would). */
  update(lister: FakeLister, key: string, change: (o: KubeObject) => void): KubeObject {
    const next = structuredClone(lister.get(key)!);
    change(next);
    next.metadata.resourceVersion = String(Number(next.metadata.resourceVersion ?? "0") + 1000);
    lister.set(next);
    return next;
  }

  /** The object left the API: drop it from the cache and tell the reconciler, as onDelete does. */
  deletePod(key: string): void {
    const pod = this.pods.get(key)!;
    this.pods.remove(key);
    this.podReconciler.forget(key, pod.metadata.uid!);
  }

  /** Backend writes, API patches and Events since the last call, then forgets them. */
  take(): { backend: string[]; api: string[]; events: string[] } {
    const out = {
      backend: this.backend.actions.splice(0),
      api: this.api.actions.splice(0),
      events: this.recorder.events.splice(0),
    };
    return out;
  }
}
