// The built-in controllers the sandbox's controller-manager runs.
import type { Controller } from "./context.ts";
import { Scheduler } from "./scheduler.ts";
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
  ];
}
