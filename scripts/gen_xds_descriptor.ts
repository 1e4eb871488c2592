/**
 * Writes src/xds/_protos/envoy_v3.json: a protobufjs JSON descriptor of exactly the Envoy v3 types meshctl
 * decodes (the ADS service, LDS/RDS/CDS/EDS resources and the typed_config payloads it converts) and what
 * they reference. The .proto sources come from npm:@grpc/grpc-js-xds (its deps/ include dirs); the
 * compiled binary cannot read node_modules at run time, so it loads this checked-in JSON instead.
 *
 *   deno run --allow-read --allow-write=src/xds/_protos scripts/gen_xds_descriptor.ts   (make xds-protos)
 *   ... scripts/gen_xds_descriptor.ts --stdout   prints it instead (the freshness test compares)
 */
import protobuf from "protobufjs";

const fromFileUrl = (url: string | URL) => decodeURIComponent(new URL(url).pathname);

/** The messages and services meshctl needs; everything they reference comes along. */
export const XDS_ROOT_TYPES = [
  "envoy.service.discovery.v3.AggregatedDiscoveryService",
  "envoy.service.discovery.v3.DiscoveryRequest",
  "envoy.service.discovery.v3.DiscoveryResponse",
  "envoy.config.listener.v3.Listener",
  "envoy.config.route.v3.RouteConfiguration",
  "envoy.config.cluster.v3.Cluster",
  "envoy.config.endpoint.v3.ClusterLoadAssignment",
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  "envoy.extensions.filters.http.router.v3.Router",
  "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
  "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
  "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
] as const;

const FILES = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
];

/** A package's directory in node_modules (nodeModulesDir auto). */
function packageDir(name: string): string {
  return fromFileUrl(new URL(`../node_modules/${name}/`, import.meta.url));
}

/** Envoy's .proto files as protobufjs parses them (field names as written), every type resolved. */
export function loadEnvoyProtos(): protobuf.Root {
  const deps = `${packageDir("@grpc/grpc-js-xds")}deps`;
  const includes = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => `${deps}/${d}`);
  // google/protobuf/descriptor.proto (custom options' target) ships with protobufjs itself.
  includes.push(fromFileUrl(import.meta.resolve("protobufjs")).replace(/\/[^/]*$/, ""));
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includes) {
      try {
        Deno.statSync(`${dir}/${target}`);
        return `${dir}/${target}`;
      } catch { /* next include dir */ }
    }
    return target;
  };
  root.loadSync(FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

/** Loads the protos and returns the pruned descriptor's JSON text (stable: sorted keys, 2-space indent). */
export function generateXdsDescriptor(): string {
  const root = loadEnvoyProtos();

  // The closure of the roots: every type a field, oneof, map value or method references.
  const keep = new Set<string>();
  const visit = (obj: protobuf.ReflectionObject) => {
    const name = obj.fullName.slice(1);
    if (keep.has(name)) return;
    keep.add(name);
    for (let p = obj.parent; p && p !== root; p = p.parent) keep.add(p.fullName.slice(1));
    if (obj instanceof protobuf.Type) {
      for (const f of obj.fieldsArray) if (f.resolvedType) visit(f.resolvedType);
    } else if (obj instanceof protobuf.Service) {
      for (const m of obj.methodsArray) {
        visit(m.resolvedRequestType!);
        visit(m.resolvedResponseType!);
      }
    }
  };
  for (const name of XDS_ROOT_TYPES) visit(root.lookup(name)!);

  const json = prune(root.toJSON() as Json, "", keep);
  return JSON.stringify(sortKeys(json), null, 2) + "\n";
}

type Json = { [k: string]: unknown };

/** Keeps the kept types (and the namespaces holding them); drops custom options (validate, udpa, ...). */
function prune(node: Json, prefix: string, keep: Set<string>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "nested") {
      const nested: Json = {};
      for (const [name, child] of Object.entries(v as Json)) {
        const full = prefix ? `${prefix}.${name}` : name;
        const c = child as Json;
        const isNamespace = !("fields" in c) && !("values" in c) && !("methods" in c);
        if (!isNamespace && !keep.has(full)) continue;
        const pruned = prune(c, full, keep);
        if (isNamespace && !pruned.nested) continue;
        nested[name] = pruned;
      }
      if (Object.keys(nested).length) out.nested = nested;
    } else if (k === "options") {
      const opts = Object.fromEntries(Object.entries(v as Json).filter(([o]) => !o.startsWith("(")));
      if (Object.keys(opts).length) out.options = opts;
    } else if (k === "fields" || k === "methods") {
      const items: Json = {};
      for (const [name, f] of Object.entries(v as Json)) items[name] = prune(f as Json, prefix, keep);
      out[k] = items;
    } else if (k === "comment" || k === "valuesOptions") {
      continue;
    } else {
      out[k] = v;
    }
  }
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Json)[k])]));
  }
  return v;
}

if (import.meta.main) {
  const text = generateXdsDescriptor();
  if (Deno.args.includes("--stdout")) {
    await Deno.stdout.write(new TextEncoder().encode(text));
  } else {
    const out = fromFileUrl(new URL("../src/xds/_protos/envoy_v3.json", import.meta.url));
    Deno.writeTextFileSync(out, text);
    console.log(`wrote ${out} (${text.length} bytes)`);
  }
}
