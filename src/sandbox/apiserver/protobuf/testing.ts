// Test-only protobuf writer: just enough to build bodies the recordings do not have.

/** A varint field (wire type 0). Negative numbers are sign-extended to 64 bits, as Go does for int32. */
export function varint(field: number, value: number | bigint | boolean): Buffer {
  const v = typeof value === "boolean" ? BigInt(value ? 1 : 0) : BigInt(value);
  return Buffer.concat([tag(field, 0), encodeVarint(BigInt.asUintN(64, v))]);
}

/** A length-delimited field (wire type 2): a string, raw bytes, or a sub-message built with message(). */
export function bytes(field: number, value: string | Uint8Array): Buffer {
  const b = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  return Buffer.concat([tag(field, 2), encodeVarint(BigInt(b.length)), b]);
}

export function fixed32(field: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return Buffer.concat([tag(field, 5), b]);
}

export function fixed64(field: number, value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return Buffer.concat([tag(field, 1), b]);
}

export const message = (...fields: Buffer[]): Buffer => Buffer.concat(fields);

/** A map<string, string|bytes> entry, or one whose value is a message given as bytes. */
export const mapEntry = (field: number, key: string, value: string | Uint8Array): Buffer =>
  bytes(field, message(bytes(1, key), bytes(2, value)));

/** The full request body: "k8s\0" + runtime.Unknown{typeMeta, raw, contentEncoding "", contentType ""}. */
export function kubernetesBody(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const unknown = message(
    bytes(1, message(bytes(1, apiVersion), bytes(2, kind))),
    bytes(2, raw),
    bytes(3, ""),
    bytes(4, ""),
  );
  return Buffer.concat([Buffer.from("k8s\0", "latin1"), unknown]);
}

function tag(field: number, wireType: number): Buffer {
  return encodeVarint(BigInt(field) * 8n + BigInt(wireType));
}

function encodeVarint(v: bigint): Buffer {
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}
