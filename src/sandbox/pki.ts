// The sandbox's certificate authority and serving certificate, made with the openssl CLI
// (Node can make keys but not X.509 certificates). The CA is created once per sandbox dir; the
// serving certificate is made again when it lacks an address it must now serve (e.g. the nodes'
// underlay gateway), so clients that trust the CA keep working.
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
