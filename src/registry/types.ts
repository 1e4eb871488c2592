/**
 * The registry contract: what the sidecar API (`/pub`, `/sub`, …) and the server need from a service
 * registry, independent of ZooKeeper. `zk/` implements it over a real ZooKeeper ensemble; the API and the
 * server's registry runtime use only these types, so a second backend (Nacos, etcd) would be one folder.
 *
 * Layout names are the two wire layouts meshctl speaks (see ../shared/notes/registry.md):
 * - `dubbo`: `/<group or "dubbo">/<iface>/providers|consumers/<URL-encoded URL>`, ephemeral;
 * - `sofa`: `<root>sofa-rpc/<iface>/providers|consumers/<URL-encoded URL>`, ephemeral, data `1` (online).
 * @module
 */

/** One registry as the sidecar API names it (`registry` in the request body). */
export interface RegistryAddress {
  /** Only `zookeeper` today; anything else is refused by the API with a clear error. */
  readonly type: "zookeeper";
  /** `host:port`, comma-separated for an ensemble, optionally followed by a chroot: `zk1:2181,zk2:2181/root`. */
  readonly addr: string;
  readonly username?: string;
  readonly password?: string;
}

export type RegistryLayout = "dubbo" | "sofa";

/** What a consumer matches providers on (Dubbo: interface + group + version, `*` = any; SOFA: uniqueId). */
export interface ServiceKey {
  readonly layout: RegistryLayout;
  readonly interface: string;
  /** Dubbo `group` / SOFA `uniqueId`; "" = none. */
  readonly group: string;
  /** Dubbo `version`; "" = none, `*` = any. */
  readonly version: string;
}

/** A provider as read from the registry: one node under `…/providers`. */
export interface ProviderInstance {
  readonly host: string;
  readonly port: number;
  /** The URL's `weight` parameter, else 100 (Dubbo's and SOFA's default). */
  readonly weight: number;
  /** The decoded URL, as the provider wrote it. */
  readonly url: string;
  /** The URL's query parameters. */
  readonly params: ReadonlyMap<string, string>;
}

/** State of one node meshctl keeps in the registry (a provider or consumer registration). */
export type RegistrationState =
  /** The node exists in the current session. */
  | "registered"
  /** Being (re)created: first connect, or after a session expiry. */
  | "pending"
  /** Disconnected: the node may still exist (the session may come back); it will be re-created if not. */
  | "disconnected";

/** An ephemeral node meshctl owns; it is kept alive across disconnects and re-created after session expiry. */
export interface Registration {
  /** The full node path, `/dubbo/<iface>/providers/<encoded URL>`. */
  readonly path: string;
  readonly url: string;
  state(): RegistrationState;
  /** Deletes the node (if it exists) and stops re-creating it. */
  close(): Promise<void>;
}

/** A live view of one service's providers: the watch is re-armed after every event and every new session. */
export interface ProviderSubscription {
  readonly key: ServiceKey;
  /** The current providers matching `key` (the last known ones while disconnected). */
  providers(): readonly ProviderInstance[];
  /** Stops watching; no `onChange` after it returns. */
  close(): void;
}

export type RegistrySessionState = "connecting" | "connected" | "disconnected" | "expired" | "closed";

/** One session with one registry (one ensemble), shared by every registration and subscription on it. */
export interface RegistryClient {
  readonly address: RegistryAddress;
  state(): RegistrySessionState;
  /** Resolves once the node exists (or rejects with a clear message: unreachable, auth, bad path). */
  register(
    layout: RegistryLayout,
    role: "providers" | "consumers",
    iface: string,
    url: string,
  ): Promise<Registration>;
  /**
   * Resolves with the first provider list read; `onChange` gets every later change of the list (a provider
   * added, removed, or changed — a changed URL is a new node name, so node data is not watched), with the
   * whole new list, never called after `close()`. On disconnect the last list stays; it is re-read on
   * reconnect. Throws/rejects with a clear message for an interface that cannot be a ZooKeeper path.
   */
  subscribe(
    key: ServiceKey,
    onChange: (providers: readonly ProviderInstance[]) => void,
  ): Promise<ProviderSubscription>;
  /** Closes the session: its ephemeral nodes disappear at once. */
  close(): Promise<void>;
}

/** Hands out one client per distinct address (an app that publishes ten services opens one session). */
export interface RegistryConnector {
  client(address: RegistryAddress): RegistryClient;
  /** Closes every client (meshctl stopping). */
  closeAll(): Promise<void>;
}
