import { deepStrictEqual as assertEquals, equal, ok, throws } from "node:assert/strict";
import { type ConfigError, formatConfigError, loadConfigFile, parseConfigText } from "./mod.ts";

const BASE = `
servers:
  - routers:
      - router_config_name: r
        virtual_hosts:
          - name: v
            domains: ["*"]
            routers:
              - match: { prefix: / }
                route: { cluster_name: c }
    listeners:
      - name: l
        address: 127.0.0.1:2045
        filter_chains:
          - filters:
              - type: proxy
                config: { downstream_protocol: Http1, router_config_name: r }
cluster_manager:
  clusters:
    - name: c
      hosts: [{ address: 127.0.0.1:2046 }]
`;

function errorsOf(text: string): string[] {
  return parseConfigText(text, "t.yaml").errors.map((e: ConfigError) =>
    `${e.line}:${e.col} ${e.path}: ${e.message}`
  );
}

Deno.test("parseConfigText() builds a frozen snapshot with defaults filled", () => {
  const { snapshot, errors } = parseConfigText(BASE, "t.yaml");
  assertEquals(errors, []);
  ok(snapshot);
  ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.clusters[0]!.hosts[0]));
  assertEquals(snapshot.admin.address, { hostname: "127.0.0.1", port: 34901 });
  const server = snapshot.servers[0]!;
  equal(server.gracefulTimeoutMs, 30_000);
  equal(server.defaultLogLevel, "info");
  const l = server.listeners[0]!;
  assertEquals(l.address, { hostname: "127.0.0.1", port: 2045 });
  assertEquals(l.networkFilters[0], {
    type: "proxy",
    downstreamProtocols: ["Http1"],
    autoDetect: false,
    upstreamProtocol: undefined,
    routerConfigName: "r",
    fallbackForUnknownProtocol: false,
    extendConfig: {},
    requestHeadersTimeoutMs: 10_000,
    streamIdleTimeoutMs: 300_000,
    maxConcurrentStreams: 1024,
    useRemoteAddress: true,
    xffNumTrustedHops: 0,
    normalizePath: false,
    generateRequestId: false,
    serverHeader: undefined,
    http2: {
      initialStreamWindowSize: 256 * 1024,
      initialConnectionWindowSize: 16 * 1024 * 1024,
      maxFrameSize: 16384,
      hpackTableSize: 4096,
      maxHeaderListSize: 65536,
      maxConcurrentStreams: 0,
    },
  });
  equal(l.maxConnections, 10_000);
  equal(l.perConnBufferLimitBytes, 1 << 20);
  equal(snapshot.limits.maxBufferedBytes, 256 << 20);
  const c = snapshot.clusters[0]!;
  // Envoy's circuit breaker defaults: a cluster is never unbounded unless the config says so.
  assertEquals(c.circuitBreakers, {
    maxConnections: 1024,
    maxPendingRequests: 1024,
    maxRequests: 1024,
    maxRetries: 3,
  });
  equal(c.connBufferLimitBytes, 1 << 20);
  equal(c.type, "SIMPLE");
  equal(c.lbType, "LB_RANDOM");
  equal(c.connectTimeoutMs, 10_000);
  equal(c.maxRequestPerConn, 1024);
  equal(c.maxConnectionsPerHost, 1);
  equal(server.routers[0]!.virtualHosts[0]!.routers[0]!.route!.timeoutMs, 60_000);
  throws(() => (snapshot.clusters as unknown as unknown[]).push(1));
});

Deno.test("parseConfigText() reads JSON with the same positions and case-insensitive keys", () => {
  const json = JSON.stringify(
    {
      Servers: [{ listeners: [] }],
      cluster_manager: { clusters: [{ Name: "a", LB_TYPE: "LB_RANDOMM" }] },
    },
    null,
    2,
  );
  assertEquals(errorsOf(json), [
    '11:20 cluster_manager.clusters[0].lb_type: unknown value "LB_RANDOMM"; did you mean "LB_RANDOM"?',
  ]);
});

Deno.test("validateConfig() reports unknown lb_type with did-you-mean", () => {
  assertEquals(errorsOf(BASE.replace("- name: c", "- name: c\n      lb_type: LB_ROUNDROBN")), [
    '21:16 cluster_manager.clusters[0].lb_type: unknown value "LB_ROUNDROBN"; did you mean "LB_ROUNDROBIN"?',
  ]);
});

Deno.test("validateConfig() reports a missing required field at its parent mapping", () => {
  assertEquals(errorsOf(BASE.replace("router_config_name: r }", "}")), [
    '17:25 servers[0].listeners[0].filter_chains[0].filters[0].config.router_config_name: missing required field "router_config_name"',
  ]);
});

Deno.test("validateConfig() checks weighted cluster names and weights", () => {
  const text = BASE.replace(
    "route: { cluster_name: c }",
    "route: { weighted_clusters: [{ cluster: { name: c, weight: 0 } }, { cluster: { name: d, weight: 5 } }] }",
  );
  assertEquals(errorsOf(text), [
    "10:76 servers[0].routers[0].virtual_hosts[0].routers[0].route.weighted_clusters[0].cluster.weight: 0 is out of range; expected at least 1",
    '10:102 servers[0].routers[0].virtual_hosts[0].routers[0].route.weighted_clusters[1].cluster.name: unknown cluster "d"; did you mean "c"?',
  ]);
});

Deno.test("validateConfig() accepts MOSN zero values for unsupported fields and rejects real ones", () => {
  equal(
    errorsOf(BASE.replace("address: 127.0.0.1:2045", "address: 127.0.0.1:2045\n        reuseport: false"))
      .length,
    0,
  );
  const reuse = BASE.replace("address: 127.0.0.1:2045", "address: 127.0.0.1:2045\n        reuseport: true");
  assertEquals(errorsOf(reuse), []);
  equal(parseConfigText(reuse, "t.yaml").snapshot!.servers[0]!.listeners[0]!.reusePort, true);
  equal(parseConfigText(BASE, "t.yaml").snapshot!.servers[0]!.listeners[0]!.reusePort, false);
  // tls_context {} is MOSN's "no TLS" (src/config/tls_config_test.ts covers TLS).
  equal(errorsOf(BASE.replace("- filters:", "- tls_context: {}\n            filters:")).length, 0);
});

Deno.test("validateConfig() resolves Auto, comma lists and legacy X protocols", () => {
  const auto = parseConfigText(
    BASE.replace("downstream_protocol: Http1", "downstream_protocol: Auto"),
    "t.yaml",
  );
  const filter = auto.snapshot!.servers[0]!.listeners[0]!.networkFilters[0]!;
  ok(filter.type === "proxy");
  const all = ["Http1", "Http2", "bolt", "boltv2", "dubbo"];
  assertEquals([filter.downstreamProtocols, filter.autoDetect], [all, true]);
  const list = parseConfigText(
    BASE.replace("downstream_protocol: Http1", 'downstream_protocol: "BOLT,http1"'),
    "t.yaml",
  );
  const f2 = list.snapshot!.servers[0]!.listeners[0]!.networkFilters[0]!;
  ok(f2.type === "proxy");
  assertEquals(f2.downstreamProtocols, ["bolt", "Http1"]);
  assertEquals(errorsOf(BASE.replace("downstream_protocol: Http1", "downstream_protocol: X")), [
    '17:48 servers[0].listeners[0].filter_chains[0].filters[0].config.downstream_protocol: legacy downstream_protocol "X" needs extend_config.sub_protocol',
  ]);
  const x = BASE.replace(
    "downstream_protocol: Http1",
    "downstream_protocol: X, extend_config: { sub_protocol: bolt }",
  );
  equal(errorsOf(x).length, 0);
});

Deno.test("validateConfig() asks for a fallback before a tcp_proxy and checks its cluster", () => {
  const text = BASE.replace(
    "router_config_name: r }",
    "router_config_name: r }\n              - type: tcp_proxy\n                config: { cluster: nope }",
  );
  assertEquals(errorsOf(text), [
    "18:17 servers[0].listeners[0].filter_chains[0].filters[1]: tcp_proxy after proxy is never reached; set fallback_for_unknown_protocol: true on the proxy",
    '19:36 servers[0].listeners[0].filter_chains[0].filters[1].config.cluster: unknown cluster "nope"',
  ]);
});

Deno.test("validateConfig() lowercases matcher header names and converts durations", () => {
  const text = BASE.replace(
    "- match: { prefix: / }\n                route: { cluster_name: c }",
    "- match: { headers: [{ name: X-Tenant, value: a }] }\n                route: { cluster_name: c, timeout: 1m30s, retry_policy: { retry_timeout: 500ms } }",
  );
  const { snapshot, errors } = parseConfigText(text, "t.yaml");
  assertEquals(errors, []);
  const route = snapshot!.servers[0]!.routers[0]!.virtualHosts[0]!.routers[0]!;
  assertEquals(route.match.headers, [{ name: "x-tenant", value: "a", regex: false }]);
  equal(route.route!.timeoutMs, 90_000);
  equal(route.route!.retryPolicy!.retryTimeoutMs, 500);
});

Deno.test("validateConfig() checks regexes with the router's RE2 translator, naming the field", () => {
  const routes = (match: string, action = "") =>
    BASE.replace(
      "- match: { prefix: / }\n                route: { cluster_name: c }",
      `- match: ${match}\n                route: { cluster_name: c${action} }`,
    );
  assertEquals(errorsOf(routes('{ regex: "(?i)^/API/v[0-9]{1,20}$" }')), []);
  assertEquals(
    errorsOf(routes('{ prefix: /, headers: [{ name: x-user, value: "(?i)^vip-", regex: true }] }')),
    [],
  );
  assertEquals(errorsOf(routes('{ regex: "(a)\\\\1" }')), [
    '9:33 servers[0].routers[0].virtual_hosts[0].routers[0].match.regex: invalid regex "(a)\\1": invalid escape sequence: `\\1`',
  ]);
  assertEquals(errorsOf(routes('{ prefix: /, headers: [{ name: x, value: "a(?=b)", regex: true }] }')), [
    '9:65 servers[0].routers[0].virtual_hosts[0].routers[0].match.headers[0].value: invalid regex "a(?=b)": invalid or unsupported Perl syntax: `(?=`',
  ]);
  // Rewrites use the groups, so JavaScript must report them as RE2 does.
  assertEquals(
    errorsOf(
      routes("{ prefix: / }", ', regex_rewrite: { pattern: { regex: "(?:(a)|b)*" }, substitution: "$1" }'),
    ),
    [
      '10:78 servers[0].routers[0].virtual_hosts[0].routers[0].route.regex_rewrite.pattern.regex: invalid regex "(?:(a)|b)*": capture group 1 inside a repetition that can skip it is not supported with submatches: `(?:(a)|b)*`',
    ],
  );
  assertEquals(errorsOf(routes('{ regex: "(?:(a)|b)*" }')), []);
});

Deno.test("validateConfig() reports duplicate keys case-insensitively", () => {
  assertEquals(errorsOf(BASE.replace("- name: c", "- name: c\n      NAME: d")), [
    '21:7 cluster_manager.clusters[0].name: duplicate field "NAME" (first set at 20:7)',
  ]);
});

Deno.test("validateConfig() reports an empty document", () => {
  assertEquals(errorsOf("# nothing\n"), ["1:1 : the config is empty"]);
});

Deno.test("loadConfigFile() turns an unreadable file into an error", async () => {
  const { snapshot, errors } = await loadConfigFile("/nonexistent/meshctl.yaml");
  equal(snapshot, undefined);
  equal(formatConfigError(errors[0]!), "/nonexistent/meshctl.yaml:1:1: cannot read the config: no such file");
});

Deno.test("formatConfigError() leaves out an empty path", () => {
  equal(formatConfigError({ file: "f", line: 2, col: 3, path: "", message: "m" }), "f:2:3: m");
  equal(formatConfigError({ file: "f", line: 2, col: 3, path: "a.b", message: "m" }), "f:2:3: a.b: m");
});

Deno.test("parseConfigText() keeps circuit breakers the config sets, 0 meaning unlimited", () => {
  const text = BASE.replace(
    "- name: c",
    "- name: c\n      circuit_breakers: [{max_connections: 0, max_retries: 7}]",
  );
  const { snapshot, errors } = parseConfigText(text, "t.yaml");
  assertEquals(errors, []);
  assertEquals(snapshot!.clusters[0]!.circuitBreakers, {
    maxConnections: 0,
    maxPendingRequests: 1024,
    maxRequests: 1024,
    maxRetries: 7,
  });
});

function clusterWith(fields: string): string {
  return BASE.replace("- name: c", `- name: c\n      type: STRICT_DNS\n${fields}`);
}

Deno.test("parseConfigText() picks the STRICT_DNS resolver as MOSN does, the system resolver by default", () => {
  const dns = (fields: string) => {
    const { snapshot, errors } = parseConfigText(clusterWith(fields), "t.yaml");
    assertEquals(errors, []);
    const c = snapshot!.clusters[0]!;
    return [c.dnsLookupFamily, c.dnsResolver];
  };
  assertEquals(dns(""), ["V4_ONLY", { kind: "system" }]);
  // MOSN's config dump writes `dns_resolvers: {}` for every cluster: not set.
  assertEquals(dns("      dns_resolvers: {}"), ["V4_ONLY", { kind: "system" }]);
  assertEquals(
    dns('      dns_lookup_family: V6_ONLY\n      dns_resolvers: { servers: ["10.0.0.53", "fd00::53"] }'),
    ["V6_ONLY", {
      kind: "servers",
      servers: ["10.0.0.53", "fd00::53"],
      port: 53,
      timeoutMs: 2000,
      search: [],
      ndots: 0,
    }],
  );
  assertEquals(
    dns(
      '      dns_resolvers: { servers: [127.0.0.1], port: "5353", timeout: 1, search: [svc], ndots: 2, attempts: 3 }',
    ),
    ["V4_ONLY", {
      kind: "servers",
      servers: ["127.0.0.1"],
      port: 5353,
      timeoutMs: 1000,
      search: ["svc"],
      ndots: 2,
    }],
  );
  assertEquals(dns('      dns_resolver_port: "5353"'), ["V4_ONLY", {
    kind: "file",
    path: "/etc/resolv.conf",
    port: 5353,
  }]);
  assertEquals(dns("      dns_resolver_file: /run/resolv.conf"), ["V4_ONLY", {
    kind: "file",
    path: "/run/resolv.conf",
    port: 53,
  }]);
});

Deno.test("validateConfig() reports wrong STRICT_DNS resolver fields where they are", () => {
  assertEquals(
    errorsOf(clusterWith(
      [
        '      dns_resolvers: { servers: [ns.example, "10.0.0.1:53", "::1"], port: 53 }',
        "      dns_lookup_family: V4_PREFERRED",
        '      dns_resolver_port: "70000"',
        "      respect_dns_ttl: true",
      ].join("\n"),
    )),
    [
      '22:34 cluster_manager.clusters[0].dns_resolvers.servers[0]: "ns.example" is not an IP address',
      '22:46 cluster_manager.clusters[0].dns_resolvers.servers[1]: "10.0.0.1:53" has a port; expected the IP address alone (the port is a field of its own)',
      '22:75 cluster_manager.clusters[0].dns_resolvers.port: expected a string like "53" (MOSN reads this port as a string)',
      '23:26 cluster_manager.clusters[0].dns_lookup_family: unknown value "V4_PREFERRED"; expected one of V4_ONLY, V6_ONLY',
      '24:26 cluster_manager.clusters[0].dns_resolver_port: invalid port "70000"; expected "1" to "65535"',
      "25:24 cluster_manager.clusters[0].respect_dns_ttl: respect_dns_ttl is not supported yet (Deno.resolveDns reports no TTLs; dns_refresh_rate applies)",
    ],
  );
  assertEquals(errorsOf(clusterWith("      dns_resolvers: { servers: [] }")), [
    "22:33 cluster_manager.clusters[0].dns_resolvers.servers: must not be empty",
  ]);
});

Deno.test("validateConfig() reports STRICT_DNS resolver fields that MOSN would ignore", () => {
  assertEquals(errorsOf(clusterWith('      dns_resolvers: { port: "5353" }')), [
    "22:22 cluster_manager.clusters[0].dns_resolvers: dns_resolvers sets port but no servers; without servers MOSN ignores dns_resolvers",
  ]);
  assertEquals(
    errorsOf(clusterWith(
      '      dns_resolvers: { servers: [127.0.0.1] }\n      dns_resolver_file: /etc/resolv.conf\n      dns_resolver_port: "53"',
    )),
    [
      "23:26 cluster_manager.clusters[0].dns_resolver_file: dns_resolver_file has no effect when dns_resolvers lists servers",
      "24:26 cluster_manager.clusters[0].dns_resolver_port: dns_resolver_port has no effect when dns_resolvers lists servers; set dns_resolvers.port",
    ],
  );
});

Deno.test("validateConfig() reads http2_protocol_options on the proxy and clusters, with positions for bad values", () => {
  const text = BASE.replace(
    "config: { downstream_protocol: Http1, router_config_name: r }",
    "config: { downstream_protocol: Http2, router_config_name: r, http2_protocol_options: " +
      "{ initial_stream_window_size: 65535, max_concurrent_streams: 100, max_frame_size: 1 } }",
  ).replace(
    "hosts: [{ address: 127.0.0.1:2046 }]",
    "hosts: [{ address: 127.0.0.1:2046 }]\n      http2_protocol_options: { max_concurrent_streams: 8, hpack_table_size: 0 }",
  );
  assertEquals(errorsOf(text), [
    "17:184 servers[0].listeners[0].filter_chains[0].filters[0].config.http2_protocol_options.max_frame_size: " +
    "1 is out of range; expected 16384..16777215",
  ]);
  const { snapshot, errors } = parseConfigText(
    text.replace("max_frame_size: 1 ", "max_frame_size: 32768 "),
    "t.yaml",
  );
  assertEquals(errors, []);
  const proxy = snapshot!.servers[0]!.listeners[0]!.networkFilters[0]!;
  ok(proxy.type === "proxy");
  assertEquals([
    proxy.http2.initialStreamWindowSize,
    proxy.http2.maxConcurrentStreams,
    proxy.http2.maxFrameSize,
  ], [
    65535,
    100,
    32768,
  ]);
  const c = snapshot!.clusters[0]!;
  assertEquals([c.http2.maxConcurrentStreams, c.http2.hpackTableSize], [8, 0]);
});

Deno.test("validateConfig() takes MOSN's http2_use_stream flat or under Http2, as a boolean only", () => {
  const proxy = (extend: string) =>
    BASE.replace(
      "config: { downstream_protocol: Http1, router_config_name: r }",
      `config: { downstream_protocol: Http2, upstream_protocol: Http2, router_config_name: r, extend_config: ${extend} }`,
    );
  for (
    const ok of [
      "{ http2_use_stream: true }",
      "{ http2_use_stream: false }",
      "{ Http2: { http2_use_stream: true } }",
    ]
  ) {
    assertEquals(errorsOf(proxy(ok)), [], ok);
  }
  const at = "servers[0].listeners[0].filter_chains[0].filters[0].config.extend_config";
  assertEquals(errorsOf(proxy('{ http2_use_stream: "yes" }')), [
    `17:139 ${at}.http2_use_stream: http2_use_stream must be true or false, not "yes"`,
  ]);
  assertEquals(errorsOf(proxy("{ Http2: { http2_use_stream: 1 } }")), [
    `17:148 ${at}.Http2.http2_use_stream: http2_use_stream must be true or false, not 1`,
  ]);
});

function warningsOf(text: string): string[] {
  return parseConfigText(text, "t.yaml").warnings.map((w) => `${w.line}:${w.col} ${w.path}: ${w.message}`);
}

Deno.test("validateConfig() takes upstream_protocol Auto on the proxy and routes, in any case", () => {
  const text = BASE.replace(
    "downstream_protocol: Http1, router_config_name: r",
    "downstream_protocol: Auto, upstream_protocol: Auto, router_config_name: r",
  ).replace("route: { cluster_name: c }", "route: { cluster_name: c, upstream_protocol: auto }");
  const { snapshot, errors } = parseConfigText(text, "t.yaml");
  assertEquals(errors, []);
  const proxy = snapshot!.servers[0]!.listeners[0]!.networkFilters[0]!;
  ok(proxy.type === "proxy");
  equal(proxy.upstreamProtocol, "Auto");
  equal(snapshot!.servers[0]!.routers[0]!.virtualHosts[0]!.routers[0]!.route!.upstreamProtocol, "Auto");
  assertEquals(
    errorsOf(BASE.replace("router_config_name: r }", "router_config_name: r, upstream_protocol: Autoo }")),
    [
      '17:97 servers[0].listeners[0].filter_chains[0].filters[0].config.upstream_protocol: unknown protocol "Autoo"; did you mean "Auto"?',
    ],
  );
});

Deno.test("validateConfig() loads MOSN's tracing block and warns that meshctl does not trace", () => {
  const on = parseConfigText(`${BASE}tracing:\n  enable: true\n  driver: SOFATracer\n`, "t.yaml");
  assertEquals(on.errors, []);
  assertEquals(on.snapshot!.tracing, { enable: true, driver: "SOFATracer" });
  assertEquals(warningsOf(`${BASE}tracing:\n  enable: true\n  driver: SOFATracer\n`), [
    '23:3 tracing: tracing is not implemented in meshctl: no spans are recorded or reported (driver "SOFATracer" is accepted so the config loads)',
  ]);
  assertEquals(warningsOf(`${BASE}tracing: { enable: true }\n`), [
    "22:20 tracing.enable: tracing is enabled without a driver; MOSN leaves tracing off in that case",
  ]);
  assertEquals(warningsOf(`${BASE}tracing: { enable: false, driver: Zipkin }\n`), []);
  assertEquals(errorsOf(`${BASE}tracing: { enable: "yes", driver: SofaTracer, sampler: 1 }\n`), [
    '22:20 tracing.enable: expected true or false, got the string "yes"',
    '22:35 tracing.driver: unknown value "SofaTracer"; did you mean "SOFATracer"?',
    '22:47 tracing.sampler: unknown field "sampler"',
  ]);
});

Deno.test("validateConfig() warns about a lone service matcher's regex, which MOSN does not read", () => {
  const rpc = (headers: string) =>
    BASE.replace("- match: { prefix: / }", `- match: { headers: [${headers}] }`);
  assertEquals(warningsOf(rpc('{ name: service, value: "com.foo.*", regex: true }')), [
    '9:80 servers[0].routers[0].virtual_hosts[0].routers[0].match.headers[0].regex: regex is ignored here: a route whose only matcher is "service" compares the service by value, as MOSN does ("com.foo.*" matches only a service named exactly so; ".*" matches any)',
  ]);
  assertEquals(warningsOf(rpc('{ name: service, value: ".*", regex: true }')), []);
  assertEquals(warningsOf(rpc('{ name: service, value: "a.*", regex: true }, { name: x, value: y }')), []);
  assertEquals(
    warningsOf(
      BASE.replace("prefix: / }", 'prefix: /, headers: [{ name: service, value: "a.*", regex: true }] }'),
    ),
    [],
  );
});

const TCP = `
servers:
  - listeners:
      - name: l
        address: 127.0.0.1:2045
        filter_chains:
          - filters:
              - type: tcp_proxy
                config:
CONFIG
cluster_manager:
  clusters:
    - name: a
      hosts: [{ address: 127.0.0.1:2046 }]
    - name: b
      hosts: [{ address: 127.0.0.1:2047 }]
`;

function tcp(config: string): string {
  return TCP.replace("CONFIG", config.split("\n").map((l) => `                  ${l}`).join("\n"));
}

Deno.test("validateConfig() reads tcp_proxy routes with MOSN's field names into the snapshot", () => {
  const { snapshot, errors, warnings } = parseConfigText(
    tcp(`routes:
  - cluster: a
    SourceAddrs: [{ address: 127.0.0.2, length: 32 }]
    SourcePort: "1-65535"
    DestinationAddrs: [{ address: 127.0.0.1, length: 8 }]
    destinationport: "2045,3000-3001"
  - { cluster: b, SourceAddrs: [{ address: 0.0.0.0, length: 0 }], SourcePort: "1-65535", DestinationAddrs: [{ address: "::", length: 0 }], DestinationPort: "1-65535" }`),
    "t.yaml",
  );
  assertEquals([errors, warnings], [[], []]);
  const f = snapshot!.servers[0]!.listeners[0]!.networkFilters[0]!;
  ok(f.type === "tcp_proxy");
  equal(f.cluster, undefined);
  assertEquals(f.routes[0], {
    cluster: "a",
    sourceAddrs: [{ address: "127.0.0.2", length: 32 }],
    sourcePorts: [{ min: 1, max: 65535 }],
    destinationAddrs: [{ address: "127.0.0.1", length: 8 }],
    destinationPorts: [{ min: 2045, max: 2045 }, { min: 3000, max: 3001 }],
  });
  equal(f.routes[1]!.cluster, "b");
});

Deno.test("validateConfig() reports bad tcp_proxy ranges, ports and clusters where they are", () => {
  assertEquals(
    errorsOf(tcp(`routes:
  - cluster: c
    SourceAddrs: [{ address: 127.0.0.300, length: 8 }, { address: 10.0.0.0, length: 33 }, { address: "::1" }]
    SourcePort: "80,http"
    DestinationPort: "9-8"
    source_addrs: []`)),
    [
      '11:32 servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].cluster: unknown cluster "c"; did you mean "a"?',
      '12:48 servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].SourceAddrs[0].address: "127.0.0.300" is not an IP address',
      "12:103 servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].SourceAddrs[1].length: prefix length 33 is out of range for IPv4 (0..32)",
      '12:109 servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].SourceAddrs[2].length: missing required field "length"',
      '13:35 servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].SourcePort: invalid port list "80,http": "http" is not a port or a range like "8000-8080"',
      '14:40 servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].DestinationPort: invalid port list "9-8": range "9-8" is empty (9 > 8)',
      '15:23 servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].source_addrs: unknown field "source_addrs"; did you mean "SourceAddrs"?',
    ],
  );
  assertEquals(errorsOf(tcp("idle_timeout: 1s")), [
    "10:19 servers[0].listeners[0].filter_chains[0].filters[0].config: a tcp_proxy needs a cluster, or routes to pick one by address",
  ]);
  assertEquals(errorsOf(tcp("routes: []")), [
    "10:27 servers[0].listeners[0].filter_chains[0].filters[0].config.routes: a tcp_proxy needs a cluster, or routes to pick one by address",
  ]);
});

Deno.test("validateConfig() warns about tcp_proxy routes MOSN would never consult or match", () => {
  assertEquals(warningsOf(tcp("cluster: a\nroutes: [{ cluster: b }]")), [
    '11:27 servers[0].listeners[0].filter_chains[0].filters[0].config.routes: routes are never consulted: every connection goes to cluster "a", as in MOSN (leave cluster out to pick the cluster by address)',
  ]);
  assertEquals(
    warningsOf(
      tcp('routes:\n  - { cluster: b, SourceAddrs: [{ address: 0.0.0.0, length: 0 }], SourcePort: "" }'),
    ),
    [
      '11:23 servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0]: this route never matches: MOSN takes a route only when SourceAddrs, SourcePort, DestinationAddrs and DestinationPort all hold the connection\'s addresses and ports, and an empty one holds none (empty here: SourcePort, DestinationAddrs, DestinationPort; "0.0.0.0" with length 0 and "1-65535" take any)',
    ],
  );
});

Deno.test("listener drain_idle_grace: default 1s, a duration sets it, a bad one is an error at its place", () => {
  const at = (extra: string) =>
    BASE.replace("address: 127.0.0.1:2045", `address: 127.0.0.1:2045\n        ${extra}`);
  equal(parseConfigText(BASE, "t.yaml").snapshot!.servers[0]!.listeners[0]!.drainIdleGraceMs, 1_000);
  equal(
    parseConfigText(at("drain_idle_grace: 250ms"), "t.yaml").snapshot!.servers[0]!.listeners[0]!
      .drainIdleGraceMs,
    250,
  );
  equal(
    parseConfigText(at("drain_idle_grace: 0s"), "t.yaml").snapshot!.servers[0]!.listeners[0]!
      .drainIdleGraceMs,
    0,
  );
  const errors = errorsOf(at("drain_idle_grace: soon"));
  equal(errors.length, 1);
  ok(
    errors[0]!.startsWith("14:") && errors[0]!.includes("servers[0].listeners[0].drain_idle_grace"),
    errors[0],
  );
});
