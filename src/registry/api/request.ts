/**
 * The body of `/pub`, `/unpub`, `/sub`, `/unsub` (MOSN's `pubReq` / `subReq`), checked as MOSN's binding
 * tags check it — `type` must be `zookeeper`, `addr` host:port, `interface` and `methods` present — and a
 * little more: every field's JSON type, names a ZooKeeper path can carry, at most one chroot.
 * @module
 */
import type { RegistryAddress, RegistryLayout } from "../types.ts";

export interface ServiceRequest {
  readonly registry: RegistryAddress;
  /**
   * meshctl's extension of MOSN's body, `registry.layout`: `dubbo` (absent = MOSN's meaning) or `sofa`
   * (SOFA RPC's `/sofa-rpc/<iface>/providers`, bolt URLs; `service.group` is SOFA's uniqueId).
   */
  readonly layout: RegistryLayout;
  readonly service: {
    readonly interface: string;
    readonly methods: readonly string[];
    /** "" = none. */
    readonly group: string;
    /** "" = none (pub: no version; sub: any version). */
    readonly version: string;
  };
}

/** Java identifiers joined by dots (and `$` for nested classes), as Dubbo interface names are. */
const INTERFACE = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
const METHOD = /^[A-Za-z_$][\w$]*$/;
/** Group and version end up in URL parameters and in ZooKeeper node names (encoded), so no controls. */
const LABEL = /^[\w.\-*:]*$/;
const HOST =
  /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

/** `host:port[,host:port…][/chroot]`: the problem, or undefined when it parses. */
export function checkRegistryAddr(addr: string): string | undefined {
  const slash = addr.indexOf("/");
  const hosts = slash < 0 ? addr : addr.slice(0, slash);
  const chroot = slash < 0 ? "" : addr.slice(slash);
  if (hosts === "") return `registry.addr "${addr}" has no host:port`;
  for (const hp of hosts.split(",")) {
    const colon = hp.lastIndexOf(":");
    const host = colon < 0 ? hp : hp.slice(0, colon);
    const port = colon < 0 ? "" : hp.slice(colon + 1);
    if (
      colon < 0 || !HOST.test(host) || !/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535
    ) {
      return `registry.addr "${addr}": "${hp}" is not host:port (expected host:port[,host:port…], e.g. 127.0.0.1:2181)`;
    }
  }
  if (chroot !== "" && !/^(\/[\w.\-]+)+$/.test(chroot)) {
    return `registry.addr "${addr}": chroot "${chroot}" is not a ZooKeeper path`;
  }
  return undefined;
}

/**
 * Checks a parsed JSON body. `withVersion`: pub/unpub (MOSN has `version` only there; sub/unsub accept it
 * too, as a meshctl addition: "" = any version).
 */
export function parseServiceRequest(body: unknown): { request: ServiceRequest } | { error: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { error: "the body must be a JSON object {registry: {...}, service: {...}}" };
  }
  const b = body as Record<string, unknown>;
  const reg = b["registry"];
  const svc = b["service"];
  if (typeof reg !== "object" || reg === null || Array.isArray(reg)) {
    return { error: "registry: missing (an object {type, addr, username, password})" };
  }
  if (typeof svc !== "object" || svc === null || Array.isArray(svc)) {
    return { error: "service: missing (an object {interface, methods, group, version})" };
  }
  const r = reg as Record<string, unknown>;
  const s = svc as Record<string, unknown>;
  const str = (o: Record<string, unknown>, k: string, at: string): string | { error: string } => {
    const v = o[k];
    if (v === undefined || v === null) return "";
    return typeof v === "string" ? v : { error: `${at}.${k} must be a string, got ${JSON.stringify(v)}` };
  };
  const fields: Record<string, string> = {};
  for (
    const [o, k, at] of [
      [r, "type", "registry"],
      [r, "addr", "registry"],
      [r, "username", "registry"],
      [r, "password", "registry"],
      [r, "layout", "registry"],
      [s, "interface", "service"],
      [s, "group", "service"],
      [s, "version", "service"],
    ] as const
  ) {
    const v = str(o, k, at);
    if (typeof v !== "string") return v;
    fields[`${at}.${k}`] = v;
  }
  const type = fields["registry.type"]!;
  if (type !== "zookeeper") {
    return {
      error: type === ""
        ? 'registry.type: missing; only "zookeeper" is supported'
        : `registry.type "${type}" is not supported; only "zookeeper" is`,
    };
  }
  const layout = fields["registry.layout"]!;
  if (layout !== "" && layout !== "dubbo" && layout !== "sofa") {
    return {
      error: `registry.layout "${layout}" is not one meshctl speaks: "dubbo" (the default) or "sofa"`,
    };
  }
  const addr = fields["registry.addr"]!;
  if (addr === "") return { error: "registry.addr: missing (host:port, e.g. 127.0.0.1:2181)" };
  const addrProblem = checkRegistryAddr(addr);
  if (addrProblem !== undefined) return { error: addrProblem };
  const iface = fields["service.interface"]!;
  if (iface === "") return { error: "service.interface: missing (e.g. com.example.DemoService)" };
  if (!INTERFACE.test(iface) || iface.length > 512) {
    return {
      error: `service.interface "${iface}" is not a Java interface name (e.g. com.example.DemoService)`,
    };
  }
  const methods = s["methods"];
  if (methods === undefined || methods === null) {
    return { error: 'service.methods: missing (a list of method names, e.g. ["sayHello"])' };
  }
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== "string")) {
    return { error: "service.methods must be a list of method names (strings)" };
  }
  if (methods.length === 0) return { error: "service.methods must not be empty" };
  const bad = (methods as string[]).find((m) => !METHOD.test(m));
  if (bad !== undefined) return { error: `service.methods: "${bad}" is not a method name` };
  for (const k of ["service.group", "service.version"]) {
    if (!LABEL.test(fields[k]!) || fields[k]!.length > 128) {
      return { error: `${k} "${fields[k]}" may hold only letters, digits and . - _ * : (at most 128)` };
    }
  }
  return {
    request: {
      registry: {
        type: "zookeeper",
        addr,
        ...(fields["registry.username"] ? { username: fields["registry.username"] } : {}),
        ...(fields["registry.password"] ? { password: fields["registry.password"] } : {}),
      },
      layout: layout === "sofa" ? "sofa" : "dubbo",
      service: {
        interface: iface,
        methods: [...new Set(methods as string[])],
        group: fields["service.group"]!,
        version: fields["service.version"]!,
      },
    },
  };
}
