/**
 * Routing metadata from a request body (dubbo's RpcInvocation, hessian2), read without decoding the
 * arguments: dubbo version, path, version and method, then the argument type descriptor, whose
 * arguments are skipped by structure, then the attachments map, whose string entries become headers.
 * The same header names as MOSN: `dubbo`, `service`, `version`, `method`, and every attachment by its key
 * (`group`, `timeout`, `interface`, which overrides `service`, …).
 */
import {
  HEADER_DUBBO_VERSION,
  HEADER_INTERFACE,
  HEADER_METHOD,
  HEADER_SERVICE,
  HEADER_VERSION,
} from "./constants.ts";
import { Hessian2Error, Hessian2Reader, Kind } from "./hessian2.ts";

/** Decoding is synchronous: one reader serves every connection. */
const reader = new Hessian2Reader();

/**
 * Reads the invocation in `buf[start, end)`, appending its headers to `names`/`values` (a later entry
 * with the same name replaces an earlier one, as MOSN's map does), and returns the method name. The
 * metadata — the four leading fields and the attachments, as encoded — may take at most
 * `maxHeaderBytes`. Throws a `Hessian2Error` when the body is not a well-formed invocation: a field of
 * the wrong type, a truncated or malformed value, arguments that do not match the descriptor (the map
 * is not where the count says it is, or bytes follow it), or metadata over the limit.
 */
export function readInvocation(
  buf: Uint8Array,
  start: number,
  end: number,
  maxHeaderBytes: number,
  names: string[],
  values: string[],
): string {
  const r = reader;
  r.reset(buf, start, end);
  const dubboVersion = field(r, "dubbo version");
  const service = field(r, "service path");
  let version = ""; // null: MOSN's header is then empty, not absent
  if (r.peekKind() === Kind.Null) r.skipValue();
  else version = field(r, "service version");
  const method = field(r, "method name");
  names.push(HEADER_DUBBO_VERSION, HEADER_SERVICE, HEADER_VERSION, HEADER_METHOD);
  values.push(dubboVersion, service, version, method);
  const leading = r.pos - start;
  if (leading > maxHeaderBytes) throw overLimit(leading, maxHeaderBytes);

  // Dubbox (dubbo2.js `isSupportedDubbox`) writes an int -1 before the descriptor; nothing else does.
  if (!r.atEnd && r.peekKind() === Kind.Int) r.readInt();
  const args = countArguments(field(r, "argument type descriptor"));
  if (args > end - r.pos) {
    throw new Hessian2Error(`the descriptor names ${args} arguments, only ${end - r.pos} bytes follow`);
  }
  for (let i = 0; i < args; i++) r.skipValue();

  if (r.atEnd) {
    throw new Hessian2Error(
      `the attachments are missing after ${args} arguments (does the descriptor match?)`,
    );
  }
  const kind = r.peekKind();
  if (kind === Kind.Map) readAttachments(r, names, values, maxHeaderBytes - leading, leading);
  else if (kind === Kind.Null) r.skipValue();
  else {
    throw new Hessian2Error(
      `expected the attachments map after ${args} arguments at byte ${r.pos} (does the descriptor match?)`,
    );
  }
  if (!r.atEnd) {
    throw new Hessian2Error(
      `${end - r.pos} bytes follow the attachments (more arguments than the descriptor names?)`,
    );
  }
  return method;
}

/**
 * Counts the arguments a type descriptor names, as MOSN does: each primitive letter (VZBCDFIJS) is
 * one, each `L…;` class name is one, `[` array prefixes add none.
 */
export function countArguments(desc: string): number {
  let args = 0;
  let inClass = false;
  for (let i = 0; i < desc.length; i++) {
    const c = desc.charCodeAt(i);
    if (inClass) {
      if (c === 0x3b) inClass = false; // ';'
      continue;
    }
    switch (c) {
      case 0x56: // V
      case 0x5a: // Z
      case 0x42: // B
      case 0x43: // C
      case 0x44: // D
      case 0x46: // F
      case 0x49: // I
      case 0x4a: // J
      case 0x53: // S
        args++;
        break;
      case 0x4c: // L
        args++;
        inClass = true;
        break;
    }
  }
  return args;
}

/**
 * String keys with string values become headers; an int or long value becomes its decimal text
 * (dubbo2.js writes `timeout` as an int, MOSN would drop it); other entries are skipped by structure.
 */
function readAttachments(
  r: Hessian2Reader,
  names: string[],
  values: string[],
  budget: number,
  leading: number,
): void {
  const start = r.pos;
  r.readMapStart();
  let iface: string | undefined;
  while (!r.nextIsEnd()) {
    let key: string | undefined;
    if (r.peekKind() === Kind.String) key = r.readString();
    else r.skipValue();
    const kind = r.peekKind();
    let value: string | undefined;
    if (kind === Kind.String) value = r.readString();
    else if (kind === Kind.Int) value = String(r.readInt());
    else if (kind === Kind.Long) value = r.readLongText();
    else r.skipValue();
    if (r.pos - start > budget) throw overLimit(leading + r.pos - start, leading + budget);
    if (key === undefined || value === undefined) continue;
    put(names, values, key, value);
    if (key === HEADER_INTERFACE) iface = value;
  }
  r.readEnd();
  if (iface !== undefined) put(names, values, HEADER_SERVICE, iface);
}

function put(names: string[], values: string[], name: string, value: string): void {
  const i = names.indexOf(name);
  if (i >= 0) values[i] = value;
  else {
    names.push(name);
    values.push(value);
  }
}

function field(r: Hessian2Reader, what: string): string {
  if (r.atEnd) throw new Hessian2Error(`the ${what} is missing`);
  if (r.peekKind() !== Kind.String) throw new Hessian2Error(`the ${what} is not a string (byte ${r.pos})`);
  return r.readString();
}

function overLimit(bytes: number, limit: number): Hessian2Error {
  return new Hessian2Error(
    `the invocation's metadata (version, path, method, attachments) takes ${bytes} bytes or more, ` +
      `over the limit of ${limit} (max_header_size)`,
  );
}
