/**
 * The h2c origin of the HTTP/2 benchmarks, built on meshctl's own HTTP/2 codec over raw `Deno.Conn`
 * (nginx cannot answer h2c with gRPC trailers, and `node:http2` under Deno is slow and unstable):
 *
 * - `GET /`    → 200, 5-byte body ("hello"), like the HTTP/1.1 origin;
 * - `GET /big` → 200, 64 KiB body (crosses a 65,535-byte stream window: flow control is exercised);
 * - any request with `content-type: application/grpc*` → one gRPC message and `grpc-status: 0` trailers,
 *   once the request's body has ended (a unary call);
 * - anything else → 404.
 *
 * It advertises RFC 9113's default windows (65,535 bytes per stream and for the connection's start) and
 * RFC 9113's default frame size, so a proxy in front of it sees a stock HTTP/2 server.
 *
 *   deno run --no-prompt --allow-net=127.0.0.1 bench/h2_origin.ts 127.0.0.1:<port>
 */
import {
  type BodyReceiver,
  type CodecOptions,
  defaultCodecOptions,
  type HeaderMap,
  type ResponseHead,
  type ServerConnectionHandler,
  type ServerStream,
  SimpleHeaderMap,
} from "../src/codec/mod.ts";
import { http2Codec } from "../src/codec/http2/mod.ts";
import { runReadLoop, SocketIO } from "../src/transport/mod.ts";
import { GRPC_REPLY } from "./_h2_payloads.ts";

const SMALL = new TextEncoder().encode("hello");
const BIG = new Uint8Array(64 * 1024).fill(0x61);

const OPTIONS: CodecOptions = {
  ...defaultCodecOptions,
  maxConcurrentStreams: 0, // a proxy multiplexing many clients onto one connection is never refused
  http2: {
    ...defaultCodecOptions.http2,
    initialStreamWindowSize: 65535,
    initialConnectionWindowSize: 65535,
  },
};

/** Response heads are read, never changed, by the codec: one of each is shared by every response. */
function head(status: number, fields: [string, string][]): ResponseHead {
  return { status, headers: new SimpleHeaderMap(fields) };
}

const OK_SMALL = head(200, [["content-type", "text/plain"], ["content-length", String(SMALL.length)]]);
const OK_BIG = head(200, [["content-type", "application/octet-stream"], [
  "content-length",
  String(BIG.length),
]]);
const NOT_FOUND = head(404, [["content-length", "0"]]);
const GRPC_HEAD = head(200, [["content-type", "application/grpc"]]);
const GRPC_OK: HeaderMap = new SimpleHeaderMap([["grpc-status", "0"]]);

/** Errors on a closed connection are the peer's business; nothing to report. */
function ignore(): void {}

function reply(stream: ServerStream): void {
  const req = stream.request;
  if (req.headers.get("content-type")?.startsWith("application/grpc")) {
    // Unary: answer once the request message has arrived whole (END_STREAM).
    if (stream.headOnly) return grpcReply(stream);
    stream.setBodyReceiver(new GrpcBody(stream));
    return;
  }
  if (!stream.headOnly) stream.setBodyReceiver(DISCARD); // a body nobody asked for: take it, drop it
  if (req.method !== "GET" && req.method !== "HEAD") {
    stream.sendResponse(NOT_FOUND, true).catch(ignore);
  } else if (req.path === "/") {
    stream.sendResponse(OK_SMALL, false).catch(ignore);
    stream.sendData(SMALL, true).catch(ignore);
  } else if (req.path === "/big") {
    stream.sendResponse(OK_BIG, false).catch(ignore);
    stream.sendData(BIG, true).catch(ignore);
  } else {
    stream.sendResponse(NOT_FOUND, true).catch(ignore);
  }
}

function grpcReply(stream: ServerStream): void {
  stream.sendResponse(GRPC_HEAD, false).catch(ignore);
  stream.sendData(GRPC_REPLY, false).catch(ignore);
  stream.sendTrailers(GRPC_OK).catch(ignore);
}

class GrpcBody implements BodyReceiver {
  readonly #stream: ServerStream;
  constructor(stream: ServerStream) {
    this.#stream = stream;
  }
  onData(_chunk: Uint8Array, endStream: boolean): void {
    if (endStream) grpcReply(this.#stream);
  }
  onTrailers(): void {
    grpcReply(this.#stream);
  }
  onReset(): void {}
}

const DISCARD: BodyReceiver = { onData() {}, onTrailers() {}, onReset() {} };

const HANDLER: ServerConnectionHandler = {
  onRequest: reply,
  onProtocolError: ignore,
};

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const io = new SocketIO(conn);
  const server = http2Codec.newServerConnection(io, HANDLER, OPTIONS);
  try {
    await runReadLoop(conn, server);
  } finally {
    io.close();
  }
}

if (import.meta.main) {
  const m = /^(.+):(\d+)$/.exec(Deno.args[0] ?? "");
  if (m === null) {
    console.error("usage: h2_origin.ts <listen host:port>");
    Deno.exit(2);
  }
  const listener = Deno.listen({ hostname: m[1]!, port: Number(m[2]), transport: "tcp" });
  for await (const conn of listener) serve(conn).catch(ignore);
}
