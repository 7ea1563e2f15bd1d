// The scheduler: binds each unscheduled pod (schedulerName default-scheduler) to a Ready node
// it fits, preferring the node with the fewest pods; records Scheduled / FailedScheduling.
import { isNotFound, isObjectGone } from "../../kube/errors.ts";
import type { SharedInformer } from "../../kube/informer.ts";
import { formatTime, type KubeObject, objectKey, splitKey } from "../../kube/objects.ts";
import { NODES, PODS } from "../../kube/resource.ts";
import { type Controller, type ControllerContext, runQueue, WorkQueue } from "./context.ts";
import { podFitsNode, unschedulableMessage } from "./scheduling.ts";

const BY_NODE = "nodeName";

export function needsScheduling(pod: any): boolean {
  const phase = pod.status?.phase;
  return (
    !pod.spec?.nodeName &&
    (pod.spec?.schedulerName ?? "default-scheduler") === "default-scheduler" &&
    !pod.metadata.deletionTimestamp &&
    phase !== "Succeeded" &&
    phase !== "Failed"
  );
}

export class Scheduler implements Controller {
  readonly name = "scheduler";
  private readonly queue = new WorkQueue();
  private pods!: SharedInformer;
  private nodes!: SharedInformer;
  /**
   * Pods bound (or being bound) whose binding the cache does not show yet, by key: counted in
   * their node's load (as upstream's scheduler cache "assumes" them), so a burst of pods spreads
   * instead of all landing on the node that looked emptiest before the first bind came back.
   */
  private readonly assumed = new Map<string, string>();

  setup(ctx: ControllerContext): void {
    this.pods = ctx.informers.informerFor(PODS);
    this.pods.addIndexer(BY_NODE, (p: KubeObject) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    this.nodes = ctx.informers.informerFor(NODES);
    this.pods.addEventHandler({
      onAdd: (p) => needsScheduling(p) && this.queue.add(objectKey(p)),
      onUpdate: (_o, p) => {
        if (p.spec?.nodeName) this.assumed.delete(objectKey(p));
        if (needsScheduling(p)) this.queue.add(objectKey(p));
      },
      onDelete: (p) => this.assumed.delete(objectKey(p)),
    });
    // A node that appears or changes may make waiting pods schedulable.
    const retryAll = () => {
      for (const p of this.pods.list()) if (needsScheduling(p)) this.queue.add(objectKey(p));
    };
    this.nodes.addEventHandler({
      onAdd: retryAll,
      onUpdate: (o, n) =>
        JSON.stringify(o.status?.conditions) !== JSON.stringify(n.status?.conditions) || o.spec !== n.spec
          ? retryAll()
          : undefined,
    });
  }

  run(ctx: ControllerContext): Promise<void> {
    const recorder = ctx.recorder("default-scheduler");
    return runQueue(ctx, this.name, this.queue, 4, async (key) => {
      const pod = this.pods.get(key);
      if (!pod || !needsScheduling(pod)) return;
      const nodes = this.nodes.list();
      const reasons: string[] = [];
      let best: { name: string; load: number } | undefined;
      for (const node of nodes) {
        const fit = podFitsNode(pod, node);
        if (!fit.fits) {
          reasons.push(fit.reason!);
          continue;
        }
        const load =
          this.pods.indexKeys(BY_NODE, node.metadata.name!).length + this.assumedOn(node.metadata.name!);
        if (!best || load < best.load || (load === best.load && node.metadata.name! < best.name))
          best = { name: node.metadata.name!, load };
      }
      const { namespace, name } = splitKey(key);
      if (!best) {
        const message = unschedulableMessage(nodes.length, reasons);
        recorder.event(pod, "Warning", "FailedScheduling", message);
        await this.markUnschedulable(ctx, pod, message);
        throw new Error(message); // retried with backoff, and again when nodes change
      }
      this.assumed.set(key, best.name);
      try {
        await ctx.client.createSubresource(PODS, namespace, name, "binding", {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name, namespace, uid: pod.metadata.uid },
          target: { apiVersion: "v1", kind: "Node", name: best.name },
        });
      } catch (err) {
        this.assumed.delete(key);
        if (isNotFound(err)) return;
        throw err;
      }
      recorder.event(
        pod,
        "Normal",
        "Scheduled",
        `Successfully assigned ${namespace}/${name} to ${best.name}`,
      );
    });
  }

  private assumedOn(node: string): number {
    let n = 0;
    for (const [key, on] of this.assumed) if (on === node && !this.pods.get(key)?.spec?.nodeName) n++;
    return n;
  }

  private async markUnschedulable(ctx: ControllerContext, pod: any, message: string): Promise<void> {
    const cond = (pod.status?.conditions ?? []).find((c: any) => c.type === "PodScheduled");
    if (cond?.status === "False" && cond.message === message) return;
    const conditions = (pod.status?.conditions ?? []).filter((c: any) => c.type !== "PodScheduled");
    conditions.push({
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message,
      lastProbeTime: null,
      lastTransitionTime: formatTime(),
    });
    try {
      await ctx.client.patch(
        PODS,
        pod.metadata.namespace,
        pod.metadata.name,
        "merge",
        { metadata: { uid: pod.metadata.uid }, status: { conditions } },
        { subresource: "status" },
      );
    } catch (err) {
      if (!isObjectGone(err)) throw err;
    }
  }
}
