// The built-in controllers the sandbox's controller-manager runs.
import type { Controller } from "./context.ts";
import { DaemonSetController } from "./daemonset.ts";
import { DeploymentController } from "./deployment.ts";
import { EndpointsController } from "./endpoints.ts";
import { EndpointSliceController } from "./endpointslice.ts";
import { GarbageCollector } from "./garbage-collector.ts";
import { JobController } from "./job.ts";
import { NamespaceController } from "./namespace.ts";
import { ReplicaSetController } from "./replicaset.ts";
import { Scheduler } from "./scheduler.ts";
import { ServiceAccountController } from "./serviceaccount.ts";
import { VirtualNodes } from "./virtual-nodes.ts";

export interface BuiltinOptions {
  virtualNodes: number;
  portAnnotation: string;
  waitForPortAnnotation: boolean;
}

export function builtinControllers(o: BuiltinOptions): Controller[] {
  return [
    new Scheduler(),
    new VirtualNodes({
      count: o.virtualNodes,
      portAnnotation: o.portAnnotation,
      waitForPortAnnotation: o.waitForPortAnnotation,
    }),
    new ReplicaSetController(),
    new DeploymentController(),
    new EndpointSliceController(),
    new EndpointsController(),
    new JobController(),
    new DaemonSetController(),
    new GarbageCollector(),
    new NamespaceController(),
    new ServiceAccountController(),
  ];
}

/**
 * Filters by a kube-controller-manager style list: "*" enables all, "name" enables one,
 * "-name" disables one. Unknown names are an error, so a typo does not pass silently.
 */
export function selectControllers(all: Controller[], spec: string): Controller[] {
  const items = spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const names = new Set(all.map((c) => c.name));
  for (const item of items) {
    const name = item.replace(/^-/, "");
    if (name !== "*" && !names.has(name))
      throw new Error(`unknown controller "${name}"; known: ${[...names].join(", ")}`);
  }
  const star = items.includes("*");
  return all.filter((c) => !items.includes(`-${c.name}`) && (star || items.includes(c.name)));
}
