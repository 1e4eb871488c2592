/**
 * IP address ranges and port ranges as MOSN's tcp_proxy routes read them (`pkg/config/v2/cidr_range.go`,
 * `pkg/filter/network/streamproxy`): a range is Go's `net.ParseCIDR("<address>/<length>")`, so host bits
 * may be set ("127.0.0.1/24" is 127.0.0.0/24), and matching is Go's `IPNet.Contains`, under which an IPv4
 * range also takes the IPv4-mapped IPv6 form of its addresses (what a dual-stack socket reports).
 */

/** A parsed range: the network's bytes (4 or 16) and how many leading bits must match. */
export interface CidrRange {
  readonly bytes: Uint8Array;
  readonly bits: number;
}

/**
 * Parses an IPv4 dotted quad (no leading zeros, as Go since 1.17) or an IPv6 literal (with `::` and an
 * optional dotted IPv4 tail; no zone) into 4 or 16 bytes. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
 * becomes its 4 IPv4 bytes, as Go's `To4()`. Undefined when `text` is not an IP address.
 */
export function parseIp(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return v4;
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  return isV4Mapped(v6) ? v6.slice(12) : v6;
}

/**
 * `address/length` as Go's ParseCIDR reads it, or why not: the address must be an IP literal and the
 * length at most 32 (IPv4) or 128 (IPv6). An IPv4-mapped IPv6 range is an IPv4 range of `length - 96` bits
 * (Go compares only the mask's last four bytes for it).
 */
export function parseCidr(address: string, length: number): CidrRange | string {
  const v4 = parseIpv4(address);
  const bytes = v4 ?? parseIpv6(address);
  if (bytes === undefined) return `"${address}" is not an IP address`;
  const max = bytes.length * 8;
  if (!Number.isInteger(length) || length < 0 || length > max) {
    return `prefix length ${length} is out of range for ${v4 ? "IPv4" : "IPv6"} (0..${max})`;
  }
  if (bytes.length === 16 && isV4Mapped(bytes)) {
    return { bytes: bytes.slice(12), bits: Math.max(0, length - 96) };
  }
  return { bytes, bits: length };
}

/** True when `ip` (from {@link parseIp}) is in `range`; an IPv4 address never matches an IPv6 range. */
export function cidrContains(range: CidrRange, ip: Uint8Array): boolean {
  if (ip.length !== range.bytes.length) return false;
  let bits = range.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

/** An inclusive port range. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/**
 * A MOSN port list, `"80,8000-8080"`: comma-separated ports and `min-max` ranges, each within 1..65535
 * with min ≤ max. Returns the ranges, or what is wrong with the first bad item. (MOSN skips an item it
 * cannot parse, with a log line; meshctl refuses the config instead.) "" is the empty list.
 */
export function parsePortList(text: string): PortRange[] | string {
  if (text === "") return [];
  const out: PortRange[] = [];
  for (const item of text.split(",")) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    if (m === null) return `"${item}" is not a port or a range like "8000-8080"`;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : Number(m[2]);
    for (const p of [min, max]) if (p < 1 || p > 65535) return `port ${p} is out of range (1..65535)`;
    if (min > max) return `range "${item}" is empty (${min} > ${max})`;
    out.push({ min, max });
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  if (b.length !== 16 || b[10] !== 0xff || b[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return true;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!text.includes(":") || text.includes("%")) return undefined;
  const out = new Uint8Array(16);
  const gap = text.indexOf("::");
  if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) return undefined;
  const head = gap < 0 ? text : text.slice(0, gap);
  const tail = gap < 0 ? "" : text.slice(gap + 2);
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === "" ? [] : tail.split(":");
  const groups: number[] = [];
  const pushAll = (list: string[], last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i]!;
      if (last && i === list.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        if (v4 === undefined) return false;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      groups.push(parseInt(g, 16));
    }
    return true;
  };
  if (!pushAll(headGroups, gap < 0)) return undefined;
  const headCount = groups.length;
  if (!pushAll(tailGroups, true)) return undefined;
  const tailCount = groups.length - headCount;
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return undefined;
  for (let i = 0; i < headCount; i++) writeGroup(out, i, groups[i]!);
  for (let i = 0; i < tailCount; i++) writeGroup(out, 8 - tailCount + i, groups[headCount + i]!);
  return out;
}

function writeGroup(out: Uint8Array, index: number, value: number): void {
  out[index * 2] = value >> 8;
  out[index * 2 + 1] = value & 0xff;
}
