// Objects every cluster starts with: the system namespaces and the `kubernetes` Service.

import { intToIp, parseCidr } from "./allocators.ts";
import { ApiError } from "./errors.ts";
import type { Rest } from "./rest.ts";

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 409)) throw err;
  }
}

export async function bootstrap(rest: Rest, serviceCidr: string, port: () => number): Promise<void> {
  const ns = rest.registry.lookup("", "v1", "namespaces")!;
  for (const name of SYSTEM_NAMESPACES)
    await ignoreExists(
      rest.create(ns, "", { metadata: { name, labels: { "kubernetes.io/metadata.name": name } } }, {}),
    );
  const svc = rest.registry.lookup("", "v1", "services")!;
  const ip = intToIp(parseCidr(serviceCidr).base + 1);
  await ignoreExists(
    rest.create(
      svc,
      "default",
      {
        metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
        spec: {
          type: "ClusterIP",
          clusterIP: ip,
          ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port() || 6443 }],
        },
      },
      {},
    ),
  );
  // No Endpoints: the API server listens on loopback only, which Endpoints may not hold and
  // pods in their own network namespaces could not reach anyway.
}
