// Least privilege, enforced: raven-controller runs in the sandbox as
// system:serviceaccount:kube-system:raven-controller with exactly deploy/controller-rbac.yaml's
// grants, which the sandbox's API server enforces. With all of them, every part of the seeds'
// walkthrough below works and nothing is refused; with any one grant removed, a named part of
// it fails with a 403 naming that grant in the controller's log. Grants only a race can need
// (re-reading an object after losing a conflict to another writer) are listed, with why.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { isNotFound } from "../src/kube/errors.ts";
import type { KubeObject } from "../src/kube/objects.ts";
import { CLUSTERROLES, LEASES, NAMESPACES, PODS, ROLES, SERVICES } from "../src/kube/resource.ts";
import {
  COMPILEDPOLICIES,
  FLOATINGIPS,
  LOADBALANCERS,
  NETWORKS,
  PORTS,
} from "../src/sdn/embedded/resources.ts";
import { type RavenProcess, startRaven, stopAll } from "./support/raven-process.ts";
import { eventually, type Sandbox, startSandbox } from "./support/sandbox.ts";

const MANIFEST = fileURLToPath(new URL("../deploy/controller-rbac.yaml", import.meta.url));
const WAIT = 60_000;

/** One grant: a verb on a resource of a group, from one rule of one role. */
interface Grant {
  key: string;
  group: string;
  resource: string;
  verb: string;
  role: { kind: "ClusterRole" | "Role"; name: string; namespace?: string };
}

const roles = parseAllDocuments(readFileSync(MANIFEST, "utf8"))
  .map((d) => d.toJS() as KubeObject)
  .filter((d) => d?.kind === "ClusterRole" || d?.kind === "Role");

const GRANTS: Grant[] = roles.flatMap((r) =>
  (r.rules as any[]).flatMap((rule) =>
    rule.apiGroups.flatMap((group: string) =>
      rule.resources.flatMap((resource: string) =>
        rule.verbs.map((verb: string) => ({
          key: `${group}/${resource}/${verb}`,
          group,
          resource,
          verb,
          role: { kind: r.kind, name: r.metadata.name!, namespace: r.metadata.namespace },
        })),
      ),
    ),
  ),
);

/** Grants only a lost race needs: no step of a walkthrough can make them necessary. */
const RACE_ONLY: Record<string, string> = {
  "raven.io/networks/get": "re-reading a Network after losing its name to another writer",
  "raven.io/subnets/get": "re-reading a Subnet (a CIDR claim) another writer made first",
  "raven.io/loadbalancers/get": "re-reading a LoadBalancer after a 409 on its update",
  "raven.io/networks/update": "moving a Network to another CIDR after losing the CIDR's claim",
  "raven.io/ports/update": "moving a port some other writer made to the pod's node",
};

let sb: Sandbox;
let ctl: RavenProcess | undefined;
let run = 0;

before(async () => {
  sb = await startSandbox({ virtualNodes: 1, backend: "embedded", ravenController: false });
});
after(async () => {
  await stopAll();
  await sb?.stop();
});

const log = () => readFileSync(`${sb.dir}/logs/test-raven-rbac-${run}.log`, "utf8");

async function startController(waitForLead = true): Promise<void> {
  await ctl?.kill("SIGTERM");
  run++;
  ctl = startRaven(sb, `rbac-${run}`, ["--identity", `rbac-${run}`, "--lease-duration", "4"], {
    logLevel: "debug",
  });
  if (waitForLead) await ctl.waitForLog((l) => l.msg === "started leading", WAIT, "leading");
}

/** A 403 naming this grant, in the current controller's log. */
function refused(g: Grant): boolean {
  const text = log().replace(/\\"/g, '"');
  return text.includes(`cannot ${g.verb} resource "${g.resource}" in API group "${g.group}"`);
}

/** Writes the role of `g` without `g` (undefined: as the manifest has it). */
async function setRole(without?: Grant): Promise<void> {
  for (const r of roles) {
    const rules = (r.rules as any[]).flatMap((rule) => {
      if (!without || r.metadata.name !== without.role.name || r.kind !== without.role.kind) return [rule];
      const { group, resource, verb } = without;
      if (!rule.apiGroups.includes(group) || !rule.resources.includes(resource) || !rule.verbs.includes(verb))
        return [rule];
      // Split the rule so only this one (group, resource, verb) goes.
      const out: any[] = [];
      const others = (list: string[], x: string) => list.filter((v) => v !== x);
      if (others(rule.apiGroups, group).length)
        out.push({ ...rule, apiGroups: others(rule.apiGroups, group) });
      if (others(rule.resources, resource).length)
        out.push({ ...rule, apiGroups: [group], resources: others(rule.resources, resource) });
      if (others(rule.verbs, verb).length)
        out.push({ ...rule, apiGroups: [group], resources: [resource], verbs: others(rule.verbs, verb) });
      return out;
    });
    const res = r.kind === "Role" ? ROLES : CLUSTERROLES;
    const live = await sb.client.get(res, r.metadata.namespace ?? "", r.metadata.name!);
    await sb.client.update(res, { ...live, rules });
  }
}

const k = async (args: string[], input?: string) => {
  const r = await sb.kubectl(args, { input });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const apply = (obj: object) => k(["apply", "-f", "-"], JSON.stringify(obj));
const pod = (ns: string, name: string, labels: Record<string, string> = {}, annotations = {}) =>
  apply({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels, annotations },
    spec: { containers: [{ name: "c", image: "nginx" }] },
  });
const service = (name: string, spec: Record<string, unknown>) =>
  apply({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  });
const get = async (res: typeof PODS, ns: string, name: string) => {
  try {
    return await sb.client.get(res, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};
const annotation = async (res: typeof PODS, ns: string, name: string, key: string) =>
  (await get(res, ns, name))?.metadata.annotations?.[`raven.io/${key}`];
/** Addresses for the parts, each used once: external (172.16.0.x) and static pod IPs (192.168.0.x). */
const addresses = { external: 20, pod: 100 };
const externalIp = new Map<number, string>();
const ext = (n: number) => {
  if (!externalIp.has(n)) externalIp.set(n, `172.16.0.${addresses.external++}`);
  return externalIp.get(n)!;
};
const podIp = new Map<number, string>();
const staticIp = (n: number) => {
  if (!podIp.has(n)) podIp.set(n, `192.168.0.${addresses.pod++}`);
  return podIp.get(n)!;
};
const until = (what: string, fn: () => Promise<unknown>) => eventually(fn, WAIT, what);
const eventOn = async (name: string, reason: string) =>
  (
    await sb.client.list(
      { group: "", version: "v1", plural: "events", namespaced: true },
      { namespace: "default" },
    )
  ).items.find((e) => e.involvedObject?.name === name && e.reason === reason);

/**
 * The walkthrough, in parts. Each part uses fresh objects (suffix `n`), starts what it needs,
 * and (`check`) waits until it worked; without a grant it needs, it starts the same and fails.
 */
interface Part {
  name: string;
  needs: string[];
  start(n: number): Promise<unknown>;
  check(n: number): Promise<unknown>;
}

const PARTS: Part[] = [
  {
    name: "seed 000: a pod in a new namespace gets its port",
    needs: ["/pods/patch", "raven.io/networks/create", "raven.io/subnets/create", "raven.io/ports/create"],
    start: async (n) => {
      await k(["create", "namespace", `walk-${n}`]);
      await pod(`walk-${n}`, "nginx");
    },
    check: (n) => until("the pod's port annotation", () => annotation(PODS, `walk-${n}`, "nginx", "port")),
  },
  {
    name: "seed 001: a Service gets a load balancer and its annotations",
    needs: ["/services/patch", "raven.io/loadbalancers/create", "raven.io/loadbalancers/status/patch"],
    start: (n) => service(`demo-${n}`, {}),
    check: (n) =>
      until("lb-vip and an ACTIVE load balancer", async () => {
        const vip = await annotation(SERVICES, "default", `demo-${n}`, "lb-vip");
        return vip && JSON.parse(vip).status === "ACTIVE";
      }),
  },
  {
    name: "seed 001: a ready pod becomes a member",
    needs: ["raven.io/loadbalancers/update"],
    start: async (n) => {
      await service(`members-${n}`, {});
      await until("the load balancer", () => annotation(SERVICES, "default", `members-${n}`, "lb-pool"));
      await pod("default", `member-${n}`, { app: `members-${n}` });
    },
    check: (n) =>
      until("one member", async () => {
        const pool = await annotation(SERVICES, "default", `members-${n}`, "lb-pool");
        return pool && JSON.parse(pool).members.length === 1;
      }),
  },
  {
    name: "type LoadBalancer: a floating IP in status.loadBalancer.ingress",
    needs: ["raven.io/floatingips/create", "/services/status/patch"],
    start: (n) => service(`public-${n}`, { type: "LoadBalancer" }),
    check: (n) =>
      until(
        "the ingress",
        async () => (await get(SERVICES, "default", `public-${n}`))?.status?.loadBalancer?.ingress?.length,
      ),
  },
  {
    name: "seed 001: an externalIP becomes a floating IP, which goes when the externalIP does",
    needs: ["raven.io/floatingips/delete"],
    start: async (n) => {
      await service(`ext-${n}`, { externalIPs: [ext(n)] });
      await until("the floating IP", () => annotation(SERVICES, "default", `ext-${n}`, "floating-ip"));
      await sb.client.patch(SERVICES, "default", `ext-${n}`, "merge", { spec: { externalIPs: null } });
    },
    check: (n) =>
      until(
        "no floating IP",
        async () =>
          !(await sb.client.list(FLOATINGIPS)).items.some((f) => f.spec.floatingIPAddress === ext(n)),
      ),
  },
  {
    name: "seed 001: an externalIP another Service holds is a Warning on this one",
    needs: ["raven.io/floatingips/get", "/events/create"],
    start: async (n) => {
      await service(`first-${n}`, { externalIPs: [ext(n)] });
      await until("the first Service's floating IP", () =>
        annotation(SERVICES, "default", `first-${n}`, "floating-ip"),
      );
      await service(`second-${n}`, { externalIPs: [ext(n)] });
    },
    check: (n) => until("the ExternalIPInUse event", () => eventOn(`second-${n}`, "ExternalIPInUse")),
  },
  {
    name: "a load balancer deleted by hand comes back, and its floating IP is re-pointed to it",
    needs: ["raven.io/floatingips/update"],
    start: async (n) => {
      await service(`repoint-${n}`, { externalIPs: [ext(n)] });
      await until("the floating IP", () => annotation(SERVICES, "default", `repoint-${n}`, "floating-ip"));
      await sb.client.delete(LOADBALANCERS, "default", `repoint-${n}`);
      await sb.client.patch(SERVICES, "default", `repoint-${n}`, "merge", {
        metadata: { annotations: { touched: "1" } },
      });
    },
    check: (n) =>
      until("the floating IP on the new load balancer", async () => {
        const lb = await get(LOADBALANCERS, "default", `repoint-${n}`);
        const fip = (await sb.client.list(FLOATINGIPS)).items.find(
          (f) => f.spec.floatingIPAddress === ext(n),
        );
        return lb && fip?.spec.loadBalancer?.id === lb.metadata.uid;
      }),
  },
  {
    name: "a Service turned ExternalName loses its load balancer",
    needs: ["raven.io/loadbalancers/delete"],
    start: async (n) => {
      await service(`ename-${n}`, {});
      await until("the load balancer", () => get(LOADBALANCERS, "default", `ename-${n}`));
      await sb.client.patch(SERVICES, "default", `ename-${n}`, "merge", {
        spec: {
          type: "ExternalName",
          externalName: "example.com",
          clusterIP: "",
          clusterIPs: null,
          ipFamilies: null,
          ipFamilyPolicy: null,
        },
      });
    },
    check: (n) => until("no load balancer", async () => !(await get(LOADBALANCERS, "default", `ename-${n}`))),
  },
  {
    name: "a finished pod gives its port back",
    needs: ["raven.io/ports/delete"],
    start: async (n) => {
      await pod("default", `job-${n}`);
      await until("its port", () => annotation(PODS, "default", `job-${n}`, "port"));
      await sb.client.patch(
        PODS,
        "default",
        `job-${n}`,
        "merge",
        { status: { phase: "Succeeded" } },
        { subresource: "status" },
      );
    },
    check: async (n) => {
      const uid = (await get(PODS, "default", `job-${n}`))?.metadata.uid;
      return until(
        "no port",
        async () => !(await sb.client.list(PORTS)).items.some((p) => p.spec.owner.uid === uid),
      );
    },
  },
  {
    name: "a terminating namespace's network goes once its ports are gone",
    needs: ["raven.io/networks/delete", "raven.io/subnets/delete"],
    start: async (n) => {
      await k(["create", "namespace", `bye-${n}`]);
      await pod(`bye-${n}`, "p");
      await until("its port", () => annotation(PODS, `bye-${n}`, "p", "port"));
      // Another finalizer keeps the namespace Terminating: the network must go before it does.
      await sb.client.patch(NAMESPACES, "", `bye-${n}`, "merge", {
        metadata: { finalizers: ["example.com/hold"] },
      });
      await k(["delete", "namespace", `bye-${n}`, "--wait=false"]);
    },
    check: async (n) => {
      const uid = (await get(NAMESPACES, "", `bye-${n}`))?.metadata.uid;
      await until(
        "no network",
        async () => !(await sb.client.list(NETWORKS)).items.some((x) => x.spec.owner.uid === uid),
      );
      await sb.client.patch(NAMESPACES, "", `bye-${n}`, "merge", { metadata: { finalizers: null } });
      return true;
    },
  },
  {
    name: "a finalizer of an earlier Raven is removed",
    needs: ["/namespaces/patch"],
    start: async (n) => {
      await k(["create", "namespace", `legacy-${n}`]);
      await sb.client.patch(NAMESPACES, "", `legacy-${n}`, "merge", {
        metadata: { finalizers: ["raven.io/network-cleanup"] },
      });
    },
    check: (n) =>
      until(
        "the finalizer gone",
        async () => !(await get(NAMESPACES, "", `legacy-${n}`))?.metadata.finalizers?.length,
      ),
  },
  {
    name: "a static IP another pod holds is reported, again at each retry",
    needs: ["raven.io/ports/get", "/events/patch"],
    start: async (n) => {
      await pod("default", `owner-${n}`, {}, { "raven.io/ip": staticIp(n) });
      await until("the owner's port", () => annotation(PODS, "default", `owner-${n}`, "port"));
      await pod("default", `clash-${n}`, {}, { "raven.io/ip": staticIp(n) });
    },
    check: (n) =>
      until(
        "the repeated FailedAllocateIP",
        async () => ((await eventOn(`clash-${n}`, "FailedAllocateIP"))?.count ?? 0) >= 2,
      ),
  },
  {
    name: "a NetworkPolicy is compiled, recompiled when it changes, and its compiled form removed when it goes",
    needs: [
      "raven.io/compiledpolicies/create",
      "raven.io/compiledpolicies/patch",
      "raven.io/compiledpolicies/delete",
    ],
    start: async (n) => {
      const np = (policyTypes: string[]) =>
        apply({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: `np-${n}`, namespace: "default" },
          spec: { podSelector: { matchLabels: { app: "none" } }, policyTypes },
        });
      await np(["Ingress"]);
      await until("the compiled policy", () => get(COMPILEDPOLICIES, "default", `np-${n}`));
      await np(["Ingress", "Egress"]);
      await until(
        "the policy recompiled",
        async () => (await get(COMPILEDPOLICIES, "default", `np-${n}`))?.metadata.generation === 2,
      );
      // Orphaned, so Kubernetes' garbage collector leaves the compiled form for Raven to remove.
      await k(["delete", "networkpolicy", `np-${n}`, "--cascade=orphan"]);
    },
    check: (n) =>
      until("no compiled policy", async () => !(await get(COMPILEDPOLICIES, "default", `np-${n}`))),
  },
];

/** Grants a controller needs from its start: list and watch (informers) and the leader lease. */
const AT_START = (g: Grant) => g.verb === "list" || g.verb === "watch" || g.resource === "leases";

test("every grant of deploy/controller-rbac.yaml is either needed by a named part of the walkthrough, needed at start, or listed as race-only", () => {
  const claimed = new Set(PARTS.flatMap((p) => p.needs));
  const unclaimed = GRANTS.filter((g) => !claimed.has(g.key) && !AT_START(g) && !RACE_ONLY[g.key]).map(
    (g) => g.key,
  );
  assert.deepEqual(unclaimed, []);
  const unknown = [...claimed, ...Object.keys(RACE_ONLY)].filter((key) => !GRANTS.some((g) => g.key === key));
  assert.deepEqual(unknown, [], "every part names grants the manifest has");
  assert.ok(GRANTS.length > 40, `${GRANTS.length} grants`);
});

test("with deploy/'s grants, the whole walkthrough works and the API server refuses the controller nothing", async () => {
  await setRole();
  await startController();
  for (const [i, p] of PARTS.entries()) {
    await p.start(i);
    await p.check(i).catch((err) => {
      throw new Error(`${p.name}: ${err.message}`);
    });
  }
  assert.doesNotMatch(log(), /forbidden/i, "no 403 in the controller's log");
  assert.ok(ctl?.alive());
});

test("without any one grant a named part fails with a 403 naming it (parts first, then the grants needed at start)", async () => {
  const report: string[] = [];
  let n = 100;
  // Grants apply at once: one controller serves the parts (each with fresh objects).
  await setRole();
  await startController();
  for (const p of PARTS)
    for (const key of p.needs) {
      const g = GRANTS.find((x) => x.key === key)!;
      await setRole(g);
      const i = n++;
      await p.start(i).catch(() => {}); // the part may fail early, at the write the grant allows
      await until(`${p.name}: a 403 for ${key}`, async () => refused(g));
      report.push(`${key}: "${p.name}"`);
      await setRole();
    }
  for (const g of GRANTS.filter(AT_START)) {
    await setRole(g);
    if (g.key === "coordination.k8s.io/leases/create")
      await sb.client.delete(LEASES, "kube-system", "raven-controller").catch(() => {});
    await startController(false);
    await until(`a 403 for ${g.key} at start`, async () => refused(g));
    report.push(`${g.key}: start-up`);
  }
  await setRole();
  console.log(`rbac: each grant's removal refused in its part:\n  ${report.join("\n  ")}`);
  console.log(
    `rbac: race-only grants:\n  ${Object.entries(RACE_ONLY)
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n  ")}`,
  );
});
