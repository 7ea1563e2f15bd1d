// The kubelet's serving certificate, issued by the sandbox CA (pki.ts) for the node's IP and
// name, so the API server can verify it talks to the right node. Made with the openssl CLI,
// as pki.ts does; kept in the node's dir and reused while it exists.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NodeLayout } from "../../node/layout.ts";
import { pkiPaths } from "../../pki.ts";

export interface KubeletCert {
  certFile: string;
  keyFile: string;
}

export function kubeletCertPaths(layout: Pick<NodeLayout, "root">): KubeletCert {
  return { certFile: join(layout.root, "kubelet.crt"), keyFile: join(layout.root, "kubelet.key") };
}

/** Issues (once) the node's kubelet certificate from the CA in `pkiDir`. */
export function ensureKubeletCert(
  pkiDir: string,
  layout: Pick<NodeLayout, "root" | "name" | "nodeIp">,
): KubeletCert {
  const out = kubeletCertPaths(layout);
  if (existsSync(out.certFile) && existsSync(out.keyFile)) return out;
  const ca = pkiPaths(pkiDir);
  const caKey = join(pkiDir, "ca.key");
  if (!existsSync(ca.caCert) || !existsSync(caKey))
    throw new Error(`no sandbox CA in ${pkiDir} (ca.crt and ca.key): create the sandbox PKI first`);
  mkdirSync(layout.root, { recursive: true, mode: 0o700 });
  const csr = join(layout.root, "kubelet.csr");
  const ext = join(layout.root, "kubelet.ext");
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  try {
    run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", out.keyFile]);
    run([
      "req",
      "-new",
      "-key",
      out.keyFile,
      "-subj",
      `/O=system:nodes/CN=system:node:${layout.name}`,
      "-out",
      csr,
    ]);
    writeFileSync(
      ext,
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" +
        `subjectAltName=IP:${layout.nodeIp},DNS:${layout.name}\n`,
    );
    run([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.caCert,
      "-CAkey",
      caKey,
      // A random serial: no shared serial file for nodes issued at the same time to race on.
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
      "-days",
      "3650",
      "-sha256",
      "-extfile",
      ext,
      "-out",
      out.certFile,
    ]);
  } catch (err) {
    rmSync(out.certFile, { force: true });
    rmSync(out.keyFile, { force: true });
    throw err;
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return out;
}
