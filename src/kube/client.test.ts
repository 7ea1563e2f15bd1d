import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { KubeClient } from "./client.ts";
import {
  isAlreadyExists,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
  KubeApiError,
  KubeRequestError,
} from "./errors.ts";
import { loadClientConfig } from "./kubeconfig.ts";
import { LineSplitter } from "./ndjson.ts";
import type { WatchEvent } from "./objects.ts";
import { type ApiResource, LEASES, NODES, PODS, resourcePath } from "./resource.ts";

const DEPLOYMENTS: ApiResource = { group: "apps", version: "v1", plural: "deployments", namespaced: true };

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: ReturnType<typeof createServer>;
let base: string;
let handler: Handler;
const seen: Seen[] = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const s = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function status(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", code, reason, message };
}

/** Runs `fn` against a client whose every request is answered by `h`; answers what the server saw. */
async function withClient(h: Handler, fn: (c: KubeClient) => Promise<void>, server_ = base): Promise<Seen[]> {
  handler = h;
  seen.length = 0;
  const client = new KubeClient({
    server: server_,
    headers: async () => ({ Authorization: "Bearer t0ken" }),
  });
  try {
    await fn(client);
  } finally {
    await client.close();
  }
  return [...seen];
}

const echo: Handler = (req, res) => json(res, 200, { kind: "Echo", metadata: { name: "x" }, got: req.body });

test("resource paths for core, grouped, cluster-scoped resources and subresources", () => {
  assert.equal(
    resourcePath(PODS, { namespace: "ns", name: "p", subresource: "status" }),
    "/api/v1/namespaces/ns/pods/p/status",
  );
  assert.equal(resourcePath(PODS), "/api/v1/pods");
  assert.equal(resourcePath(DEPLOYMENTS), "/apis/apps/v1/deployments");
  assert.equal(resourcePath(DEPLOYMENTS, { namespace: "ns" }), "/apis/apps/v1/namespaces/ns/deployments");
  assert.equal(resourcePath(NODES, { name: "n1" }), "/api/v1/nodes/n1");
  assert.equal(resourcePath(NODES, { namespace: "ignored", name: "n1" }), "/api/v1/nodes/n1");
  assert.equal(
    resourcePath(LEASES, { namespace: "kube-system", name: "l" }),
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l",
  );
  assert.equal(resourcePath(PODS, { namespace: "ns", name: "a/b" }), "/api/v1/namespaces/ns/pods/a%2Fb");
  assert.throws(() => resourcePath(PODS, { name: "p" }), /namespaced/);
  assert.throws(() => resourcePath(PODS, { namespace: "ns", name: "" }), /empty name/);
});

test("CRUD requests use the right method, path, query, content type and body", async () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", resourceVersion: "5" },
  };
  const reqs = await withClient(echo, async (c) => {
    await c.get(PODS, "ns", "p");
    await c.list(PODS, {
      namespace: "ns",
      labelSelector: "app=web,tier in (a,b)",
      fieldSelector: "spec.nodeName=n1",
      limit: 500,
      continue: "tok",
      resourceVersion: "0",
      resourceVersionMatch: "NotOlderThan",
    });
    await c.list(DEPLOYMENTS);
    await c.create(PODS, pod, { fieldManager: "raven" });
    await c.update(PODS, pod);
    await c.updateStatus(PODS, pod);
    await c.delete(PODS, "ns", "p", {
      gracePeriodSeconds: 0,
      propagationPolicy: "Foreground",
      preconditions: { uid: "u", resourceVersion: "5" },
    });
    await c.deleteCollection(PODS, "ns", { labelSelector: "app=web" });
    await c.createSubresource(PODS, "ns", "p", "binding", { target: { kind: "Node", name: "n1" } });
    await c.raw("GET", "/version");
  });
  const lines = reqs.map((r) => `${r.method} ${decodeURIComponent(r.url)}`);
  assert.deepEqual(lines, [
    "GET /api/v1/namespaces/ns/pods/p",
    "GET /api/v1/namespaces/ns/pods?labelSelector=app=web,tier+in+(a,b)&fieldSelector=spec.nodeName=n1&limit=500&continue=tok&resourceVersion=0&resourceVersionMatch=NotOlderThan",
    "GET /apis/apps/v1/deployments",
    "POST /api/v1/namespaces/ns/pods?fieldManager=raven",
    "PUT /api/v1/namespaces/ns/pods/p",
    "PUT /api/v1/namespaces/ns/pods/p/status",
    "DELETE /api/v1/namespaces/ns/pods/p",
    "DELETE /api/v1/namespaces/ns/pods?labelSelector=app=web",
    "POST /api/v1/namespaces/ns/pods/p/binding",
    "GET /version",
  ]);
  assert.equal(reqs[0].headers.authorization, "Bearer t0ken");
  assert.equal(reqs[0].headers.accept, "application/json");
  assert.equal(reqs[3].headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(reqs[3].body), pod);
  assert.deepEqual(JSON.parse(reqs[6].body), {
    kind: "DeleteOptions",
    apiVersion: "v1",
    gracePeriodSeconds: 0,
    propagationPolicy: "Foreground",
    preconditions: { uid: "u", resourceVersion: "5" },
  });
  assert.deepEqual(JSON.parse(reqs[8].body), { target: { kind: "Node", name: "n1" } });
});

test("namespaced writes without a namespace are refused before any request", async () => {
  const reqs = await withClient(echo, async (c) => {
    await assert.rejects(c.create(PODS, { metadata: { name: "p" } }), /namespaced/);
    await assert.rejects(c.get(PODS, "", "p"), /namespaced/);
  });
  assert.equal(reqs.length, 0);
});

test("patch types map to their content types; apply carries fieldManager and force", async () => {
  const reqs = await withClient(echo, async (c) => {
    await c.patch(PODS, "ns", "p", "merge", { metadata: { labels: { a: "b" } } });
    await c.patch(PODS, "ns", "p", "strategic", { spec: {} });
    await c.patch(PODS, "ns", "p", "json", [{ op: "add", path: "/metadata/labels/a", value: "b" }], {
      subresource: "status",
    });
    await c.patch(
      PODS,
      "ns",
      "p",
      "apply",
      { apiVersion: "v1", kind: "Pod" },
      { fieldManager: "raven", force: true },
    );
    await assert.rejects(c.patch(PODS, "ns", "p", "apply", {}), /fieldManager/);
  });
  assert.deepEqual(
    reqs.map((r) => [r.method, r.url, r.headers["content-type"]]),
    [
      ["PATCH", "/api/v1/namespaces/ns/pods/p", "application/merge-patch+json"],
      ["PATCH", "/api/v1/namespaces/ns/pods/p", "application/strategic-merge-patch+json"],
      ["PATCH", "/api/v1/namespaces/ns/pods/p/status", "application/json-patch+json"],
      ["PATCH", "/api/v1/namespaces/ns/pods/p?fieldManager=raven&force=true", "application/apply-patch+yaml"],
    ],
  );
  assert.deepEqual(JSON.parse(reqs[2].body), [{ op: "add", path: "/metadata/labels/a", value: "b" }]);
});

test("failures become KubeApiError with the server's Status, and the helpers classify them", async () => {
  const answers: [number, unknown][] = [
    [404, status(404, "NotFound", 'pods "p" not found')],
    [409, status(409, "Conflict", "the object has been modified")],
    [409, status(409, "AlreadyExists", 'pods "p" already exists')],
    [422, status(422, "Invalid", "spec.containers: Required value")],
    [410, status(410, "Expired", "The provided continue parameter is too old")],
    [502, "<html>Bad Gateway</html>"],
  ];
  const errors: KubeApiError[] = [];
  await withClient(
    (_req, res) => {
      const [code, body] = answers[errors.length];
      if (typeof body === "string") {
        res.writeHead(code, { "content-type": "text/html" });
        res.end(body);
      } else json(res, code, body);
    },
    async (c) => {
      for (let i = 0; i < answers.length; i++) {
        try {
          await c.get(PODS, "ns", "p");
          assert.fail("should have thrown");
        } catch (err) {
          assert.ok(err instanceof KubeApiError);
          errors.push(err);
        }
      }
    },
  );
  const [notFound, conflict, exists, invalid, expired, badGateway] = errors;
  assert.equal(notFound.code, 404);
  assert.equal(notFound.reason, "NotFound");
  assert.equal(notFound.status.message, 'pods "p" not found');
  assert.match(notFound.message, /GET \/api\/v1\/namespaces\/ns\/pods\/p: 404 NotFound/);
  assert.ok(isNotFound(notFound) && !isConflict(notFound));
  assert.ok(isConflict(conflict) && !isAlreadyExists(conflict));
  assert.ok(isAlreadyExists(exists) && !isConflict(exists));
  assert.ok(isInvalid(invalid));
  assert.ok(isGone(expired));
  assert.match(expired.message, /gone/i);
  assert.equal(badGateway.code, 502);
  assert.equal(badGateway.status.message, "<html>Bad Gateway</html>");
  assert.ok(!isNotFound(badGateway) && !isGone(badGateway));
});

test("network failures keep their cause", async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const client = new KubeClient({ server: `http://127.0.0.1:${port}` });
  try {
    await assert.rejects(client.get(PODS, "ns", "p"), (err: unknown) => {
      assert.ok(err instanceof KubeRequestError);
      assert.equal((err.cause as NodeJS.ErrnoException).code, "ECONNREFUSED");
      return true;
    });
  } finally {
    await client.close();
  }
});

test("a server path prefix is kept", async () => {
  const reqs = await withClient(
    echo,
    (c) => c.get(NODES, "", "n1").then(() => {}),
    `${base}/k8s/clusters/c1/`,
  );
  assert.equal(reqs[0].url, "/k8s/clusters/c1/api/v1/nodes/n1");
});

test("watch streams events split across chunks, with the watch query, and resolves when the server ends", async () => {
  const events: WatchEvent[] = [];
  const reqs = await withClient(
    (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const text =
        `${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a", resourceVersion: "1" } } })}\n` +
        `${JSON.stringify({ type: "MODIFIED", object: { metadata: { name: "ü-b", resourceVersion: "2" } } })}\n` +
        `${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "9" } } })}\n`;
      const bytes = Buffer.from(text);
      // Cut mid-line and inside the two-byte "ü".
      const cut1 = 20;
      const cut2 = bytes.indexOf(Buffer.from("ü")) + 1;
      res.write(bytes.subarray(0, cut1));
      setTimeout(() => {
        res.write(bytes.subarray(cut1, cut2));
        setTimeout(() => res.end(bytes.subarray(cut2)), 5);
      }, 5);
    },
    (c) =>
      c.watch(
        PODS,
        {
          namespace: "ns",
          resourceVersion: "1",
          labelSelector: "app=web",
          allowWatchBookmarks: true,
          timeoutSeconds: 300,
        },
        (e) => events.push(e),
      ),
  );
  assert.equal(
    decodeURIComponent(reqs[0].url),
    "/api/v1/namespaces/ns/pods?watch=1&resourceVersion=1&labelSelector=app=web&allowWatchBookmarks=true&timeoutSeconds=300",
  );
  assert.deepEqual(
    events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]),
    [
      ["ADDED", "a", "1"],
      ["MODIFIED", "ü-b", "2"],
      ["BOOKMARK", undefined, "9"],
    ],
  );
});

test("watch rejects as gone on an ERROR event with code 410 and on a 410 answer", async () => {
  await withClient(
    (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a" } } })}\n`);
      res.end(
        `${JSON.stringify({ type: "ERROR", object: status(410, "Expired", "too old resource version: 1 (50)") })}\n`,
      );
    },
    async (c) => {
      let added = 0;
      await assert.rejects(
        c.watch(PODS, {}, () => added++),
        (err: unknown) => isGone(err) && /gone/i.test((err as Error).message),
      );
      assert.equal(added, 1);
    },
  );
  await withClient(
    (_req, res) => json(res, 410, status(410, "Gone", "too old")),
    (c) =>
      assert.rejects(
        c.watch(PODS, {}, () => {}),
        (err: unknown) => isGone(err) && /gone/i.test(String(err)),
      ),
  );
  await withClient(
    (_req, res) => json(res, 403, status(403, "Forbidden", "no")),
    (c) =>
      assert.rejects(
        c.watch(PODS, {}, () => {}),
        (err: unknown) => err instanceof KubeApiError && err.code === 403,
      ),
  );
});

test("watch: aborting resolves; an onEvent error rejects with that error", async () => {
  let open: ServerResponse | undefined;
  await withClient(
    (_req, res) => {
      open = res;
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a" } } })}\n`);
    },
    async (c) => {
      const ctl = new AbortController();
      const watching = c.watch(PODS, {}, () => ctl.abort(), ctl.signal);
      await watching; // resolved, not rejected
      const boom = new Error("handler failed");
      await assert.rejects(
        c.watch(PODS, {}, () => {
          throw boom;
        }),
        (err) => err === boom,
      );
    },
  );
  open?.end();
});

test("listerWatcher binds namespace and selectors to both calls", async () => {
  const reqs = await withClient(
    (req, res) => {
      if (req.url.includes("watch=1")) res.end();
      else
        json(res, 200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "3" }, items: [] });
    },
    async (c) => {
      const lw = c.listerWatcher(PODS, { namespace: "ns", fieldSelector: "spec.nodeName=n1" });
      const list = await lw.list({ limit: 500 });
      assert.equal(list.metadata.resourceVersion, "3");
      await lw.watch({ resourceVersion: "3" }, () => {}, new AbortController().signal);
    },
  );
  assert.deepEqual(
    reqs.map((r) => decodeURIComponent(r.url)),
    [
      "/api/v1/namespaces/ns/pods?fieldSelector=spec.nodeName=n1&limit=500",
      "/api/v1/namespaces/ns/pods?watch=1&resourceVersion=3&fieldSelector=spec.nodeName=n1",
    ],
  );
});

test("LineSplitter joins lines across chunks and keeps a trailing partial line", () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push(Buffer.from("ab")), []);
  assert.deepEqual(s.push(Buffer.from("c\nde\n\nf")), ["abc", "de", ""]);
  assert.deepEqual(s.push(Buffer.from("g")), []);
  assert.equal(s.end(), "fg");
  assert.equal(s.end(), undefined);
});

test("a kubeconfig file yields the server, the bearer token and the context namespace", async () => {
  const dir = mkdtempSync(join(tmpdir(), "raven-kubeconfig-"));
  try {
    const path = join(dir, "config");
    writeFileSync(
      path,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: sandbox",
        "  cluster:",
        "    server: https://127.0.0.1:6443",
        "    insecure-skip-tls-verify: true",
        "users:",
        "- name: admin",
        "  user:",
        "    token: s3cret",
        "contexts:",
        "- name: sandbox",
        "  context: {cluster: sandbox, user: admin, namespace: raven-system}",
        "current-context: sandbox",
      ].join("\n"),
    );
    const cfg = await loadClientConfig({ path });
    assert.equal(cfg.server, "https://127.0.0.1:6443");
    assert.equal(cfg.namespace, "raven-system");
    assert.equal(cfg.rejectUnauthorized, false);
    const headers = typeof cfg.headers === "function" ? await cfg.headers() : cfg.headers;
    assert.equal(headers?.Authorization, "Bearer s3cret");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an isolated kubeconfig load (child process) yields the same client config", async () => {
  const dir = mkdtempSync(join(tmpdir(), "raven-kubeconfig-"));
  try {
    const path = join(dir, "config");
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, "t0k3n\n");
    writeFileSync(
      path,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: sandbox",
        "  cluster:",
        "    server: https://127.0.0.1:6443",
        `    certificate-authority-data: ${Buffer.from("-----CA-----").toString("base64")}`,
        "users:",
        "- name: admin",
        "  user:",
        "    token: s3cret",
        "- name: sa",
        "  user:",
        `    auth-provider: {name: tokenFile, config: {tokenFile: ${tokenFile}}}`,
        "contexts:",
        "- name: sandbox",
        "  context: {cluster: sandbox, user: admin, namespace: raven-system}",
        "- name: sa",
        "  context: {cluster: sandbox, user: sa}",
        "current-context: sandbox",
      ].join("\n"),
    );
    const inline = await loadClientConfig({ path });
    const isolated = await loadClientConfig({ path, isolate: true });
    const headersOf = async (c: typeof inline) =>
      typeof c.headers === "function" ? await c.headers() : c.headers;
    assert.equal(isolated.server, inline.server);
    assert.equal(isolated.namespace, "raven-system");
    assert.equal(String(isolated.ca), "-----CA-----");
    assert.deepEqual(await headersOf(isolated), await headersOf(inline));
    assert.equal((await headersOf(isolated))?.Authorization, "Bearer s3cret");
    // A token file (the in-cluster service account's kind of credential) is read as client-node reads it.
    const sa = await loadClientConfig({ path, context: "sa", isolate: true });
    assert.match((await headersOf(sa))?.Authorization ?? "", /^Bearer t0k3n/);
    // A broken kubeconfig fails with client-node's message.
    await assert.rejects(
      loadClientConfig({ path: join(dir, "missing"), isolate: true }),
      /ENOENT|no such file/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a write fence: writes are refused before they are sent, reads pass, in-flight writes are aborted with it; a sibling is not fenced", async () => {
  let open = true;
  const ended = new AbortController();
  let pending: ServerResponse | undefined;
  const seenByServer = await withClient(
    (req, res) => {
      if (req.body.includes("slow"))
        pending = res; // never answered: the fence aborts it
      else echo(req, res);
    },
    async (c) => {
      c.setWriteFence({
        signal: ended.signal,
        check: () => {
          if (!open) throw new Error("not leader");
        },
      });
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "a", namespace: "ns" } };
      await c.create(PODS, pod);
      open = false;
      await assert.rejects(c.create(PODS, pod), /not leader/);
      await assert.rejects(c.patch(PODS, "ns", "a", "merge", {}), /not leader/);
      await c.get(PODS, "ns", "a");
      await c.sibling().create(PODS, pod);
      open = true;
      const slow = c.create(PODS, { ...pod, metadata: { ...pod.metadata, name: "slow" } }).catch((e) => e);
      while (!pending) await new Promise((r) => setTimeout(r, 5));
      ended.abort(new Error("lost the lease"));
      assert.match(String(await slow), /lost the lease|abort/i);
      pending.destroy();
    },
  );
  assert.deepEqual(
    seenByServer.map((s) => s.method),
    ["POST", "GET", "POST", "POST"],
    "the refused writes never reached the server",
  );
});

test("the fence is checked again as the write goes onto the connection (a process frozen in between must not send it)", async () => {
  let checks = 0;
  const seenByServer = await withClient(echo, async (c) => {
    c.setWriteFence({
      signal: new AbortController().signal,
      // The first check (when the request is made) passes; by the time it is written, it fails.
      check: () => {
        if (++checks % 2 === 0) throw new Error("lease ran out meanwhile");
      },
    });
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "a", namespace: "ns" } };
    await assert.rejects(c.create(PODS, pod), /lease ran out meanwhile/);
  });
  assert.equal(checks, 2);
  assert.deepEqual(seenByServer, [], "nothing reached the server");
});
