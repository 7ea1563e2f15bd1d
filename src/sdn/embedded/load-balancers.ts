// Load balancers: one LoadBalancer object per Service holds the whole tree (listeners, pools,
// members), so every change is one atomic write, guarded by the resourceVersion it was computed
// from, and an unchanged tree is no write at all (this runs on every endpoint change).
import { isAlreadyExists, isConflict, isNotFound } from "../../kube/errors.ts";
import { KeyedLock } from "../../util/keyed-lock.ts";
import type { LoadBalancerRequest } from "../backend.ts";
import { SdnError } from "../backend.ts";
import type { LoadBalancerState } from "../model.ts";
import { type EmbeddedContext, MAX_ATTEMPTS } from "./context.ts";
import { newLoadBalancerCr, toLoadBalancerState } from "./convert.ts";
import { desiredLoadBalancerSpec, sameLoadBalancerSpec } from "./lb-spec.ts";
import type { LoadBalancerCr, LoadBalancerStatus } from "./types.ts";

const READY: LoadBalancerStatus = { provisioningStatus: "ACTIVE", operatingStatus: "ONLINE" };

export class LoadBalancers {
  private readonly ctx: EmbeddedContext;
  private readonly lock = new KeyedLock();

  constructor(ctx: EmbeddedContext) {
    this.ctx = ctx;
  }

  async ensure(req: LoadBalancerRequest): Promise<LoadBalancerState> {
    const { namespace, name } = req.owner;
    if (!namespace) throw new SdnError("Invalid", `load balancer ${name}: the owner has no namespace`);
    return this.lock.run(`${namespace}/${name}`, () => this.converge(req));
  }

  find(ownerUid: string): LoadBalancerState | undefined {
    const cr = this.ctx.store.byOwner("loadBalancer", ownerUid)[0];
    return cr && toLoadBalancerState(cr, this.ctx.tenantId);
  }

  byId(id: string): LoadBalancerCr | undefined {
    return this.ctx.store.byUid("loadBalancer", id);
  }

  async delete(id: string): Promise<void> {
    const cr = this.byId(id);
    if (cr) await this.ctx.store.delete("loadBalancer", cr);
  }

  private async converge(req: LoadBalancerRequest): Promise<LoadBalancerState> {
    const store = this.ctx.store;
    const { namespace, name } = req.owner;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = store.get("loadBalancer", `${namespace}/${name}`);
      if (current && current.spec.owner.uid !== req.owner.uid) {
        // A Service of the same name that was deleted and created again: its leftovers go.
        await store.delete("loadBalancer", current);
        continue;
      }
      const desired = desiredLoadBalancerSpec(req, current?.spec, this.ctx.newId);
      let written: LoadBalancerCr;
      try {
        if (!current) written = await store.create("loadBalancer", newLoadBalancerCr(desired));
        else if (sameLoadBalancerSpec(current.spec, desired)) written = current;
        else written = await store.update("loadBalancer", { ...structuredClone(current), spec: desired });
        if (written.status?.provisioningStatus !== READY.provisioningStatus)
          written = await store.patchStatus("loadBalancer", written, READY);
      } catch (err) {
        if (!isAlreadyExists(err) && !isConflict(err) && !isNotFound(err)) throw err;
        // Our cache was behind: read the truth and compute again.
        this.ctx.logger.debug(
          { loadBalancer: `${namespace}/${name}`, err },
          "load balancer changed under us; retrying",
        );
        await store.fetch("loadBalancer", namespace, name);
        continue;
      }
      return toLoadBalancerState(written, this.ctx.tenantId);
    }
    throw new SdnError(
      "Unavailable",
      `load balancer ${namespace}/${name}: still racing other writers after ${MAX_ATTEMPTS} attempts`,
    );
  }
}
