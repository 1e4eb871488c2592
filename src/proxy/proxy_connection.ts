import type { ProxyError } from "../core/mod.ts";
import type { ServerConnectionHandler, ServerStream } from "../codec/mod.ts";
import type { ConnectionInfo, ProxyContext } from "./context.ts";
import { ProxyStream } from "./proxy_stream.ts";

/** The `proxy` network filter on one downstream connection: every decoded request becomes a ProxyStream. */
export class ProxyConnectionHandler implements ServerConnectionHandler {
  /** The listener's current context: a reload swaps it, and the next request here uses the new one. */
  readonly #ref: { readonly current: ProxyContext };
  readonly #info: ConnectionInfo;

  constructor(ref: { readonly current: ProxyContext }, info: ConnectionInfo) {
    this.#ref = ref;
    this.#info = info;
  }

  onRequest(stream: ServerStream): void | Promise<void> {
    return new ProxyStream(this.#ref.current, this.#info, stream).start();
  }

  onProtocolError(error: ProxyError): void {
    const stats = this.#ref.current.stats;
    if (error.kind === "overflow") stats.bufferBudgetExhausted.inc();
    else stats.protocolError.inc();
    this.#ref.current.logger.debug("downstream protocol error", {
      listener: this.#ref.current.listenerName,
      remote: this.#info.remoteAddress,
      error: error.message,
    });
  }

  onHeartbeat(): void {
    this.#ref.current.stats.heartbeatTotal.inc();
  }

  onStreamRefused(): void {
    this.#ref.current.stats.streamRefused.inc();
  }
}
