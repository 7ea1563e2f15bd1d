// Octavia v2, the calls Raven makes: load balancers, listeners, pools and their members (one
// batch update per pool), with the waits Octavia needs: every change puts the load balancer in
// PENDING_* for a while, during which the next change gets 409 "immutable"; a change waits for
// ACTIVE and is retried on that 409.
import type { LbProtocol } from "../model.ts";
import type { OpenStackClient, Query } from "./client.ts";
import { OpenStackError } from "./http.ts";

const LB = "load-balancer" as const;

export type ProvisioningStatus =
  | "ACTIVE"
  | "PENDING_CREATE"
  | "PENDING_UPDATE"
  | "PENDING_DELETE"
  | "DELETED"
  | "ERROR";

export interface OctaviaLoadBalancer {
  id: string;
  name: string;
  description: string;
  vip_address: string;
  vip_subnet_id: string;
  vip_port_id: string;
  provisioning_status: ProvisioningStatus;
  operating_status: string;
  listeners: { id: string }[];
  pools: { id: string }[];
  provider: string;
  project_id: string;
  tags: string[];
}

export interface OctaviaListener {
  id: string;
  name: string;
  protocol: LbProtocol;
  protocol_port: number;
  default_pool_id: string | null;
  loadbalancers: { id: string }[];
  provisioning_status: ProvisioningStatus;
  tags: string[];
}

export interface OctaviaPool {
  id: string;
  name: string;
  protocol: LbProtocol;
  lb_algorithm: string;
  listeners: { id: string }[];
  loadbalancers: { id: string }[];
  members: { id: string }[];
  provisioning_status: ProvisioningStatus;
  tags: string[];
}

export interface OctaviaMember {
  id: string;
  name: string;
  address: string;
  protocol_port: number;
  subnet_id: string | null;
  provisioning_status: ProvisioningStatus;
  operating_status: string;
}

export interface MemberSpec {
  name: string;
  address: string;
  protocol_port: number;
  subnet_id?: string;
}

export class LoadBalancerError extends Error {}

export interface OctaviaOptions {
  /** How long to wait for a load balancer to leave PENDING_*. Default 120 s. */
  activeTimeoutMs?: number;
  /** Poll period while waiting. Default 250 ms (Octavia's no-op changes take ~0.2 s). */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Octavia's 409 for a load balancer in PENDING_* ("... is immutable and cannot be updated"),
 * which passes; not its other 409s (a listener already on that port), which do not.
 */
const isImmutable = (err: unknown) =>
  err instanceof OpenStackError && err.status === 409 && /immutable/i.test(err.message);
const isGone = (err: unknown) => err instanceof OpenStackError && err.status === 404;

export class OctaviaApi {
  private readonly c: OpenStackClient;
  private readonly o: Required<OctaviaOptions>;

  constructor(client: OpenStackClient, opts: OctaviaOptions = {}) {
    this.c = client;
    this.o = {
      activeTimeoutMs: opts.activeTimeoutMs ?? 120_000,
      pollMs: opts.pollMs ?? 250,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    };
  }

  async createLoadBalancer(body: {
    name: string;
    vip_subnet_id: string;
    /** A VIP port made beforehand (with vip_subnet_id and vip_address naming its address). */
    vip_port_id?: string;
    vip_address?: string;
    description?: string;
    project_id?: string;
    tags?: string[];
    provider?: string;
  }): Promise<OctaviaLoadBalancer> {
    return (
      await this.c.call<{ loadbalancer: OctaviaLoadBalancer }>(LB, "POST", "/lbaas/loadbalancers", {
        loadbalancer: body,
      })
    ).loadbalancer;
  }

  async getLoadBalancer(id: string): Promise<OctaviaLoadBalancer | undefined> {
    try {
      return (
        await this.c.call<{ loadbalancer: OctaviaLoadBalancer }>(LB, "GET", `/lbaas/loadbalancers/${id}`)
      ).loadbalancer;
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  listLoadBalancers(query?: Query): Promise<OctaviaLoadBalancer[]> {
    return this.c.list(LB, "/lbaas/loadbalancers", "loadbalancers", query);
  }

  listListeners(query?: Query): Promise<OctaviaListener[]> {
    return this.c.list(LB, "/lbaas/listeners", "listeners", query);
  }

  listPools(query?: Query): Promise<OctaviaPool[]> {
    return this.c.list(LB, "/lbaas/pools", "pools", query);
  }

  listMembers(poolId: string): Promise<OctaviaMember[]> {
    return this.c.list(LB, `/lbaas/pools/${poolId}/members`, "members");
  }

  /** Resolves with the load balancer once ACTIVE; throws on ERROR, on DELETED (gone) and after the timeout. */
  async waitActive(id: string): Promise<OctaviaLoadBalancer> {
    const deadline = Date.now() + this.o.activeTimeoutMs;
    for (;;) {
      const lb = await this.getLoadBalancer(id);
      if (!lb || lb.provisioning_status === "DELETED")
        throw new LoadBalancerError(`load balancer ${id} is gone`);
      if (lb.provisioning_status === "ACTIVE") return lb;
      if (lb.provisioning_status === "ERROR") throw new LoadBalancerError(`load balancer ${id} is in ERROR`);
      if (Date.now() > deadline)
        throw new LoadBalancerError(
          `load balancer ${id} still ${lb.provisioning_status} after ${this.o.activeTimeoutMs} ms`,
        );
      await this.o.sleep(this.o.pollMs);
    }
  }

  /**
   * A change to load balancer `lbId`'s tree: made once it is ACTIVE, and made again while
   * Octavia answers 409 (another change's PENDING_UPDATE window); then waits for ACTIVE again.
   */
  async change<T>(lbId: string, what: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.o.activeTimeoutMs;
    for (;;) {
      await this.waitActive(lbId);
      try {
        const out = await what();
        await this.waitActive(lbId);
        return out;
      } catch (err) {
        if (!isImmutable(err) || Date.now() > deadline) throw err;
      }
    }
  }

  createListener(
    lbId: string,
    body: { name: string; protocol: LbProtocol; protocol_port: number; project_id?: string; tags?: string[] },
  ): Promise<OctaviaListener> {
    return this.change(
      lbId,
      async () =>
        (
          await this.c.call<{ listener: OctaviaListener }>(LB, "POST", "/lbaas/listeners", {
            listener: { ...body, loadbalancer_id: lbId },
          })
        ).listener,
    );
  }

  deleteListener(lbId: string, id: string): Promise<void> {
    return this.change(lbId, () => this.deleteQuietly(`/lbaas/listeners/${id}`));
  }

  createPool(
    lbId: string,
    body: { name: string; protocol: LbProtocol; listener_id: string; project_id?: string; tags?: string[] },
  ): Promise<OctaviaPool> {
    return this.change(
      lbId,
      async () =>
        (
          await this.c.call<{ pool: OctaviaPool }>(LB, "POST", "/lbaas/pools", {
            pool: { ...body, lb_algorithm: "ROUND_ROBIN" },
          })
        ).pool,
    );
  }

  deletePool(lbId: string, id: string): Promise<void> {
    return this.change(lbId, () => this.deleteQuietly(`/lbaas/pools/${id}`));
  }

  /** Sets the pool's members to exactly `members` (Octavia's batch update: one change). */
  setMembers(lbId: string, poolId: string, members: MemberSpec[]): Promise<void> {
    return this.change(lbId, async () => {
      await this.c.call(LB, "PUT", `/lbaas/pools/${poolId}/members`, { members });
    });
  }

  /** Deletes the load balancer and everything under it; done once Octavia no longer knows it. */
  async deleteLoadBalancer(id: string): Promise<void> {
    const deadline = Date.now() + this.o.activeTimeoutMs;
    for (;;) {
      try {
        await this.c.call(LB, "DELETE", `/lbaas/loadbalancers/${id}`, undefined, { cascade: true });
        break;
      } catch (err) {
        if (isGone(err)) return;
        if (!isImmutable(err) || Date.now() > deadline) throw err;
        await this.o.sleep(this.o.pollMs);
      }
    }
    for (;;) {
      const lb = await this.getLoadBalancer(id);
      if (!lb || lb.provisioning_status === "DELETED") return;
      if (Date.now() > deadline)
        throw new LoadBalancerError(`load balancer ${id} still ${lb.provisioning_status}`);
      await this.o.sleep(this.o.pollMs);
    }
  }

  private async deleteQuietly(path: string): Promise<void> {
    await this.c.call(LB, "DELETE", path).catch((err) => {
      if (!isGone(err)) throw err;
    });
  }
}
