// String formats the API enforces (k8s.io/apimachinery/pkg/util/validation). Each check returns
// upstream's explanations, one per broken rule, so callers can emit one field error per message;
// an empty list means the value is valid.

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+";
const PERCENT_FMT = "[0-9]+%";
const HTTP_HEADER_FMT = "[-A-Za-z0-9]+";

const full = (fmt: string) => new RegExp(`^(?:${fmt})$`);
const DNS1123_LABEL = full(DNS1123_LABEL_FMT);
const DNS1123_SUBDOMAIN = full(DNS1123_SUBDOMAIN_FMT);
const DNS1035_LABEL = full(DNS1035_LABEL_FMT);
const LABEL_KEY = full(LABEL_KEY_FMT);
const LABEL_VALUE = full(LABEL_VALUE_FMT);
const CONFIG_KEY = full(CONFIG_KEY_FMT);
const PERCENT = full(PERCENT_FMT);
const HTTP_HEADER = full(HTTP_HEADER_FMT);

/** upstream's RegexError: the explanation, examples, and the pattern. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (!examples.length) return `${msg} (regex used for validation is '${fmt}')`;
  // Upstream joins examples as "'a', " + " or " + "'b', " — hence the double space.
  const shown = examples.map((e) => `'${e}', `).join(" or ");
  return `${msg} (e.g. ${shown}regex used for validation is '${fmt}')`;
}

export const maxLenError = (n: number) => `must be no more than ${n} characters`;
export const inclusiveRangeError = (lo: number, hi: number) => `must be between ${lo} and ${hi}, inclusive`;
export const EMPTY_ERROR = "must be non-empty";

/** Byte length as Go's len() counts it (UTF-8). */
export const byteLength = (s: string) => Buffer.byteLength(String(s), "utf8");

export function dns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLenError(63));
  if (!DNS1123_LABEL.test(value)) {
    // A valid subdomain that is not a valid label can only be failing because of dots.
    if (DNS1123_SUBDOMAIN.test(value)) errs.push("must not contain dots");
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          DNS1123_LABEL_FMT,
          "my-name",
          "123-abc",
        ),
      );
  }
  return errs;
}

export function dns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN.test(value))
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        "example.com",
      ),
    );
  return errs;
}

export function dns1035Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLenError(63));
  if (!DNS1035_LABEL.test(value))
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        "my-name",
        "abc-123",
      ),
    );
  return errs;
}

const LABEL_KEY_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** A "qualified name" (the label-key format): optional DNS subdomain prefix, '/', name. */
export function qualifiedName(input: string): string[] {
  const value = String(input);
  const errs: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (!prefix.length) errs.push(`prefix part ${EMPTY_ERROR}`);
    else for (const m of dns1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (!name.length) errs.push(`name part ${EMPTY_ERROR}`);
  else if (byteLength(name) > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!LABEL_KEY.test(name))
    errs.push(`name part ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")}`);
  return errs;
}

export function labelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE.test(value))
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT,
        "MyValue",
        "my_value",
        "12345",
      ),
    );
  return errs;
}

/** IANA_SVC_NAME: what container port names and named target ports must look like. */
export function isValidPortName(input: string): string[] {
  const port = String(input);
  const errs: string[] = [];
  if (byteLength(port) > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port))
    errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/[a-z]/.test(port)) errs.push("must contain at least one letter (a-z)");
  if (port.includes("--")) errs.push("must not contain consecutive hyphens");
  if (port.length > 0 && (port.startsWith("-") || port.endsWith("-")))
    errs.push("must not begin or end with a hyphen");
  return errs;
}

export function isValidPortNum(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

function chDirPrefix(value: string): string[] {
  if (value === ".") return ["must not be '.'"];
  if (value === "..") return ["must not be '..'"];
  if (value.startsWith("..")) return ["must not start with '..'"];
  return [];
}

/**
 * Environment variable names as 1.33 checks them (RelaxedEnvironmentVariableValidation is on
 * by default): any printable ASCII except '='.
 */
export function envVarName(input: string): string[] {
  const value = String(input);
  const errs: string[] = [];
  if (!value.length) errs.push(`environment variable name ${EMPTY_ERROR}`);
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (c > 0x7e || c < 0x20 || ch === "=") {
      errs.push(
        "a valid environment variable name must consist only of printable ASCII characters other than '='",
      );
      break;
    }
  }
  return errs;
}

/** Keys of ConfigMap/Secret data (and of their items in volumes). */
export function configMapKey(input: string): string[] {
  const value = String(input);
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push(maxLenError(253));
  if (!CONFIG_KEY.test(value))
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_KEY_FMT,
        "key.name",
        "KEY_NAME",
        "key-name",
      ),
    );
  errs.push(...chDirPrefix(value));
  return errs;
}

export function percent(value: string): string[] {
  return PERCENT.test(value)
    ? []
    : [
        regexError(
          "a valid percent string must be a numeric string followed by an ending '%'",
          PERCENT_FMT,
          "1%",
          "93%",
        ),
      ];
}

export function httpHeaderName(value: string): string[] {
  return HTTP_HEADER.test(value)
    ? []
    : [
        regexError(
          "a valid HTTP header must consist of alphanumeric characters or '-'",
          HTTP_HEADER_FMT,
          "X-Header-Name",
        ),
      ];
}

/** The generic rule every stored name obeys: it must work as one URL path segment. */
export function pathSegmentName(input: string): string[] {
  const name = String(input);
  for (const bad of [".", ".."]) if (name === bad) return [`may not be '${bad}'`];
  const errs: string[] = [];
  for (const bad of ["/", "%"]) if (name.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
}

// ---- IP addresses (netutils.ParseIPSloppy: IPv4 octets may carry leading zeros) ----

/** Parses an IPv4 address the way Go's sloppy parser does; undefined when it is not one. */
export function parseIPv4(input: string): number[] | undefined {
  const parts = String(input).split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Parses an IPv6 address into 16 bytes; undefined when it is not one. */
export function parseIPv6(input: string): number[] | undefined {
  const s = String(input);
  if (!s.includes(":") || s.includes("%")) return undefined;
  let tail4: number[] | undefined;
  let text = s;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail4 = parseIPv4(s.slice(lastColon + 1));
    if (!tail4) return undefined;
    text = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const group = (h: string) => (h === "" ? [] : h.split(":"));
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  const groups =
    halves.length === 2 ? [...head, ...Array(8 - head.length - rest.length).fill("0"), ...rest] : head;
  if (groups.length !== 8 || (halves.length === 2 && head.length + rest.length > 7)) return undefined;
  const bytes: number[] = [];
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = Number.parseInt(g, 16);
    bytes.push(v >> 8, v & 0xff);
  }
  if (tail4) bytes.splice(12, 4, ...tail4);
  return bytes;
}

export const isValidIPv4 = (s: string) => parseIPv4(s) !== undefined;
export const isValidIPv6 = (s: string) => parseIPv6(s) !== undefined;
export const isValidIP = (s: string) => isValidIPv4(s) || isValidIPv6(s);

export const IP_ERROR = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
export const CIDR_ERROR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

export function isValidCIDR(input: string): boolean {
  const s = String(input);
  const slash = s.indexOf("/");
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits)) return false;
  if (isValidIPv4(ip)) return Number(bits) <= 32;
  if (isValidIPv6(ip)) return Number(bits) <= 128;
  return false;
}

/** "IPv4" or "IPv6" for a valid address. */
export const ipFamilyOf = (ip: string) => (isValidIPv4(ip) ? "IPv4" : "IPv6");

/**
 * Why an address is unfit as an endpoint or external IP (upstream's ValidateNonSpecialIP):
 * unspecified, loopback, link-local unicast and link-local multicast ranges are refused.
 */
export function nonSpecialIPErrors(ip: string): string[] {
  let v4 = parseIPv4(ip);
  const v6 = v4 ? undefined : parseIPv6(ip);
  if (!v4 && !v6) return ["must be a valid IP address"];
  // IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
  if (v6?.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) v4 = v6.slice(12);
  const errs: string[] = [];
  if (v4) {
    if (v4.every((b) => b === 0)) errs.push(`may not be unspecified (${ip})`);
    if (v4[0] === 127) errs.push("may not be in the loopback range (127.0.0.0/8, ::1/128)");
    if (v4[0] === 169 && v4[1] === 254)
      errs.push("may not be in the link-local range (169.254.0.0/16, fe80::/10)");
    if (v4[0] === 224 && v4[1] === 0 && v4[2] === 0)
      errs.push("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
    return errs;
  }
  const b = v6 as number[];
  if (b.every((x) => x === 0)) errs.push(`may not be unspecified (${ip})`);
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1)
    errs.push("may not be in the loopback range (127.0.0.0/8, ::1/128)");
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80)
    errs.push("may not be in the link-local range (169.254.0.0/16, fe80::/10)");
  if (b[0] === 0xff && (b[1] & 0x0f) === 0x02)
    errs.push("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
  return errs;
}
