// The built-in controllers the sandbox's controller-manager runs.
import type { Controller } from "./context.ts";
import { GarbageCollector } from "./garbage-collector.ts";
import { NamespaceController } from "./namespace.ts";
import { Scheduler } from "./scheduler.ts";
import { ServiceAccountController } from "./serviceaccount.ts";
import { VirtualNodes } from "./virtual-nodes.ts";

export interface BuiltinOptions {
  virtualNodes: number;
  portAnnotation: string;
}

export function builtinControllers(o: BuiltinOptions): Controller[] {
  return [
    new Scheduler(),
    new VirtualNodes({
      count: o.virtualNodes,
      portAnnotation: o.portAnnotation,
      waitForPortAnnotation: false,
    }),
    new GarbageCollector(),
    new NamespaceController(),
    new ServiceAccountController(),
  ];
}
