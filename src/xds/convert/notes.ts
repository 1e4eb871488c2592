import type { Logger } from "../../core/mod.ts";
import type { ConvertedXds } from "./convert.ts";

/** Distinct notes remembered so each is logged once; past this, new ones are still counted, not logged. */
export const MAX_REMEMBERED_NOTES = 4096;

/**
 * Logs a conversion's approximations (`warnings`) and skipped filters (`skippedFilters`) once each across
 * updates — the converter runs on every push with the whole state, so the same note comes back each time —
 * and counts skips. `onSkip` is called for each skipped filter not seen before (e.g. a counter's inc).
 * Memory is bounded by MAX_REMEMBERED_NOTES.
 */
export class ConversionNotes {
  readonly #seen = new Set<string>();
  #dropped = 0;

  constructor(private readonly logger: Logger, private readonly onSkip: () => void = () => {}) {}

  report(converted: Pick<ConvertedXds, "warnings" | "skippedFilters">): void {
    for (const w of converted.warnings) if (this.#first(w)) this.logger.warn(`xDS: approximated: ${w}`);
    for (const s of converted.skippedFilters) {
      if (!this.#first(s)) continue;
      this.onSkip();
      this.logger.warn(`xDS: filter not applied: ${s}`);
    }
  }

  /** Notes that were not remembered (the bound was reached): counted so the bound is visible. */
  get notRemembered(): number {
    return this.#dropped;
  }

  #first(note: string): boolean {
    if (this.#seen.has(note)) return false;
    if (this.#seen.size >= MAX_REMEMBERED_NOTES) {
      this.#dropped++;
      return true; // still reported: a note is never silent, only its dedup is lost
    }
    this.#seen.add(note);
    return true;
  }
}
