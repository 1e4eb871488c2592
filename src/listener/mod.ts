/**
 * Listeners: accept loops, protocol sniffing, network filters (proxy, tcp_proxy), drain.
 * @module
 */
export { Listener, resolveCodecs } from "./listener.ts";
export type { ListenerPlan } from "./listener.ts";
export { TcpProxy } from "./tcp_proxy.ts";
