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
import { matchClientPreface } from "./_frames.ts";
import { Http2ClientConnection } from "./client.ts";
import { Http2ServerConnection } from "./server.ts";

function match(data: Uint8Array): MatchResult {
  return matchClientPreface(data, 0, data.length);
}

/** The HTTP/2 codec ("Http2"): h2c with prior knowledge, our own frames, HPACK and flow control. */
export const http2Codec: ProtocolCodec = {
  name: "Http2",
  alpn: "h2",
  multiplexed: true,
  match,
  newServerConnection(
    io: ConnectionIO,
    handler: ServerConnectionHandler,
    options: CodecOptions,
  ): ServerConnection {
    return new Http2ServerConnection(io, handler, options);
  },
  newClientConnection(
    io: ConnectionIO,
    handler: ClientConnectionHandler,
    options: CodecOptions,
  ): ClientConnection {
    return new Http2ClientConnection(io, handler, options);
  },
};
