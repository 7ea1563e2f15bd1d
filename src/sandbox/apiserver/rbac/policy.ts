// The cluster's RBAC policy as the API server holds it: the Roles, ClusterRoles and their
// bindings from the watch cache, indexed again (lazily) whenever one of them changes.
import { parsedOf, type WatchCache } from "../storage/watch-cache.ts";
import { storagePrefix } from "../types.ts";
import {
  type Attributes,
  type BindingObject,
  type Decision,
  type PolicyRule,
  RbacAuthorizer,
  type RoleObject,
  type User,
} from "./authorizer.ts";

const GROUP = "rbac.authorization.k8s.io";
export const RBAC_PREFIXES = {
  roles: storagePrefix({ group: GROUP, plural: "roles" }),
  clusterRoles: storagePrefix({ group: GROUP, plural: "clusterroles" }),
  roleBindings: storagePrefix({ group: GROUP, plural: "rolebindings" }),
  clusterRoleBindings: storagePrefix({ group: GROUP, plural: "clusterrolebindings" }),
};
const WATCHED = new Set(Object.values(RBAC_PREFIXES));

export class ClusterPolicy {
  private readonly cache: WatchCache;
  private readonly rbac = new RbacAuthorizer();
  private dirty = true;

  constructor(cache: WatchCache) {
    this.cache = cache;
    cache.globalListeners.add((prefix) => {
      if (WATCHED.has(prefix)) this.dirty = true;
    });
  }

  private current(): RbacAuthorizer {
    if (this.dirty) {
      this.dirty = false;
      const objects = (prefix: string) => [...this.cache.bucket(prefix).items.values()].map(parsedOf);
      this.rbac.load(
        objects(RBAC_PREFIXES.roles) as RoleObject[],
        objects(RBAC_PREFIXES.clusterRoles) as RoleObject[],
        objects(RBAC_PREFIXES.roleBindings) as BindingObject[],
        objects(RBAC_PREFIXES.clusterRoleBindings) as BindingObject[],
      );
    }
    return this.rbac;
  }

  authorize(user: User, a: Attributes): Decision {
    return this.current().authorize(user, a);
  }

  rulesFor(user: User, namespace: string): PolicyRule[] {
    return this.current().rulesFor(user, namespace);
  }

  /** Waits until the cache holds every write this server has made (a grant made a moment ago). */
  fresh(): Promise<void> {
    return this.cache.fresh();
  }
}
