import type { ProxyError } from "../core/mod.ts";
import type { ServerConnectionHandler, ServerStream } from "../codec/mod.ts";
import type { ConnectionInfo, ProxyContext } from "./context.ts";
import { ProxyStream } from "./proxy_stream.ts";

/** The `proxy` network filter on one downstream connection: every decoded request becomes a ProxyStream. */
export class ProxyConnectionHandler implements ServerConnectionHandler {
  readonly #ctx: ProxyContext;
  readonly #info: ConnectionInfo;

  constructor(ctx: ProxyContext, info: ConnectionInfo) {
    this.#ctx = ctx;
    this.#info = info;
  }

  onRequest(stream: ServerStream): void {
    new ProxyStream(this.#ctx, this.#info, stream).start();
  }

  onProtocolError(error: ProxyError): void {
    this.#ctx.stats.protocolError.inc();
    this.#ctx.logger.debug("downstream protocol error", {
      listener: this.#ctx.listenerName,
      remote: this.#info.remoteAddress,
      error: error.message,
    });
  }

  onHeartbeat(): void {
    this.#ctx.stats.heartbeatTotal.inc();
  }
}
