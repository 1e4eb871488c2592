import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { type ConfigError, parseConfigText } from "./mod.ts";

/** A dubbo listener on router `dubbo`, which the file does not define: the registry creates it. */
const BASE = `
servers:
  - listeners:
      - name: egress
        address: 127.0.0.1:20881
        filter_chains:
          - filters:
              - type: proxy
                config: { downstream_protocol: X, extend_config: { sub_protocol: dubbo }, router_config_name: dubbo }
`;

function errorsOf(text: string): string[] {
  return parseConfigText(text, "t.yaml").errors.map((e: ConfigError) =>
    `${e.line}:${e.col} ${e.path}: ${e.message}`
  );
}

function withExtends(entries: string): string {
  return `${BASE}extends:\n${entries}`;
}

Deno.test("extends dubbo_registry: MOSN's entry loads with every default filled", () => {
  const { snapshot, errors, warnings } = parseConfigText(
    withExtends(`  - type: dubbo_registry
    config: { enable: true, server_port: 20880, log_path: /tmp }
`),
    "t.yaml",
  );
  assertEquals(errors, []);
  ok(snapshot?.registry);
  assertEquals(snapshot.registry, {
    serverPort: 20880,
    serverListener: undefined,
    apiAddress: { hostname: "127.0.0.1", port: 22222 },
    advertiseIp: "127.0.0.1",
    sessionTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    maxRequestBodyBytes: 65536,
    maxServices: 1024,
  });
  // 127.0.0.1 is only reachable from this host: said once, at the entry.
  assertEquals(warnings.map((w) => `${w.line}:${w.col} ${w.path}`), ["12:13 extends[0].config"]);
  ok(Object.isFrozen(snapshot.registry));
});

Deno.test("extends dubbo_registry: every meshctl knob is read", () => {
  const { snapshot, errors, warnings } = parseConfigText(
    withExtends(`  - type: dubbo_registry
    config:
      enable: true
      server_listener: egress
      api_port: 0
      api_address: 127.0.0.2
      advertise_ip: 10.0.0.7
      session_timeout: 4s
      connect_timeout: 1500ms
      max_request_body_bytes: 4096
      max_services: 3
`),
    "t.yaml",
  );
  assertEquals(errors, []);
  assertEquals(warnings, []);
  assertEquals(snapshot?.registry, {
    serverPort: undefined,
    serverListener: "egress",
    apiAddress: { hostname: "127.0.0.2", port: 0 },
    advertiseIp: "10.0.0.7",
    sessionTimeoutMs: 4000,
    connectTimeoutMs: 1500,
    maxRequestBodyBytes: 4096,
    maxServices: 3,
  });
});

Deno.test("extends dubbo_registry: disabled is validated but not run", () => {
  const { snapshot, errors } = parseConfigText(
    withExtends(`  - type: dubbo_registry
    config: { enable: false, server_port: 20880 }
`),
    "t.yaml",
  );
  // router "dubbo" exists only when the registry runs: without it the listener names an unknown router.
  equal(errors.length, 1);
  equal(snapshot, undefined);
  const ok2 = parseConfigText(
    `extends:\n  - type: dubbo_registry\n    config: { enable: false, api_port: 70000 }\n`,
    "t.yaml",
  );
  assertEquals(
    ok2.errors.map((e) => e.path).filter((p) => p.startsWith("extends")),
    ["extends[0].config.api_port"],
    "a disabled entry is still checked",
  );
  const none = parseConfigText(
    `${
      BASE.replace("router_config_name: dubbo", "router_config_name: r")
    }  - routers: [{ router_config_name: r }]\n` +
      `extends:\n  - type: dubbo_registry\n    config: { enable: false }\n`,
    "t.yaml",
  );
  assertEquals(none.errors, []);
  equal(none.snapshot?.registry, undefined);
});

Deno.test("extends: every error has its line:col and path", () => {
  assertEquals(
    errorsOf(withExtends(`  - type: dubbo_regsitry
    config: { enable: true }
  - type: nacos
    config: {}
  - type: dubbo_registry
    config: { enable: true, server_port: 0, api_port: 65536, api_address: localhost, max_services: 0 }
  - type: dubbo_registry
    config: { enable: true, server_port: 1 }
  - { type: dubbo_registry }
`)),
    [
      '11:11 extends[0].type: unknown extension type "dubbo_regsitry"; did you mean "dubbo_registry"?',
      '13:11 extends[1].type: unknown extension type "nacos"; expected one of dubbo_registry',
      "16:42 extends[2].config.server_port: 0 is out of range; expected 1..65535",
      "16:55 extends[2].config.api_port: 65536 is out of range; expected 0..65535",
      '16:75 extends[2].config.api_address: "localhost" is not an IP address',
      "16:100 extends[2].config.max_services: 0 is out of range; expected at least 1",
      "17:11 extends[3].type: a second dubbo_registry entry (the first is extends[2]); one is allowed",
      '19:5 extends[4].config: missing required field "config"',
      "19:13 extends[4].type: a second dubbo_registry entry (the first is extends[2]); one is allowed",
    ],
  );
});

Deno.test("extends dubbo_registry: the provider port is required, once, and the listener must exist", () => {
  assertEquals(
    errorsOf(withExtends(`  - type: dubbo_registry
    config: { enable: true, advertise_ip: 10.0.0.1 }
`)),
    [
      "12:13 extends[0].config.server_port: missing: the port `pub` publishes as this sidecar's provider port " +
      "(or server_listener: a listener whose bound port to publish)",
    ],
  );
  assertEquals(
    errorsOf(withExtends(`  - type: dubbo_registry
    config: { enable: true, advertise_ip: 10.0.0.1, server_port: 1, server_listener: egres }
`)),
    [
      "12:86 extends[0].config.server_listener: set server_port or server_listener, not both",
      '12:86 extends[0].config.server_listener: no listener named "egres"; did you mean "egress"?',
    ],
  );
});

Deno.test("extends dubbo_registry with dynamic_resources: not supported together yet", () => {
  const text = `
extends:
  - type: dubbo_registry
    config: { enable: true, server_port: 20880, advertise_ip: 10.0.0.1 }
dynamic_resources:
  ads_config:
    api_type: GRPC
    grpc_services: [{ envoy_grpc: { cluster_name: xds } }]
static_resources:
  clusters:
    - name: xds
      type: STATIC
      load_assignment:
        cluster_name: xds
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 15010 } } } }] }]
`;
  const errors = errorsOf(text);
  equal(errors.length, 1, errors.join("\n"));
  ok(errors[0]!.startsWith("4:23 extends[0].config.enable: dubbo_registry together with dynamic_resources"));
  ok(errors[0]!.includes("not supported yet"));
});
