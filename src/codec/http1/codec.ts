import type {
  ClientConnection,
  ClientConnectionHandler,
  CodecOptions,
  ConnectionIO,
  MatchResult,
  ProtocolCodec,
  ServerConnection,
  ServerConnectionHandler,
} from "../types.ts";
import { Http1ClientConnection } from "./client.ts";
import { Http1ServerConnection } from "./server.ts";

/**
 * Sniffs a request line: an upper-case method of up to 20 letters followed by a space. The HTTP/2
 * preface ("PRI * HTTP/2.0") is left to an h2 codec.
 */
function match(data: Uint8Array): MatchResult {
  const n = data.length < 21 ? data.length : 21;
  for (let i = 0; i < n; i++) {
    const c = data[i];
    if (c === 32) {
      if (i === 0) return "fail";
      if (i === 3 && data[0] === 80 && data[1] === 82 && data[2] === 73) return "fail";
      return "match";
    }
    if (!((c >= 65 && c <= 90) || c === 45 || c === 95)) return "fail";
  }
  return n < 21 ? "again" : "fail";
}

/** The HTTP/1.1 codec ("Http1"): our own parser and encoder over raw bytes. */
export const http1Codec: ProtocolCodec = {
  name: "Http1",
  alpn: "http/1.1",
  multiplexed: false,
  match,
  newServerConnection(
    io: ConnectionIO,
    handler: ServerConnectionHandler,
    options: CodecOptions,
  ): ServerConnection {
    return new Http1ServerConnection(io, handler, options);
  },
  newClientConnection(
    io: ConnectionIO,
    handler: ClientConnectionHandler,
    options: CodecOptions,
  ): ClientConnection {
    return new Http1ClientConnection(io, handler, options);
  },
};
