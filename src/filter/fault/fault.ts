import type { FilterResult, StreamFilter, StreamFilterDefinition, StreamFilterFactory } from "../types.ts";
import { parseDuration } from "../../core/mod.ts";

/**
 * MOSN's `fault` stream filter: delay and/or abort a percentage of requests, before routing.
 * Config: `{ delay: { fixed_delay: "100ms", percentage: 100 }, abort: { status: 503, percentage: 50 } }`.
 */
export const faultFilter: StreamFilterDefinition = {
  type: "fault",
  create(config): StreamFilterFactory | { errors: string[] } {
    const errors: string[] = [];
    const delay = asObject(config["delay"]);
    const abort = asObject(config["abort"]);
    let delayMs = 0;
    let delayPct = 0;
    let abortStatus = 0;
    let abortPct = 0;
    if (delay !== undefined) {
      const d = typeof delay["fixed_delay"] === "string" ? parseDuration(delay["fixed_delay"]) : undefined;
      if (d === undefined) errors.push(`delay.fixed_delay: expected a duration such as "100ms"`);
      else delayMs = d;
      delayPct = percentage(delay["percentage"], "delay.percentage", errors);
    }
    if (abort !== undefined) {
      const s = abort["status"];
      if (typeof s !== "number" || !Number.isInteger(s) || s < 200 || s > 599) {
        errors.push(`abort.status: expected an HTTP status between 200 and 599`);
      } else abortStatus = s;
      abortPct = percentage(abort["percentage"], "abort.percentage", errors);
    }
    for (const k of Object.keys(config)) {
      if (k !== "delay" && k !== "abort") errors.push(`${k}: unknown key; expected delay or abort`);
    }
    if (errors.length > 0) return { errors };
    const filter: StreamFilter = {
      name: "fault",
      beforeRoute(): FilterResult | Promise<FilterResult> {
        const abortNow = abortPct > 0 && Math.random() * 100 < abortPct;
        const reply: FilterResult = abortNow
          ? { localReply: { status: abortStatus, body: "fault filter abort\n" } }
          : undefined;
        if (delayPct > 0 && Math.random() * 100 < delayPct) {
          return new Promise((resolve) => setTimeout(() => resolve(reply), delayMs));
        }
        return reply;
      },
    };
    return () => filter; // stateless: one instance serves every request
  },
};

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

function percentage(v: unknown, path: string, errors: string[]): number {
  if (v === undefined) return 100;
  if (typeof v !== "number" || v < 0 || v > 100) {
    errors.push(`${path}: expected a number from 0 to 100`);
    return 0;
  }
  return v;
}
