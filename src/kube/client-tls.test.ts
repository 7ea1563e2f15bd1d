// mTLS through our own undici Agent: the CA, client certificate and key reach the connection.
// Certificates are made with the openssl CLI; without it the test is skipped.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { TLSSocket } from "node:tls";
import { KubeClient } from "./client.ts";
import { KubeRequestError } from "./errors.ts";
import { NODES } from "./resource.ts";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function makeCerts() {
  const dir = mkdtempSync(join(tmpdir(), "raven-tls-"));
  const f = (name: string) => join(dir, name);
  // Option words are split on spaces; file paths (which may contain spaces) are passed whole.
  const ssl = (...parts: string[]) =>
    execFileSync(
      "openssl",
      parts.flatMap((p) => (p.startsWith(dir) ? [p] : p.split(" "))),
      { stdio: "ignore" },
    );
  const newKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  ssl(`req -x509 ${newKey} -days 1 -subj /CN=test-ca -keyout`, f("ca.key"), "-out", f("ca.crt"));
  for (const [name, subj, ext] of [
    ["server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"],
    ["client", "/CN=raven/O=system:masters", "extendedKeyUsage=clientAuth"],
  ]) {
    ssl(`req ${newKey} -subj ${subj} -keyout`, f(`${name}.key`), "-out", f(`${name}.csr`));
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    ssl(
      "x509 -req -days 1 -CAcreateserial -in",
      f(`${name}.csr`),
      "-CA",
      f("ca.crt"),
      "-CAkey",
      f("ca.key"),
      "-extfile",
      f(`${name}.ext`),
      "-out",
      f(`${name}.crt`),
    );
  }
  const read = (name: string) => readFileSync(f(name));
  return {
    ca: read("ca.crt"),
    serverCert: read("server.crt"),
    serverKey: read("server.key"),
    clientCert: read("client.crt"),
    clientKey: read("client.key"),
  };
}

test("requests present the client certificate and verify the server against the CA", {
  skip: !hasOpenssl(),
}, async () => {
  const certs = makeCerts();
  const server = createServer(
    {
      ca: certs.ca,
      cert: certs.serverCert,
      key: certs.serverKey,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Node", metadata: { name: "n1" }, clientCN: peer.subject.CN }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const server_ = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const good = new KubeClient({
    server: server_,
    ca: certs.ca,
    cert: certs.clientCert,
    key: certs.clientKey,
  });
  const noCa = new KubeClient({ server: server_, cert: certs.clientCert, key: certs.clientKey });
  try {
    const node = await good.get(NODES, "", "n1");
    assert.equal(node.clientCN, "raven");
    await assert.rejects(
      noCa.get(NODES, "", "n1"),
      (err) => err instanceof KubeRequestError && /certificate/i.test(err.message),
    );
  } finally {
    await good.close();
    await noCa.close();
    server.closeAllConnections();
    server.close();
  }
});
