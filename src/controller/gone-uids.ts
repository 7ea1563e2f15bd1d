// UIDs of objects gone from the cache under a key. A name may be reused at once, so a key's
// sync cannot tell from the cache alone which UIDs still hold backend state to release.
export class GoneUids {
  private readonly byKey = new Map<string, Set<string>>();

  add(key: string, uid: string): void {
    const uids = this.byKey.get(key) ?? new Set<string>();
    uids.add(uid);
    this.byKey.set(key, uids);
  }

  /**
   * Calls `release` for every UID gone under `key` except the live one, forgetting each once
   * released; a throwing `release` keeps the rest (and that UID) for the retry.
   */
  async release(
    key: string,
    liveUid: string | undefined,
    release: (uid: string) => Promise<void>,
  ): Promise<void> {
    const gone = this.byKey.get(key);
    if (!gone) return;
    for (const uid of [...gone]) {
      if (uid !== liveUid) await release(uid);
      gone.delete(uid);
    }
    if (!gone.size) this.byKey.delete(key);
  }
}
