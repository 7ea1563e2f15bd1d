// Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection:
// whoever holds an unexpired lease leads; the leader renews it every retryPeriod and gives up
// leading when it cannot renew within renewDeadline; others take over once the lease has not
// changed for leaseDuration *as they observed it locally* (no clock agreement between hosts
// is assumed). Writes carry the resourceVersion read, so of two racing candidates one gets
// 409 Conflict and loses.

import type { KubeClient } from "./client.ts";
import { type Clock, deadlineSignal, sleep, systemClock } from "./clock.ts";
import { isAlreadyExists, isConflict, isNotFound } from "./errors.ts";
import { type Logger, stderrLogger } from "./log.ts";
import { formatMicroTime, type KubeObject } from "./objects.ts";
import { LEASES } from "./resource.ts";

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime. */
  acquireTime?: string;
  /** MicroTime. */
  renewTime?: string;
  leaseTransitions?: number;
  [field: string]: unknown;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** The three Lease calls election needs; `kubeLeaseClient` is the real one. */
export interface LeaseClient {
  /** Undefined when the lease does not exist. */
  get(namespace: string, name: string, signal?: AbortSignal): Promise<Lease | undefined>;
  create(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  /** Must fail (409) when `lease.metadata.resourceVersion` is stale. */
  update(lease: Lease, signal?: AbortSignal): Promise<Lease>;
}

export function kubeLeaseClient(client: KubeClient): LeaseClient {
  return {
    async get(namespace, name, signal) {
      try {
        return await client.get<Lease>(LEASES, namespace, name, { signal });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: (lease, signal) => client.create(LEASES, lease, { signal }),
    update: (lease, signal) => client.update(LEASES, lease, { signal }),
  };
}

export interface LeaderElectionConfig {
  leases: LeaseClient;
  namespace: string;
  name: string;
  /** Unique per candidate, e.g. the pod name plus a random suffix. */
  identity: string;
  /** How long others wait, after last seeing the lease change, before taking over. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a failed renewal before it stops leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** On a graceful stop, clear the holder so another candidate can take over at once. Default true. */
  releaseOnCancel?: boolean;
  /**
   * Called on becoming leader. `signal` aborts when leadership ends; stop all leader work then.
   * A returned promise is awaited (for up to leaseDuration) before the lease is released.
   */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called after leadership ended (only if this candidate led). */
  onStoppedLeading?: () => void;
  /** Called whenever a different holder (possibly this one) is observed. */
  onNewLeader?: (identity: string) => void;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

// client-go waits retryPeriod plus up to 1.2 × retryPeriod at random between acquire attempts.
const JITTER_FACTOR = 1.2;

export class LeaderElector {
  private readonly cfg: LeaderElectionConfig;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private observed: Lease | undefined;
  private observedRaw = "";
  private observedTime = 0;
  private reportedLeader = "";
  private leading = false;

  constructor(cfg: LeaderElectionConfig) {
    this.cfg = cfg;
    this.leaseDurationMs = cfg.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = cfg.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = cfg.retryPeriodMs ?? 2_000;
    this.clock = cfg.clock ?? systemClock;
    this.random = cfg.random ?? Math.random;
    this.logger = cfg.logger ?? stderrLogger;
    if (!cfg.identity) throw new Error("leader election needs an identity");
    if (this.leaseDurationMs <= this.renewDeadlineMs)
      throw new Error("leaseDuration must be greater than renewDeadline");
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs)
      throw new Error("renewDeadline must be greater than retryPeriod × 1.2");
    if (this.leaseDurationMs % 1000 !== 0) throw new Error("leaseDuration must be whole seconds");
  }

  /** True while this candidate holds the lease as far as it last observed. */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Whether this candidate may act as leader right now, by its own clock: it leads, and its
   * last successful renewal started less than renewDeadline ago. Others take over only after
   * leaseDuration (> renewDeadline) without seeing a renewal, so a leader that checks this
   * before each write never writes once another may lead, even if it was frozen (SIGSTOP, a
   * long pause) and has not noticed yet that its lease ran out.
   */
  mayAct(): boolean {
    return this.leading && this.isHeldByUs() && this.clock.now() < this.observedTime + this.renewDeadlineMs;
  }

  /** The holder last observed ("" when none). */
  getLeader(): string {
    return this.observed?.spec?.holderIdentity ?? "";
  }

  /**
   * Campaigns until elected, leads until renewal fails or `signal` aborts, then releases the
   * lease (on abort, if releaseOnCancel) and resolves. Run again to campaign again.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (!(await this.acquire(signal))) return;
    this.leading = true;
    const leadership = new AbortController();
    const stopLeading = () => leadership.abort();
    signal.addEventListener("abort", stopLeading, { once: true });
    let work: Promise<void>;
    try {
      work = Promise.resolve(this.cfg.onStartedLeading(leadership.signal)).catch((err) => {
        this.logger.error({ err, lease: this.cfg.name }, "onStartedLeading failed");
      });
    } catch (err) {
      this.logger.error({ err, lease: this.cfg.name }, "onStartedLeading threw");
      work = Promise.resolve();
    }
    await this.renewLoop(signal);
    this.leading = false;
    leadership.abort();
    signal.removeEventListener("abort", stopLeading);
    // Let the leader's work wind down before others may start theirs.
    const patience = new AbortController();
    await Promise.race([work, sleep(this.clock, this.leaseDurationMs, patience.signal)]);
    patience.abort();
    if (signal.aborted && this.cfg.releaseOnCancel !== false) await this.release();
    try {
      this.cfg.onStoppedLeading?.();
    } catch (err) {
      this.logger.error({ err, lease: this.cfg.name }, "onStoppedLeading threw");
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      const ok = await this.tryAcquireOrRenew(signal);
      this.reportTransition();
      if (ok) {
        this.logger.info({ lease: this.cfg.name, identity: this.cfg.identity }, "acquired lease");
        return true;
      }
      const wait = this.retryPeriodMs * (1 + JITTER_FACTOR * this.random());
      await sleep(this.clock, wait, signal);
    }
    return false;
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Keep trying every retryPeriod, but only until renewDeadline.
      const deadline = deadlineSignal(this.clock, this.renewDeadlineMs, signal);
      let renewed = false;
      try {
        while (!deadline.signal.aborted) {
          if (await this.tryAcquireOrRenew(deadline.signal)) {
            renewed = true;
            break;
          }
          await sleep(this.clock, this.retryPeriodMs, deadline.signal);
        }
      } finally {
        deadline.dispose();
      }
      this.reportTransition();
      if (signal.aborted) return;
      if (!renewed) {
        this.logger.warn(
          { lease: this.cfg.name, identity: this.cfg.identity },
          "failed to renew lease; stopping leading",
        );
        return;
      }
      await sleep(this.clock, this.retryPeriodMs, signal);
    }
  }

  /** One attempt to take or keep the lease (client-go's tryAcquireOrRenew). */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.clock.now();
    const stamp = formatMicroTime(now);
    const { leases, namespace, name, identity } = this.cfg;
    const leaseDurationSeconds = this.leaseDurationMs / 1000;

    // Fast path: while leading and the lease is fresh, renew from the copy we wrote last.
    if (this.leading && this.observed && this.isHeldByUs() && this.observedValid(now)) {
      const spec = this.observed.spec ?? {};
      const renewedLease = { ...this.observed, spec: { ...spec, renewTime: stamp, leaseDurationSeconds } };
      try {
        this.observe(await leases.update(renewedLease, signal), now);
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        this.logger.debug({ err, lease: name }, "fast-path renew failed; rereading the lease");
      }
    }

    let current: Lease | undefined;
    try {
      current = await leases.get(namespace, name, signal);
    } catch (err) {
      if (!signal.aborted) this.logger.warn({ err, lease: name }, "cannot read lease");
      return false;
    }
    if (!current) {
      const fresh: Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: 0,
        },
      };
      try {
        this.observe(await leases.create(fresh, signal), now);
        return true;
      } catch (err) {
        if (!signal.aborted && !isAlreadyExists(err))
          this.logger.warn({ err, lease: name }, "cannot create lease");
        return false;
      }
    }

    // Expiry is judged by when *we* last saw the lease change, not by its timestamps.
    const raw = JSON.stringify(current.spec ?? {});
    if (raw !== this.observedRaw) {
      this.observedRaw = raw;
      this.observedTime = now;
    }
    this.observed = current;
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    if (holder && holder !== identity && this.observedValid(now)) return false;

    const ours = holder === identity;
    const next: LeaseSpec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: ours ? spec.acquireTime : stamp,
      renewTime: stamp,
      leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      this.observe(await leases.update({ ...current, spec: next }, signal), now);
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      if (isConflict(err)) this.logger.debug({ lease: name }, "lost a race for the lease");
      else this.logger.warn({ err, lease: name }, "cannot update lease");
      return false;
    }
  }

  /** Clears the holder so a waiting candidate can acquire without waiting out the lease. */
  private async release(): Promise<void> {
    if (!this.observed || !this.isHeldByUs()) return;
    const now = this.clock.now();
    const stamp = formatMicroTime(now);
    const spec = this.observed.spec ?? {};
    const released: Lease = {
      ...this.observed,
      spec: { ...spec, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: stamp, renewTime: stamp },
    };
    const deadline = deadlineSignal(this.clock, this.renewDeadlineMs);
    try {
      this.observe(await this.cfg.leases.update(released, deadline.signal), now);
      this.logger.info({ lease: this.cfg.name, identity: this.cfg.identity }, "released lease");
    } catch (err) {
      this.logger.warn({ err, lease: this.cfg.name }, "cannot release lease");
    } finally {
      deadline.dispose();
    }
  }

  private observe(lease: Lease, now: number): void {
    this.observed = lease;
    this.observedRaw = JSON.stringify(lease.spec ?? {});
    this.observedTime = now;
  }

  private isHeldByUs(): boolean {
    return this.observed?.spec?.holderIdentity === this.cfg.identity;
  }

  private observedValid(now: number): boolean {
    const seconds = this.observed?.spec?.leaseDurationSeconds ?? 0;
    return this.observedTime + seconds * 1000 > now;
  }

  private reportTransition(): void {
    const holder = this.getLeader();
    if (!holder || holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    try {
      this.cfg.onNewLeader?.(holder);
    } catch (err) {
      this.logger.error({ err, lease: this.cfg.name }, "onNewLeader threw");
    }
  }
}
