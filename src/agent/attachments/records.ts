// What raven-agent has attached, on disk, one file per (pod, interface): written "adding" or
// "deleting" before a plugin call and settled after it (atomically: a temp file renamed over),
// so an agent killed mid-call finds the unsettled ones at its restart and cleans them up. The
// record keeps the configuration and the ADD's result, which DEL and CHECK need even after the
// NetworkAttachmentDefinition is gone, and which network-status is written from.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AttachmentRequest } from "../../api/network-attachments.ts";
import type { CniConfig, CniResult } from "./cni-exec.ts";

export interface AttachmentRecord {
  podUid: string;
  podNamespace: string;
  podName: string;
  /** The sandbox (and its network namespace) the interface is in. */
  sandboxId: string;
  netns: string;
  request: AttachmentRequest;
  /** The configuration it was added with (DEL uses it, whatever the NAD says now). */
  config: CniConfig;
  /** "adding"/"deleting": a plugin call was under way and did not settle. */
  phase: "adding" | "added" | "deleting";
  result?: CniResult;
}

const SAFE = /^[A-Za-z0-9._-]+$/;

export class RecordStore {
  private readonly dir: string;
  private readonly byPod = new Map<string, Map<string, AttachmentRecord>>();

  /** Loads what an earlier run left in `dir`. */
  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    for (const uid of readdirSync(dir)) {
      if (!SAFE.test(uid)) continue;
      let files: string[];
      try {
        files = readdirSync(join(dir, uid));
      } catch {
        continue;
      }
      for (const f of files) {
        if (!f.endsWith(".json")) continue;
        try {
          const rec = JSON.parse(readFileSync(join(dir, uid, f), "utf8")) as AttachmentRecord;
          if (rec.podUid === uid) this.mapOf(uid).set(rec.request.interface, rec);
        } catch {
          // A half-written temp file is never named *.json; anything else unreadable is dropped.
        }
      }
    }
  }

  pods(): string[] {
    return [...this.byPod.keys()];
  }

  forPod(uid: string): AttachmentRecord[] {
    return [...(this.byPod.get(uid)?.values() ?? [])];
  }

  /** Writes the record (durably replacing the previous one of its pod and interface). */
  put(rec: AttachmentRecord): void {
    if (!SAFE.test(rec.podUid) || !SAFE.test(rec.request.interface))
      throw new Error(`unsafe record name ${rec.podUid}/${rec.request.interface}`);
    const podDir = join(this.dir, rec.podUid);
    mkdirSync(podDir, { recursive: true });
    const file = join(podDir, `${rec.request.interface}.json`);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(rec), { flush: true });
    renameSync(tmp, file);
    this.mapOf(rec.podUid).set(rec.request.interface, rec);
  }

  remove(uid: string, iface: string): void {
    rmSync(join(this.dir, uid, `${iface}.json`), { force: true });
    const m = this.byPod.get(uid);
    m?.delete(iface);
    if (m && m.size === 0) {
      this.byPod.delete(uid);
      rmSync(join(this.dir, uid), { recursive: true, force: true });
    }
  }

  private mapOf(uid: string): Map<string, AttachmentRecord> {
    let m = this.byPod.get(uid);
    if (!m) {
      m = new Map();
      this.byPod.set(uid, m);
    }
    return m;
  }
}
