// JSON Pointer (RFC 6901): "/a/b~1c/0" names a location by reference tokens, with "~1" for
// "/" and "~0" for "~". The empty pointer is the whole document.

/** The reference tokens of a pointer, or an error message when it is malformed. */
export function parseJsonPointer(pointer: string): string[] | { error: string } {
  if (pointer === "") return [];
  if (!pointer.startsWith("/"))
    return { error: `JSON pointer ${JSON.stringify(pointer)} must be empty or start with "/"` };
  const tokens = pointer.slice(1).split("/");
  for (const token of tokens) {
    if (/~(?![01])/.test(token)) {
      return {
        error: `JSON pointer ${JSON.stringify(pointer)} has an invalid escape: "~" must be followed by 0 or 1`,
      };
    }
  }
  // "~1" first, so "~01" decodes to "~1" rather than "/".
  return tokens.map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/**
 * The array index a token denotes: decimal digits without leading zeros. "-" (one past the
 * end) and anything else give undefined; callers decide what "-" means for them.
 */
export function arrayIndexOf(token: string): number | undefined {
  return /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : undefined;
}
