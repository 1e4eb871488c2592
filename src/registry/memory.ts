/**
 * An in-memory registry: the `RegistryConnector` contract with ZooKeeper's semantics and no network, for
 * unit tests of everything built on the contract (the sidecar API, the server's registry runtime).
 *
 * One `MemoryRegistry` is one "ensemble" per address: clients on the same `addr` see each other's nodes.
 * Nodes are ephemeral — a client's `close()` removes every node it registered, as a ZooKeeper session's
 * end does. Subscribers are told of every change to the providers they match (Dubbo's rule: interface,
 * then group, then version, `*` = any), asynchronously, as a watch fires. Tests can play an external
 * provider (`addProvider`), make an address unreachable (`setReachable`), and read the tree (`nodes`).
 * @module
 */
import { javaUrlEncode, parseProviderNode, providerMatches, registryNodePath } from "./url.ts";
import type {
  ProviderInstance,
  ProviderSubscription,
  Registration,
  RegistryAddress,
  RegistryClient,
  RegistryConnector,
  RegistryLayout,
  RegistrySessionState,
  ServiceKey,
} from "./types.ts";

/** The node path a registration gets, in the layout's tree. */
export function memoryNodePath(
  layout: RegistryLayout,
  role: "providers" | "consumers",
  iface: string,
  url: string,
): string {
  return registryNodePath(layout, iface, role, url);
}

interface Node {
  readonly path: string;
  readonly url: string;
  readonly layout: RegistryLayout;
  readonly iface: string;
  readonly role: "providers" | "consumers";
}

/** One address's tree and its watchers. */
class Ensemble {
  readonly nodes = new Map<string, Node>();
  readonly watchers = new Set<MemorySubscription>();
  reachable = true;
  /** Pending operations while unreachable: they complete once reachable again. */
  readonly #waiting: (() => void)[] = [];

  whenReachable(): Promise<void> {
    if (this.reachable) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (reachable) { for (const w of this.#waiting.splice(0)) w(); }
  }

  add(node: Node): void {
    this.nodes.set(node.path, node);
    this.#changed(node);
  }

  delete(path: string): void {
    const node = this.nodes.get(path);
    if (node === undefined) return;
    this.nodes.delete(path);
    this.#changed(node);
  }

  providersFor(key: ServiceKey): ProviderInstance[] {
    const out: ProviderInstance[] = [];
    for (const n of this.nodes.values()) {
      if (n.role !== "providers" || n.layout !== key.layout || n.iface !== key.interface) continue;
      const p = parseProviderNode(javaUrlEncode(n.url));
      if (typeof p !== "string" && providerMatches(key, p)) out.push(p);
    }
    return out.sort((a, b) => a.url < b.url ? -1 : a.url > b.url ? 1 : 0);
  }

  #changed(node: Node): void {
    if (node.role !== "providers") return;
    for (const w of this.watchers) {
      if (w.key.interface === node.iface && w.key.layout === node.layout) w.fire();
    }
  }
}

class MemorySubscription implements ProviderSubscription {
  #last: readonly ProviderInstance[] = [];
  #closed = false;
  #scheduled = false;
  constructor(
    readonly key: ServiceKey,
    private readonly ensemble: Ensemble,
    private readonly onChange: (providers: readonly ProviderInstance[]) => void,
  ) {
    this.#last = ensemble.providersFor(key);
  }

  providers(): readonly ProviderInstance[] {
    return this.#last;
  }

  /** A watch fired: re-read on the next task, once however many changes came meanwhile. */
  fire(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      if (this.#closed) return;
      const next = this.ensemble.providersFor(this.key);
      if (sameUrls(next, this.#last)) return;
      this.#last = next;
      this.onChange(next);
    }, 0);
  }

  close(): void {
    this.#closed = true;
    this.ensemble.watchers.delete(this);
  }
}

function sameUrls(a: readonly ProviderInstance[], b: readonly ProviderInstance[]): boolean {
  return a.length === b.length && a.every((p, i) => p.url === b[i]!.url);
}

class MemoryClient implements RegistryClient {
  #state: RegistrySessionState = "connected";
  readonly #owned = new Set<string>();
  readonly #subscriptions = new Set<MemorySubscription>();
  constructor(readonly address: RegistryAddress, private readonly ensemble: Ensemble) {}

  state(): RegistrySessionState {
    if (this.#state === "closed") return "closed";
    return this.ensemble.reachable ? "connected" : "disconnected";
  }

  async register(
    layout: RegistryLayout,
    role: "providers" | "consumers",
    iface: string,
    url: string,
  ): Promise<Registration> {
    this.#open();
    await this.ensemble.whenReachable();
    this.#open();
    const path = memoryNodePath(layout, role, iface, url);
    this.ensemble.add({ path, url, layout, iface, role });
    this.#owned.add(path);
    let closed = false;
    return {
      path,
      url,
      state: () => closed ? "pending" : this.ensemble.reachable ? "registered" : "disconnected",
      close: () => {
        if (!closed) {
          closed = true;
          this.#owned.delete(path);
          this.ensemble.delete(path);
        }
        return Promise.resolve();
      },
    };
  }

  async subscribe(
    key: ServiceKey,
    onChange: (providers: readonly ProviderInstance[]) => void,
  ): Promise<ProviderSubscription> {
    this.#open();
    await this.ensemble.whenReachable();
    this.#open();
    const sub = new MemorySubscription(key, this.ensemble, onChange);
    const close = sub.close.bind(sub);
    sub.close = () => {
      close();
      this.#subscriptions.delete(sub);
    };
    this.ensemble.watchers.add(sub);
    this.#subscriptions.add(sub);
    return sub;
  }

  close(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    this.#state = "closed";
    for (const s of [...this.#subscriptions]) s.close();
    for (const path of this.#owned) this.ensemble.delete(path);
    this.#owned.clear();
    return Promise.resolve();
  }

  #open(): void {
    if (this.#state === "closed") throw new Error(`registry client for ${this.address.addr} is closed`);
  }
}

/** An in-memory `RegistryConnector` (see the module doc). */
export class MemoryRegistry implements RegistryConnector {
  readonly #ensembles = new Map<string, Ensemble>();
  readonly #clients = new Map<string, MemoryClient>();
  /** Clients handed out so far (tests check sessions are shared and closed). */
  readonly opened: MemoryClient[] = [];

  client(address: RegistryAddress): RegistryClient {
    const key = clientKey(address);
    let c = this.#clients.get(key);
    if (c === undefined || c.state() === "closed") {
      c = new MemoryClient(address, this.#ensemble(address.addr));
      this.#clients.set(key, c);
      this.opened.push(c);
    }
    return c;
  }

  async closeAll(): Promise<void> {
    for (const c of this.#clients.values()) await c.close();
    this.#clients.clear();
  }

  /** Every node path under `addr`, sorted. */
  nodes(addr: string): string[] {
    return [...this.#ensemble(addr).nodes.keys()].sort();
  }

  /** Registers a provider as an application that writes ZooKeeper itself would; returns its removal. */
  addProvider(addr: string, iface: string, url: string, layout: RegistryLayout = "dubbo"): () => void {
    const path = memoryNodePath(layout, "providers", iface, url);
    const ensemble = this.#ensemble(addr);
    ensemble.add({ path, url, layout, iface, role: "providers" });
    return () => ensemble.delete(path);
  }

  /** An unreachable address: registrations and subscriptions wait until it is reachable again. */
  setReachable(addr: string, reachable: boolean): void {
    this.#ensemble(addr).setReachable(reachable);
  }

  #ensemble(addr: string): Ensemble {
    let e = this.#ensembles.get(addr);
    if (e === undefined) this.#ensembles.set(addr, e = new Ensemble());
    return e;
  }
}

function clientKey(a: RegistryAddress): string {
  return JSON.stringify([a.addr, a.username ?? "", a.password ?? ""]);
}
