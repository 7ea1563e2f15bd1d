// Namespace -> network + subnet. The default namespace gets the configured default CIDR,
// others a carved subnet. The network of a namespace being deleted (or gone) goes once its
// last port has been released; networks of namespaces deleted while no controller ran are
// removed by orphan sweeping, so no finalizer is needed.

import { isObjectGone } from "../kube/errors.ts";
import type { KubeObject } from "../kube/objects.ts";
import { NAMESPACES } from "../kube/resource.ts";
import { type NetworkWithSubnet, SdnError } from "../sdn/backend.ts";
import { type ControllerDeps, ownerOf } from "./context.ts";
import { GoneUids } from "./gone-uids.ts";
import { metadataPatch } from "./meta-patch.ts";

export class NamespaceReconciler {
  private readonly d: ControllerDeps;
  /** Namespaces gone from the cache, so their networks can go. */
  private readonly gone = new GoneUids();
  /** Namespaces whose network waits for its last ports to go, by the network's subnet id. */
  private readonly draining = new Map<string, string>();

  constructor(deps: ControllerDeps) {
    this.d = deps;
  }

  forget(name: string, uid: string): void {
    this.gone.add(name, uid);
  }

  /** The namespace's network, creating it if need be (pods call this before their namespace's turn). */
  async ensureNetwork(ns: KubeObject): Promise<NetworkWithSubnet> {
    const existing = this.d.backend.findNetwork(ns.metadata.uid!, "pods");
    if (existing) return existing;
    const name = ns.metadata.name!;
    try {
      const net = await this.d.backend.ensureNetwork({
        owner: ownerOf("Namespace", ns),
        name: `${name}-net`,
        purpose: "pods",
        cidr: name === "default" ? this.d.config.defaultNamespaceCidr : undefined,
      });
      this.d.metrics.backendOps.inc({ op: "ensureNetwork", result: "ok" });
      return net;
    } catch (err) {
      this.d.metrics.backendOps.inc({ op: "ensureNetwork", result: "error" });
      if (err instanceof SdnError && err.reason === "PoolExhausted")
        this.d.recorder.event(
          ns,
          "Warning",
          "NetworkPoolExhausted",
          `no free subnet left in ${this.d.config.podCidr} for namespace ${name}`,
        );
      throw err;
    }
  }

  /** The namespace to sync again now that an address of `subnetId` is free, if its network waits for that. */
  drainedBy(subnetId: string): string | undefined {
    return this.draining.get(subnetId);
  }

  async sync(name: string): Promise<void> {
    const ns = this.d.informers.namespaces.get(name);
    // releaseNetwork throws (so the key retries) while ports remain on the network.
    await this.gone.release(name, ns?.metadata.uid, (uid) => this.releaseNetwork(name, uid));
    if (!ns) return;
    const legacyFinalizer = { name: this.d.keys.legacyFinalizers.namespace, present: false };
    await this.patch(ns, { finalizer: legacyFinalizer });
    if (ns.metadata.deletionTimestamp) return this.releaseNetwork(name, ns.metadata.uid!);
    await this.ensureNetwork(ns);
  }

  /** Deletes the network once no port uses it; throws (so the key is retried) while ports remain. */
  private async releaseNetwork(name: string, uid: string): Promise<void> {
    // A network a crash left without its subnet (half made or half deleted) goes too.
    const net =
      this.d.backend.findNetwork(uid, "pods") ??
      this.d.backend
        .inventory()
        .networks.filter((n) => n.owner.uid === uid && n.object.purpose === "pods")
        .map((n) => ({ network: n.object, subnet: n.object.subnet }))[0];
    if (!net) return;
    const ports = this.d.backend.portsOnNetwork(net.network.id);
    if (ports.length) {
      if (net.subnet) this.draining.set(net.subnet.id, name);
      throw new SdnError("InUse", `network ${net.network.name} still has ${ports.length} port(s)`);
    }
    await this.d.backend.deleteNetwork(net.network.id);
    if (net.subnet) this.draining.delete(net.subnet.id);
    this.d.metrics.backendOps.inc({ op: "deleteNetwork", result: "ok" });
  }

  private async patch(ns: KubeObject, want: Parameters<typeof metadataPatch>[1]): Promise<void> {
    const body = metadataPatch(ns, want);
    if (!body) return;
    try {
      await this.d.client.patch(NAMESPACES, "", ns.metadata.name!, "strategic", body);
    } catch (err) {
      if (!isObjectGone(err)) throw err;
    }
  }
}
