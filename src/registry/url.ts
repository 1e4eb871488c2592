/**
 * Registry URLs: the Java `URLEncoder`/`URLDecoder` codec that node names in ZooKeeper use, parsing provider
 * URLs into `ProviderInstance`s, matching them against a `ServiceKey`, and the builders for the URLs meshctl
 * writes (Dubbo and SOFA RPC provider/consumer URLs, ../shared/notes/registry.md B1/B2).
 *
 * Why not `encodeURIComponent`: Java writes space as `+`, keeps `*` and percent-encodes `~!'()`; a node
 * name encoded the JS way is a different node, so a delete by path would miss the one a Java app wrote.
 * @module
 */
import type { ProviderInstance, RegistryLayout, ServiceKey } from "./types.ts";

/** Dubbo's and SOFA's default provider weight. */
export const DEFAULT_PROVIDER_WEIGHT = 100;

const HEX = "0123456789ABCDEF";
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** What Java's `URLEncoder` leaves alone: `a-zA-Z0-9 . - * _` (space becomes `+`). */
function isJavaUnreserved(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2e || byte === 0x2d || byte === 0x2a || byte === 0x5f;
}

/** `java.net.URLEncoder.encode(s, UTF_8)`: UTF-8 bytes, uppercase hex, space → `+`. */
export function javaUrlEncode(s: string): string {
  let out = "";
  for (const byte of utf8.encode(s)) {
    if (isJavaUnreserved(byte)) out += String.fromCharCode(byte);
    else if (byte === 0x20) out += "+";
    else out += "%" + HEX[byte >> 4] + HEX[byte & 0xf];
  }
  return out;
}

/**
 * `java.net.URLDecoder.decode(s, UTF_8)`: `+` → space, `%XX` → bytes. Returns undefined where Java throws
 * (a truncated or non-hex escape) and for bytes that are not UTF-8 (where Java would put U+FFFD), so a bad
 * node name is skipped, not misread.
 */
export function javaUrlDecode(s: string): string | undefined {
  if (!s.includes("%")) return s.includes("+") ? s.replaceAll("+", " ") : s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return undefined;
      bytes.push(hi * 16 + lo);
      i += 2;
    } else if (c === 0x2b /* + */) {
      bytes.push(0x20);
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // A raw non-ASCII character (Java keeps it as is): re-encode it as UTF-8 among the decoded bytes.
      const cp = s.codePointAt(i)!;
      for (const b of utf8.encode(String.fromCodePoint(cp))) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** A provider URL split up: `protocol://host:port/path?query`. */
export interface ParsedRegistryUrl {
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
  /** Without the leading `/`; "" when absent (SOFA's `bolt://host:port?…`). */
  readonly path: string;
  /** Query parameters in the order written; values as written (Dubbo does not decode them either). */
  readonly params: ReadonlyMap<string, string>;
}

/**
 * Parses a decoded registry URL; a string explaining why not when it is not one (no `://`, no host, a port
 * that is not 1–65535). IPv6 hosts are bracketed (`dubbo://[::1]:20880/…`) and returned without brackets.
 */
export function parseRegistryUrl(url: string): ParsedRegistryUrl | string {
  const schemeEnd = url.indexOf("://");
  if (schemeEnd <= 0) return "no protocol:// prefix";
  const protocol = url.slice(0, schemeEnd);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(protocol)) return `bad protocol "${protocol}"`;
  const rest = url.slice(schemeEnd + 3);
  const queryAt = rest.indexOf("?");
  const beforeQuery = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const query = queryAt < 0 ? "" : rest.slice(queryAt + 1);
  const slashAt = beforeQuery.indexOf("/");
  let authority = slashAt < 0 ? beforeQuery : beforeQuery.slice(0, slashAt);
  const path = slashAt < 0 ? "" : beforeQuery.slice(slashAt + 1);
  const at = authority.lastIndexOf("@");
  if (at >= 0) authority = authority.slice(at + 1); // user:password@ — not ours to keep
  let host: string;
  let portText: string;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0 || authority[close + 1] !== ":") return `bad address "${authority}"`;
    host = authority.slice(1, close);
    portText = authority.slice(close + 2);
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon < 0) return `no port in "${authority}"`;
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
  }
  if (host === "" || /[\s/?#]/.test(host)) return `bad host "${host}"`;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return `bad port "${portText}"`;
  }
  const params = new Map<string, string>();
  if (query !== "") {
    for (const pair of query.split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      const key = eq < 0 ? pair : pair.slice(0, eq);
      if (key !== "" && !params.has(key)) params.set(key, eq < 0 ? "" : pair.slice(eq + 1));
    }
  }
  return { protocol, host, port: Number(portText), path, params };
}

/**
 * A provider from one `…/providers` child node name (Java-encoded): the instance, or why it is skipped.
 * `weight` is the URL's when it is a non-negative integer, else 100.
 */
export function parseProviderNode(nodeName: string): ProviderInstance | string {
  const url = javaUrlDecode(nodeName);
  if (url === undefined) return "not URL-encoded (bad % escape or not UTF-8)";
  const parsed = parseRegistryUrl(url);
  if (typeof parsed === "string") return parsed;
  const weightText = parsed.params.get("weight");
  const weight = weightText !== undefined && /^\d{1,9}$/.test(weightText)
    ? Number(weightText)
    : DEFAULT_PROVIDER_WEIGHT;
  return { host: parsed.host, port: parsed.port, weight, url, params: parsed.params };
}

/**
 * Whether a provider serves `key`, as the consumers of each layout decide:
 * - both: `interface` (when the URL has it) equals the key's; `category` (when present) is `providers`;
 *   `enabled=false` never matches;
 * - `dubbo` (UrlUtils.isMatch): group `*` = any, else the provider's group is one of the key's
 *   comma-separated groups ("" only matches no group); version `*` = any, else equal;
 * - `sofa`: `uniqueId` equal ("" matches none); `version` only compared when the key sets one.
 */
export function providerMatches(key: ServiceKey, provider: ProviderInstance): boolean {
  const p = provider.params;
  const iface = p.get("interface");
  if (iface !== undefined && iface !== "" && iface !== key.interface) return false;
  const category = p.get("category");
  if (category !== undefined && category !== "" && category !== "providers") return false;
  if (p.get("enabled") === "false") return false;
  if (key.layout === "dubbo") {
    const group = p.get("group") ?? p.get("default.group") ?? "";
    if (key.group !== "*" && !key.group.split(",").map((g) => g.trim()).includes(group)) return false;
    const version = p.get("version") ?? p.get("default.version") ?? "";
    return key.version === "*" || key.version === version;
  }
  if ((p.get("uniqueId") ?? "") !== key.group) return false;
  if (key.version === "" || key.version === "*") return true;
  return (p.get("version") ?? "") === key.version;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function query(params: ReadonlyArray<readonly [string, string | undefined]>): string {
  return params.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join("&");
}

/** What every URL builder needs; `pid` and `timestamp` default to this process and now. */
export interface RegistryUrlBase {
  readonly host: string;
  readonly port: number;
  readonly iface: string;
  readonly application?: string;
  readonly pid?: number;
  /** Milliseconds since the epoch. */
  readonly timestamp?: number;
}

export interface DubboUrlOptions extends RegistryUrlBase {
  readonly methods: readonly string[];
  readonly group?: string;
  readonly version?: string;
  /** Written only when set (Dubbo's default is 100). */
  readonly weight?: number;
}

/**
 * A Dubbo 2.x provider URL as `ServiceConfig` exports it: parameters sorted by name (Dubbo builds them from a
 * TreeMap), methods sorted, `dubbo=2.0.2`, `side=provider`. Empty group/version are left out.
 */
export function dubboProviderUrl(o: DubboUrlOptions): string {
  const params: [string, string | undefined][] = [
    ["anyhost", "true"],
    ["application", o.application ?? "meshctl"],
    ["deprecated", "false"],
    ["dubbo", "2.0.2"],
    ["dynamic", "true"],
    ["generic", "false"],
    ["group", o.group || undefined],
    ["interface", o.iface],
    ["methods", [...o.methods].sort().join(",")],
    ["pid", String(o.pid ?? Deno.pid)],
    ["side", "provider"],
    ["timestamp", String(o.timestamp ?? Date.now())],
    ["version", o.version || undefined],
    ["weight", o.weight === undefined ? undefined : String(o.weight)],
  ];
  return `dubbo://${hostPort(o.host, o.port)}/${o.iface}?${query(params)}`;
}

/**
 * A Dubbo consumer URL (`consumer://ip/iface?…category=consumers&check=false&side=consumer…`). Consumers
 * have no port: `port` is ignored.
 */
export function dubboConsumerUrl(o: Omit<DubboUrlOptions, "port" | "weight"> & { port?: number }): string {
  const params: [string, string | undefined][] = [
    ["application", o.application ?? "meshctl"],
    ["category", "consumers"],
    ["check", "false"],
    ["dubbo", "2.0.2"],
    ["group", o.group || undefined],
    ["interface", o.iface],
    ["methods", [...o.methods].sort().join(",")],
    ["pid", String(o.pid ?? Deno.pid)],
    ["side", "consumer"],
    ["timestamp", String(o.timestamp ?? Date.now())],
    ["version", o.version || undefined],
  ];
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return `consumer://${host}/${o.iface}?${query(params)}`;
}

/** SOFA RPC's default service version (Java `ProviderConfig`, sofa-rpc-node's consumer and server). */
export const SOFA_DEFAULT_VERSION = "1.0";

/**
 * The name a SOFA RPC caller puts in the bolt `service` header (Java: `sofa_head_target_service` and
 * `service`, `ConfigUniqueNameGenerator`; sofa-rpc-node: the consumer's `interface:version`):
 * `<iface>:<version>[:<uniqueId>]`, version `1.0` when not given.
 */
export function sofaServiceName(iface: string, version: string, uniqueId: string): string {
  const name = `${iface}:${version || SOFA_DEFAULT_VERSION}`;
  return uniqueId === "" ? name : `${name}:${uniqueId}`;
}

export interface SofaUrlOptions extends RegistryUrlBase {
  /** SOFA's `uniqueId` ("" = none). */
  readonly uniqueId?: string;
  /** `bolt` unless told. */
  readonly protocol?: string;
  /** SOFA's service version; `1.0` (SOFA's default) unless told. */
  readonly version?: string;
  readonly timeoutMs?: number;
  readonly weight?: number;
  readonly serialization?: string;
}

/** A SOFA RPC provider URL in SOFA's parameter order (`bolt://host:port?version=1.0&uniqueId=…`). */
export function sofaProviderUrl(o: SofaUrlOptions): string {
  const protocol = o.protocol ?? "bolt";
  const params: [string, string | undefined][] = [
    ["version", o.version || SOFA_DEFAULT_VERSION],
    ["uniqueId", o.uniqueId ?? ""],
    ["interface", o.iface],
    ["timeout", String(o.timeoutMs ?? 3000)],
    ["delay", "-1"],
    ["id", "rpc-cfg-0"],
    ["dynamic", "true"],
    ["weight", String(o.weight ?? DEFAULT_PROVIDER_WEIGHT)],
    ["accepts", "100000"],
    ["startTime", String(o.timestamp ?? Date.now())],
    ["appName", o.application ?? "meshctl"],
    ["serialization", o.serialization ?? "hessian2"],
    ["protocol", protocol],
    ["language", "java"],
    ["pid", String(o.pid ?? Deno.pid)],
    ["rpcVer", "50603"],
  ];
  return `${protocol}://${hostPort(o.host, o.port)}?${query(params)}`;
}

/** A SOFA RPC consumer URL as sofa-rpc-node writes it (`bolt://ip?uniqueId=&version=1.0&…`). */
export function sofaConsumerUrl(o: Omit<SofaUrlOptions, "port" | "weight"> & { port?: number }): string {
  const protocol = o.protocol ?? "bolt";
  const params: [string, string | undefined][] = [
    ["uniqueId", o.uniqueId ?? ""],
    ["version", o.version || SOFA_DEFAULT_VERSION],
    ["interface", o.iface],
    ["pid", String(o.pid ?? Deno.pid)],
    ["timeout", String(o.timeoutMs ?? 3000)],
    ["appName", o.application ?? "meshctl"],
    ["serialization", o.serialization ?? "hessian2"],
    ["startTime", String(o.timestamp ?? Date.now())],
  ];
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return `${protocol}://${host}?${query(params)}`;
}

/** `/dubbo` or `/sofa-rpc`: the layout's root under the client's chroot. */
export function layoutRoot(layout: RegistryLayout): string {
  return layout === "dubbo" ? "/dubbo" : "/sofa-rpc";
}

/**
 * Why `iface` cannot be a path component (undefined when it can): empty, `/`, `.`/`..`, control characters
 * or ZooKeeper's reserved `zookeeper` name would each address a different node than meant.
 */
export function interfacePathProblem(iface: string): string | undefined {
  if (iface === "") return "the interface is empty";
  if (iface.includes("/")) return `interface "${iface}" contains "/"`;
  if (iface === "." || iface === "..") return `interface "${iface}" is a relative path component`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/.test(iface)) {
    return `interface "${iface}" contains characters ZooKeeper does not allow in a path`;
  }
  return undefined;
}

/** `/dubbo/<iface>/providers` (or `consumers`), `/sofa-rpc/<iface>/providers`. */
export function registryRolePath(
  layout: RegistryLayout,
  iface: string,
  role: "providers" | "consumers",
): string {
  return `${layoutRoot(layout)}/${iface}/${role}`;
}

/** The full node path of `url` registered under `role`: the role path plus the Java-encoded URL. */
export function registryNodePath(
  layout: RegistryLayout,
  iface: string,
  role: "providers" | "consumers",
  url: string,
): string {
  return `${registryRolePath(layout, iface, role)}/${javaUrlEncode(url)}`;
}
