// Durations and ages the way apimachinery's duration.HumanDuration prints them (the AGE column):
// about two significant units, coarser as the duration grows.
import { parseTime } from "../../../kube/objects.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** duration.HumanDuration for a duration in milliseconds ("5s", "2m30s", "10m", "3h20m", "2d3h", "45d", "2y10d"). */
export function humanDuration(ms: number): string {
  // Go's int(d.Seconds()) truncates toward zero; up to 1s in the future still reads "0s" (clock skew).
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** Time since `timestamp` (RFC 3339) as printers show it; "<unknown>" when absent or unparsable (upstream: zero time). */
export function age(timestamp: unknown, now: number): string {
  const t = parseTime(timestamp);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now - t);
}
