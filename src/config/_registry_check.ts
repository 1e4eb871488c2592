/**
 * `extends[]` (MOSN's ExtendConfig list): each entry's `type` must be one meshctl knows, and the
 * `dubbo_registry` entry's settings must make sense together.
 * @module
 */
import { didYouMean } from "../core/mod.ts";
import type { Loose, Reporter } from "./_semantics.ts";
import type { ConfigDocument } from "./schema.ts";
import { EXTEND_TYPES } from "./schema.ts";

type Doc = Loose<ConfigDocument>;

/** The `extends` index of the enabled `dubbo_registry` entry, or undefined. */
export function enabledRegistryEntry(doc: Doc): number | undefined {
  const i = (doc.extends ?? []).findIndex((e) =>
    e?.type === "dubbo_registry" && (e.config as { enable?: unknown } | undefined)?.enable === true
  );
  return i < 0 ? undefined : i;
}

/** Reports every problem of `extends`; true when an enabled registry will run. */
export function checkExtends(doc: Doc, reporter: Reporter): boolean {
  const known = Object.keys(EXTEND_TYPES);
  let seen: number | undefined;
  (doc.extends ?? []).forEach((e, i) => {
    if (e === undefined || typeof e.type !== "string") return;
    const at = `extends[${i}]`;
    if (!known.includes(e.type)) {
      const hint = didYouMean(e.type, known);
      reporter.error(
        `${at}.type`,
        `unknown extension type "${e.type}"; ${
          hint ? `did you mean "${hint}"?` : `expected one of ${known.join(", ")}`
        }`,
      );
      return;
    }
    if (seen !== undefined) {
      reporter.error(
        `${at}.type`,
        `a second dubbo_registry entry (the first is extends[${seen}]); one is allowed`,
      );
      return;
    }
    seen = i;
  });
  const index = enabledRegistryEntry(doc);
  if (index === undefined || index !== seen) return false;
  const at = `extends[${index}].config`;
  const c = doc.extends![index]!.config as Loose<
    import("./schema.ts").DubboRegistryDocument
  >;
  if (doc.dynamic_resources !== undefined) {
    reporter.error(
      `${at}.enable`,
      "dubbo_registry together with dynamic_resources (xDS) is not supported yet: both would rebuild the " +
        "same listeners and clusters; use one of them",
    );
  }
  const invalidPort = reporter.hasError?.(`${at}.server_port`) ?? false;
  if (c.server_port === undefined && c.server_listener === undefined && !invalidPort) {
    reporter.error(
      `${at}.server_port`,
      "missing: the port `pub` publishes as this sidecar's provider port (or server_listener: a listener " +
        "whose bound port to publish)",
    );
  }
  if (c.server_port !== undefined && c.server_listener !== undefined) {
    reporter.error(`${at}.server_listener`, "set server_port or server_listener, not both");
  }
  if (typeof c.server_listener === "string") {
    const names = (doc.servers ?? []).flatMap((s) => (s?.listeners ?? []).map((l) => l?.name ?? l?.address));
    if (!names.includes(c.server_listener)) {
      const hint = didYouMean(c.server_listener, names.filter((n): n is string => typeof n === "string"));
      reporter.error(
        `${at}.server_listener`,
        `no listener named "${c.server_listener}"${hint ? `; did you mean "${hint}"?` : ""}`,
      );
    }
  }
  if (c.advertise_ip === undefined) {
    reporter.warn(
      `${at}`,
      "advertise_ip is not set: published URLs carry 127.0.0.1, which only this host can reach (set the " +
        "IP other hosts reach this sidecar at)",
    );
  }
  return true;
}
