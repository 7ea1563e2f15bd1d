// Bearer-token authentication from a static token file (`token,user,uid,"group1,group2"`,
// the format of kube-apiserver's --token-auth-file). What a user may then do is RBAC's to say
// (rbac/access.ts).
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";

export interface UserInfo {
  name: string;
  uid: string;
  groups: string[];
}

export class TokenAuthenticator {
  private readonly tokens = new Map<string, UserInfo>();

  static fromFile(path: string): TokenAuthenticator {
    const a = new TokenAuthenticator();
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const l = line.trim();
      if (!l || l.startsWith("#")) continue;
      const m = /^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/.exec(l);
      if (!m) continue;
      a.add(m[1], { name: m[2], uid: m[3], groups: m[4] ? m[4].split(",") : [] });
    }
    return a;
  }

  add(token: string, user: UserInfo): void {
    this.tokens.set(token, { ...user, groups: [...new Set([...user.groups, "system:authenticated"])] });
  }

  /** The user behind the request's bearer token, or undefined. */
  authenticate(req: IncomingMessage): UserInfo | undefined {
    const h = req.headers.authorization;
    if (!h) return undefined;
    const m = /^Bearer\s+(.+)$/i.exec(h.trim());
    return m ? this.tokens.get(m[1]) : undefined;
  }
}

/** Paths anyone may read, as upstream's default RBAC allows for system:unauthenticated. */
export function isPublicPath(path: string): boolean {
  return path === "/healthz" || path === "/livez" || path === "/readyz" || path === "/version";
}
