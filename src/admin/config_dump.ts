/** The answer to a config dump query: HTTP status and a JSON body. */
export interface ConfigDumpResult {
  readonly status: number;
  readonly body: unknown;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function servers(dump: Json): Json[] {
  return list(dump["servers"]);
}

/** Items keyed by their name field, in config order (the last wins); unnamed items are skipped. */
function byName(items: Json[], field: string): Record<string, Json> {
  // fromEntries defines own properties, so a name like "__proto__" stays a plain key
  return Object.fromEntries(items.flatMap((item) => {
    const name = item[field];
    return typeof name === "string" ? [[name, item]] : [];
  }));
}

function allRouters(dump: Json): Record<string, Json> {
  return byName(servers(dump).flatMap((s) => list(s["routers"])), "router_config_name");
}

function allListeners(dump: Json): Record<string, Json> {
  return byName(servers(dump).flatMap((s) => list(s["listeners"])), "name");
}

function allClusters(dump: Json): Record<string, Json> {
  const cm = dump["cluster_manager"];
  return byName(isObject(cm) ? list(cm["clusters"]) : [], "name");
}

/** The static part of the config, like MOSN's `mosn_config`: no listeners, routers or clusters. */
function mosnConfig(dump: Json): Json {
  const out: Json = { ...dump };
  if (Array.isArray(dump["servers"])) {
    out["servers"] = dump["servers"].map((s: unknown) => {
      if (!isObject(s)) return s;
      const { listeners: _l, routers: _r, ...rest } = s;
      return rest;
    });
  }
  const cm = dump["cluster_manager"];
  if (isObject(cm)) {
    const { clusters: _c, ...rest } = cm;
    out["cluster_manager"] = rest;
  }
  return out;
}

function error(status: number, message: string): ConfigDumpResult {
  return { status, body: { error: message } };
}

const ALL = new Map<string, (dump: Json) => unknown>([
  ["mosnconfig", mosnConfig],
  ["allrouters", allRouters],
  ["allclusters", allClusters],
  ["alllisteners", allListeners],
]);

const ONE = new Map<string, (dump: Json) => Record<string, Json>>([
  ["router", allRouters],
  ["cluster", allClusters],
  ["listener", allListeners],
]);

/**
 * Applies MOSN's `/api/v1/config_dump` query to a dump shaped like MOSN's raw config
 * (`{servers: [{routers, listeners}], cluster_manager: {clusters}}`): no parameter → everything;
 * `mosnconfig`, `allrouters`, `allclusters`, `alllisteners`; or `router=`, `cluster=`, `listener=` NAME.
 * Like MOSN, at most one parameter is accepted.
 */
export function selectConfigDump(dump: unknown, params: URLSearchParams): ConfigDumpResult {
  const keys = [...new Set(params.keys())];
  if (keys.length === 0) return { status: 200, body: dump };
  if (keys.length > 1) return error(400, "only support one parameter");
  const key = keys[0]!;
  const root: Json = isObject(dump) ? dump : {};
  const all = ALL.get(key);
  if (all !== undefined) return { status: 200, body: all(root) };
  const one = ONE.get(key);
  if (one === undefined) {
    return error(
      400,
      `unknown parameter "${key}"; expected one of ${[...ALL.keys(), ...ONE.keys()].join(", ")}`,
    );
  }
  const name = params.get(key) ?? "";
  if (name.length === 0) return error(400, `parameter "${key}" needs a name, e.g. ?${key}=NAME`);
  const items = one(root);
  const found = Object.hasOwn(items, name) ? items[name] : undefined;
  return found === undefined ? error(404, `no ${key} named "${name}"`) : { status: 200, body: found };
}
