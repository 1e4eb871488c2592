import type { SocketAddress } from "../core/mod.ts";
import { formatAddress } from "../core/mod.ts";

/** Why an admin request failed: nothing answered, it took too long, or it answered with an error status. */
export type AdminErrorReason = "unreachable" | "timeout" | "http";

/** A failed admin API request; `message` is a short cause such as "connection refused" or "HTTP 404". */
export class AdminRequestError extends Error {
  override readonly name = "AdminRequestError";
  readonly reason: AdminErrorReason;
  /** The HTTP status when `reason` is "http". */
  readonly status: number | undefined;

  constructor(reason: AdminErrorReason, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.reason = reason;
    this.status = options.status;
  }
}

/** Turns fetch's nested error chain into a short cause. */
function describeFetchError(err: unknown): string {
  const chain: string[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e.message);
  const all = chain.join(" | ");
  if (/connection refused/i.test(all)) return "connection refused";
  if (/dns error|failed to lookup|name or service not known/i.test(all)) return "host not found";
  if (/connection reset/i.test(all)) return "connection reset";
  if (/network is unreachable|no route to host/i.test(all)) return "network unreachable";
  return chain.at(-1) ?? String(err);
}

/** Reads a running instance's admin API over HTTP. */
export class AdminClient {
  readonly #base: string;
  readonly #timeoutMs: number;

  /** @param options.timeoutMs per request; default 5000 */
  constructor(address: SocketAddress, options: { timeoutMs?: number } = {}) {
    this.#base = `http://${formatAddress(address)}`;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** GETs `path` and returns the body; throws `AdminRequestError` unless the status is 2xx. */
  async get(path: string): Promise<string> {
    let response: Response;
    try {
      response = await fetch(this.#base + path, { signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      if (err instanceof DOMException && err.name === "TimeoutError") {
        throw new AdminRequestError("timeout", `no answer within ${this.#timeoutMs / 1000}s`, { cause: err });
      }
      throw new AdminRequestError("unreachable", describeFetchError(err), { cause: err });
    }
    const body = await response.text();
    if (!response.ok) {
      throw new AdminRequestError(
        "http",
        `HTTP ${response.status} for ${path}: ${body.trim().slice(0, 200)}`,
        {
          status: response.status,
        },
      );
    }
    return body;
  }
}
