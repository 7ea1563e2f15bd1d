// raven-cni's entry point (bundled into one file): stdin and the environment in, the answer on
// stdout, the exit code the spec asks for.
import { readFileSync } from "node:fs";
import { runCni } from "./shim.ts";

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch {
    return "";
  }
}

// No top-level await: the bundle is CommonJS, which Node starts ~2 ms sooner than an ES module.
void runCni(process.env, readStdin()).then((out) =>
  process.stdout.write(out.stdout, () => process.exit(out.exitCode)),
);
