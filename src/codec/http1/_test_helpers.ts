import { FakeConnectionIO } from "../_test_io.ts";
import type { ProxyError } from "../../core/mod.ts";
import {
  type BodyReceiver,
  type CodecOptions,
  defaultCodecOptions,
  type HeaderMap,
  type ServerStream,
} from "../types.ts";
import { http1Codec } from "./codec.ts";

export const te = new TextEncoder();
export const td = new TextDecoder("latin1");

export interface Recorded {
  io: FakeConnectionIO;
  conn: ReturnType<typeof http1Codec.newServerConnection>;
  streams: ServerStream[];
  body: string[];
  trailers: HeaderMap[];
  errors: ProxyError[];
  resets: ProxyError[];
  ended: number;
}

/** A server connection whose handler records everything; `auto` sets a recording receiver at once. */
export function server(options: Partial<CodecOptions> = {}, auto = true): Recorded {
  const io = new FakeConnectionIO();
  const rec: Recorded = {
    io,
    conn: undefined!,
    streams: [],
    body: [],
    trailers: [],
    errors: [],
    resets: [],
    ended: 0,
  };
  rec.conn = http1Codec.newServerConnection(io, {
    onRequest(s) {
      rec.streams.push(s);
      if (auto) s.setBodyReceiver(recorder(rec));
    },
    onProtocolError(e) {
      rec.errors.push(e);
    },
  }, { ...defaultCodecOptions, ...options });
  return rec;
}

export function recorder(rec: Recorded): BodyReceiver {
  return {
    onData(chunk, end) {
      rec.body.push(td.decode(chunk));
      if (end) rec.ended++;
    },
    onTrailers(t) {
      rec.trailers.push(t);
      rec.ended++;
    },
    onReset(e) {
      rec.resets.push(e);
    },
  };
}

export async function feed(conn: { feed(d: Uint8Array): void | Promise<void> }, s: string | Uint8Array) {
  const r = conn.feed(typeof s === "string" ? te.encode(s) : s);
  if (r !== undefined) await r;
}

export const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
