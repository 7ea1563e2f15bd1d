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

const out = await runCni(process.env, readStdin());
process.stdout.write(out.stdout, () => process.exit(out.exitCode));
