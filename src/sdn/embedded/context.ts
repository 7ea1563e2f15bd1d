// What the embedded backend's parts share.
import type { Clock } from "../../kube/clock.ts";
import type { Logger } from "../../kube/log.ts";
import type { EmbeddedStore } from "./store.ts";

export interface EmbeddedContext {
  store: EmbeddedStore;
  /** Reported as every object's tenant_id (the embedded backend has no tenants of its own). */
  tenantId: string;
  /** Ids for listeners, pools, members and VIP ports. */
  newId: () => string;
  logger: Logger;
  clock: Clock;
}

/** How often a converging call re-reads and retries after losing a race before giving up. */
export const MAX_ATTEMPTS = 20;
