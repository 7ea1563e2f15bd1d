// When each address of a subnet was last released, oldest first, for least-recently-released
// reuse (ipam.ts chooseFreeIp). Fed by the backend's view of port deletions, its own and other
// replicas' alike, so a standby replica that takes over knows the history too. It lives in
// memory: after every replica restarts, addresses released before count as never released.
import type { Clock } from "../kube/clock.ts";

/** One release: when, and of which port (so a late report of the same release changes nothing). */
export interface Release {
  at: number;
  portId: string;
}

export class ReleaseHistory {
  private readonly bySubnet = new Map<string, Map<string, Release>>();
  private readonly listeners = new Set<(subnetId: string, ip: string) => void>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /**
   * Port `portId` holding `ip` of `subnetId` is gone: the address was released now (it moves to
   * the end). The same release reported again (our delete, then the watch event) keeps its time.
   */
  released(subnetId: string, ip: string, portId: string): void {
    let m = this.bySubnet.get(subnetId);
    if (!m) {
      m = new Map();
      this.bySubnet.set(subnetId, m);
    }
    if (m.get(ip)?.portId === portId) return;
    m.delete(ip);
    m.set(ip, { at: this.clock.now(), portId });
    for (const l of this.listeners) l(subnetId, ip);
  }

  /** Port `portId` holds `ip` again: its release no longer matters (unless it is that port's own, reported late). */
  claimed(subnetId: string, ip: string, portId: string): void {
    const m = this.bySubnet.get(subnetId);
    const r = m?.get(ip);
    if (!m || !r || r.portId === portId) return;
    m.delete(ip);
    if (!m.size) this.bySubnet.delete(subnetId);
  }

  /** address -> its release, oldest first. */
  of(subnetId: string): ReadonlyMap<string, Release> {
    return this.bySubnet.get(subnetId) ?? EMPTY;
  }

  onReleased(listener: (subnetId: string, ip: string) => void): void {
    this.listeners.add(listener);
  }
}

const EMPTY: ReadonlyMap<string, Release> = new Map();
