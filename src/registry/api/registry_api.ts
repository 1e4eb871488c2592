/**
 * The sidecar registry API (MOSN's `dubbod`): an application publishes and subscribes through its
 * sidecar, and the sidecar keeps the nodes in the registry.
 *
 * | request | does | answer |
 * |---|---|---|
 * | POST /pub | registers `dubbo://<advertise ip>:<server port>/<iface>?…` (this sidecar's address, as MOSN); with `registry.layout: "sofa"` `bolt://<ip>:<port>?…` under `/sofa-rpc/<iface>/providers` | `{"err_no":0,"err_msg":"publish success"}` |
 * | POST /unpub | deletes that node | `unpub success` |
 * | POST /sub | registers a consumer node and watches the providers; each change goes to `onProviders` | `subscribe success` |
 * | POST /unsub | stops watching, deletes the consumer node, `onProviders(iface, undefined)` | `unsubscribe success` |
 * | GET /registry | what this sidecar published and subscribed: node paths and states, providers | JSON |
 *
 * Answers are MOSN's: HTTP 200 with `err_no` 0 or 1 and a message, also for a body that is not JSON or
 * fails validation (nothing changes then). Transport-level problems get their HTTP status as well as the
 * JSON: 404 unknown path, 405 wrong method, 413 a body above `maxBodyBytes`.
 *
 * Idempotence (MOSN re-registers; meshctl says what happened): `pub` of what is published with the same
 * methods answers "already published" and creates nothing; with other methods it replaces the node.
 * `sub` of a subscribed interface with the same registry and group answers "already subscribed"; with
 * another one it is refused (one subscription per interface: the cluster is named by the interface, as
 * in MOSN). `unpub`/`unsub` of something not published/subscribed is an error (err_no 1), as dubbo-go's
 * UnRegister of an unknown URL is.
 * @module
 */
import { type Clock, type Logger, systemClock } from "../../core/mod.ts";
import type { Counter, Gauge, StatsRegistry } from "../../stats/mod.ts";
import type {
  ProviderInstance,
  ProviderSubscription,
  Registration,
  RegistryClient,
  RegistryConnector,
  RegistryLayout,
  ServiceKey,
} from "../types.ts";
import { parseServiceRequest, type ServiceRequest } from "./request.ts";
import {
  dubboConsumerUrl,
  dubboProviderUrl,
  sofaConsumerUrl,
  sofaProviderUrl,
  sofaServiceName,
} from "../url.ts";

/**
 * How calls reach a subscribed interface's cluster: the bolt/dubbo `service` header value the route
 * matches, by layout. Dubbo (MOSN): the interface. SOFA: `<iface>:<version>[:<uniqueId>]`, the name SOFA
 * callers put in the bolt `service` header.
 */
export interface SubscribedRoute {
  readonly layout: RegistryLayout;
  readonly service: string;
}

export interface RegistryApiOptions {
  readonly connector: RegistryConnector;
  /** The address `pub` publishes: this sidecar's IP and the listener port that serves the services. */
  readonly advertise: () => { readonly ip: string; readonly port: number };
  readonly maxBodyBytes: number;
  /** Published plus subscribed services at once. */
  readonly maxServices: number;
  /** How long a registration or subscription may wait for the registry before err_no 1. */
  readonly connectTimeoutMs: number;
  /** A subscribed interface's providers changed (first list included); undefined: unsubscribed. */
  readonly onProviders: (
    iface: string,
    providers: readonly ProviderInstance[] | undefined,
    route: SubscribedRoute,
  ) => void;
  readonly logger: Logger;
  readonly stats?: StatsRegistry;
  readonly clock?: Clock;
  /** For URL `pid` / `timestamp` (tests fix them). */
  readonly pid?: number;
  readonly now?: () => number;
}

interface Published {
  readonly request: ServiceRequest;
  readonly client: RegistryClient;
  readonly registration: Registration;
}

interface Subscribed {
  readonly request: ServiceRequest;
  readonly client: RegistryClient;
  readonly key: ServiceKey;
  readonly registration: Registration;
  readonly subscription: ProviderSubscription;
  readonly route: SubscribedRoute;
}

/** What `GET /registry` shows. */
export interface RegistryView {
  readonly published: readonly {
    readonly registry: string;
    readonly layout: RegistryLayout;
    readonly interface: string;
    readonly group: string;
    readonly version: string;
    readonly methods: readonly string[];
    readonly url: string;
    readonly path: string;
    readonly state: string;
    readonly session: string;
  }[];
  readonly subscribed: readonly {
    readonly registry: string;
    readonly layout: RegistryLayout;
    /** The `service` header value routed to `cluster`. */
    readonly service: string;
    readonly interface: string;
    readonly group: string;
    readonly version: string;
    readonly methods: readonly string[];
    readonly cluster: string;
    readonly consumer: { readonly url: string; readonly path: string; readonly state: string };
    readonly session: string;
    readonly providers: readonly {
      readonly address: string;
      readonly weight: number;
      readonly url: string;
    }[];
  }[];
  readonly limits: { readonly max_services: number; readonly max_request_body_bytes: number };
}

type Op = "pub" | "unpub" | "sub" | "unsub";
const OPS: readonly Op[] = ["pub", "unpub", "sub", "unsub"];
const JSON_TYPE = "application/json; charset=utf-8";

/** An answer: MOSN's `{err_no, err_msg}`. */
function answer(
  status: number,
  errNo: 0 | 1,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ err_no: errNo, err_msg: message }) + "\n", {
    status,
    headers: { "content-type": JSON_TYPE, ...headers },
  });
}

class RequestTooLarge extends Error {}

export class RegistryApi {
  readonly #o: RegistryApiOptions;
  readonly #clock: Clock;
  readonly #published = new Map<string, Published>();
  readonly #subscribed = new Map<string, Subscribed>();
  /** Per-service-key chains: operations on one service run one after another. */
  readonly #locks = new Map<string, Promise<unknown>>();
  /** New services being added right now (counted against maxServices before they exist). */
  #adding = 0;
  #closed = false;
  /** Operations waiting on a registry: `close()` answers them at once ("meshctl is stopping"). */
  readonly #aborts = new Set<() => void>();
  readonly #requests: Record<Op, Counter> | undefined;
  readonly #failures: Record<Op, Counter> | undefined;
  readonly #tooLarge: Counter | undefined;
  readonly #overflow: Counter | undefined;
  readonly #publishedGauge: Gauge | undefined;
  readonly #subscribedGauge: Gauge | undefined;

  constructor(options: RegistryApiOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    if (options.stats !== undefined) {
      const scope = options.stats.scope("registry", { api: "dubbo" });
      this.#requests = Object.fromEntries(OPS.map((op) => [op, scope.counter(`${op}_total`)])) as Record<
        Op,
        Counter
      >;
      this.#failures = Object.fromEntries(
        OPS.map((op) => [op, scope.counter(`${op}_failure_total`)]),
      ) as Record<
        Op,
        Counter
      >;
      this.#tooLarge = scope.counter("request_too_large_total");
      this.#overflow = scope.counter("max_services_overflow_total");
      this.#publishedGauge = scope.gauge("published");
      this.#subscribedGauge = scope.gauge("subscribed");
    }
  }

  /** The fetch handler. */
  handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/registry" || path === "/") {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return answer(405, 1, `method ${request.method} not allowed on ${path}; use GET`, {
          allow: "GET, HEAD",
        });
      }
      if (path === "/") {
        return new Response(
          "meshctl registry API (MOSN dubbo_registry):\n" +
            "POST /pub /unpub /sub /unsub  {registry: {type, addr, username, password, layout: dubbo|sofa}, service: {interface, methods, group, version}}\n" +
            "GET /registry  what this sidecar published and subscribed\n",
          { headers: { "content-type": "text/plain; charset=utf-8" } },
        );
      }
      return new Response(JSON.stringify(this.view(), null, 2) + "\n", {
        headers: { "content-type": JSON_TYPE },
      });
    }
    const op = path.slice(1) as Op;
    if (!OPS.includes(op)) {
      return answer(
        404,
        1,
        `no registry API endpoint ${path}; POST /pub, /unpub, /sub, /unsub or GET /registry`,
      );
    }
    if (request.method !== "POST") {
      return answer(405, 1, `method ${request.method} not allowed on ${path}; use POST`, { allow: "POST" });
    }
    this.#requests?.[op].inc();
    let text: string;
    try {
      text = await readBody(request, this.#o.maxBodyBytes);
    } catch (e) {
      this.#failures?.[op].inc();
      if (e instanceof RequestTooLarge) {
        this.#tooLarge?.inc();
        return answer(
          413,
          1,
          `${
            failPrefix(op)
          }request body is larger than ${this.#o.maxBodyBytes} bytes (max_request_body_bytes)`,
        );
      }
      return answer(400, 1, `${failPrefix(op)}cannot read the request body: ${(e as Error).message}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      this.#failures?.[op].inc();
      return answer(200, 1, `${failPrefix(op)}the body is not JSON: ${(e as Error).message}`);
    }
    const parsed = parseServiceRequest(body);
    if ("error" in parsed) {
      this.#failures?.[op].inc();
      return answer(200, 1, `${failPrefix(op)}${parsed.error}`);
    }
    const result = await this.run(op, parsed.request);
    if (result.errNo !== 0) this.#failures?.[op].inc();
    this.#publishedGauge?.set(this.#published.size);
    this.#subscribedGauge?.set(this.#subscribed.size);
    return answer(200, result.errNo, result.message);
  };

  /** Runs one checked operation (the handler's core; tests may call it directly). */
  run(op: Op, request: ServiceRequest): Promise<{ errNo: 0 | 1; message: string }> {
    const key = op === "pub" || op === "unpub" ? pubKey(request) : request.service.interface;
    const lockKey = `${op === "pub" || op === "unpub" ? "p" : "s"}|${key}`;
    const previous = this.#locks.get(lockKey) ?? Promise.resolve();
    const next = previous.then(() => this.#runLocked(op, key, request));
    const tail = next.catch(() => {});
    this.#locks.set(lockKey, tail);
    void tail.then(() => {
      if (this.#locks.get(lockKey) === tail) this.#locks.delete(lockKey);
    });
    return next;
  }

  async #runLocked(op: Op, key: string, request: ServiceRequest): Promise<{ errNo: 0 | 1; message: string }> {
    if (this.#closed) return { errNo: 1, message: `${failPrefix(op)}meshctl is stopping` };
    try {
      switch (op) {
        case "pub":
          return await this.#pub(key, request);
        case "unpub":
          return await this.#unpub(key, request);
        case "sub":
          return await this.#sub(key, request);
        case "unsub":
          return await this.#unsub(key, request);
      }
    } catch (e) {
      this.#o.logger.warn(`registry ${op} failed`, {
        interface: request.service.interface,
        registry: request.registry.addr,
        error: (e as Error).message,
      });
      return { errNo: 1, message: `${failPrefix(op)}${(e as Error).message}` };
    }
  }

  async #pub(key: string, request: ServiceRequest): Promise<{ errNo: 0 | 1; message: string }> {
    const old = this.#published.get(key);
    if (old !== undefined && sameMethods(old.request, request)) {
      return { errNo: 0, message: `publish success (already published: ${old.registration.path})` };
    }
    const { ip, port } = this.#o.advertise();
    const common = {
      host: ip,
      port,
      iface: request.service.interface,
      pid: this.#o.pid ?? Deno.pid,
      timestamp: (this.#o.now ?? Date.now)(),
    };
    const url = request.layout === "sofa"
      ? sofaProviderUrl({ ...common, uniqueId: request.service.group, version: request.service.version })
      : dubboProviderUrl({
        ...common,
        methods: request.service.methods,
        group: request.service.group,
        version: request.service.version,
      });
    const client = this.#o.connector.client(request.registry);
    const registration = await this.#withNewService(old === undefined, () =>
      this.#bounded(
        client.register(request.layout, "providers", request.service.interface, url),
        (late) => void late.close(),
      ));
    if (old !== undefined) await old.registration.close();
    this.#published.set(key, { request, client, registration });
    this.#o.logger.info("registry: published", { path: registration.path, registry: request.registry.addr });
    return { errNo: 0, message: old === undefined ? "publish success" : "publish success (methods updated)" };
  }

  async #unpub(key: string, request: ServiceRequest): Promise<{ errNo: 0 | 1; message: string }> {
    const old = this.#published.get(key);
    if (old === undefined) {
      return { errNo: 1, message: `unpub fail, err: ${describe(request)} is not published by this sidecar` };
    }
    this.#published.delete(key);
    await old.registration.close();
    this.#o.logger.info("registry: unpublished", { path: old.registration.path });
    return { errNo: 0, message: "unpub success" };
  }

  async #sub(iface: string, request: ServiceRequest): Promise<{ errNo: 0 | 1; message: string }> {
    const old = this.#subscribed.get(iface);
    if (old !== undefined) {
      if (
        old.request.registry.addr === request.registry.addr &&
        old.request.layout === request.layout &&
        old.request.service.group === request.service.group
      ) {
        return { errNo: 0, message: "subscribe success (already subscribed)" };
      }
      return {
        errNo: 1,
        message:
          `subscribe fail, err: ${iface} is already subscribed (${describe(old.request)}); the cluster is ` +
          "named by the interface, so one subscription per interface: unsub it first",
      };
    }
    const { ip } = this.#o.advertise();
    const layout = request.layout;
    const key: ServiceKey = {
      layout,
      interface: iface,
      group: request.service.group,
      // Dubbo: absent = any version. SOFA: compared only when given (providerMatches).
      version: request.service.version === "" && layout === "dubbo" ? "*" : request.service.version,
    };
    const route: SubscribedRoute = {
      layout,
      service: layout === "sofa"
        ? sofaServiceName(iface, request.service.version, request.service.group)
        : iface,
    };
    const client = this.#o.connector.client(request.registry);
    const stamp = { host: ip, iface, pid: this.#o.pid ?? Deno.pid, timestamp: (this.#o.now ?? Date.now)() };
    const url = layout === "sofa"
      ? sofaConsumerUrl({ ...stamp, uniqueId: request.service.group, version: request.service.version })
      : dubboConsumerUrl({
        ...stamp,
        methods: request.service.methods,
        group: request.service.group,
        version: request.service.version,
      });
    const entry = await this.#withNewService(true, async () => {
      const registration = await this.#bounded(
        client.register(layout, "consumers", iface, url),
        (late) => void late.close(),
      );
      let subscription: ProviderSubscription;
      try {
        subscription = await this.#bounded(
          client.subscribe(key, (providers) => {
            if (this.#subscribed.get(iface)?.subscription === subscription) {
              this.#o.onProviders(iface, providers, route);
            }
          }),
          (late) => late.close(),
        );
      } catch (e) {
        await registration.close();
        throw e;
      }
      return { request, client, key, registration, subscription, route };
    });
    this.#subscribed.set(iface, entry);
    this.#o.onProviders(iface, entry.subscription.providers(), route);
    this.#o.logger.info("registry: subscribed", {
      interface: iface,
      registry: request.registry.addr,
      providers: entry.subscription.providers().length,
    });
    return { errNo: 0, message: "subscribe success" };
  }

  async #unsub(iface: string, request: ServiceRequest): Promise<{ errNo: 0 | 1; message: string }> {
    const old = this.#subscribed.get(iface);
    if (old === undefined || old.request.registry.addr !== request.registry.addr) {
      return {
        errNo: 1,
        message: `unsubscribe fail, err: ${describe(request)} is not subscribed by this sidecar`,
      };
    }
    this.#subscribed.delete(iface);
    old.subscription.close();
    this.#o.onProviders(iface, undefined, old.route);
    await old.registration.close();
    this.#o.logger.info("registry: unsubscribed", { interface: iface });
    return { errNo: 0, message: "unsubscribe success" };
  }

  /** Counts a service that does not exist yet against maxServices while it is being added. */
  async #withNewService<T>(isNew: boolean, add: () => Promise<T>): Promise<T> {
    if (!isNew) return add();
    if (this.#published.size + this.#subscribed.size + this.#adding >= this.#o.maxServices) {
      this.#overflow?.inc();
      throw new Error(
        `this sidecar already has ${this.#o.maxServices} services published or subscribed (max_services)`,
      );
    }
    this.#adding++;
    try {
      return await add();
    } finally {
      this.#adding--;
    }
  }

  /** `p` within connectTimeoutMs, else an error; a result that comes later is undone with `undo`. */
  #bounded<T>(p: Promise<T>, undo: (late: T) => void): Promise<T> {
    const ms = this.#o.connectTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      let given = false; // answered already (timeout or stopping): a late result is undone
      const giveUp = (why: string) => {
        if (given) return;
        given = true;
        this.#clock.clearTimeout(timer);
        this.#aborts.delete(stopping);
        reject(new Error(why));
      };
      const timer = this.#clock.setTimeout(
        () => giveUp(`the registry did not answer within ${ms} ms (connect_timeout)`),
        ms,
      );
      const stopping = () => giveUp("meshctl is stopping");
      this.#aborts.add(stopping);
      p.then((v) => {
        if (given) return undo(v);
        given = true;
        this.#clock.clearTimeout(timer);
        this.#aborts.delete(stopping);
        resolve(v);
      }, (e) => {
        if (given) return;
        given = true;
        this.#clock.clearTimeout(timer);
        this.#aborts.delete(stopping);
        reject(e);
      });
    });
  }

  view(): RegistryView {
    return {
      published: [...this.#published.values()].map(({ request, client, registration }) => ({
        registry: request.registry.addr,
        layout: request.layout,
        ...serviceFields(request),
        url: registration.url,
        path: registration.path,
        state: registration.state(),
        session: client.state(),
      })),
      subscribed: [...this.#subscribed.values()].map((
        { request, client, registration, subscription, route },
      ) => ({
        registry: request.registry.addr,
        layout: request.layout,
        service: route.service,
        ...serviceFields(request),
        cluster: request.service.interface,
        consumer: { url: registration.url, path: registration.path, state: registration.state() },
        session: client.state(),
        providers: subscription.providers().map((p) => ({
          address: hostPort(p.host, p.port),
          weight: p.weight,
          url: p.url,
        })),
      })),
      limits: { max_services: this.#o.maxServices, max_request_body_bytes: this.#o.maxBodyBytes },
    };
  }

  /** Providers of every subscribed interface right now. */
  subscriptions(): ReadonlyMap<string, readonly ProviderInstance[]> {
    return new Map([...this.#subscribed].map(([iface, s]) => [iface, s.subscription.providers()]));
  }

  /**
   * Stops watching and deletes every node (then the connector closes the sessions). Does not wait for
   * operations still waiting on a registry: what they create later is deleted when it arrives.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const abort of [...this.#aborts]) abort();
    for (const s of this.#subscribed.values()) s.subscription.close();
    await Promise.allSettled([
      ...[...this.#published.values()].map((p) => p.registration.close()),
      ...[...this.#subscribed.values()].map((s) => s.registration.close()),
    ]);
    this.#published.clear();
    this.#subscribed.clear();
  }
}

function failPrefix(op: Op): string {
  return {
    pub: "publish fail, err: ",
    unpub: "unpub fail, err: ",
    sub: "subscribe fail, err: ",
    unsub: "unsubscribe fail, err: ",
  }[op];
}

function pubKey(r: ServiceRequest): string {
  return JSON.stringify([r.registry.addr, r.layout, r.service.interface, r.service.group, r.service.version]);
}

function sameMethods(a: ServiceRequest, b: ServiceRequest): boolean {
  const x = [...a.service.methods].sort();
  const y = [...b.service.methods].sort();
  return x.length === y.length && x.every((m, i) => m === y[i]);
}

function describe(r: ServiceRequest): string {
  const s = r.service;
  return `${s.interface}${s.group ? ` ${r.layout === "sofa" ? "uniqueId" : "group"} ${s.group}` : ""}${
    s.version ? ` version ${s.version}` : ""
  } at ${r.registry.addr}${r.layout === "sofa" ? " (sofa layout)" : ""}`;
}

function serviceFields(r: ServiceRequest) {
  return {
    interface: r.service.interface,
    group: r.service.group,
    version: r.service.version,
    methods: r.service.methods,
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The body as text, refusing more than `max` bytes (declared or streamed). */
async function readBody(request: Request, max: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await request.body?.cancel();
    throw new RequestTooLarge();
  }
  if (request.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new RequestTooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(all);
}
