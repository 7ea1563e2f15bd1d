// The sandbox's certificate authority and the certificates it issues, made with the openssl CLI
// (Node can make keys but not X.509 certificates): the API server's serving certificate, and
// etcd's (server, and the API server's client certificate: etcd serves TLS with client
// certificates only, so no local user can reach the data behind the API server's back). The CA
// is created once per sandbox dir; the API server's certificate is made again when it lacks an
// address it must now serve (e.g. the nodes' underlay gateway), so clients keep working.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

export function pkiPaths(dir: string): Pki {
  return {
    caCert: join(dir, "ca.crt"),
    serverCert: join(dir, "apiserver.crt"),
    serverKey: join(dir, "apiserver.key"),
  };
}

/** etcd's certificates: its serving (and peer) certificate, and the API server's client one. */
export interface EtcdPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export function etcdPkiPaths(dir: string): EtcdPki {
  return {
    caCert: join(dir, "ca.crt"),
    serverCert: join(dir, "etcd-server.crt"),
    serverKey: join(dir, "etcd-server.key"),
    clientCert: join(dir, "apiserver-etcd-client.crt"),
    clientKey: join(dir, "apiserver-etcd-client.key"),
  };
}

/** What the API server (or a test) needs to be let into the sandbox's etcd. */
export function etcdClientTls(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const p = etcdPkiPaths(dir);
  return { caFile: p.caCert, certFile: p.clientCert, keyFile: p.clientKey };
}

type Openssl = (args: string[]) => unknown;
const openssl: Openssl = (args) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });

/** Issues `<name>.crt`/`<name>.key` in `dir` from the CA, with these extensions. */
function issue(dir: string, name: string, cn: string, ext: string[]): void {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  openssl(["req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-out", csr]);
  writeFileSync(extFile, `${ext.join("\n")}\n`);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(dir, "ca.crt"),
    "-CAkey",
    join(dir, "ca.key"),
    "-CAcreateserial",
    "-days",
    "3650",
    "-sha256",
    "-extfile",
    extFile,
    "-out",
    join(dir, `${name}.crt`),
  ]);
}

function ensureCa(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(join(dir, "ca.crt")) || !existsSync(join(dir, "ca.key")))
    makeCa(openssl, join(dir, "ca.key"), join(dir, "ca.crt"));
}

/** etcd's certificates, issued once per sandbox dir (loopback only: etcd listens on nothing else). */
export function ensureEtcdPki(dir: string): EtcdPki {
  ensureCa(dir);
  const p = etcdPkiPaths(dir);
  if (!existsSync(p.serverCert) || !existsSync(p.serverKey))
    issue(dir, "etcd-server", "etcd", [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      // Also a client certificate: etcd's peer listener asks for one too.
      "extendedKeyUsage=serverAuth,clientAuth",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
  if (!existsSync(p.clientCert) || !existsSync(p.clientKey))
    issue(dir, "apiserver-etcd-client", "kube-apiserver-etcd-client", [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=clientAuth",
    ]);
  return p;
}

/** The IP SANs of a certificate file. */
export function certIpSans(certFile: string): string[] {
  const san = new X509Certificate(readFileSync(certFile)).subjectAltName ?? "";
  return san
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("IP Address:"))
    .map((s) => s.slice("IP Address:".length));
}

/**
 * Creates the CA and the API server certificate (SANs: loopback, localhost, the in-cluster names,
 * `extraIps`). An existing serving certificate missing one of `extraIps` is replaced; the CA stays.
 */
export function ensurePki(dir: string, extraIps: string[] = []): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = pkiPaths(dir);
  const caKey = join(dir, "ca.key");
  const haveCa = existsSync(p.caCert) && existsSync(caKey);
  if (haveCa && existsSync(p.serverCert) && existsSync(p.serverKey)) {
    const have = new Set(certIpSans(p.serverCert));
    if (extraIps.every((ip) => have.has(ip))) return p;
  }
  const csr = join(dir, "apiserver.csr");
  const ext = join(dir, "apiserver.ext");
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  if (!haveCa) makeCa(run, caKey, p.caCert);
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p.serverKey]);
  run(["req", "-new", "-key", p.serverKey, "-subj", "/CN=kube-apiserver", "-out", csr]);
  const sans = [
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP:127.0.0.1",
    ...extraIps.map((ip) => `IP:${ip}`),
  ];
  writeFileSync(
    ext,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(",")}\n`,
  );
  run([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    p.caCert,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-days",
    "3650",
    "-sha256",
    "-extfile",
    ext,
    "-out",
    p.serverCert,
  ]);
  return p;
}

function makeCa(run: (args: string[]) => unknown, caKey: string, caCert: string): void {
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey]);
  run([
    "req",
    "-x509",
    "-new",
    "-key",
    caKey,
    "-sha256",
    "-days",
    "3650",
    "-subj",
    "/CN=raven-sandbox-ca",
    "-out",
    caCert,
  ]);
}
