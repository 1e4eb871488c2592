/**
 * Binds the registry API on exactly `hostname:port` (127.0.0.1 by default: MOSN binds every interface,
 * which would let anyone who reaches the host publish services in this sidecar's name).
 * @module
 */
import type { Logger, SocketAddress } from "../../core/mod.ts";
import type { RegistryApi } from "./registry_api.ts";

export interface RegistryApiServer {
  /** The bound address (the OS's pick for port 0). */
  readonly addr: SocketAddress;
  shutdown(): Promise<void>;
}

/** Throws (e.g. `Deno.errors.AddrInUse`) when the address cannot be bound. */
export function serveRegistryApi(
  api: RegistryApi,
  address: SocketAddress,
  logger: Logger,
): RegistryApiServer {
  const server = Deno.serve({
    hostname: address.hostname,
    port: address.port,
    onListen() {},
    onError(err) {
      logger.error("registry API request failed", { error: String(err) });
      return new Response(JSON.stringify({ err_no: 1, err_msg: "internal error" }) + "\n", { status: 500 });
    },
  }, api.handle);
  let done: Promise<void> | undefined;
  return {
    addr: { hostname: server.addr.hostname, port: server.addr.port },
    shutdown: () => done ??= server.shutdown(),
  };
}
