// A churn of pods, Deployments, Services (selectors, externalIPs, type LoadBalancer) and
// namespaces, driven straight through the API by a few concurrent workers and a seeded PRNG,
// plus the "while Raven is down" moves: pods with ports deleted (their ports are orphans the
// restarted controller must sweep), and objects that vanish (force-deleted, finalizers
// stripped) behind its back.

import type { KubeClient } from "../../src/kube/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../src/kube/errors.ts";
import type { KubeObject } from "../../src/kube/objects.ts";
import { DEPLOYMENTS, NAMESPACES, PODS, SERVICES } from "../../src/kube/resource.ts";
import { KEYS } from "./raven-invariants.ts";

/** mulberry32: a small seeded PRNG, so a failing run's seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const APPS = ["web", "api", "db"];
const SLOTS = 6;
const MAX_PODS_PER_NAMESPACE = 24;
const MAX_EPHEMERAL_NAMESPACES = 2;

/** What an operation answers when it found nothing to do. */
// biome-ignore lint/suspicious/noConfusingVoidType: operations that did something just return.
type Skip = void | "skip";

interface Tracked {
  ns: string;
  name: string;
}

export interface ChurnOptions {
  client: KubeClient;
  rand: () => number;
  /** Namespaces that live for the whole run (they must exist). */
  namespaces: string[];
  /** Deployments to scale up and down (they must exist). */
  deployments: Tracked[];
}

export class Churn {
  /** Operations by kind: done, and failed (expected API answers such as 404/409 included). */
  readonly ok = new Map<string, number>();
  readonly failed = new Map<string, number>();
  /** Unexpected failures (not 404/409/403), first few kept for the log. */
  readonly surprises: string[] = [];
  /** Pods found held Terminating by Raven's finalizer after a delete while Raven was down. */
  /** Pods with a port deleted while Raven was down (their ports left for the orphan sweep). */
  deletedWhileDown = 0;
  private readonly o: ChurnOptions;
  private readonly pods = new Map<string, Tracked>();
  private readonly services = new Map<string, Tracked & { externalIPs?: string[] }>();
  private readonly ephemeral: { name: string; index: number; since: number }[] = [];
  private seq = 0;
  private nsSeq = 0;
  private stopping = false;
  private workers: Promise<void>[] = [];

  constructor(o: ChurnOptions) {
    this.o = o;
  }

  get total(): number {
    let n = 0;
    for (const c of this.ok.values()) n += c;
    for (const c of this.failed.values()) n += c;
    return n;
  }

  /** Starts `n` workers, each doing one operation after another with a short random pause. */
  start(n: number, pauseMs = 40): void {
    this.stopping = false;
    for (let i = 0; i < n; i++)
      this.workers.push(
        (async () => {
          while (!this.stopping) {
            await this.step();
            await sleep(this.o.rand() * pauseMs);
          }
        })(),
      );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.splice(0));
  }

  /** One random operation. */
  async step(): Promise<void> {
    const ops: [number, string, () => Promise<unknown>][] = [
      [24, "createPod", () => this.createPod()],
      [12, "deletePod", () => this.deletePod()],
      [2, "vanishPod", () => this.vanishPod()],
      [1, "recreatePod", () => this.recreatePod()],
      [3, "finishPod", () => this.finishPod()],
      [4, "toggleReady", () => this.toggleReady()],
      [8, "scale", () => this.scale()],
      [10, "createService", () => this.createService()],
      [3, "deleteService", () => this.deleteService()],
      [1, "vanishService", () => this.vanishService()],
      [1, "recreateService", () => this.recreateService()],
      [8, "patchExternalIPs", () => this.patchExternalIPs()],
      [3, "flipType", () => this.flipType()],
      [1.5, "toggleSelector", () => this.toggleSelector()],
      [1.5, "createNamespace", () => this.createNamespace()],
      [1, "deleteNamespace", () => this.deleteNamespace()],
    ];
    let r = this.o.rand() * ops.reduce((s, [w]) => s + w, 0);
    for (const [w, name, fn] of ops) {
      r -= w;
      if (r <= 0) return this.record(name, fn);
    }
  }

  /**
   * What happens while Raven is down: pods with ports deleted (nothing holds them: their
   * ports are orphans then), a pod and a Service that vanish (finalizers stripped), sometimes a
   * namespace deleted or abandoned (its finalizers stripped too).
   */
  async whileDown(): Promise<void> {
    const bound = (await this.o.client.list(PODS, { labelSelector: "chaos" })).items.filter(
      (p) => p.metadata.annotations?.[KEYS.port] && !p.metadata.deletionTimestamp,
    );
    for (let i = 0; i < 2 && bound.length; i++) {
      const pod = bound.splice(Math.floor(this.o.rand() * bound.length), 1)[0];
      const { namespace, name } = pod.metadata;
      await this.record("deletePod", async () => {
        this.pods.delete(`${namespace}/${name}`);
        await this.o.client.delete(PODS, namespace!, name!);
        this.deletedWhileDown++;
      });
    }
    await this.record("vanishPod", () => this.vanishPod());
    await this.record("vanishService", () => this.vanishService(true));
    const r = this.o.rand();
    if (r < 0.25) await this.record("deleteNamespace", () => this.deleteNamespace(0));
    else if (r < 0.45) await this.record("abandonNamespace", () => this.abandonNamespace());
  }

  summary(): string {
    const kinds = [...new Set([...this.ok.keys(), ...this.failed.keys()])].sort();
    return kinds
      .map((k) => `${k} ${this.ok.get(k) ?? 0}/${(this.ok.get(k) ?? 0) + (this.failed.get(k) ?? 0)}`)
      .join(", ");
  }

  private async record(kind: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      if ((await fn()) === "skip") return;
      this.ok.set(kind, (this.ok.get(kind) ?? 0) + 1);
    } catch (err) {
      this.failed.set(kind, (this.failed.get(kind) ?? 0) + 1);
      const code = (err as any)?.code ?? (err as any)?.status?.code;
      const expected =
        isNotFound(err) || isConflict(err) || isAlreadyExists(err) || code === 403 || code === 409;
      if (!expected && this.surprises.length < 20) this.surprises.push(`${kind}: ${String(err)}`);
    }
  }

  private pick<T>(m: Map<string, T>): T | undefined {
    if (!m.size) return undefined;
    const all = [...m.values()];
    return all[Math.floor(this.o.rand() * all.length)];
  }

  private pickOf<T>(xs: T[]): T {
    return xs[Math.floor(this.o.rand() * xs.length)];
  }

  private liveNamespaces(): string[] {
    return [...this.o.namespaces, ...this.ephemeral.map((e) => e.name)];
  }

  /**
   * Each namespace has its own block of external IPs (4 per slot, SLOTS slots: 24 per namespace,
   * 172.16.0.80-223), so two live Services never list the same one; below the burst's (.230+).
   * The pool hands type LoadBalancer Services .2, .3, ... and may reach these: a name wins.
   */
  private externalIp(ns: string, slot: number, k: number): string {
    const stable = this.o.namespaces.indexOf(ns);
    const index =
      stable >= 0
        ? stable
        : this.o.namespaces.length + ((this.ephemeral.find((e) => e.name === ns)?.index ?? 0) % 3);
    return `172.16.0.${80 + index * SLOTS * 4 + slot * 4 + k}`;
  }

  private externalIps(ns: string, slot: number): string[] {
    const inRange = this.externalIp(ns, slot, Math.floor(this.o.rand() * 4));
    const outside = `10.9.9.${1 + Math.floor(this.o.rand() * 200)}`;
    const r = this.o.rand();
    if (r < 0.2) return [];
    if (r < 0.6) return [inRange];
    if (r < 0.8) return [outside, inRange];
    if (r < 0.9) return [outside];
    return [inRange, this.externalIp(ns, slot, (Number(inRange.split(".")[3]) + 1) % 4)];
  }

  private podsIn(ns: string): number {
    let n = 0;
    for (const p of this.pods.values()) if (p.ns === ns) n++;
    return n;
  }

  private async createPod(ns = this.pickOf(this.liveNamespaces()), name = `p${++this.seq}`): Promise<Skip> {
    if (this.podsIn(ns) >= MAX_PODS_PER_NAMESPACE) return this.deletePod();
    const r = this.o.rand();
    const hostNetwork = r < 0.06;
    const unschedulable = !hostNetwork && r < 0.1;
    const spec: any = { containers: [{ name: "c", image: "nginx", ports: [{ containerPort: 8080 }] }] };
    if (hostNetwork) spec.hostNetwork = true;
    if (unschedulable) spec.nodeSelector = { "chaos.raven.io/nowhere": "true" };
    const metadata: any = {
      name,
      namespace: ns,
      // hostNetwork pods use the node's IP: no Service selects them.
      labels: { app: hostNetwork ? "hostnet" : this.pickOf(APPS), chaos: "bare" },
    };
    if (this.o.rand() < 0.1) metadata.annotations = { "sandbox.raven.io/ready": "false" };
    this.pods.set(`${ns}/${name}`, { ns, name });
    try {
      await this.o.client.create(PODS, { apiVersion: "v1", kind: "Pod", metadata, spec });
    } catch (err) {
      this.pods.delete(`${ns}/${name}`);
      throw err;
    }
  }

  private async deletePod(): Promise<Skip> {
    const pod = this.pick(this.pods);
    if (!pod) return "skip";
    this.pods.delete(`${pod.ns}/${pod.name}`);
    await this.o.client.delete(PODS, pod.ns, pod.name);
  }

  /** Force-deletes a pod and strips its finalizers: it is gone at once, whatever Raven thinks. */
  private async vanish(res: typeof PODS, ns: string, name: string): Promise<void> {
    await this.o.client.delete(res, ns, name, { gracePeriodSeconds: 0 });
    try {
      await this.o.client.patch(res, ns, name, "merge", { metadata: { finalizers: null } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async vanishPod(): Promise<Skip> {
    const pod = this.pick(this.pods);
    if (!pod) return "skip";
    this.pods.delete(`${pod.ns}/${pod.name}`);
    await this.vanish(PODS, pod.ns, pod.name);
  }

  /** A pod vanishes and another of the same name (a new UID) is created at once. */
  private async recreatePod(): Promise<Skip> {
    const pod = this.pick(this.pods);
    if (!pod) return "skip";
    this.pods.delete(`${pod.ns}/${pod.name}`);
    await this.vanish(PODS, pod.ns, pod.name);
    await this.createPod(pod.ns, pod.name);
  }

  /** The pod's containers "complete": a finished pod gives its port back. */
  private async finishPod(): Promise<Skip> {
    const pod = this.pick(this.pods);
    if (!pod) return "skip";
    await this.o.client.patch(
      PODS,
      pod.ns,
      pod.name,
      "merge",
      { status: { phase: "Succeeded" } },
      {
        subresource: "status",
      },
    );
  }

  private async toggleReady(): Promise<Skip> {
    const pod = this.pick(this.pods);
    if (!pod) return "skip";
    const value = this.o.rand() < 0.5 ? "false" : null;
    await this.o.client.patch(PODS, pod.ns, pod.name, "merge", {
      metadata: { annotations: { "sandbox.raven.io/ready": value } },
    });
  }

  private async scale(): Promise<Skip> {
    const d = this.pickOf(this.o.deployments);
    await this.o.client.patch(DEPLOYMENTS, d.ns, d.name, "merge", {
      spec: { replicas: Math.floor(this.o.rand() * 7) },
    });
  }

  private serviceSpec(ns: string, slot: number): any {
    const r = this.o.rand();
    const spec: any = {
      ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
      selector: { app: this.pickOf(APPS) },
    };
    if (this.o.rand() < 0.2) spec.ports.push({ name: "dns", port: 53, targetPort: 5353, protocol: "UDP" });
    if (r < 0.06) spec.clusterIP = "None";
    else if (r < 0.12) delete spec.selector;
    else if (r < 0.4) spec.type = "LoadBalancer";
    if (spec.clusterIP !== "None" && this.o.rand() < 0.6) spec.externalIPs = this.externalIps(ns, slot);
    return spec;
  }

  private async createService(
    ns = this.pickOf(this.liveNamespaces()),
    slot = Math.floor(this.o.rand() * SLOTS),
    spec?: any,
  ): Promise<Skip> {
    const name = `svc-${slot}`;
    const k = `${ns}/${name}`;
    if (this.services.has(k) && !spec) return this.patchExternalIPs();
    const body = spec ?? this.serviceSpec(ns, slot);
    this.services.set(k, { ns, name });
    try {
      await this.o.client.create(SERVICES, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, namespace: ns, labels: { chaos: "svc" } },
        spec: body,
      });
    } catch (err) {
      this.services.delete(k);
      throw err;
    }
  }

  private async deleteService(): Promise<Skip> {
    const svc = this.pick(this.services);
    if (!svc) return "skip";
    this.services.delete(`${svc.ns}/${svc.name}`);
    await this.o.client.delete(SERVICES, svc.ns, svc.name);
  }

  /** A Service vanishes (finalizer stripped); `withFip`: prefer one holding floating IPs. */
  private async vanishService(withFip = false): Promise<Skip> {
    let svc = this.pick(this.services);
    if (withFip) {
      const all = (await this.o.client.list(SERVICES, { labelSelector: "chaos=svc" })).items.filter(
        (s) =>
          s.spec.type === "LoadBalancer" ||
          (s.spec.externalIPs ?? []).some((ip: string) => ip.startsWith("172.16.")),
      );
      if (all.length) {
        const s = this.pickOf(all);
        svc = { ns: s.metadata.namespace!, name: s.metadata.name! };
      }
    }
    if (!svc) return "skip";
    this.services.delete(`${svc.ns}/${svc.name}`);
    await this.vanish(SERVICES, svc.ns, svc.name);
  }

  /** A Service vanishes and one of the same name and spec (a new UID) is created at once. */
  private async recreateService(): Promise<Skip> {
    const svc = this.pick(this.services);
    if (!svc) return "skip";
    const old = await this.o.client.get(SERVICES, svc.ns, svc.name);
    this.services.delete(`${svc.ns}/${svc.name}`);
    await this.vanish(SERVICES, svc.ns, svc.name);
    const spec = { ...old.spec };
    for (const f of ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"]) delete spec[f];
    spec.ports = (spec.ports ?? []).map((p: any) => {
      const { nodePort: _, ...rest } = p;
      return rest;
    });
    if (old.spec.clusterIP === "None") spec.clusterIP = "None";
    await this.createService(svc.ns, Number(svc.name.slice(4)), spec);
  }

  private async patchExternalIPs(): Promise<Skip> {
    const svc = this.pick(this.services);
    if (!svc) return "skip";
    const slot = Number(svc.name.slice(4));
    const externalIPs = this.externalIps(svc.ns, slot);
    try {
      await this.o.client.patch(SERVICES, svc.ns, svc.name, "merge", { spec: { externalIPs } });
    } catch (err) {
      // The sandbox keeps the externalTrafficPolicy it defaulted for a ClusterIP Service with
      // externalIPs, and then refuses it once they are gone: drop it as well.
      if (!/externalTrafficPolicy/.test(String(err))) throw err;
      await this.o.client.patch(SERVICES, svc.ns, svc.name, "merge", {
        spec: { externalIPs, externalTrafficPolicy: null },
      });
    }
  }

  /** A Service loses its selector (no load balancer wanted any more) or gets one back. */
  private async toggleSelector(): Promise<Skip> {
    const svc = this.pick(this.services);
    if (!svc) return "skip";
    const selector = this.o.rand() < 0.4 ? null : { app: this.pickOf(APPS) };
    await this.o.client.patch(SERVICES, svc.ns, svc.name, "merge", { spec: { selector } });
  }

  /**
   * `n` Services with an external IP each (172.16.0.230 and up), then all of them vanish and
   * are created again under the same names and specs at once: new UIDs, same addresses.
   * Answers the Services' names (in `default`).
   */
  async recreateBurst(n: number, ready: (names: string[]) => Promise<void>): Promise<string[]> {
    const c = this.o.client;
    const names = Array.from({ length: n }, (_, i) => `burst-${i}`);
    const spec = (i: number) => ({
      selector: { app: this.pickOf(APPS) },
      ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
      externalIPs: [`172.16.0.${230 + i}`],
    });
    const body = (name: string, i: number) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "default", labels: { chaos: "burst" } },
      spec: spec(i),
    });
    await Promise.all(names.map((name, i) => c.create(SERVICES, body(name, i))));
    await ready(names);
    await Promise.all(
      names.map(async (name, i) => {
        await c.patch(SERVICES, "default", name, "merge", { metadata: { finalizers: null } });
        await c.delete(SERVICES, "default", name, { gracePeriodSeconds: 0 }).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
        for (let attempt = 0; ; attempt++) {
          try {
            await c.create(SERVICES, body(name, i));
            this.ok.set("recreateBurst", (this.ok.get("recreateBurst") ?? 0) + 1);
            return;
          } catch (err) {
            // AlreadyExists until the old one is gone (Raven may have put its finalizer back).
            if (!isAlreadyExists(err) || attempt > 500) throw err;
            await sleep(20);
          }
        }
      }),
    );
    return names;
  }

  /** ClusterIP <-> LoadBalancer (the way back drops the node ports, as a user must). */
  private async flipType(): Promise<Skip> {
    const svc = this.pick(this.services);
    if (!svc) return "skip";
    const cur = await this.o.client.get(SERVICES, svc.ns, svc.name);
    if (cur.spec.clusterIP === "None" || cur.metadata.deletionTimestamp) return "skip";
    if (cur.spec.type !== "LoadBalancer") {
      await this.o.client.patch(SERVICES, svc.ns, svc.name, "merge", { spec: { type: "LoadBalancer" } });
      return;
    }
    const spec = { ...cur.spec, type: "ClusterIP" };
    delete spec.allocateLoadBalancerNodePorts;
    delete spec.externalTrafficPolicy;
    spec.ports = spec.ports.map((p: any) => {
      const { nodePort: _, ...rest } = p;
      return rest;
    });
    await this.o.client.update(SERVICES, { ...cur, spec });
  }

  private async createNamespace(): Promise<Skip> {
    if (this.ephemeral.length >= MAX_EPHEMERAL_NAMESPACES) return this.deleteNamespace();
    const index = ++this.nsSeq;
    const name = `chaos-eph-${index}`;
    await this.o.client.create(NAMESPACES, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
    this.ephemeral.push({ name, index, since: Date.now() });
  }

  private forgetNamespace(name: string): void {
    const i = this.ephemeral.findIndex((e) => e.name === name);
    if (i >= 0) this.ephemeral.splice(i, 1);
    for (const [k, p] of this.pods) if (p.ns === name) this.pods.delete(k);
    for (const [k, s] of this.services) if (s.ns === name) this.services.delete(k);
  }

  /** Deletes an ephemeral namespace that has lived a while (its pods and Services go with it). */
  private async deleteNamespace(minAgeMs = 4000): Promise<Skip> {
    const old = this.ephemeral.filter((e) => Date.now() - e.since >= minAgeMs);
    if (!old.length) return "skip";
    const ns = this.pickOf(old).name;
    this.forgetNamespace(ns);
    await this.o.client.delete(NAMESPACES, "", ns);
  }

  /** A namespace vanishes behind Raven's back: its pods, Services and itself lose their finalizers. */
  private async abandonNamespace(): Promise<Skip> {
    if (!this.ephemeral.length) return "skip";
    const ns = this.pickOf(this.ephemeral).name;
    this.forgetNamespace(ns);
    await this.o.client.delete(NAMESPACES, "", ns);
    for (const res of [PODS, SERVICES])
      for (const o of (await this.o.client.list(res, { namespace: ns })).items as KubeObject[])
        await this.vanish(res, ns, o.metadata.name!).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
    await this.o.client.patch(NAMESPACES, "", ns, "merge", { metadata: { finalizers: null } });
  }
}

/**
 * The chaos tests' stable world: namespaces chaos-a and chaos-b (default exists) and a
 * 3-replica Deployment in default and in chaos-a; what a Churn over it needs to know.
 */
export async function createChaosWorld(
  client: KubeClient,
): Promise<Pick<ChurnOptions, "namespaces" | "deployments">> {
  const namespaces = ["default", "chaos-a", "chaos-b"];
  const deployments = [
    { ns: "default", name: "web", app: "web" },
    { ns: "chaos-a", name: "api", app: "api" },
  ];
  for (const name of namespaces.filter((n) => n !== "default"))
    await client.create(NAMESPACES, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  for (const d of deployments)
    await client.create(DEPLOYMENTS, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: d.name, namespace: d.ns },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: d.app, chaos: "deploy" } },
        template: {
          metadata: { labels: { app: d.app, chaos: "deploy" } },
          spec: { containers: [{ name: "c", image: "nginx", ports: [{ containerPort: 8080 }] }] },
        },
      },
    });
  return { namespaces, deployments };
}
