// The logging surface the kube runtime needs. A pino logger satisfies it; the default writes
// warnings and errors to stderr as JSON lines and drops the rest, so nothing here imports pino.

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

function write(level: string, obj: object, msg: string): void {
  const fields: Record<string, unknown> = { level, time: Date.now(), msg };
  for (const [k, v] of Object.entries(obj)) fields[k] = v instanceof Error ? errorFields(v) : v;
  process.stderr.write(`${JSON.stringify(fields)}\n`);
}

function errorFields(e: Error): Record<string, unknown> {
  return { type: e.name, message: e.message, stack: e.stack };
}

export const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (obj, msg) => write("warn", obj, msg),
  error: (obj, msg) => write("error", obj, msg),
};

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
