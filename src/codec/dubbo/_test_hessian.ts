/**
 * A small Hessian 2.0 writer for tests: every encoding of every type, chosen explicitly or as hessian.js
 * `EncoderV2` picks it (the most compact), so tests can build request bodies and hit each tag the reader
 * must handle. Not used by the codec: meshctl forwards bodies, it never writes values of its own beyond
 * one error string (frame.ts).
 */

export type StringForm = "compact" | "S" | { chunk: number };
export type IntForm = "compact" | "byte" | "short" | "I";
export type LongForm = "compact" | "byte" | "short" | "Y" | "L";
export type BinaryForm = "compact" | "B" | { chunk: number };

export class HessianWriter {
  #bytes: number[] = [];

  /** The bytes written so far. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }

  raw(...bytes: number[]): this {
    for (const b of bytes) this.#bytes.push(b & 0xff);
    return this;
  }

  null(): this {
    return this.raw(0x4e);
  }

  bool(v: boolean): this {
    return this.raw(v ? 0x54 : 0x46);
  }

  /** A string; `chunk` splits it into `R` chunks of that many UTF-16 units and a final chunk. */
  string(s: string, form: StringForm = "compact"): this {
    let rest = s;
    // Like hessian.js, a compact string longer than one chunk (0x8000 units) goes out in chunks.
    if (form === "compact" && s.length > 0x8000) form = { chunk: 0x8000 };
    if (typeof form === "object") {
      while (rest.length > form.chunk) {
        const part = rest.slice(0, form.chunk);
        this.raw(0x52, part.length >> 8, part.length);
        this.#utf8(part);
        rest = rest.slice(form.chunk);
      }
      form = "compact";
    }
    const n = rest.length;
    if (form === "compact" && n <= 31) this.raw(n);
    else if (form === "compact" && n <= 1023) this.raw(0x30 + (n >> 8), n);
    else this.raw(0x53, n >> 8, n);
    this.#utf8(rest);
    return this;
  }

  int(v: number, form: IntForm = "compact"): this {
    if (form === "compact") {
      if (v >= -0x10 && v <= 0x2f) form = "byte";
      else if (v >= -0x800 && v <= 0x7ff) form = "short";
      else if (v >= -0x40000 && v <= 0x3ffff) return this.int3(v);
      else form = "I";
    }
    if (form === "byte") return this.raw(0x90 + v);
    if (form === "short") return this.raw(0xc8 + (v >> 8), v);
    return this.raw(0x49, v >> 24, v >> 16, v >> 8, v);
  }

  /** A three-octet int (0xd0-0xd7), -0x40000..0x3ffff. */
  int3(v: number): this {
    return this.raw(0xd4 + (v >> 16), v >> 8, v);
  }

  long(v: number | bigint, form: LongForm = "compact"): this {
    const n = typeof v === "bigint" ? v : BigInt(v);
    const x = Number(BigInt.asIntN(32, n));
    if (form === "compact") {
      if (n >= -8n && n <= 15n) form = "byte";
      else if (n >= -0x800n && n <= 0x7ffn) form = "short";
      else if (n >= -0x40000n && n <= 0x3ffffn) return this.raw(0x3c + (x >> 16), x >> 8, x);
      else if (n >= -0x80000000n && n <= 0x7fffffffn) form = "Y";
      else form = "L";
    }
    if (form === "byte") return this.raw(0xe0 + x);
    if (form === "short") return this.raw(0xf8 + (x >> 8), x);
    if (form === "Y") return this.raw(0x59, x >> 24, x >> 16, x >> 8, x);
    this.raw(0x4c);
    const u = BigInt.asUintN(64, n);
    for (let i = 7; i >= 0; i--) this.raw(Number((u >> BigInt(8 * i)) & 0xffn));
    return this;
  }

  double(v: number): this {
    if (v === 0) return this.raw(0x5b);
    if (v === 1) return this.raw(0x5c);
    if (Number.isInteger(v) && v >= -128 && v <= 127) return this.raw(0x5d, v);
    if (Number.isInteger(v) && v >= -32768 && v <= 32767) return this.raw(0x5e, v >> 8, v);
    const mills = Math.trunc(v * 1000);
    if (mills >= -0x80000000 && mills <= 0x7fffffff && mills * 0.001 === v) return this.doubleMillis(v);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    return this.raw(0x44, ...b);
  }

  /** A double as int thousandths (0x5f). */
  doubleMillis(v: number): this {
    const m = Math.round(v * 1000);
    return this.raw(0x5f, m >> 24, m >> 16, m >> 8, m);
  }

  date(ms: number): this {
    this.raw(0x4a);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(ms));
    return this.raw(...b);
  }

  dateMinutes(minutes: number): this {
    return this.raw(0x4b, minutes >> 24, minutes >> 16, minutes >> 8, minutes);
  }

  binary(data: Uint8Array, form: BinaryForm = "compact"): this {
    let rest = data;
    if (typeof form === "object") {
      while (rest.length > form.chunk) {
        this.raw(0x41, form.chunk >> 8, form.chunk, ...rest.subarray(0, form.chunk));
        rest = rest.subarray(form.chunk);
      }
      form = "compact";
    }
    const n = rest.length;
    if (form === "compact" && n <= 15) this.raw(0x20 + n);
    else if (form === "compact" && n <= 1023) this.raw(0x34 + (n >> 8), n);
    else this.raw(0x42, n >> 8, n);
    return this.raw(...rest);
  }

  /** A list's opening; the caller writes the values (and `end()` for a variable-length one). */
  listStart(length: number | "variable", type?: string | number): this {
    if (length === "variable") {
      this.raw(type === undefined ? 0x57 : 0x55);
      if (type !== undefined) this.#type(type);
      return this;
    }
    if (length <= 7) {
      this.raw(type === undefined ? 0x78 + length : 0x70 + length);
      if (type !== undefined) this.#type(type);
      return this;
    }
    this.raw(type === undefined ? 0x58 : 0x56);
    if (type !== undefined) this.#type(type);
    return this.int(length);
  }

  /** A map's opening: `H`, or `M` with a type. Entries follow, then `end()`. */
  mapStart(type?: string | number): this {
    if (type === undefined) return this.raw(0x48);
    this.raw(0x4d);
    return this.#type(type);
  }

  end(): this {
    return this.raw(0x5a);
  }

  /** `C` type fieldCount fieldNames. */
  classDef(type: string, fields: string[]): this {
    this.raw(0x43).string(type).int(fields.length);
    for (const f of fields) this.string(f);
    return this;
  }

  /** An object's opening (class by definition number); the caller writes its field values. */
  objectStart(classRef: number): this {
    return classRef <= 15 ? this.raw(0x60 + classRef) : this.raw(0x4f).int(classRef);
  }

  ref(n: number): this {
    return this.raw(0x51).int(n);
  }

  /** A JS value the way hessian.js writes it: ints as int, other numbers double, arrays untyped lists. */
  value(v: unknown): this {
    if (v === null || v === undefined) return this.null();
    if (typeof v === "string") return this.string(v);
    if (typeof v === "boolean") return this.bool(v);
    if (typeof v === "bigint") return this.long(v);
    if (typeof v === "number") {
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return this.int(v);
      return Number.isSafeInteger(v) ? this.long(v) : this.double(v);
    }
    if (v instanceof Uint8Array) return this.binary(v);
    if (Array.isArray(v)) {
      this.listStart(v.length);
      for (const x of v) this.value(x);
      return this;
    }
    const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as Record<string, unknown>);
    this.mapStart();
    for (const [k, x] of entries) this.value(k).value(x);
    return this.end();
  }

  #type(type: string | number): this {
    return typeof type === "number" ? this.int(type) : this.string(type);
  }

  /** CESU-8, as Java and hessian.js write strings: each UTF-16 unit on its own (surrogates too). */
  #utf8(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) this.raw(c);
      else if (c < 0x800) this.raw(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
      else this.raw(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
}

/** An RpcInvocation body as dubbo clients write it (dubbo2.js `encodeBody`). */
export interface Invocation {
  dubboVersion?: string;
  path: string;
  version?: string | null;
  method: string;
  /** The argument type descriptor, e.g. `Ljava/lang/String;I`. */
  argTypes?: string;
  /** Writes the argument values (as many as the descriptor names). */
  args?: (w: HessianWriter) => void;
  /** Written as an untyped map; `null` writes N; undefined writes an empty map. */
  attachments?: Record<string, unknown> | null;
  /** The typed map `M` with this type instead of `H` (Java writes `java.util.HashMap` as H). */
  attachmentsType?: string;
}

export function invocationBody(inv: Invocation): Uint8Array {
  const w = new HessianWriter();
  w.string(inv.dubboVersion ?? "2.0.2").string(inv.path);
  if (inv.version === null) w.null();
  else w.string(inv.version ?? "0.0.0");
  w.string(inv.method).string(inv.argTypes ?? "");
  inv.args?.(w);
  if (inv.attachments === null) w.null();
  else {
    w.mapStart(inv.attachmentsType);
    for (const [k, v] of Object.entries(inv.attachments ?? {})) w.string(k).value(v);
    w.end();
  }
  return w.bytes();
}
