/**
 * Defaults of every limit the config can set, in one place (docs/architecture.md lists them). Envoy's
 * circuit breakers: a cluster is never unbounded by accident.
 */
export const LIMIT_DEFAULTS = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  listenerMaxConnections: 10_000,
  bufferLimitBytes: 1024 * 1024,
  requestHeadersTimeoutMs: 10_000,
  streamIdleTimeoutMs: 300_000,
  maxConcurrentStreams: 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  accessLogBufferBytes: 1024 * 1024,
  tlsHandshakeTimeoutMs: 10_000,
  drainIdleGraceMs: 1_000,
  maxPemFileBytes: 1024 * 1024,
  sharedCounterSlots: 16_384,
} as const;

/** The registry API's defaults (`extends[]` `dubbo_registry`). */
export const REGISTRY_DEFAULTS = {
  apiPort: 22222,
  apiAddress: "127.0.0.1",
  advertiseIp: "127.0.0.1",
  sessionTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
  maxRequestBodyBytes: 64 * 1024,
  maxServices: 1024,
} as const;

/** The router `sub` adds its routes to (MOSN's dubboRouterConfigName). */
export const REGISTRY_ROUTER_NAME = "dubbo";

/**
 * The router `sub` with `registry.layout: "sofa"` adds its routes to (`service == <iface>:<version>`).
 * MOSN has no SOFA registry; meshctl keeps SOFA's routes apart so a bolt listener names its own router.
 */
export const REGISTRY_SOFA_ROUTER_NAME = "sofa";
