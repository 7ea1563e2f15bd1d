// Structured JSON logs (pino) to stderr or a file; one logger per component.
import { type Logger, pino } from "pino";

export function createLogger(component: string, opts: { file?: string; level?: string } = {}): Logger {
  const level = opts.level ?? process.env.RAVEN_LOG_LEVEL ?? "info";
  const dest = opts.file
    ? pino.destination({ dest: opts.file, mkdir: true, sync: false })
    : pino.destination(2);
  return pino({ level, base: { component, pid: process.pid } }, dest);
}
