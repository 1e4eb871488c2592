/**
 * xDS: live configuration from a control plane (Envoy v3 ADS).
 * @module
 */
export * from "./client/mod.ts";
