// Test support only: a scriptable ListerWatcher. Lists answer from a queue of pages (or
// errors); each watch call becomes a FakeWatch that the test drives by hand.

import type { Clock } from "./clock.ts";
import type { ListerWatcher, ListOptions, WatchOptions } from "./list-watch.ts";
import type { KubeList, KubeObject, WatchEvent } from "./objects.ts";

export type ListAnswer = KubeList | Error;

export class FakeWatch {
  readonly opts: WatchOptions;
  private readonly onEvent: (e: WatchEvent) => void;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  readonly done: Promise<void>;
  ended = false;

  constructor(opts: WatchOptions, onEvent: (e: WatchEvent) => void, signal: AbortSignal) {
    this.opts = opts;
    this.onEvent = onEvent;
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    signal.addEventListener("abort", () => this.end(), { once: true });
  }

  /** Delivers an event as the real client does: what onEvent throws ends the watch with that error. */
  emit(type: WatchEvent["type"], object: KubeObject | Record<string, unknown>): void {
    if (this.ended) throw new Error("emit on an ended watch");
    try {
      this.onEvent({ type, object } as WatchEvent);
    } catch (err) {
      this.fail(err);
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.settle.resolve();
  }

  fail(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.settle.reject(err);
  }
}

export class FakeListerWatcher implements ListerWatcher {
  readonly listCalls: ListOptions[] = [];
  /** When each list call was made, on the clock given to the constructor. */
  readonly listTimes: number[] = [];
  private readonly clock: Clock | undefined;
  readonly watches: FakeWatch[] = [];
  private readonly answers: ListAnswer[] = [];
  private listWaiters: (() => void)[] = [];
  private watchWaiters: { n: number; resolve: (w: FakeWatch) => void }[] = [];

  /** Queues answers for the next list calls. */
  answerLists(...answers: ListAnswer[]): void {
    this.answers.push(...answers);
    const waiters = this.listWaiters;
    this.listWaiters = [];
    for (const w of waiters) w();
  }

  constructor(clock?: Clock) {
    this.clock = clock;
  }

  async list(opts: ListOptions): Promise<KubeList> {
    const { signal, ...rest } = opts;
    this.listCalls.push(rest);
    this.listTimes.push(this.clock?.now() ?? Date.now());
    while (this.answers.length === 0) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        this.listWaiters.push(resolve);
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    const answer = this.answers.shift()!;
    if (answer instanceof Error) throw answer;
    return structuredClone(answer);
  }

  watch(opts: WatchOptions, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const w = new FakeWatch(opts, onEvent, signal);
    this.watches.push(w);
    const ready = this.watchWaiters.filter((x) => x.n < this.watches.length);
    this.watchWaiters = this.watchWaiters.filter((x) => x.n >= this.watches.length);
    for (const x of ready) x.resolve(this.watches[x.n]);
    return w.done;
  }

  /** The `n`-th watch call (0-based), once the reflector makes it. */
  watchAt(n: number): Promise<FakeWatch> {
    if (this.watches[n]) return Promise.resolve(this.watches[n]);
    return new Promise((resolve) => this.watchWaiters.push({ n, resolve }));
  }
}

/** A list page. */
export function page(
  items: KubeObject[],
  resourceVersion: string,
  cont?: string,
  kind = "PodList",
): KubeList {
  return { apiVersion: "v1", kind, metadata: { resourceVersion, continue: cont }, items };
}
