/**
 * The native leg's chart as a vega-lite spec (the report renders it, e.g. bench/lib/report.ts's
 * renderSvg): cost per alloc + release against degree on the dispatch floor, one line per variant
 * with its 95% interval as a band, one panel per build flavour (independent y scales: a return
 * thunk multiplies every figure).
 */
import type { NativeFigure } from "./leg.ts";
import { FLOOR_PATH } from "./leg.ts";

export const FLAVOUR_ORDER = ["plain", "retpoline", "retpoline+rethunk", "ibt"];

export function nativeChartSpec(
  figures: readonly NativeFigure[],
  title?: string,
): Record<string, unknown> | null {
  const values = figures
    .filter((f) => f.path === FLOOR_PATH && f.degree !== undefined)
    .map((f) => ({
      flavour: f.flavour,
      variant: f.variant,
      degree: f.degree,
      median: f.median,
      lo: f.lo,
      hi: f.hi,
    }));
  if (values.length === 0) return null;
  const unit = figures[0].unit;
  const flavours = FLAVOUR_ORDER.filter((f) => values.some((v) => v.flavour === f));
  for (const v of values) if (!flavours.includes(v.flavour)) flavours.push(v.flavour);
  const x = { field: "degree", type: "quantitative", title: "providers behind the dispatcher (degree)" };
  const color = { field: "variant", type: "nominal" };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: title ?? `native: dispatch floor, ${unit} (median, 95% CI)`,
    data: { values },
    columns: 2,
    facet: { field: "flavour", type: "nominal", title: null, sort: flavours },
    spec: {
      width: 320,
      height: 200,
      layer: [
        {
          mark: { type: "area", opacity: 0.2 },
          encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" }, color },
        },
        {
          mark: { type: "line", point: true },
          encoding: {
            x,
            y: { field: "median", type: "quantitative", title: unit, scale: { zero: true } },
            color,
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
}
