/**
 * The upstream side of a terminated CONNECT (`upgrade_configs: [{upgrade_type: CONNECT, connect_config: {}}]`):
 * no protocol at all, the stream's body bytes are the TCP connection's bytes. It speaks the client half of
 * the codec contract so the proxy drives a tunnel as it drives any request — pool, timeouts, stats, access
 * log — and answers the CONNECT with 200 once the connection is up (the pool hands it over connected).
 *
 * One stream per connection, never reused. The client's end of its side (END_STREAM, or its half-close on
 * HTTP/1) half-closes the upstream socket; the upstream's EOF ends the response. Registered as internal:
 * not a `downstream_protocol` or `upstream_protocol` a config can name, and never sniffed.
 */
import { ProxyError } from "../../core/mod.ts";
import { SimpleHeaderMap } from "../header_map.ts";
import type {
  ClientConnection,
  ClientConnectionHandler,
  ClientStream,
  CodecOptions,
  ConnectionIO,
  HeaderMap,
  ProtocolCodec,
  RequestHead,
  ResponseHead,
  ResponseReceiver,
} from "../types.ts";

/** The name the proxy asks the cluster's pool for. */
export const TCP_TUNNEL = "tcp_tunnel";

const EMPTY = new Uint8Array(0);
const RESOLVED: Promise<void> = Promise.resolve();

/** The 200 a terminated CONNECT gets: no fields (a 2xx to CONNECT carries no content, RFC 9110 §9.3.6). */
class TunnelEstablished implements ResponseHead {
  status = 200;
  readonly headers: HeaderMap = new SimpleHeaderMap();
}

class TunnelConnection implements ClientConnection {
  readonly #io: ConnectionIO;
  readonly #handler: ClientConnectionHandler;
  #stream: TunnelStream | undefined;
  #used = false;
  #closed = false;

  constructor(io: ConnectionIO, handler: ClientConnectionHandler) {
    this.#io = io;
    this.#handler = handler;
  }

  get activeStreams(): number {
    return this.#stream === undefined ? 0 : 1;
  }

  get streamCapacity(): number {
    return this.#used || this.#closed ? 0 : 1;
  }

  get reusable(): boolean {
    return false;
  }

  newStream(receiver: ResponseReceiver): ClientStream {
    if (this.#used || this.#closed) {
      throw new ProxyError("upstream_reset", "upstream", "a tunnel carries one stream", { retryable: true });
    }
    this.#used = true;
    return this.#stream = new TunnelStream(this.#io, receiver);
  }

  feed(data: Uint8Array): void | Promise<void> {
    const s = this.#stream;
    if (s === undefined || !s.established) return; // nothing may arrive before the CONNECT is answered
    return s.receiver.onData(data, false);
  }

  onEof(): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#stream;
    this.#stream = undefined;
    if (s !== undefined && s.established) {
      // The upstream is done writing: that ends the tunnel's response side.
      void s.receiver.onData(EMPTY, true);
    } else if (s !== undefined) {
      s.receiver.onReset(new ProxyError("upstream_reset", "upstream", "upstream closed the tunnel"));
    }
    this.#io.close();
    this.#handler.onUnusable(new ProxyError("upstream_reset", "upstream", "tunnel closed"));
  }
}

class TunnelStream implements ClientStream {
  readonly id = 1;
  readonly receiver: ResponseReceiver;
  readonly #io: ConnectionIO & { closeWrite?(): Promise<void> };
  established = false;

  constructor(io: ConnectionIO, receiver: ResponseReceiver) {
    this.#io = io;
    this.receiver = receiver;
  }

  /** The CONNECT itself goes nowhere: the connection is the tunnel. Answers 200 at once. */
  sendRequest(_head: RequestHead, _endStream: boolean): Promise<void> {
    if (this.established) return RESOLVED;
    this.established = true;
    void this.receiver.onResponse(new TunnelEstablished(), false);
    return RESOLVED;
  }

  sendData(chunk: Uint8Array, endStream: boolean): Promise<void> {
    const io = this.#io;
    if (io.closed) return RESOLVED;
    const p = chunk.length > 0 ? io.write(chunk) : RESOLVED;
    // The client finished its side: so do we, and keep relaying what the upstream still sends.
    if (endStream) void (io.closeWrite?.() ?? p.then(() => io.close()));
    return p;
  }

  sendTrailers(_trailers: HeaderMap): Promise<void> {
    return this.sendData(EMPTY, true); // a tunnel has no trailers: the end of the client's side
  }

  reset(_error: ProxyError): void {
    this.#io.close();
  }
}

export const tcpTunnelCodec: ProtocolCodec = {
  name: TCP_TUNNEL,
  multiplexed: false,
  match: () => "fail",
  newServerConnection() {
    throw new RangeError("Cannot serve a tcp_tunnel: it is the upstream side of a terminated CONNECT only");
  },
  newClientConnection(io: ConnectionIO, handler: ClientConnectionHandler, _options: CodecOptions) {
    return new TunnelConnection(io, handler);
  },
};
