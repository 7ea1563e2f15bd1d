// resource.Quantity: parsing ("100m", "1Gi", "1e3", "0.5"), exact comparison, and the canonical
// text the API server stores and returns ("0.5" comes back as "500m", "1024Mi" as "1Gi").
// A value is held exactly as n × 10^scale with a bigint n.

export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

export interface Quantity {
  n: bigint;
  scale: number;
  format: QuantityFormat;
}

export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

export class QuantityError extends Error {}

const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIXES: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_BY_POWER = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

const pow10 = (k: number) => 10n ** BigInt(k);

/** Parses a quantity as the API accepts it (a JSON number is read as its decimal text). */
export function parseQuantity(input: string | number): Quantity {
  const s = typeof input === "number" ? String(input) : input;
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/.exec(s);
  if (!s || !m || (!m[2] && !m[3])) throw new QuantityError(QUANTITY_FORMAT_ERROR);
  const [, sign, whole, frac = "", suffix] = m;
  if (!/^[eEinumkKMGTP]*[-+]?[0-9]*$/.test(suffix)) throw new QuantityError(QUANTITY_FORMAT_ERROR);
  let n = BigInt((whole || "0") + frac);
  let scale = -frac.length;
  let format: QuantityFormat;
  if (suffix in DECIMAL_SUFFIXES) {
    format = "DecimalSI";
    scale += DECIMAL_SUFFIXES[suffix];
  } else if (suffix in BINARY_SUFFIXES) {
    format = "BinarySI";
    n *= 1024n ** BigInt(BINARY_SUFFIXES[suffix]);
  } else if (/^[eE][-+]?[0-9]+$/.test(suffix)) {
    format = "DecimalExponent";
    scale += Number(suffix.slice(1));
  } else {
    throw new QuantityError(QUANTITY_SUFFIX_ERROR);
  }
  if (sign === "-") n = -n;
  // Nothing finer than nano-units is kept; finer values round up (away from zero).
  return roundUpToScale({ n, scale, format }, -9);
}

/** Rounds away from zero so the value has no digits below 10^minScale (upstream's RoundUp). */
export function roundUpToScale(q: Quantity, minScale: number): Quantity {
  if (q.scale >= minScale) return q;
  const div = pow10(minScale - q.scale);
  const neg = q.n < 0n;
  const abs = neg ? -q.n : q.n;
  let r = abs / div;
  if (abs % div !== 0n) r += 1n;
  return { n: neg ? -r : r, scale: minScale, format: q.format };
}

/** Resource lists are kept to milli precision (SetDefaults_ResourceList). */
export const roundUpToMilli = (q: Quantity) => roundUpToScale(q, -3);

function atScale(q: Quantity, scale: number): bigint {
  return q.scale >= scale ? q.n * pow10(q.scale - scale) : q.n / pow10(scale - q.scale);
}

export function compareQuantity(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const s = Math.min(a.scale, b.scale);
  const x = atScale(a, s);
  const y = atScale(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
}

export const isNegative = (q: Quantity) => q.n < 0n;

/** The value in milli-units (e.g. 1500 for "1.5"), rounded up. */
export const milliValue = (q: Quantity) => roundUpToMilli(q).n * pow10(roundUpToMilli(q).scale + 3);

/** The canonical text of a quantity, as upstream's Quantity.String() produces it. */
export function formatQuantity(q: Quantity): string {
  let n = q.n;
  let scale = q.scale;
  if (n === 0n) return "0";
  while (n % 10n === 0n) {
    n /= 10n;
    scale++;
  }
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const sign = neg ? "-" : "";
  if (q.format === "BinarySI" && scale >= 0) {
    const value = abs * pow10(scale);
    // Small values read better as plain numbers than as binary multiples.
    if (value >= 1024n) {
      let mantissa = value;
      let power = 0;
      while (power < 6 && mantissa % 1024n === 0n) {
        mantissa /= 1024n;
        power++;
      }
      return `${sign}${mantissa}${BINARY_BY_POWER[power]}`;
    }
  }
  // Decimal forms: the exponent is lowered to a multiple of three and the mantissa scaled up.
  let exp = Math.floor(scale / 3) * 3;
  if (q.format !== "DecimalExponent") exp = Math.min(Math.max(exp, -9), 18);
  const mantissa = abs * pow10(scale - exp);
  if (q.format === "DecimalExponent") return `${sign}${mantissa}${exp === 0 ? "" : `e${exp}`}`;
  return `${sign}${mantissa}${DECIMAL_BY_EXPONENT.get(exp) ?? ""}`;
}

/** Parses without throwing: the quantity, or upstream's message for why it is not one. */
export function tryParseQuantity(v: unknown): Quantity | string {
  if (typeof v !== "string" && typeof v !== "number") return QUANTITY_FORMAT_ERROR;
  try {
    return parseQuantity(v);
  } catch (err) {
    return (err as Error).message;
  }
}
