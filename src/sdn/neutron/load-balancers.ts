// Services as Octavia load balancers: a VIP port Raven makes in Neutron at the ClusterIP (so a
// floating IP can point at it, whichever network driver Octavia has), a load balancer on it,
// one listener and ROUND_ROBIN pool per Service port, the pool's members set in one batch.
// Converging compares with what the state holds and calls Octavia only for differences: an
// unchanged Service costs no call.
import { KeyedLock } from "../../util/keyed-lock.ts";
import type { ListenerRequest, LoadBalancerRequest } from "../backend.ts";
import { SdnError } from "../backend.ts";
import type { LbProtocol, Listener, LoadBalancer, LoadBalancerState, Member, Pool, Port } from "../model.ts";
import { OpenStackError } from "./http.ts";
import { type NeutronApi, type NeutronPort, neutronErrorType } from "./neutron-api.ts";
import type {
  MemberSpec,
  OctaviaApi,
  OctaviaListener,
  OctaviaLoadBalancer,
  OctaviaMember,
  OctaviaPool,
} from "./octavia-api.ts";
import { clusterTag, describe } from "./ownership.ts";
import type { NeutronState } from "./state.ts";

/** device_owner of the VIP ports Raven makes for its load balancers. */
export const VIP_DEVICE_OWNER = "raven:lb-vip";

export interface LoadBalancerDeps {
  neutron: NeutronApi;
  octavia: OctaviaApi;
  state: NeutronState;
  clusterId: string;
  projectId?: string;
}

const listenerKey = (protocol: string, port: number) => `${protocol}/${port}`;
const memberKey = (m: { address: string; protocol_port: number; subnet_id?: string | null }) =>
  `${m.address}:${m.protocol_port}:${m.subnet_id ?? ""}`;

export class NeutronLoadBalancers {
  private readonly d: LoadBalancerDeps;
  private readonly lock = new KeyedLock();

  constructor(deps: LoadBalancerDeps) {
    this.d = deps;
  }

  ensure(req: LoadBalancerRequest): Promise<LoadBalancerState> {
    return this.lock.run(req.owner.uid, () => this.converge(req));
  }

  find(ownerUid: string): LoadBalancerState | undefined {
    return this.d.state.loadBalancerOf(ownerUid)?.lb;
  }

  async delete(id: string): Promise<void> {
    const owned = this.d.state.loadBalancer(id);
    await this.d.octavia.deleteLoadBalancer(id);
    this.d.state.removeLoadBalancer(id);
    // Its VIP port, once nothing uses it.
    const vip = owned?.lb.loadbalancer.vip_port_id;
    if (vip && this.d.state.port(vip)) {
      await this.d.neutron.deletePort(vip);
      this.d.state.removePort(vip);
    }
  }

  private async converge(req: LoadBalancerRequest): Promise<LoadBalancerState> {
    const { state, octavia } = this.d;
    let owned = state.loadBalancerOf(req.owner.uid);
    if (owned && owned.lb.loadbalancer.vip_address !== req.vipAddress) {
      // The ClusterIP changed (the Service was made again under the same UID? never; but a
      // leftover of a crash may sit at another address): start over.
      await this.delete(owned.lb.loadbalancer.id);
      owned = undefined;
    }
    const description = describe(this.d.clusterId, req.owner);
    if (!owned) {
      const vip = await this.vipPort(req, description);
      const adopted = vip.existed ? await this.onVip(req.name, vip.port.id, description) : undefined;
      if (adopted) return this.converge(req);
      const lb = await octavia.createLoadBalancer({
        name: req.name,
        vip_port_id: vip.port.id,
        vip_subnet_id: req.vipSubnetId,
        vip_address: req.vipAddress,
        description,
        tags: [clusterTag(this.d.clusterId)],
        ...(this.d.projectId ? { project_id: this.d.projectId } : {}),
      });
      const active = await octavia.waitActive(lb.id);
      owned = state.putLoadBalancer(
        { loadbalancer: toLoadBalancer(active), listeners: [], pools: [] },
        description,
      )!;
    }
    try {
      return await this.convergeListeners(owned.lb, req, description);
    } catch (err) {
      // Octavia has a listener or pool the state does not (a create whose answer never came):
      // read the load balancer again, so the retry starts from what Octavia has.
      if (err instanceof OpenStackError && err.status === 409)
        await this.reload(owned.lb.loadbalancer.id, description);
      throw err;
    }
  }

  /** One listener and pool per Service port, with exactly the requested members. */
  private async convergeListeners(
    have: LoadBalancerState,
    req: LoadBalancerRequest,
    description: string,
  ): Promise<LoadBalancerState> {
    const { state, octavia } = this.d;
    const lbId = have.loadbalancer.id;
    const tags = [clusterTag(this.d.clusterId)];
    const project = this.d.projectId ? { project_id: this.d.projectId } : {};
    const listeners = [...have.listeners];
    const pools = [...have.pools];
    const wanted = new Map(req.listeners.map((l) => [listenerKey(l.protocol, l.port), l]));
    // Listeners no longer wanted go, their pools first.
    for (const l of [...listeners]) {
      if (wanted.has(listenerKey(l.protocol, l.protocol_port))) continue;
      const pool = pools.find((p) => p.listener_id === l.id);
      if (pool) {
        await octavia.deletePool(lbId, pool.id);
        pools.splice(pools.indexOf(pool), 1);
      }
      await octavia.deleteListener(lbId, l.id);
      listeners.splice(listeners.indexOf(l), 1);
    }
    for (const [key, want] of wanted) {
      let listener = listeners.find((l) => listenerKey(l.protocol, l.protocol_port) === key);
      if (!listener) {
        const made = await octavia.createListener(lbId, {
          name: want.name,
          protocol: want.protocol,
          protocol_port: want.port,
          tags,
          ...project,
        });
        listener = toListener(made, lbId);
        listeners.push(listener);
      }
      let pool = pools.find((p) => p.listener_id === listener.id);
      if (!pool) {
        const made = await octavia.createPool(lbId, {
          name: want.name,
          protocol: want.protocol,
          listener_id: listener.id,
          tags,
          ...project,
        });
        pool = toPool(made, listener.id, lbId, []);
        pools.push(pool);
        listener.default_pool_id = pool.id;
      }
      const desired = membersOf(want);
      if (!sameMembers(pool.members, desired)) {
        await octavia.setMembers(lbId, pool.id, desired);
        const members = await octavia.listMembers(pool.id);
        pools[pools.indexOf(pool)] = { ...pool, members: members.map((m) => toMember(m, pool.id)) };
      }
    }
    const lb: LoadBalancerState = {
      loadbalancer: {
        ...have.loadbalancer,
        listeners: listeners.map((l) => ({ id: l.id })),
        pools: pools.map((p) => ({ id: p.id })),
      },
      listeners,
      pools,
    };
    state.putLoadBalancer(lb, description);
    return lb;
  }

  /**
   * The Service's VIP port at its ClusterIP: Raven's own, found again after a crash or a create
   * whose answer never came (`existed`: a load balancer may already sit on it).
   */
  private async vipPort(
    req: LoadBalancerRequest,
    description: string,
  ): Promise<{ port: Port; existed: boolean }> {
    const have = this.d.state.portsOf(req.owner.uid).find((p) => p.device_owner === VIP_DEVICE_OWNER);
    if (have?.fixed_ips[0]?.ip_address === req.vipAddress) return { port: have, existed: true };
    const subnet = this.d.state.subnet(req.vipSubnetId);
    if (!subnet)
      throw new SdnError("NotFound", `the service subnet ${req.vipSubnetId} is not one of Raven's`);
    if (have) {
      await this.d.neutron.deletePort(have.id);
      this.d.state.removePort(have.id);
    }
    let port: NeutronPort;
    try {
      port = await this.d.neutron.createPort({
        name: req.name,
        network_id: subnet.network_id,
        fixed_ips: [{ subnet_id: subnet.id, ip_address: req.vipAddress }],
        device_owner: VIP_DEVICE_OWNER,
        device_id: req.owner.uid,
        description,
        ...(this.d.projectId ? { project_id: this.d.projectId } : {}),
      });
    } catch (err) {
      if (neutronErrorType(err) !== "IpAddressAlreadyAllocated") throw err;
      // Ours from an earlier try? Then it is the one; anyone else's is a clear error.
      const [holder] = await this.d.neutron.listPorts({
        network_id: subnet.network_id,
        fixed_ips: `ip_address=${req.vipAddress}`,
      });
      if (holder?.device_id !== req.owner.uid || holder.description !== description) throw err;
      this.d.state.putPort(holder);
      return { port: holder, existed: true };
    }
    this.d.state.putPort(port);
    await this.d.neutron.addTag("ports", port.id, clusterTag(this.d.clusterId)).catch(() => {});
    return { port, existed: false };
  }

  /** Everything of this cluster's load balancers, as Octavia has them (for a resync). */
  async list(): Promise<{ lb: LoadBalancerState; description: string }[]> {
    return this.assemble(await this.d.octavia.listLoadBalancers(this.tagged()));
  }

  private tagged() {
    return { tags: clusterTag(this.d.clusterId) };
  }

  /** Load balancers with their listeners, pools and members, as Octavia has them now. */
  private async assemble(
    lbs: OctaviaLoadBalancer[],
  ): Promise<{ lb: LoadBalancerState; description: string }[]> {
    const o = this.d.octavia;
    const live = lbs.filter(
      (lb) => lb.provisioning_status !== "DELETED" && lb.provisioning_status !== "PENDING_DELETE",
    );
    if (!live.length) return [];
    const [listeners, pools] = await Promise.all([
      o.listListeners(this.tagged()),
      o.listPools(this.tagged()),
    ]);
    const out: { lb: LoadBalancerState; description: string }[] = [];
    for (const lb of live) {
      const ls = listeners
        .filter((l) => l.loadbalancers.some((x) => x.id === lb.id))
        .map((l) => toListener(l, lb.id));
      const ps: Pool[] = [];
      for (const p of pools.filter((p) => p.loadbalancers.some((x) => x.id === lb.id))) {
        const members = await o.listMembers(p.id);
        ps.push(
          toPool(
            p,
            p.listeners[0]?.id ?? "",
            lb.id,
            members.map((m) => toMember(m, p.id)),
          ),
        );
      }
      out.push({
        lb: { loadbalancer: toLoadBalancer(lb), listeners: ls, pools: ps },
        description: lb.description,
      });
    }
    return out;
  }

  /**
   * The load balancer already on `vipPortId`, read again from Octavia: a create whose answer
   * never came (a timeout, or the controller stopped) may still have made it, and the VIP port,
   * Raven's own, says which one is the Service's.
   */
  private async onVip(
    name: string,
    vipPortId: string,
    description: string,
  ): Promise<LoadBalancerState | undefined> {
    const found = (await this.d.octavia.listLoadBalancers({ name })).filter(
      (lb) => lb.vip_port_id === vipPortId,
    );
    const [got] = await this.assemble(found);
    if (!got) return undefined;
    await this.d.octavia.waitActive(got.lb.loadbalancer.id);
    return this.d.state.putLoadBalancer(got.lb, description)?.lb;
  }

  /** Reads one load balancer again (after Octavia refused a change the state did not foresee). */
  private async reload(lbId: string, description: string): Promise<void> {
    const lb = await this.d.octavia.getLoadBalancer(lbId);
    const [got] = await this.assemble(lb ? [lb] : []);
    if (got) this.d.state.putLoadBalancer(got.lb, description);
    else this.d.state.removeLoadBalancer(lbId);
  }
}

function membersOf(l: ListenerRequest): MemberSpec[] {
  return l.members.map((m) => ({
    name: m.name,
    address: m.address,
    protocol_port: m.port,
    ...(m.subnetId ? { subnet_id: m.subnetId } : {}),
  }));
}

function sameMembers(have: Member[], want: MemberSpec[]): boolean {
  if (have.length !== want.length) return false;
  const h = new Set(have.map(memberKey));
  return want.every((m) => h.has(memberKey(m)));
}

function toLoadBalancer(lb: OctaviaLoadBalancer): LoadBalancer {
  return {
    id: lb.id,
    name: lb.name,
    vip_address: lb.vip_address,
    vip_subnet_id: lb.vip_subnet_id,
    vip_port_id: lb.vip_port_id,
    provisioning_status: lb.provisioning_status === "DELETED" ? "PENDING_DELETE" : lb.provisioning_status,
    operating_status: lb.operating_status as LoadBalancer["operating_status"],
    listeners: lb.listeners,
    pools: lb.pools,
    provider: lb.provider,
    tenant_id: lb.project_id,
  };
}

function toListener(l: OctaviaListener, lbId: string): Listener {
  return {
    id: l.id,
    name: l.name,
    protocol: l.protocol as LbProtocol,
    protocol_port: l.protocol_port,
    loadbalancer_id: lbId,
    default_pool_id: l.default_pool_id ?? "",
  };
}

function toPool(p: OctaviaPool, listenerId: string, lbId: string, members: Member[]): Pool {
  return {
    id: p.id,
    name: p.name,
    protocol: p.protocol as LbProtocol,
    lb_algorithm: "ROUND_ROBIN",
    listener_id: listenerId,
    loadbalancer_id: lbId,
    members,
    provisioning_status: (p.provisioning_status === "DELETED"
      ? "PENDING_DELETE"
      : p.provisioning_status) as Pool["provisioning_status"],
  };
}

function toMember(m: OctaviaMember, poolId: string): Member {
  return {
    id: m.id,
    name: m.name,
    address: m.address,
    protocol_port: m.protocol_port,
    subnet_id: m.subnet_id ?? null,
    pool_id: poolId,
    operating_status: m.operating_status as Member["operating_status"],
    provisioning_status: m.provisioning_status as Member["provisioning_status"],
  };
}
