import type { StreamFilterDefinition } from "./types.ts";

const filters = new Map<string, StreamFilterDefinition>();

/** Registers a stream filter type by its config name (MOSN's `stream_filters[].type`). */
export function registerStreamFilter(def: StreamFilterDefinition): void {
  if (filters.has(def.type)) throw new RangeError(`Cannot register stream filter "${def.type}" twice`);
  filters.set(def.type, def);
}

export function getStreamFilter(type: string): StreamFilterDefinition | undefined {
  return filters.get(type);
}

export function streamFilterNames(): string[] {
  return [...filters.keys()];
}
