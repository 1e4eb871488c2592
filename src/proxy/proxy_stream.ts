import {
  approximateNow,
  type Deadline,
  type DeadlineTarget,
  ProxyError,
  requestDeadlines,
} from "../core/mod.ts";
import {
  type BodyReceiver,
  type ClientStream,
  type ConnectionIO,
  type HeaderMap,
  type RequestHead,
  type ResponseHead,
  type ResponseReceiver,
  type ServerStream,
  SimpleHeaderMap,
  TCP_TUNNEL,
} from "../codec/mod.ts";
import { type CompiledRoute, isConnect } from "../router/mod.ts";
import type { Cluster, ConnectionPool, Host, PoolWaiter, UpstreamConnection } from "../upstream/mod.ts";
import {
  buildFilters,
  type FilterContext,
  type FilterResult,
  type Phase,
  runPhase,
  type StreamFilter,
} from "../filter/mod.ts";
import type { AccessLogRecord } from "../accesslog/mod.ts";
import type { ConnectionInfo, ProxyContext } from "./context.ts";
import { applyEnvoyRequestBehaviour, prepareHttpRequest, setClientCertHeader } from "./http_headers.ts";
import { envoyRetryOnError, envoyRetryOnResponse, retryBackOffMs } from "./_retry_rules.ts";

const NO_FILTERS: StreamFilter[] = [];
/** ProxyStream's deadlines (`DeadlineTarget` tags): no closure per request for either. */
const ROUTE_TIMEOUT = 0;
const IDLE_TIMEOUT = 1;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** Response flags for stats and access logs (Envoy/MOSN style). */
const FLAG_BY_KIND: Partial<Record<ProxyError["kind"], string>> = {
  no_route: "NR",
  no_healthy_upstream: "UH",
  connect_failure: "UF",
  overflow: "UO",
  timeout: "UT",
  per_try_timeout: "UT",
  upstream_reset: "UR",
  upstream_protocol_error: "UPE",
  downstream_reset: "DC",
  downstream_protocol_error: "DPE",
  forbidden: "FI",
  rate_limited: "RL",
  request_timeout: "SI",
};

/**
 * One downstream request through the proxy: filters → router → cluster/LB → pool → upstream stream,
 * and the response back, with retries, timeouts, local replies, stats and the access log.
 * It is the BodyReceiver of the downstream request; each upstream attempt is an `UpstreamRequest`.
 */
export class ProxyStream implements BodyReceiver, DeadlineTarget {
  readonly #ctx: ProxyContext;
  readonly #conn: ConnectionInfo;
  readonly #ds: ServerStream;
  readonly #head: RequestHead;
  readonly #start = approximateNow();
  #filters: StreamFilter[] = NO_FILTERS;
  #filterCtx: { -readonly [K in keyof FilterContext]: FilterContext[K] } | undefined;

  #route: CompiledRoute | undefined;
  #cluster: Cluster | undefined;
  #protocol = "";
  #upstream: UpstreamRequest | undefined;
  #attempts = 0;
  /** The one automatic resend (a retryable failure, no retry policy needed) has been used. */
  #resent = false;

  /** The downstream request body has fully arrived. */
  #requestEnded: boolean;
  /** The downstream codec dropped the rest of the request body (answered first): no idle wait for it. */
  #bodyDropped = false;
  #bodyReceiverSet = false;
  /** Copies of the request body for replay on retry; undefined when not kept or over the limit. */
  #replay: Uint8Array[] | undefined;
  #replayBytes = 0;

  #responseStarted = false;
  #done = false;
  #timer: Deadline | undefined;
  /** stream_idle_timeout: re-armed while body bytes move (a flag, not a clock read per chunk). */
  #idleTimer: Deadline | undefined;
  #idleActive = false;

  #status = 0;
  #flag = "-";
  #bytesReceived = 0;
  #bytesSent = 0;
  #requestReceivedMs = 0;
  #responseReceivedMs = 0;
  #responseHead: ResponseHead | undefined;
  #upstreamHost = "";
  /** Hosts tried so far, kept only for a retry policy with Envoy's previous_hosts predicate. */
  #triedHosts: Set<string> | undefined;
  #upstreamLocal = "";
  /** Envoy's include_request_attempt_count on the route's virtual host: x-envoy-attempt-count upstream. */
  #countAttempts = false;

  constructor(ctx: ProxyContext, conn: ConnectionInfo, ds: ServerStream) {
    this.#ctx = ctx;
    this.#conn = conn;
    this.#ds = ds;
    this.#head = ds.request;
    this.#requestEnded = ds.headOnly;
  }

  /**
   * Starts the request. A returned promise is backpressure for the downstream connection: the upstream
   * connection the request went to is congested, so the codec should stop reading until it drains.
   */
  start(): void | Promise<void> {
    const stats = this.#ctx.stats;
    stats.requestTotal.inc();
    stats.requestActive.inc();
    // Before filters and routing: both may select on the client's identity.
    if (this.#conn.sanitizeClientCert === true && this.#head.kind === "http") {
      setClientCertHeader(this.#head, this.#conn.clientCertDetails);
    }
    // Always listen: resets of the downstream (client gone) arrive through onReset, body or not.
    if (this.#ds.headOnly) this.#setBodyReceiver();
    else this.#armIdleTimer(); // a body that never comes must not hold the stream forever
    // Envoy's HCM normalizes the path and adds x-request-id before any filter or route sees the request.
    const envoy = this.#ctx.envoyHttp;
    if (envoy !== undefined && this.#head.kind === "http" && !applyEnvoyRequestBehaviour(this.#head, envoy)) {
      return this.#localReply(
        new ProxyError("downstream_protocol_error", "downstream", "path cannot be normalized"),
      );
    }
    if (this.#ctx.filterFactories.length > 0) {
      this.#filters = buildFilters(this.#ctx.filterFactories);
      this.#runFilters("beforeRoute", () => this.#routeRequest());
      return;
    }
    return this.#routeRequest();
  }

  // === Routing ===

  #routeRequest(): void | Promise<void> {
    if (this.#done) return;
    const head = this.#head;
    const m = this.#ctx.routeTable.match(head);
    if (m === undefined) {
      return this.#localReply(new ProxyError("no_route", "downstream", "no route matched"));
    }
    if (m.kind === "direct_response") {
      const dr = m.route.directResponse!;
      return this.#reply(dr.status, dr.body, undefined);
    }
    if (m.kind === "redirect") {
      const location = m.route.redirectLocation(head);
      return this.#reply(m.route.redirect!.responseCode, "", location);
    }
    const route = m.route;
    this.#route = route;
    this.#countAttempts = m.vhost.includeRequestAttemptCount;
    if (route.idleTimeoutMs !== undefined && this.#idleTimer !== undefined) {
      this.#stopIdleTimer(); // the route's idle timeout replaces the proxy's from here on
      this.#armIdleTimer();
    }
    const clusterName = route.pickCluster(Math.random);
    const cluster = this.#ctx.clusters.get(clusterName);
    if (cluster === undefined) {
      return this.#localReply(
        new ProxyError("no_healthy_upstream", "internal", `route names unknown cluster "${clusterName}"`),
      );
    }
    this.#cluster = cluster;
    if (this.#filterCtx !== undefined) this.#filterCtx.cluster = cluster.name; // known from afterRoute on
    this.#protocol = route.upstreamProtocolFor(head, this.#ctx.upstreamProtocol);
    if (isConnect(head)) {
      // Envoy's rule: CONNECT only where the route's upgrade_configs allow it; with connect_config the
      // tunnel ends here, as TCP to the cluster host, else the CONNECT goes on as a request.
      if (route.connect === undefined) {
        return this.#localReply(
          new ProxyError("no_route", "downstream", "CONNECT is not enabled on this route"),
        );
      }
      if (route.connect === "terminate") this.#protocol = TCP_TUNNEL;
    }
    route.rewrite(head);
    route.applyRequestHeaders(head.headers);
    if (head.kind === "http") {
      prepareHttpRequest(
        head,
        this.#conn.remoteIp,
        this.#conn.secure ? "https" : "http",
        this.#ctx.forwarding,
      );
    }
    let timeoutMs = head.frameTimeoutMs !== undefined && head.frameTimeoutMs > 0
      ? head.frameTimeoutMs
      : route.timeoutMs;
    const deadline = head.deadlineMs;
    if (deadline !== undefined && deadline > 0 && (timeoutMs <= 0 || deadline < timeoutMs)) {
      timeoutMs = deadline;
    }
    if (timeoutMs > 0) this.#timer = requestDeadlines.addTarget(timeoutMs, this, ROUTE_TIMEOUT);
    else this.#armIdleTimer(); // no route timeout: the idle timeout still bounds a silent upstream
    if (route.retryPolicy !== undefined && !this.#requestEnded && this.#ctx.retryBufferLimit > 0) {
      this.#replay = [];
    }
    if (this.#filters.length > 0) return this.#runFilters("afterRoute", () => this.#attempt());
    return this.#attempt();
  }

  /** Runs a filter phase, then `next` unless a filter answered; synchronous filters keep it synchronous. */
  #runFilters(phase: Phase, next: () => void | Promise<void>): void | Promise<void> {
    const r = runPhase(this.#filters, phase, this.#filterContext());
    if (r instanceof Promise) {
      r.then(
        (res) => void this.#afterFilters(res, next),
        (e) => this.#localReply(new ProxyError("internal", "internal", `filter failed: ${e}`)),
      );
      return;
    }
    return this.#afterFilters(r, next);
  }

  #afterFilters(res: FilterResult, next: () => void | Promise<void>): void | Promise<void> {
    if (this.#done) return;
    if (res !== undefined) return this.#reply(res.localReply.status, res.localReply.body, undefined);
    return next();
  }

  #filterContext(): FilterContext {
    // Built lazily: requests on listeners without filters never allocate it. Kept current as the
    // request is routed and a host is chosen (see #attempt).
    return this.#filterCtx ??= {
      request: this.#head,
      listener: this.#ctx.listenerName,
      remoteAddress: this.#conn.remoteAddress,
      cluster: this.#cluster?.name,
      upstreamHost: this.#upstreamHost || undefined,
    };
  }

  // === Upstream attempts ===

  #attempt(): void | Promise<void> {
    if (this.#done) return;
    const cluster = this.#cluster!;
    this.#attempts++;
    if (!cluster.canStartRequest()) {
      cluster.stats.requestPendingOverflow.inc();
      return this.#localReply(new ProxyError("overflow", "upstream", "cluster max_requests reached"));
    }
    const host = this.#chooseHost(cluster);
    if (host === undefined) {
      cluster.stats.requestNoHealthyHost.inc();
      return this.#localReply(new ProxyError("no_healthy_upstream", "upstream", "no healthy upstream host"));
    }
    this.#upstreamHost = host.address;
    if (this.#filterCtx !== undefined) {
      this.#filterCtx.cluster = cluster.name;
      this.#filterCtx.upstreamHost = host.address;
    }
    if (this.#filters.length > 0) {
      return this.#runFilters("afterChooseHost", () => this.#connect(cluster, host));
    }
    return this.#connect(cluster, host);
  }

  /** Takes a connection to the chosen host and starts the upstream attempt on it. */
  #connect(cluster: Cluster, host: Host): void | Promise<void> {
    if (this.#countAttempts) this.#head.headers.set("x-envoy-attempt-count", String(this.#attempts));
    let pool: ConnectionPool;
    try {
      pool = cluster.pool(host, this.#protocol);
    } catch (e) {
      return this.#localReply(
        e instanceof ProxyError ? e : new ProxyError("internal", "internal", String(e)),
      );
    }
    const up = new UpstreamRequest(this, cluster, host, pool);
    this.#upstream = up;
    const perTry = this.#route!.retryPolicy?.retryTimeoutMs;
    if (perTry !== undefined && perTry > 0) up.startPerTryTimer(perTry);
    let got: UpstreamConnection | ProxyError | undefined;
    try {
      got = pool.acquire(up);
    } catch (e) {
      return up.fail(asProxyError(e));
    }
    if (got === undefined) return up.waitForConnection();
    if (got instanceof ProxyError) return up.fail(got);
    return up.onPoolReady(got);
  }

  /**
   * The cluster's pick; with Envoy's previous_hosts predicate (`host_selection_retry_max_attempts`) a
   * retry re-picks up to that many times to find a host not tried yet, else takes the last pick.
   */
  #chooseHost(cluster: Cluster): Host | undefined {
    const key = this.#hashKey();
    let host = cluster.chooseHost(key);
    const picks = this.#route!.retryPolicy?.hostSelectionAttempts ?? 0;
    if (picks === 0 || host === undefined) return host;
    const tried = this.#triedHosts ??= new Set();
    for (let i = 0; i < picks && tried.has(host!.address); i++) host = cluster.chooseHost(key) ?? host;
    tried.add(host!.address);
    return host;
  }

  #hashKey(): string | undefined {
    const policies = this.#route!.hashPolicy;
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i]!;
      if (p.type === "header") {
        const v = this.#head.headers.get(p.key);
        if (v !== undefined) return v;
      } else if (p.type === "source_ip") return this.#conn.remoteIp;
      else if (p.type === "cookie") {
        const v = cookieValue(this.#head.headers.get("cookie"), p.name);
        if (v !== undefined) return v;
      }
    }
    return undefined;
  }

  /**
   * Called by the attempt once it has an upstream stream: send the head, then the body. The writes'
   * promises are not awaited or caught: upstream writes never reject (SocketIO drops data after a
   * failure and the read loop reports the reset; codecs report what cannot be sent through onReset).
   * Returns the upstream socket's drain when it is congested: backpressure for the downstream.
   */
  sendToUpstream(stream: ClientStream, io: ConnectionIO): void | Promise<void> {
    if (this.#ds.headOnly && !isConnect(this.#head)) {
      void stream.sendRequest(this.#head, true);
    } else if (this.#ds.headOnly) {
      // An HTTP/1 CONNECT has no body, but after its 2xx the client's bytes follow as the stream's.
      void stream.sendRequest(this.#head, false);
    } else if (this.#bodyReceiverSet) {
      // A retry after the body started flowing: replay the copy (retries only happen when it is complete).
      void stream.sendRequest(this.#head, false);
      void stream.sendData(concat(this.#replay!, this.#replayBytes), true);
    } else {
      void stream.sendRequest(this.#head, false);
      this.#setBodyReceiver(); // the codec now releases body bytes to onData
    }
    if (io.congested === true && io.drained !== undefined) return io.drained();
  }

  #setBodyReceiver(): void {
    if (this.#bodyReceiverSet) return;
    this.#bodyReceiverSet = true;
    this.#ds.setBodyReceiver(this);
  }

  // === BodyReceiver: the downstream request body (and, after an Upgrade, the client's raw bytes) ===

  onData(chunk: Uint8Array, endStream: boolean): void | Promise<void> {
    this.#bytesReceived += chunk.length;
    this.#idleActive = true;
    if (endStream) {
      this.#requestEnded = true;
      this.#requestReceivedMs = approximateNow() - this.#start;
      if (this.#done) this.#stopIdleTimer(); // the body we were waiting for after the response is in
    }
    if (this.#replay !== undefined) {
      if (this.#replayBytes + chunk.length > this.#ctx.retryBufferLimit) this.#replay = undefined;
      else {
        this.#replay.push(chunk.slice());
        this.#replayBytes += chunk.length;
      }
    }
    const up = this.#upstream;
    if (up === undefined || up.stream === undefined || this.#done) return;
    return up.stream.sendData(chunk, endStream);
  }

  onTrailers(trailers: HeaderMap): void | Promise<void> {
    this.#requestEnded = true;
    this.#replay = undefined; // trailers are not replayed
    if (this.#done) this.#stopIdleTimer();
    const s = this.#upstream?.stream;
    if (s !== undefined && !this.#done) return s.sendTrailers(trailers);
  }

  /** The codec drops the rest of the body: the response is complete, so nothing is owed any more. */
  onDropped(): void {
    this.#bodyDropped = true;
    if (this.#done) this.#stopIdleTimer();
  }

  onReset(error: ProxyError): void {
    this.#requestEnded = true;
    this.#stopIdleTimer();
    if (this.#done) return;
    this.#ctx.stats.requestReset.inc();
    this.#flag = "DC";
    this.#upstream?.abort(error);
    this.#finish(this.#responseStarted ? this.#status : 499);
  }

  // === Upstream events (from UpstreamRequest) ===

  /** The upstream answered. Returns the downstream write (backpressure) or undefined when retrying. */
  /** An interim response (103 Early Hints…) goes on at once; the final response follows. */
  onUpstreamInformational(up: UpstreamRequest, head: ResponseHead): void {
    if (this.#done || up !== this.#upstream || this.#responseStarted) return;
    this.#ds.sendInformational(head).catch(() => {});
  }

  onUpstreamResponse(up: UpstreamRequest, head: ResponseHead, endStream: boolean): void | Promise<void> {
    if (this.#done || up !== this.#upstream) return;
    if (!this.#responseStarted && this.#shouldRetryStatus(head)) {
      up.abort(new ProxyError("upstream_reset", "upstream", `retrying on status ${head.status}`));
      this.#retry();
      return;
    }
    this.#responseStarted = true;
    this.#status = head.status;
    this.#responseHead = head;
    if (this.#ctx.accessLogs.length > 0) this.#responseReceivedMs = approximateNow() - this.#start;
    this.#timer?.cancel(); // the route timeout bounds the wait for a response, not a long download
    this.#timer = undefined;
    if (!endStream) this.#armIdleTimer(); // …the stream idle timeout bounds a stalled download
    this.#route!.applyResponseHeaders(head.headers);
    const server = this.#ctx.envoyHttp?.serverHeader;
    if (server !== undefined && (server.mode === "OVERWRITE" || !head.headers.has("server"))) {
      head.headers.set("server", server.name);
    }
    for (let i = 0; i < this.#filters.length; i++) {
      this.#filters[i]!.beforeSend?.(this.#filterContext(), head);
    }
    const p = this.#ds.sendResponse(head, endStream);
    if (endStream) this.#upstreamFinished(up);
    return p;
  }

  onUpstreamData(up: UpstreamRequest, chunk: Uint8Array, endStream: boolean): void | Promise<void> {
    if (this.#done || up !== this.#upstream) return;
    this.#bytesSent += chunk.length;
    this.#idleActive = true;
    const p = this.#ds.sendData(chunk, endStream);
    if (endStream) this.#upstreamFinished(up);
    return p;
  }

  onUpstreamTrailers(up: UpstreamRequest, trailers: HeaderMap): void | Promise<void> {
    if (this.#done || up !== this.#upstream) return;
    const p = this.#ds.sendTrailers(trailers);
    this.#upstreamFinished(up);
    return p;
  }

  #upstreamFinished(up: UpstreamRequest): void {
    up.complete(this.#requestEnded);
    this.#finish(this.#status);
  }

  /** An attempt failed: retry when safe, else reply locally (or reset if the response already started). */
  onUpstreamFailure(up: UpstreamRequest, err: ProxyError): void {
    if (this.#done || up !== this.#upstream) return;
    if (this.#responseStarted) {
      this.#flag = FLAG_BY_KIND[err.kind] ?? "UR";
      this.#ds.reset(err);
      this.#finish(this.#status);
      return;
    }
    if (this.#shouldRetry(err)) return this.#retry();
    this.#localReply(err);
  }

  /** May the request be sent again? Yes if it has no body, none of it was read yet, or all of it was kept. */
  #replayable(): boolean {
    return this.#ds.headOnly || !this.#bodyReceiverSet || (this.#requestEnded && this.#replay !== undefined);
  }

  /**
   * May a failed attempt be sent again? Nothing is ever executed twice that the client sent once: without
   * a retry policy only an error the codec or pool marked `retryable` (the request provably never reached
   * the upstream's application, or the HTTP/1 idempotent keep-alive race) is resent, once, without
   * spending a configured retry. A retry policy keeps its own meaning (MOSN's retry_on), bounded by the
   * cluster's max_retries.
   */
  #shouldRetry(err: ProxyError): boolean {
    if (!this.#replayable()) return false;
    if (err.retryable && !this.#resent) {
      this.#resent = true;
      this.#attempts--;
      return true;
    }
    const rp = this.#route?.retryPolicy;
    if (rp === undefined || this.#attempts > rp.numRetries) return false;
    if (rp.conditions !== undefined && !envoyRetryOnError(rp.conditions, err)) return false;
    const cluster = this.#cluster!;
    if (!cluster.canRetry()) {
      cluster.stats.requestRetryOverflow.inc();
      return false;
    }
    if (rp.conditions !== undefined) return true;
    if (err.kind === "connect_failure") return true; // MOSN retries connection failures even without retry_on
    if (!rp.retryOn) return false;
    return err.kind === "upstream_reset" || err.kind === "per_try_timeout" ||
      err.kind === "upstream_protocol_error" ||
      err.kind === "no_healthy_upstream";
  }

  #shouldRetryStatus(head: ResponseHead): boolean {
    const rp = this.#route?.retryPolicy;
    if (rp === undefined || this.#attempts > rp.numRetries || !this.#replayable()) return false;
    const status = head.status;
    let match: boolean;
    if (rp.conditions !== undefined) match = envoyRetryOnResponse(rp, status, head.headers);
    else if (!rp.retryOn) return false;
    else match = rp.statusCodes.length > 0 ? rp.statusCodes.includes(status) : status >= 500;
    if (!match) return false;
    if (!this.#cluster!.canRetry()) {
      this.#cluster!.stats.requestRetryOverflow.inc();
      return false;
    }
    return true;
  }

  #retry(): void {
    const cluster = this.#cluster!;
    cluster.stats.requestRetry.inc();
    cluster.breakers.retries.add();
    this.#upstream = undefined;
    // Jittered back-off so a dying host is not hammered in a tight loop (Envoy's retry_back_off when set).
    setTimeout(() => {
      cluster.breakers.retries.sub();
      this.#attempt();
    }, retryBackOffMs(this.#route?.retryPolicy, this.#attempts, Math.random));
  }

  // === Stream idle timeout (Envoy's stream_idle_timeout) ===

  /**
   * One deadline per stream, not one per chunk: when it fires it looks at whether body bytes moved since
   * it was armed; if so it re-arms, otherwise the stream has stalled. Runs until both the request and the
   * response are complete, so a request body that never arrives after the response (a 504, an early
   * 413) cannot keep its connection forever.
   */
  #armIdleTimer(): void {
    const ms = this.#route?.idleTimeoutMs ?? this.#ctx.streamIdleTimeoutMs;
    if (ms <= 0 || this.#idleTimer !== undefined) return;
    this.#idleActive = false;
    this.#idleTimer = requestDeadlines.addTarget(ms, this, IDLE_TIMEOUT);
  }

  /** The request body is still being read by us and has not ended. */
  #bodyOwed(): boolean {
    return this.#bodyReceiverSet && !this.#requestEnded && !this.#ds.headOnly && !this.#bodyDropped;
  }

  #stopIdleTimer(): void {
    this.#idleTimer?.cancel();
    this.#idleTimer = undefined;
  }

  /** DeadlineTarget: the route timeout or the stream idle timeout passed. */
  onDeadline(tag: number): void {
    if (tag === ROUTE_TIMEOUT) this.#onGlobalTimeout();
    else this.#onIdleTick();
  }

  #onIdleTick(): void {
    this.#idleTimer = undefined;
    const requestOpen = this.#bodyOwed();
    if (this.#done && !requestOpen) return;
    if (this.#idleActive) return this.#armIdleTimer();
    this.#ctx.stats.streamIdleTimeout.inc();
    const err = new ProxyError("request_timeout", "downstream", "stream idle timeout");
    if (this.#done) return this.#ds.reset(err); // the response is out; the request body never came
    this.#upstream?.abort(err);
    if (this.#responseStarted) {
      this.#flag = "SI";
      this.#ds.reset(err);
      this.#finish(this.#status);
    } else this.#localReply(err);
  }

  #onGlobalTimeout(): void {
    this.#timer = undefined;
    if (this.#done) return;
    this.#cluster?.stats.requestTimeout.inc();
    const err = new ProxyError("timeout", "upstream", "upstream request timed out");
    this.#upstream?.abort(err);
    if (this.#responseStarted) {
      this.#flag = "UT";
      this.#ds.reset(err);
      this.#finish(this.#status);
    } else this.#localReply(err);
  }

  // === Replies and completion ===

  #localReply(err: ProxyError): void {
    if (this.#done) return;
    this.#flag = FLAG_BY_KIND[err.kind] ?? "-";
    this.#upstream?.abort(err);
    this.#upstream = undefined;
    this.#ctx.stats.requestFailed.inc();
    this.#ds.sendLocalReply(err).catch(() => {});
    this.#finish(err.status);
  }

  #reply(status: number, body: string, location: string | undefined): void {
    const headers = new SimpleHeaderMap();
    const bytes = body.length > 0 ? encoder.encode(body) : EMPTY;
    if (location !== undefined) headers.set("location", location);
    if (bytes.length > 0) headers.set("content-type", "text/plain");
    headers.set("content-length", String(bytes.length));
    const head: ResponseHead = { status, headers };
    this.#responseStarted = true;
    this.#responseHead = head;
    this.#bytesSent = bytes.length;
    if (bytes.length === 0) this.#ds.sendResponse(head, true).catch(() => {});
    else {
      this.#ds.sendResponse(head, false).catch(() => {});
      this.#ds.sendData(bytes, true).catch(() => {});
    }
    this.#finish(status);
  }

  #finish(status: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    // Keep the idle timer only while the request body is still owed to us (see #armIdleTimer); a body we
    // never asked for is the codec's to dispose of (HTTP/1 closes, HTTP/2 resets the stream).
    if (!this.#bodyOwed()) this.#stopIdleTimer();
    else this.#armIdleTimer();
    this.#status = status;
    const ctx = this.#ctx;
    const durationMs = approximateNow() - this.#start;
    ctx.stats.requestActive.dec();
    ctx.stats.countStatus(status);
    ctx.stats.requestTime.record(durationMs);
    for (let i = 0; i < this.#filters.length; i++) this.#filters[i]!.log?.(this.#filterContext(), status);
    if (ctx.accessLogs.length > 0) this.#writeAccessLog(durationMs);
  }

  #writeAccessLog(durationMs: number): void {
    const record: AccessLogRecord = {
      startTime: performance.timeOrigin + this.#start,
      requestReceivedMs: this.#requestReceivedMs,
      responseReceivedMs: this.#responseReceivedMs,
      durationMs,
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
      protocol: this.#head.protocol,
      responseCode: this.#status,
      responseFlag: this.#flag,
      downstreamLocalAddress: this.#conn.localAddress,
      downstreamRemoteAddress: this.#conn.remoteAddress,
      upstreamLocalAddress: this.#upstreamLocal,
      upstreamHost: this.#upstreamHost,
      upstreamCluster: this.#cluster?.name ?? "",
      method: this.#head.method,
      path: this.#head.path,
      requestHeader: (n) => this.#head.headers.get(n),
      responseHeader: (n) => this.#responseHead?.headers.get(n),
      downstreamTls: this.#conn.tls,
    };
    for (const sink of this.#ctx.accessLogs) sink.writer.write(sink.format(record));
  }

  /** For the attempt: remember the upstream socket's local address for the access log. */
  noteUpstreamLocal(addr: string): void {
    this.#upstreamLocal = addr;
  }
}

/**
 * One attempt at the upstream (Envoy's UpstreamRequest): owns the pooled connection and the client stream
 * for that attempt, its per-try timer and the host/cluster accounting. It is the stream's ResponseReceiver
 * and the pool's waiter while no connection is ready.
 */
export class UpstreamRequest implements ResponseReceiver, PoolWaiter {
  readonly #parent: ProxyStream;
  readonly #cluster: Cluster;
  readonly #host: Host;
  readonly #pool: ConnectionPool;
  readonly #start = approximateNow();
  #conn: UpstreamConnection | undefined;
  stream: ClientStream | undefined;
  #ended = false;
  #perTryTimer: Deadline | undefined;
  /** Registered with the pool as a waiter: cancelled there if the attempt ends first. */
  #waiting = false;
  /** The response head arrived (outlier detection: later failures are not the host's local-origin ones). */
  #responded = false;

  constructor(parent: ProxyStream, cluster: Cluster, host: Host, pool: ConnectionPool) {
    this.#parent = parent;
    this.#cluster = cluster;
    this.#host = host;
    this.#pool = pool;
    host.activeRequests++;
    cluster.stats.requestTotal.inc();
    cluster.stats.requestActive.inc();
    cluster.breakers.requests.add();
    host.stats.requestTotal.inc();
    host.stats.requestActive.inc();
  }

  startPerTryTimer(ms: number): void {
    this.#perTryTimer = requestDeadlines.add(ms, () => {
      this.#perTryTimer = undefined;
      if (this.#ended) return;
      this.#cluster.stats.requestTimeout.inc();
      // Not `retryable`: the upstream may be executing it. Only a retry policy's retry_on resends it.
      const err = new ProxyError("per_try_timeout", "upstream", `upstream attempt timed out after ${ms}ms`);
      this.abort(err);
      this.#parent.onUpstreamFailure(this, err);
    });
  }

  /** The pool will call back (a connect, or a busy connection freeing up). */
  waitForConnection(): void {
    this.#waiting = true;
  }

  /** PoolWaiter: a connection is ready. Returns the upstream's drain when it is congested. */
  onPoolReady(conn: UpstreamConnection): void | Promise<void> {
    this.#waiting = false;
    if (this.#ended) {
      // The request ended (timeout, client gone) while we waited for a connection.
      this.#pool.release(conn);
      return;
    }
    this.#conn = conn;
    this.#parent.noteUpstreamLocal(conn.io.localAddress);
    let stream: ClientStream;
    try {
      stream = conn.codec.newStream(this);
    } catch (e) {
      return this.fail(asProxyError(e));
    }
    this.stream = stream;
    return this.#parent.sendToUpstream(stream, conn.io);
  }

  /** PoolWaiter: no connection will come. */
  onPoolFailure(err: ProxyError): void {
    this.#waiting = false;
    this.fail(err);
  }

  /** The attempt failed before or while talking to the upstream. */
  fail(err: ProxyError): void {
    if (this.#ended) return;
    if (err.kind === "overflow") this.#cluster.stats.requestPendingOverflow.inc();
    else if (err.kind === "connect_failure") this.#host.reportLocalFailure("connect_failure");
    this.#end(false, err);
    this.#parent.onUpstreamFailure(this, err);
  }

  /** The response fully arrived. The connection goes back to the pool if the request was fully sent too. */
  complete(requestFullySent: boolean): void {
    if (this.#ended) return;
    if (!requestFullySent) {
      this.stream?.reset(new ProxyError("upstream_reset", "internal", "response ended first"));
    }
    this.#end(true, undefined);
  }

  /** Cancels the attempt (timeout, retry, client gone). */
  abort(err: ProxyError): void {
    if (this.#ended) return;
    this.#cluster.stats.requestLocalReset.inc();
    // A timeout before the response head is the host's slowness (Envoy's LOCAL_ORIGIN_TIMEOUT).
    if (!this.#responded && (err.kind === "timeout" || err.kind === "per_try_timeout")) {
      this.#host.reportLocalFailure("timeout");
    }
    this.stream?.reset(err);
    this.#end(false, err);
  }

  #end(success: boolean, err: ProxyError | undefined): void {
    this.#ended = true;
    this.#perTryTimer?.cancel();
    if (this.#waiting) {
      // Leave the pending queue now: a request that gave up must not hold a max_pending_requests slot.
      this.#waiting = false;
      this.#pool.cancel(this);
    }
    const cs = this.#cluster.stats;
    const hs = this.#host.stats;
    this.#host.activeRequests--;
    cs.requestActive.dec();
    this.#cluster.breakers.requests.sub();
    hs.requestActive.dec();
    cs.requestDurationTime.record(approximateNow() - this.#start);
    if (success) {
      cs.responseSuccess.inc();
      hs.responseSuccess.inc();
    } else {
      cs.responseFailed.inc();
      hs.responseFailed.inc();
      if (err !== undefined && err.source === "upstream" && err.kind === "upstream_reset") {
        cs.requestRemoteReset.inc();
      }
    }
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) this.#pool.release(conn);
  }

  // === ResponseReceiver ===

  onInformational(head: ResponseHead): void {
    if (this.#ended) return;
    this.#parent.onUpstreamInformational(this, head);
  }

  onResponse(head: ResponseHead, endStream: boolean): void | Promise<void> {
    if (this.#ended) return;
    this.#responded = true;
    this.#host.reportResponse(head.status);
    this.#perTryTimer?.cancel();
    this.#perTryTimer = undefined;
    return this.#parent.onUpstreamResponse(this, head, endStream);
  }

  onData(chunk: Uint8Array, endStream: boolean): void | Promise<void> {
    if (this.#ended) return;
    return this.#parent.onUpstreamData(this, chunk, endStream);
  }

  onTrailers(trailers: HeaderMap): void | Promise<void> {
    if (this.#ended) return;
    return this.#parent.onUpstreamTrailers(this, trailers);
  }

  onReset(error: ProxyError): void {
    if (this.#ended) return;
    if (!this.#responded && error.source === "upstream") this.#host.reportLocalFailure("reset");
    this.#end(false, error);
    this.#parent.onUpstreamFailure(this, error);
  }
}

function asProxyError(e: unknown): ProxyError {
  return e instanceof ProxyError ? e : new ProxyError("internal", "internal", String(e), { cause: e });
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
