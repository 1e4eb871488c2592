import type { CodecOptions } from "../types.ts";

/** Fields beyond this many are rejected with 431. */
export const DEFAULT_MAX_HEADERS = 100;

/** The header-section limit: `extend.max_header_size` when set (MOSN's name), else maxHeaderBytes. */
export function headLimit(options: CodecOptions): number {
  const v = options.extend["max_header_size"];
  return typeof v === "number" && v > 0 ? v : options.maxHeaderBytes;
}

/** The field-count limit: `extend.max_header_count` when set. */
export function headerCountLimit(options: CodecOptions): number {
  const v = options.extend["max_header_count"];
  return typeof v === "number" && v > 0 ? v : DEFAULT_MAX_HEADERS;
}
