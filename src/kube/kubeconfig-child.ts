// Run as a child process by kubeconfig.ts (`isolate`): loads a kubeconfig with
// @kubernetes/client-node and prints what a client needs as one line of JSON, so the long-lived
// parent never loads the library (~40 MiB of code and source that stays resident once loaded).
// argv[2]: the KubeConfigSource as JSON.
import { describeKubeConfig } from "./kubeconfig.ts";

try {
  const out = await describeKubeConfig(JSON.parse(process.argv[2] ?? "{}"));
  process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
