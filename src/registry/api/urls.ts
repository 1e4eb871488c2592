/**
 * The URLs `pub` and `sub` write, as a Dubbo 2.x application writes them (parameters in sorted order, as
 * Dubbo's URL.toFullString gives them), so Java and Node Dubbo consumers that read ZooKeeper directly match
 * what meshctl publishes.
 * @module
 */
import type { ServiceRequest } from "./request.ts";

/** The `application` parameter meshctl's nodes carry. */
export const APPLICATION = "meshctl";

function query(params: Record<string, string>): string {
  return Object.keys(params).sort().filter((k) => params[k] !== "").map((k) =>
    `${k}=${encodeURIComponent(params[k]!).replace(/%2C/g, ",")}`
  ).join("&");
}

function ipHost(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}

/** `dubbo://ip:port/<iface>?anyhost=true&application=meshctl&dubbo=2.0.2&interface=…&methods=a,b&…`. */
export function providerUrl(o: {
  ip: string;
  port: number;
  service: ServiceRequest["service"];
  pid: number;
  timestamp: number;
}): string {
  const s = o.service;
  return `dubbo://${ipHost(o.ip)}:${o.port}/${s.interface}?${
    query({
      anyhost: "true",
      application: APPLICATION,
      dubbo: "2.0.2",
      group: s.group,
      interface: s.interface,
      methods: [...s.methods].sort().join(","),
      pid: String(o.pid),
      side: "provider",
      timestamp: String(o.timestamp),
      version: s.version,
    })
  }`;
}

/** `consumer://ip/<iface>?application=meshctl&category=consumers&check=false&…&side=consumer&…`. */
export function consumerUrl(o: {
  ip: string;
  service: ServiceRequest["service"];
  pid: number;
  timestamp: number;
}): string {
  const s = o.service;
  return `consumer://${ipHost(o.ip)}/${s.interface}?${
    query({
      application: APPLICATION,
      category: "consumers",
      check: "false",
      dubbo: "2.0.2",
      group: s.group,
      interface: s.interface,
      methods: [...s.methods].sort().join(","),
      pid: String(o.pid),
      side: "consumer",
      timestamp: String(o.timestamp),
      version: s.version,
    })
  }`;
}
