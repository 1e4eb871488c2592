/** What a secret value is replaced with in config dumps. */
export const REDACTED = "***REDACTED***";

/** Key names (lower-cased, without `_` and `-`) whose values are secrets. */
const SECRET_SUFFIXES = ["privatekey", "password", "secret", "token"];

/**
 * True for `private_key`, `privateKey`, `password`, `secret`, `token` in any case, and for names ending
 * in one of them (`admin_password`, `accessToken`, `client_secret`).
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[_-]/g, "");
  return SECRET_SUFFIXES.some((s) => k.endsWith(s));
}

function redactInPlace(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = redactInPlace(value[i]);
    return value;
  }
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      obj[key] = isSecretKey(key) && obj[key] !== null ? REDACTED : redactInPlace(obj[key]);
    }
  }
  return value;
}

/**
 * A JSON copy of `value` (via `JSON.stringify`, so `toJSON()` applies) where every value under a secret
 * key, at any depth, is `"***REDACTED***"`. The input is not modified. `undefined` becomes `null`.
 */
export function redactSecrets(value: unknown): unknown {
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  return redactInPlace(JSON.parse(text));
}
