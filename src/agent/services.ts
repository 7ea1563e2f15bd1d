// The node's service proxy: every load balancer of the backend (VIP, listeners, ready members)
// and every floating IP on a VIP become frontends of one nftables table (dataplane/nft-services.ts),
// replaced whole in one atomic transaction whenever the backend changes. Changes that arrive
// while a sync runs are folded into the next one (sync-loop.ts); a failed apply is
// retried with backoff.

import type { Nft } from "../dataplane/nft.ts";
import { type Frontend, type L4, planServices } from "../dataplane/nft-services.ts";
import type { Logger } from "../kube/log.ts";
import type { FloatingIp, LoadBalancerState } from "../sdn/model.ts";
import { SyncLoop } from "./sync-loop.ts";

/** What the service proxy reads of the backend. */
export interface ServiceSource {
  loadBalancers(): LoadBalancerState[];
  floatingIps(): FloatingIp[];
  /** The pod networks' CIDRs. */
  podCidrs(): string[];
}

export interface ServiceProxyOptions {
  source: ServiceSource;
  nft: Nft;
  table: string;
  nodeIp: string;
  log: Logger;
  /** Told after each applied change (for metrics and tests). */
  onApplied?: (frontends: number, ms: number) => void;
}

/** The frontends of the backend's load balancers, their floating IPs' included. */
export function frontendsOf(lbs: LoadBalancerState[], fips: FloatingIp[]): Frontend[] {
  const byVip = new Map<string, Omit<Frontend, "address" | "external">[]>();
  for (const lb of lbs) {
    const listeners = lb.listeners
      .map((l) => {
        const pool = lb.pools.find((p) => p.id === l.default_pool_id);
        const members = (pool?.members ?? [])
          .map((m) => ({ address: m.address, port: m.protocol_port }))
          .sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
        return { protocol: l.protocol.toLowerCase() as L4, port: l.protocol_port, members };
      })
      .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
    byVip.set(lb.loadbalancer.vip_address, listeners);
  }
  const out: Frontend[] = [];
  for (const [vip, listeners] of byVip)
    for (const l of listeners) out.push({ address: vip, external: false, ...l });
  for (const f of fips) {
    const listeners = f.fixed_ip_address ? byVip.get(f.fixed_ip_address) : undefined;
    for (const l of listeners ?? []) out.push({ address: f.floating_ip_address, external: true, ...l });
  }
  return out;
}

export class ServiceProxy {
  private readonly o: ServiceProxyOptions;
  private lastScript = "";

  private readonly loop: SyncLoop;

  constructor(o: ServiceProxyOptions) {
    this.o = o;
    this.loop = new SyncLoop(() => this.sync(), o.log, "service rules not applied");
  }

  /** Something changed: sync soon (once, however many changes come meanwhile). */
  changed(): void {
    this.loop.changed();
  }

  /** Syncs once now, then on every change until `signal` aborts. */
  run(signal: AbortSignal): Promise<void> {
    return this.loop.run(signal);
  }

  async sync(): Promise<void> {
    const { source } = this.o;
    const frontends = frontendsOf(source.loadBalancers(), source.floatingIps());
    const script = planServices({
      table: this.o.table,
      frontends,
      nodeIp: this.o.nodeIp,
      podCidrs: source.podCidrs(),
    });
    if (script === this.lastScript) return;
    const t0 = performance.now();
    await this.o.nft.apply(script);
    this.lastScript = script;
    const ms = performance.now() - t0;
    this.o.log.debug({ frontends: frontends.length, ms: Math.round(ms) }, "service rules applied");
    this.o.onApplied?.(frontends.length, ms);
  }
}
