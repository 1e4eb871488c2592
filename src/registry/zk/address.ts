/**
 * ZooKeeper connect strings: `host:port[,host:port…][/chroot]`. The chroot is applied by us, not by the
 * client library, so the chroot node itself can be created like any other parent (ZooKeeper refuses
 * operations under a chroot that does not exist).
 * @module
 */

export interface ZkAddress {
  /** `host:port` per server, IPv6 bracketed, as the client library takes them. */
  readonly servers: readonly string[];
  /** "" or `/a/b` (no trailing slash). */
  readonly chroot: string;
}

/** Parses a registry `addr`; a clear reason when it is not a ZooKeeper connect string. */
export function parseZkAddress(addr: string): ZkAddress | string {
  const text = addr.trim();
  if (text === "") return "the ZooKeeper address is empty";
  const slash = text.indexOf("/");
  const hosts = slash < 0 ? text : text.slice(0, slash);
  let chroot = slash < 0 ? "" : text.slice(slash);
  while (chroot.endsWith("/")) chroot = chroot.slice(0, -1);
  if (chroot !== "" && chroot.split("/").slice(1).some((c) => c === "" || c === "." || c === "..")) {
    return `bad chroot "${text.slice(slash)}" in ZooKeeper address "${addr}"`;
  }
  const servers: string[] = [];
  for (const part of hosts.split(",")) {
    const server = part.trim();
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(server);
    if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) {
      return `"${server}" in ZooKeeper address "${addr}" is not host:port`;
    }
    servers.push(server);
  }
  return { servers, chroot };
}
