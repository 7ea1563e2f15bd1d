// A one-option fix to Debian 12's busybox-static, applied as the sandbox images copy it.

/** The option string of Debian 12's busybox wget: -T's value is parsed as a number ("T:+"). */
const WGET_OPTS = Buffer.from("^cqSO:o:P:Y:U:T:+t:n::\0", "latin1");

/**
 * Debian 12's busybox-static is built without FEATURE_WGET_TIMEOUT, yet its wget still parses
 * -T's value as a number and stores it through the NULL pointer the disabled feature leaves:
 * `wget -T 2 ...` dies of SIGSEGV (exit 139), and busybox's shell runs its own wget whatever
 * PATH says, so a wrapper cannot help. The fix busybox made upstream is to parse it as a string
 * ("T:"), which getopt32 stores nowhere. This binary patch does the same: it drops the "+" and
 * moves the rest of the option string and the complementary-options string that follows one
 * byte left (nothing refers into the middle of them; checked against the 1:1.35.0-4+deb12u1
 * binary). -T is then accepted and, as Debian's build intends, ignored. A binary without the
 * pattern (a fixed busybox) is returned as it is.
 */
export function withSafeWgetTimeout(binary: Buffer): Buffer {
  const at = binary.indexOf(WGET_OPTS);
  if (at < 0 || binary.indexOf(WGET_OPTS, at + 1) >= 0) return binary;
  const plus = at + WGET_OPTS.indexOf("+");
  // The option string, its NUL, the complementary string and its NUL: shift all after "+".
  const end = binary.indexOf(0, at + WGET_OPTS.length);
  const out = Buffer.from(binary);
  binary.copy(out, plus, plus + 1, end + 1);
  out[end] = 0;
  return out;
}
