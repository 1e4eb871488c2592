/** The two registered codecs, "bolt" (v1) and "boltv2". Both decode v1 and v2 frames on one connection. */
import type {
  ClientConnectionHandler,
  CodecOptions,
  ConnectionIO,
  MatchResult,
  ProtocolCodec,
  ServerConnectionHandler,
} from "../types.ts";
import { BoltClientConnection } from "./client.ts";
import { PROTOCOL_V1, PROTOCOL_V2 } from "./constants.ts";
import type { BoltVersion } from "./frame.ts";
import { BoltServerConnection } from "./server.ts";

class BoltCodec implements ProtocolCodec {
  readonly name: string;
  readonly multiplexed = true;
  readonly #version: BoltVersion;
  readonly #code: number;

  constructor(name: string, version: BoltVersion) {
    this.name = name;
    this.#version = version;
    this.#code = version === 2 ? PROTOCOL_V2 : PROTOCOL_V1;
  }

  /** As MOSN's matchers: the first byte decides (0x01 bolt, 0x02 boltv2); no bytes yet → again. */
  match(data: Uint8Array): MatchResult {
    if (data.length === 0) return "again";
    return data[0] === this.#code ? "match" : "fail";
  }

  newServerConnection(
    io: ConnectionIO,
    handler: ServerConnectionHandler,
    options: CodecOptions,
  ): BoltServerConnection {
    // GoAway exists only in v1 and is opt-in, as MOSN's enable_bolt_goaway.
    const goAway = this.#version === 1 && options.extend["enable_bolt_goaway"] === true;
    return new BoltServerConnection(io, handler, options, goAway);
  }

  newClientConnection(
    io: ConnectionIO,
    handler: ClientConnectionHandler,
    options: CodecOptions,
  ): BoltClientConnection {
    return new BoltClientConnection(io, handler, options, this.#version);
  }
}

/** Bolt v1 (protocol code 0x01). */
export const boltCodec: ProtocolCodec = new BoltCodec("bolt", 1);
/** Bolt v2 (protocol code 0x02; ver1 2 frames may carry a CRC-32, checked and rewritten). */
export const boltV2Codec: ProtocolCodec = new BoltCodec("boltv2", 2);
