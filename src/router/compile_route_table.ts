import type { HeaderMap, RequestHead, RequestKind } from "../codec/mod.ts";
import type { RouterConfig, VirtualHostConfig } from "../config/mod.ts";
import type { HeaderEdits } from "./_header_ops.ts";
import { CompiledRoute } from "./compiled_route.ts";
import type { CompiledVirtualHost, RouteMatch, RouteTable } from "./types.ts";
import { VirtualHostIndex } from "./virtual_host_index.ts";

/**
 * Compiles a router config into an immutable route table: domains indexed, regexes compiled, header
 * edits flattened. Throws RangeError or SyntaxError (message "Cannot …") for a config it cannot use:
 * repeated or malformed domains, a bad regex, an unsupported redirect code.
 */
export function compileRouteTable(config: RouterConfig): RouteTable {
  return new CompiledRouteTable(config);
}

class CompiledVirtualHostImpl implements CompiledVirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly CompiledRoute[];
  readonly includeRequestAttemptCount: boolean;
  readonly #matches: readonly RouteMatch[];

  constructor(router: RouterConfig, config: VirtualHostConfig, index: number) {
    this.name = config.name;
    this.domains = Object.freeze([...config.domains]);
    this.includeRequestAttemptCount = config.includeRequestAttemptCount ?? false;
    const vhostRequest: HeaderEdits = {
      add: config.requestHeadersToAdd,
      remove: config.requestHeadersToRemove,
    };
    const vhostResponse: HeaderEdits = {
      add: config.responseHeadersToAdd,
      remove: config.responseHeadersToRemove,
    };
    const routerRequest: HeaderEdits = {
      add: router.requestHeadersToAdd,
      remove: router.requestHeadersToRemove,
    };
    const routerResponse: HeaderEdits = {
      add: router.responseHeadersToAdd,
      remove: router.responseHeadersToRemove,
    };
    const outer = { request: [vhostRequest, routerRequest], response: [vhostResponse, routerResponse] };
    const vhostName = config.name || `#${index}`;
    this.routes = Object.freeze(
      config.routers.map((r, i) =>
        new CompiledRoute(
          r,
          outer,
          `router "${router.routerConfigName}" virtual host "${vhostName}" route ${i}`,
        )
      ),
    );
    this.#matches = Object.freeze(
      this.routes.map((route) => Object.freeze({ kind: route.kind, vhost: this, route })),
    );
  }

  matchRoute(head: RequestHead): RouteMatch | undefined {
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      if (routes[i]!.matches(head)) return this.#matches[i];
    }
    return undefined;
  }
}

class CompiledRouteTable implements RouteTable {
  readonly name: string;
  readonly virtualHosts: readonly CompiledVirtualHostImpl[];
  readonly #index = new VirtualHostIndex<CompiledVirtualHostImpl>();
  readonly #last: LastMatch = {
    host: "",
    path: "",
    method: "",
    query: "",
    kind: "rpc",
    protocol: "",
    headers: undefined,
    result: undefined,
  };

  constructor(config: RouterConfig) {
    this.name = config.routerConfigName;
    this.virtualHosts = Object.freeze(
      config.virtualHosts.map((vh, i) => new CompiledVirtualHostImpl(config, vh, i)),
    );
    this.virtualHosts.forEach((vh, i) => {
      const where = `router "${config.routerConfigName}" virtual host "${vh.name || `#${i}`}"`;
      for (const domain of vh.domains) this.#index.add(domain, vh, where);
    });
  }

  findVirtualHost(host: string): CompiledVirtualHost | undefined {
    return this.#index.find(host);
  }

  match(head: RequestHead): RouteMatch | undefined {
    const last = this.#last;
    if (
      last.headers !== undefined && last.host === head.host && last.path === head.path &&
      last.method === head.method && last.query === head.query && last.kind === head.kind &&
      last.protocol === head.protocol && last.headers.sameEntries!(head.headers)
    ) {
      return last.result;
    }
    const result = this.#index.find(head.host)?.matchRoute(head);
    if (head.headers.sameEntries !== undefined) {
      // Remember the fields as they are now: the proxy may rewrite the path or edit headers next (an
      // edited map is never the "same entries" as another, so that only costs a fresh match).
      last.host = head.host;
      last.path = head.path;
      last.method = head.method;
      last.query = head.query;
      last.kind = head.kind;
      last.protocol = head.protocol;
      last.headers = head.headers;
      last.result = result;
    } else last.headers = undefined;
    return result;
  }
}

/**
 * The last request a route table matched, for RPC traffic where consecutive frames (often the whole
 * read) carry the same service and method: matching reads only the head's host, path, method, query, kind,
 * protocol and headers, so a request whose fields equal these — headers compared by `HeaderMap.sameEntries`, the raw
 * bytes of two RPC frames — gets the same answer, without a header lookup, a string decode or a regex.
 * A new field read by any matcher must be added here.
 */
interface LastMatch {
  host: string;
  path: string;
  method: string;
  query: string;
  kind: RequestKind;
  protocol: string;
  /** Undefined: nothing remembered (the last head's map cannot tell sameness). */
  headers: HeaderMap | undefined;
  result: RouteMatch | undefined;
}
