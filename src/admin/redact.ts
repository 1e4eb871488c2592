/**
 * What the admin config dump hides. This is the one place the rule lives; docs/architecture.md points here.
 *
 * A value is replaced by `"***REDACTED***"` (a `null` stays `null`: it says "unset" and holds no secret) when:
 *
 * 1. **Its key names a secret** ({@linkcode isSecretKey}): `private_key`, `password`, `passwd`, `secret`,
 *    `token`, `api_key`, `credential(s)` and names ending in one of them (`client_secret`, `accessToken`),
 *    in any case and with or without `_`/`-`. The whole value goes, whatever its type.
 * 2. **It is under a TLS section** ({@linkcode isTlsKey}): any key containing `tls` (`tls_context`,
 *    `tls_context_set`, `cluster_manager_tls`, `upstream_tls_context`, `tls_disable`, …) at any depth. Every
 *    leaf below it is redacted but the keys and the nesting stay, so operators see what is configured.
 * 3. **It is the value of a sensitive header** ({@linkcode isSensitiveHeader}), in either shape a header
 *    takes in a config:
 *    - a name/value pair, i.e. any object with a string `key` or `name` and a `value`: MOSN's header edits
 *      (`request_headers_to_add`/`response_headers_to_add` items `{header: {key, value}, append}` on
 *      routers, virtual hosts and routes), route header matchers `match.headers[]` `{name, value, regex}`
 *      (a regex can spell the secret too), route `variables` `{name, value}`, and the same shapes inside
 *      free-form filter configs;
 *    - a map from header names to values under a key ending in `headers` (`headers: {Cookie: "…"}` in a
 *      filter config).
 *
 * 4. **It is a string holding a PEM private key** (`-----BEGIN … PRIVATE KEY-----`, any kind: PKCS#8,
 *    RSA, EC, encrypted), wherever it sits: a key pasted inline under a key name no other rule knows.
 *
 * The pair rule does not check where the pair sits, so a non-header pair whose name looks sensitive
 * (`{name: "session_ttl", value: "30s"}`) is hidden too: in an admin dump a hidden harmless value costs
 * less than a leaked credential. See {@linkcode isSensitiveHeader} for the false positives it avoids.
 * @module
 */

/** What a secret value is replaced with in config dumps. */
export const REDACTED = "***REDACTED***";

/** Key names (lower-cased, without `_` and `-`) whose values are secrets. */
const SECRET_SUFFIXES = [
  "privatekey",
  "password",
  "passwd",
  "secret",
  "token",
  "apikey",
  "credential",
  "credentials",
];

/**
 * True for `private_key`, `privateKey`, `password`, `secret`, `token` (and `passwd`, `api_key`,
 * `credentials`) in any case, and for names ending in one of them (`admin_password`, `accessToken`,
 * `client_secret`). Not for names that merely start with one (`tokens_per_fill`, `secret_name`).
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[_-]/g, "");
  return SECRET_SUFFIXES.some((s) => k.endsWith(s));
}

/** True for keys that hold TLS settings: any key containing `tls`, in any case, with or without `_`/`-`. */
export function isTlsKey(key: string): boolean {
  return key.toLowerCase().replace(/[_-]/g, "").includes("tls");
}

/** Header names (lower-cased, `_` read as `-`) whose values are credentials. */
const SENSITIVE_HEADERS: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-csrf-token",
]);

/** Parts that make any header name sensitive (`x-vault-token`, `x-client-secret`, `x-session-id`). */
const SENSITIVE_HEADER_PARTS = [
  "token",
  "secret",
  "password",
  "passwd",
  "api-key",
  "apikey",
  "session",
  "credential",
  "cookie",
];

/** `auth` anywhere, except as the start of the words `author`, `authors` and `authority`. */
const AUTH = /auth(?!or(?:s|ity)?(?![a-z]))/;

/**
 * True when a header's value is a credential: one of `authorization`, `proxy-authorization`, `cookie`,
 * `set-cookie`, `x-api-key`, `api-key`, `x-auth-token`, `x-csrf-token`, or a name containing `token`,
 * `secret`, `password`, `passwd`, `api-key`/`apikey`, `session`, `credential`, `cookie` or `auth`.
 * Compared case-insensitively, `_` read as `-`.
 *
 * `auth` does not count inside the words `author`, `authors` and `authority`, so the routing headers
 * `:authority` and `x-author` stay visible while `authorization`, `x-authorization-aux`, `authentication`
 * and `x-oauth-token` are hidden.
 */
export function isSensitiveHeader(name: string): boolean {
  const n = name.toLowerCase().replaceAll("_", "-");
  return SENSITIVE_HEADERS.has(n) || SENSITIVE_HEADER_PARTS.some((p) => n.includes(p)) || AUTH.test(n);
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** True for a name/value pair (`{key, value}` or `{name, value}`) whose name is a sensitive header. */
function isSecretPair(obj: Json): boolean {
  if (!Object.hasOwn(obj, "value")) return false;
  const { key, name } = obj;
  return (typeof key === "string" && isSensitiveHeader(key)) ||
    (typeof name === "string" && isSensitiveHeader(name));
}

/** A PEM private key block's header: PKCS#8, RSA, EC, DSA, ENCRYPTED, OPENSSH… */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/** Every non-null leaf becomes REDACTED; arrays and objects keep their shape. */
function redactLeaves(value: unknown): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = redactLeaves(value[i]);
    return value;
  }
  if (isObject(value)) {
    for (const key of Object.keys(value)) value[key] = redactLeaves(value[key]);
    return value;
  }
  return REDACTED;
}

function redactInPlace(value: unknown): unknown {
  if (typeof value === "string") return PEM_PRIVATE_KEY.test(value) ? REDACTED : value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = redactInPlace(value[i]);
    return value;
  }
  if (!isObject(value)) return value;
  const secretPair = isSecretPair(value);
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === null) continue;
    if ((secretPair && key === "value") || isSecretKey(key)) value[key] = REDACTED;
    else if (isTlsKey(key)) value[key] = redactLeaves(v);
    else if (isObject(v) && key.toLowerCase().endsWith("headers")) value[key] = redactHeaderMap(v);
    else value[key] = redactInPlace(v);
  }
  return value;
}

/** `{Cookie: "…", "x-request-source": "mesh"}`: values of sensitive names go, the others are walked. */
function redactHeaderMap(map: Json): Json {
  for (const key of Object.keys(map)) {
    map[key] = isSensitiveHeader(key) && map[key] !== null ? REDACTED : redactInPlace(map[key]);
  }
  return map;
}

/**
 * A JSON copy of `value` (via `JSON.stringify`, so `toJSON()` applies) with every secret replaced by
 * `"***REDACTED***"`, by the rules in this module's doc: secret key names, TLS sections, sensitive header
 * values, PEM private keys anywhere. The input is not modified. `undefined` becomes `null`.
 */
export function redactSecrets(value: unknown): unknown {
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  return redactInPlace(JSON.parse(text));
}
