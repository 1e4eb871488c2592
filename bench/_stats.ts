/** Medians, ranges and number formatting for the bench report. */

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median and min–max of the finite values, or undefined when there are none. */
export function spread(values: readonly (number | undefined | null)[]): Spread | undefined {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x)).sort((a, b) =>
    a - b
  );
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

/** A number with `digits` significant-ish decimals: 33512 → "33.5k", 1.234 → "1.23". */
export function fmt(x: number, unit = ""): string {
  if (!Number.isFinite(x)) return "n/a";
  if (Math.abs(x) >= 10000) return `${(x / 1000).toFixed(1)}k${unit}`;
  if (Math.abs(x) >= 100) return `${x.toFixed(0)}${unit}`;
  if (Math.abs(x) >= 10) return `${x.toFixed(1)}${unit}`;
  return `${x.toFixed(2)}${unit}`;
}

/** "median (min–max)" or just the value when there was one round. */
export function fmtSpread(s: Spread | undefined, unit = ""): string {
  if (s === undefined) return "n/a";
  if (s.n === 1 || s.min === s.max) return fmt(s.median, unit);
  return `${fmt(s.median, unit)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/** A ratio as "0.93× (0.90–0.95)". */
export function fmtRatio(s: Spread | undefined): string {
  if (s === undefined) return "n/a";
  const r = (x: number) => x.toFixed(2);
  if (s.n === 1 || s.min === s.max) return `${r(s.median)}×`;
  return `${r(s.median)}× (${r(s.min)}–${r(s.max)})`;
}
