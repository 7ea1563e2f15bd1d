// The sandbox's certificate authority and serving certificate, made with the openssl CLI
// (Node can make keys but not X.509 certificates). Created once per sandbox dir.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
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

/** Creates the CA and the API server certificate (SANs: loopback, localhost, the in-cluster names). */
export function ensurePki(dir: string, extraIps: string[] = []): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = pkiPaths(dir);
  if (existsSync(p.caCert) && existsSync(p.serverCert) && existsSync(p.serverKey)) return p;
  const caKey = join(dir, "ca.key");
  const csr = join(dir, "apiserver.csr");
  const ext = join(dir, "apiserver.ext");
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
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
    p.caCert,
  ]);
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
