// Networks and their subnets. A Network is named after what it serves (`pods-<namespace>`,
// `services`, `external`), so creating it settles which owner has it; its spec records the
// CIDR chosen for it; the Subnet is named after that CIDR, so creating it claims the CIDR
// across processes. A CIDR lost to another network is re-chosen with the Network's
// resourceVersion as guard, so all writers agree on one subnet per network.
import { isAlreadyExists, isConflict } from "../../kube/errors.ts";
import { KeyedLock } from "../../util/keyed-lock.ts";
import type { NetworkRequest, NetworkWithSubnet } from "../backend.ts";
import { SdnError } from "../backend.ts";
import { cidrToName, defaultLayout, firstFreeSubnet, formatCidr, parseCidr } from "../ipam.ts";
import type { NetworkPurpose } from "../model.ts";
import { type EmbeddedContext, MAX_ATTEMPTS } from "./context.ts";
import { networkName, newNetworkCr, newSubnetCr, toNetwork, toSubnet } from "./convert.ts";
import { Reservations } from "./reservations.ts";
import { NETWORK_INDEX } from "./store.ts";
import type { NetworkCr, SubnetCr } from "./types.ts";

export interface NetworkConfig {
  /** Where namespace subnets are carved from. */
  podCidr: string;
  /** Size of each carved subnet. */
  namespaceSubnetPrefix: number;
  /** Never carved (e.g. the default namespace's, which is requested explicitly). */
  reservedCidrs: string[];
}

export interface CompleteNetwork {
  network: NetworkCr;
  subnet: SubnetCr;
}

export class Networks {
  private readonly ctx: EmbeddedContext;
  private readonly cfg: NetworkConfig;
  private readonly lock = new KeyedLock();
  private readonly carving = new Reservations();

  constructor(ctx: EmbeddedContext, cfg: NetworkConfig) {
    this.ctx = ctx;
    this.cfg = cfg;
  }

  async ensure(req: NetworkRequest): Promise<NetworkWithSubnet> {
    if (req.cidr !== undefined) checkCidr(req.cidr);
    const name = networkName(req.purpose, req.owner);
    return this.lock.run(name, async () => this.view(await this.converge(req, name)));
  }

  find(ownerUid: string, purpose: NetworkPurpose): NetworkWithSubnet | undefined {
    for (const net of this.ctx.store.byOwner("network", ownerUid)) {
      if (net.spec.purpose !== purpose || net.metadata.deletionTimestamp) continue;
      const subnet = this.subnetOf(net);
      if (subnet) return this.view({ network: net, subnet });
    }
    return undefined;
  }

  /** The external network, where floating IPs come from. */
  external(): CompleteNetwork | undefined {
    const net = this.ctx.store.get("network", networkName("external", clusterOwner));
    const subnet = net && this.subnetOf(net);
    return net && subnet ? { network: net, subnet } : undefined;
  }

  byId(networkId: string): NetworkCr | undefined {
    return this.ctx.store.byUid("network", networkId);
  }

  /** The subnet a network's spec names (or, failing that, any subnet of the network). */
  subnetOf(net: NetworkCr): SubnetCr | undefined {
    const uid = net.metadata.uid!;
    const named = this.ctx.store.get("subnet", cidrToName(net.spec.cidr));
    if (named?.spec.networkId === uid) return named;
    return this.ctx.store.byIndex("subnet", NETWORK_INDEX, uid)[0];
  }

  async delete(networkId: string): Promise<void> {
    const net = this.byId(networkId);
    if (!net) return;
    await this.lock.run(net.metadata.name!, async () => {
      const ports = this.ctx.store.byIndex("port", NETWORK_INDEX, networkId);
      if (ports.length > 0)
        throw new SdnError(
          "InUse",
          `network ${net.metadata.name} still has ${ports.length} port(s), e.g. ${ports[0].metadata.namespace}/${ports[0].metadata.name}`,
        );
      for (const s of this.ctx.store.byIndex("subnet", NETWORK_INDEX, networkId))
        await this.ctx.store.delete("subnet", s);
      await this.ctx.store.delete("network", net);
    });
  }

  view(n: CompleteNetwork): NetworkWithSubnet {
    return {
      network: toNetwork(n.network, [n.subnet], this.ctx.tenantId),
      subnet: toSubnet(n.subnet, this.ctx.tenantId),
    };
  }

  private async converge(req: NetworkRequest, name: string): Promise<CompleteNetwork> {
    const store = this.ctx.store;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const net = store.get("network", name);
      if (!net) {
        await this.createNetwork(req, name);
        continue;
      }
      if (net.spec.owner.uid !== req.owner.uid || net.metadata.deletionTimestamp)
        throw new SdnError(
          "Conflict",
          `network ${name} belongs to ${net.spec.owner.kind} ${net.spec.owner.name} (uid ${net.spec.owner.uid}), not to uid ${req.owner.uid}; retry once it is cleaned up`,
        );
      const subnet = this.subnetOf(net);
      if (subnet) return { network: net, subnet };
      const claimed = await this.claimSubnet(net);
      if (claimed === "retry") continue;
      if (claimed !== "taken") return { network: net, subnet: claimed };
      // The CIDR went to another network. An explicit one is not ours to change.
      if (req.cidr !== undefined && net.spec.cidr === req.cidr)
        throw new SdnError("Conflict", `CIDR ${req.cidr} is in use by another network`);
      await this.rechoose(net);
    }
    throw new SdnError(
      "Unavailable",
      `network ${name}: still racing other writers after ${MAX_ATTEMPTS} attempts`,
    );
  }

  private async createNetwork(req: NetworkRequest, name: string): Promise<void> {
    const cidr = req.cidr ?? this.carve();
    try {
      await this.ctx.store.create("network", newNetworkCr(req.owner, req.name, req.purpose, cidr));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await this.ctx.store.fetch("network", "", name);
    } finally {
      this.carving.release("pod", cidr);
    }
  }

  /** Creates the subnet the network's spec names: the subnet, "taken" by another network, or "retry". */
  private async claimSubnet(net: NetworkCr): Promise<SubnetCr | "taken" | "retry"> {
    try {
      return await this.ctx.store.create("subnet", newSubnetCr(net));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    const existing = await this.ctx.store.fetch("subnet", "", cidrToName(net.spec.cidr));
    if (!existing) return "retry";
    return existing.spec.networkId === net.metadata.uid ? existing : "taken";
  }

  private async rechoose(net: NetworkCr): Promise<void> {
    const cidr = this.carve();
    this.ctx.logger.debug(
      { network: net.metadata.name, lost: net.spec.cidr, next: cidr },
      "CIDR claimed by another network first; choosing the next",
    );
    try {
      await this.ctx.store.update("network", { ...structuredClone(net), spec: { ...net.spec, cidr } });
    } catch (err) {
      if (!isConflict(err)) throw err;
      await this.ctx.store.fetch("network", "", net.metadata.name!);
    } finally {
      this.carving.release("pod", cidr);
    }
  }

  /** Reserves the first free block of the pod CIDR (until the caller releases it). */
  private carve(): string {
    const taken = [
      ...this.cfg.reservedCidrs,
      ...this.ctx.store.list("subnet").map((s) => s.spec.cidr),
      ...this.ctx.store.list("network").map((n) => n.spec.cidr),
      ...this.carving.of("pod"),
    ];
    const cidr = firstFreeSubnet(this.cfg.podCidr, this.cfg.namespaceSubnetPrefix, taken);
    if (!cidr)
      throw new SdnError(
        "PoolExhausted",
        `no free /${this.cfg.namespaceSubnetPrefix} left in ${this.cfg.podCidr} (${taken.length} taken)`,
      );
    this.carving.reserve("pod", cidr);
    return cidr;
  }
}

const clusterOwner = { kind: "Cluster", namespace: "", name: "cluster", uid: "cluster" } as const;

function checkCidr(cidr: string): void {
  const c = parseCidr(cidr);
  if (!c) throw new SdnError("Invalid", `${cidr} is not an IPv4 CIDR`);
  // The Subnet is named after its CIDR: one spelling per block.
  if (formatCidr(c) !== cidr) throw new SdnError("Invalid", `${cidr} has host bits set (${formatCidr(c)}?)`);
  try {
    defaultLayout(cidr);
  } catch (err) {
    throw new SdnError("Invalid", (err as Error).message);
  }
}
