/** The registered "dubbo" codec (MOSN's name). */
import type {
  ClientConnectionHandler,
  CodecOptions,
  ConnectionIO,
  MatchResult,
  ProtocolCodec,
  ServerConnectionHandler,
} from "../types.ts";
import { DubboClientConnection } from "./client.ts";
import { MAGIC_HIGH, MAGIC_LOW } from "./constants.ts";
import { DubboServerConnection } from "./server.ts";

class DubboCodec implements ProtocolCodec {
  readonly name = "dubbo";
  readonly multiplexed = true;

  /**
   * The magic decides, as MOSN's matcher: 0xDA 0xBB. MOSN waits for a whole 16-byte header first; two
   * bytes are enough to know, so foreign bytes fail sooner and dubbo bytes match sooner.
   */
  match(data: Uint8Array): MatchResult {
    if (data.length === 0) return "again";
    if (data[0] !== MAGIC_HIGH) return "fail";
    if (data.length === 1) return "again";
    return data[1] === MAGIC_LOW ? "match" : "fail";
  }

  newServerConnection(
    io: ConnectionIO,
    handler: ServerConnectionHandler,
    options: CodecOptions,
  ): DubboServerConnection {
    return new DubboServerConnection(io, handler, options);
  }

  newClientConnection(
    io: ConnectionIO,
    handler: ClientConnectionHandler,
    options: CodecOptions,
  ): DubboClientConnection {
    return new DubboClientConnection(io, handler, options);
  }
}

export const dubboCodec: ProtocolCodec = new DubboCodec();
