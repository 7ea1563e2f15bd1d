// Addresses (or CIDRs) this process is in the middle of claiming, per pool, so concurrent calls
// inside one process never reach for the same one while the cache cannot show it yet.

export class Reservations {
  private readonly held = new Map<string, Set<string>>();

  /** Reserves `value` in `scope`; false when it is already reserved. */
  reserve(scope: string, value: string): boolean {
    let set = this.held.get(scope);
    if (!set) {
      set = new Set();
      this.held.set(scope, set);
    }
    if (set.has(value)) return false;
    set.add(value);
    return true;
  }

  release(scope: string, value: string): void {
    const set = this.held.get(scope);
    if (!set) return;
    set.delete(value);
    if (set.size === 0) this.held.delete(scope);
  }

  of(scope: string): ReadonlySet<string> {
    return this.held.get(scope) ?? new Set();
  }
}
