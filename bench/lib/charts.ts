/**
 * The report's charts, built from a results file of schema v2 (bench/lib/schema.ts) as vega-lite
 * specs, rendered to SVG by vega (renderer "none": no canvas) and from that SVG to PNG by resvg,
 * so the report reads in viewers that show no SVG.
 *
 * Contracts every chart keeps (issue 13, item 5):
 * - every figure carries its noise: a ratio its 95% interval as a bar, an absolute figure its 95%
 *   interval as a band (per degree) or a bar (per path);
 * - units come from the records' `unit` fields, never a generic "ns / op";
 * - panels that compare (same quantity, same unit) share one scale (`resolve: shared`), and
 *   panels in different units are separate charts;
 * - one colour per variant in every chart; the A/A twin (ops-table#2) is always drawn, in grey,
 *   so the noise of a null comparison sits beside the real ones;
 * - labels are not hidden: widths follow the number of categories and label limits are generous.
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import * as vl from "vega-lite";
import { FLAVOUR_ORDER } from "../native/chart.ts";
import { FLOOR_PATH as NATIVE_FLOOR_PATH, PATHS as NATIVE_PATHS, type NativeFigure } from "../native/leg.ts";
import { AA_VARIANT, BASELINE, type ComparisonRecord } from "./comparison.ts";
import type { LevelFigure } from "./schedule.ts";
import type { ResultsFile } from "./schema.ts";

export type Spec = Record<string, unknown>;

const SCHEMA_URL = "https://vega.github.io/schema/vega-lite/v6.json";

/** The paths measured against degree (providers behind the dispatcher), in report order. */
export const SWEEP_PATHS = ["dispatch", "dispatch-floor"] as const;
/** The direct call beside the dispatch floor: same pools and work, no dispatcher. */
const DIRECT_PATH = "baseline:floor-direct";
export const DIRECT_SERIES = "direct call (no dispatcher)";

const PATH_TITLES: Record<string, string> = {
  dispatch: "Dispatch sweep: the project's real providers",
  "dispatch-floor": "Dispatch floor: do-nothing providers (the dispatch itself)",
};
const pathTitle = (p: string) => PATH_TITLES[p] ?? p;

/** The JS legs' fixed paths (not swept over degree), in the order the report shows them. */
export const FIXED_PATHS = [
  "baseline:stack",
  "fast",
  "ring",
  "slow",
  "baseline:direct",
  "provider-slow",
  "return:copy",
  "return:zcrx",
  "return:devmem",
  "e2e",
  "e2e:rx-4k",
  "e2e:rx-32k",
];

/** Bars of the per-path charts in this order (each chart is one unit); paths not listed follow, sorted. */
const PATH_ORDER = [
  ...FIXED_PATHS,
  "baseline:loop",
  "baseline:arraybuffer",
  "baseline:buffer",
  ...NATIVE_PATHS,
];

/** The per-path charts in this order (the kernel's paths first); other units follow. */
const UNIT_ORDER = [
  "ns per element",
  "ns per alloc + release",
  "ns per buffer",
  "ns per packet",
  "ns per KiB received",
  "ns per allocation",
  "cycles per alloc + release",
];

/** Fixed colours, so a variant looks the same in every chart; the A/A twin and the direct call grey. */
const KNOWN_COLOURS: ReadonlyArray<[string, string]> = [
  [BASELINE, "#4c78a8"],
  ["if-chain", "#f58518"],
  ["icall-wrapper", "#54a24b"],
  ["icall-pgo", "#b279a2"],
  [AA_VARIANT, "#9a9a9a"],
  [DIRECT_SERIES, "#333333"],
];
const SPARE_COLOURS = ["#e45756", "#72b7b2", "#eeca3b", "#9d755d", "#ff9da6"];

/** Colour scale for the variants present: known ones in their fixed order and colour, others after. */
export function variantScale(variants: Iterable<string>): { domain: string[]; range: string[] } {
  const present = new Set(variants);
  const known = KNOWN_COLOURS.filter(([v]) => present.has(v));
  const others = [...present].filter((v) => !KNOWN_COLOURS.some(([k]) => k === v)).sort();
  // The twin and the direct line go last in the legend, after the variants proper.
  const head = known.filter(([v]) => v !== AA_VARIANT && v !== DIRECT_SERIES);
  const tail = known.filter(([v]) => v === AA_VARIANT || v === DIRECT_SERIES);
  return {
    domain: [...head.map(([v]) => v), ...others, ...tail.map(([v]) => v)],
    range: [
      ...head.map(([, c]) => c),
      ...others.map((_, i) => SPARE_COLOURS[i % SPARE_COLOURS.length]),
      ...tail.map(([, c]) => c),
    ],
  };
}

/** "bun", "node", or "native <flavour>": the panel an engine's (or native build's) figures go in. */
export function engineLabel(c: { engine: string; flavour?: string }): string {
  return c.flavour ? `native ${c.flavour}` : c.engine;
}

function engineRank(label: string): number {
  if (label === "bun") return 0;
  if (label === "node") return 1;
  if (label.startsWith("native ")) {
    const i = FLAVOUR_ORDER.indexOf(label.slice("native ".length));
    return 2 + (i < 0 ? FLAVOUR_ORDER.length : i);
  }
  return 99;
}
const byEngine = (a: string, b: string) => engineRank(a) - engineRank(b) || (a < b ? -1 : a > b ? 1 : 0);

/** Shared look: white background (PNGs are opaque), readable sizes, nothing truncated early. */
const CONFIG = {
  background: "white",
  font: "DejaVu Sans, Verdana, sans-serif",
  padding: 8,
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: "#444", anchor: "start", offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 11, labelLimit: 240, titleLimit: 600, gridColor: "#e8e8e8" },
  header: { labelFontSize: 12, labelFontWeight: "bold", labelLimit: 500, title: null },
  legend: {
    labelFontSize: 11,
    titleFontSize: 11,
    labelLimit: 320,
    orient: "bottom",
    direction: "horizontal",
  },
  view: { stroke: "#d0d0d0" },
};

function topLevel(title: string, subtitle: string[], body: Spec): Spec {
  return { $schema: SCHEMA_URL, title: { text: title, subtitle }, config: CONFIG, ...body };
}

const finite = (...xs: number[]) => xs.every((x) => Number.isFinite(x));

/** How far past the outermost point estimate an interval may reach before the frame cuts it. */
const REACH = 1.5;

/**
 * A value axis's domain: every point estimate inside, intervals up to REACH times the outermost
 * estimate (one wild interval from a noisy launch would otherwise flatten every other figure);
 * `cut` says whether some interval goes past the frame (the marks are clipped there).
 */
export function valueDomain(
  rows: ReadonlyArray<{ median: number; lo: number; hi: number }>,
  opts: { zero: boolean; include?: number },
): { domain: [number, number]; cut: boolean } {
  const est = rows.map((r) => r.median);
  const inc = opts.include === undefined ? [] : [opts.include];
  const top = Math.max(...est, ...inc);
  const hi = Math.min(Math.max(...rows.map((r) => r.hi), ...inc), top * REACH);
  if (opts.zero) return { domain: [0, hi], cut: rows.some((r) => r.hi > hi) };
  const bottom = Math.min(...est, ...inc);
  const lo = Math.max(Math.min(...rows.map((r) => r.lo), ...inc), bottom / REACH);
  return { domain: [lo, hi], cut: rows.some((r) => r.hi > hi || r.lo < lo) };
}
/** Room above the highest figure, so a line at the top does not run along the frame. */
const HEADROOM = 1.04;
const CUT_NOTE = "Intervals reaching past the frame are cut there (a noisy launch).";

// ---------------------------------------------------------------------------------------------
// (a) The headline: variant / ops-table per degree, with intervals and the line at 1.

interface RatioRow {
  panel: string;
  path: string;
  degree: number;
  variant: string;
  estimate: number;
  lo: number;
  hi: number;
  call: string;
  /** One row per panel carries the rule at 1 (a rule per row would draw it dozens of times). */
  first: boolean;
}

/**
 * The ratio chart: for every sweep path (dispatch, dispatch-floor) on every engine and native
 * flavour, variant time / ops-table time against degree, a point at the median pair ratio and a
 * bar over its 95% interval, a dashed rule at 1 (no difference). One row of panels per path, one
 * panel per engine; every panel on one y scale, so an effect reads the same size everywhere; the
 * A/A twin's bars show what a null difference looks like on that engine.
 */
export function ratioSpec(comparisons: readonly ComparisonRecord[]): Spec | null {
  const rows: RatioRow[] = [];
  for (const c of comparisons) {
    if (!(SWEEP_PATHS as readonly string[]).includes(c.path) || !(c.degree! > 0)) continue;
    if (!finite(c.ratio.estimate, c.ratio.lo, c.ratio.hi)) continue;
    rows.push({
      panel: engineLabel(c),
      path: c.path,
      degree: c.degree!,
      variant: c.variant,
      estimate: c.ratio.estimate,
      lo: c.ratio.lo,
      hi: c.ratio.hi,
      call: c.call,
      first: false,
    });
  }
  if (rows.length === 0) return null;
  rows.sort((a, b) => byEngine(a.panel, b.panel) || a.degree - b.degree);
  const colour = variantScale(rows.map((r) => r.variant));
  const { domain, cut } = valueDomain(
    rows.map((r) => ({ median: r.estimate, lo: r.lo, hi: r.hi })),
    { zero: false, include: 1 },
  );
  const x = {
    field: "degree",
    type: "ordinal",
    sort: "ascending",
    title: "providers behind the call site (degree)",
    axis: { labelAngle: 0 },
  };
  const xOffset = { field: "variant", type: "nominal", sort: colour.domain };
  const color = { field: "variant", type: "nominal", title: "variant", scale: colour };
  const y = {
    field: "estimate",
    type: "quantitative",
    title: "variant / ops-table",
    scale: { domain, nice: false, zero: false, padding: 6 },
    axis: { format: ".2f", tickCount: 6 },
  };
  const perPath = SWEEP_PATHS.filter((p) => rows.some((r) => r.path === p)).map((path) => {
    const mine = rows.filter((r) => r.path === path);
    const panels = [...new Set(mine.map((r) => r.panel))];
    for (const p of panels) mine.find((r) => r.panel === p)!.first = true;
    return {
      title: { text: pathTitle(path), fontSize: 13 },
      data: { values: mine },
      columns: Math.min(2, panels.length),
      facet: { field: "panel", type: "nominal", sort: panels },
      spec: {
        // Width per degree: room for each variant's bar side by side.
        width: { step: Math.max(30, colour.domain.length * 11 + 8), for: "position" },
        height: 200,
        layer: [
          {
            transform: [{ filter: "datum.first" }],
            mark: { type: "rule", color: "#333", strokeDash: [5, 4], strokeWidth: 1.2 },
            encoding: { y: { datum: 1, type: "quantitative" } },
          },
          {
            mark: { type: "rule", strokeWidth: 2.5, clip: true },
            encoding: { x, xOffset, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" }, color },
          },
          {
            mark: { type: "point", filled: true, size: 36, opacity: 1, stroke: "white", strokeWidth: 0.6 },
            encoding: { x, xOffset, y, color },
          },
        ],
      },
    };
  });
  return topLevel(
    "Dispatch: variant time / ops-table time, per degree",
    [
      "Point: median ratio of paired bursts; bar: its 95% interval. Below the dashed line at 1 the variant is faster than ops-table.",
      `${AA_VARIANT} (grey) is a second, separately built ops-table: its bars show the noise of a null comparison. All panels share one scale.`,
      ...(cut ? [CUT_NOTE] : []),
    ],
    // One ratio scale for every panel (they compare); the paths' degrees differ, so x does not.
    { vconcat: perPath, resolve: { scale: { y: "shared", color: "shared" } } },
  );
}

// ---------------------------------------------------------------------------------------------
// (b) Absolute figures against degree, with their intervals as bands.

export interface LevelRow {
  panel: string;
  variant: string;
  degree: number;
  median: number;
  lo: number;
  hi: number;
  unit: string;
  /** "direct" rows (the direct call) are drawn dashed. */
  kind: "measured" | "direct";
}

/** A JS figure's point and interval: the launch-corrected interval's estimate, lo and hi. */
function levelOf(f: LevelFigure): { median: number; lo: number; hi: number } {
  return f.ci ? { median: f.ci.estimate, lo: f.ci.lo, hi: f.ci.hi } : { median: f.p50, lo: f.p50, hi: f.p50 };
}

/**
 * Cost per operation against degree, one line per variant with its 95% interval as a band, one
 * panel per engine (or flavour), every panel on one y scale (same quantity, same unit).
 */
export function levelSpec(rows: readonly LevelRow[], title: string, subtitle: string[]): Spec | null {
  const good = rows.filter((r) => finite(r.median, r.lo, r.hi) && r.degree > 0);
  if (good.length === 0) return null;
  const units = [...new Set(good.map((r) => r.unit))];
  if (units.length !== 1)
    throw new Error(`levelSpec: one unit per chart, got ${units.map((u) => JSON.stringify(u)).join(", ")}`);
  const panels = [...new Set(good.map((r) => r.panel))].sort(byEngine);
  const degrees = [...new Set(good.map((r) => r.degree))].sort((a, b) => a - b);
  const colour = variantScale(good.map((r) => r.variant));
  const x = {
    field: "degree",
    type: "quantitative",
    title: "providers behind the call site (degree)",
    scale: { type: "log", base: 2, domain: [degrees[0], degrees.at(-1)!], nice: false },
    axis: { values: degrees, format: "d", labelAngle: 0, grid: false },
  };
  const { domain: d, cut } = valueDomain(good, { zero: true });
  const domain = [0, d[1] * HEADROOM];
  // The legend's symbols come from the first layer (the pale band): show them solid.
  const color = {
    field: "variant",
    type: "nominal",
    title: "variant",
    scale: colour,
    legend: { symbolOpacity: 1, symbolType: "circle" },
  };
  const strokeDash = {
    field: "kind",
    type: "nominal",
    scale: {
      domain: ["measured", "direct"],
      range: [
        [1, 0],
        [6, 4],
      ],
    },
    legend: null,
  };
  return topLevel(title, [...subtitle, ...(cut ? [CUT_NOTE] : [])], {
    data: { values: good },
    columns: Math.min(2, panels.length),
    facet: { field: "panel", type: "nominal", sort: panels },
    spec: {
      width: Math.max(300, degrees.length * 34),
      height: 240,
      encoding: { x, color },
      layer: [
        {
          mark: { type: "area", opacity: 0.18, line: false, clip: true },
          encoding: {
            y: { field: "lo", type: "quantitative" },
            y2: { field: "hi" },
            detail: { field: "kind" },
          },
        },
        {
          mark: { type: "line", strokeWidth: 1.8, clip: true },
          encoding: {
            y: { field: "median", type: "quantitative", title: units[0], scale: { domain, nice: false } },
            strokeDash,
          },
        },
        {
          mark: { type: "point", filled: true, size: 28, clip: true },
          encoding: { y: { field: "median", type: "quantitative" } },
        },
      ],
    },
    resolve: { scale: { y: "shared", x: "shared" } },
  });
}

/** The JS legs' rows for one sweep path; the dispatch floor gets the direct call as a dashed line. */
export function jsLevelRows(figures: readonly LevelFigure[], path: string): LevelRow[] {
  const rows: LevelRow[] = figures
    .filter((f) => f.path === path && f.errors.length === 0)
    .map((f) => ({
      panel: f.engine,
      variant: f.variant,
      degree: f.degree,
      unit: f.unit,
      kind: "measured",
      ...levelOf(f),
    }));
  if (path === "dispatch-floor")
    // The direct call is the same code in every build; ops-table's process stands for it.
    for (const f of figures)
      if (f.path === DIRECT_PATH && f.variant === BASELINE && f.errors.length === 0)
        rows.push({
          panel: f.engine,
          variant: DIRECT_SERIES,
          degree: f.degree,
          unit: f.unit,
          kind: "direct",
          ...levelOf(f),
        });
  return rows;
}

/** The native leg's dispatch-floor rows, one panel per build flavour. */
export function nativeLevelRows(figures: readonly NativeFigure[]): LevelRow[] {
  return figures
    .filter((f) => f.path === NATIVE_FLOOR_PATH && f.degree !== undefined)
    .map((f) => ({
      panel: engineLabel({ engine: "native", flavour: f.flavour }),
      variant: f.variant,
      degree: f.degree!,
      median: f.median,
      lo: f.lo,
      hi: f.hi,
      unit: f.unit,
      kind: "measured",
    }));
}

// ---------------------------------------------------------------------------------------------
// (c) Fixed paths: one bar per path and variant, with the interval as a bar.

export interface PathRow {
  panel: string;
  bench: string;
  variant: string;
  median: number;
  lo: number;
  hi: number;
  unit: string;
}

/**
 * The fixed paths in one unit: horizontal bars (path names stay readable), one per variant side
 * by side, the 95% interval as a black bar over each; one panel per engine, the x scale shared.
 */
export function pathsSpec(rows: readonly PathRow[]): Spec | null {
  const good = rows.filter((r) => finite(r.median, r.lo, r.hi));
  if (good.length === 0) return null;
  const units = [...new Set(good.map((r) => r.unit))];
  if (units.length !== 1)
    throw new Error(`pathsSpec: one unit per chart, got ${units.map((u) => JSON.stringify(u)).join(", ")}`);
  const unit = units[0];
  const panels = [...new Set(good.map((r) => r.panel))].sort(byEngine);
  const rank = (b: string) => {
    const i = PATH_ORDER.findIndex((p) => b === p || b.startsWith(`${p}:`));
    return i < 0 ? PATH_ORDER.length : i;
  };
  const benches = [...new Set(good.map((r) => r.bench))].sort(
    (a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const colour = variantScale(good.map((r) => r.variant));
  const y = { field: "bench", type: "nominal", sort: benches, title: null, axis: { labelLimit: 260 } };
  const yOffset = { field: "variant", type: "nominal", sort: colour.domain };
  const step = Math.max(8, Math.min(14, 42 / colour.domain.length));
  const { domain: d, cut } = valueDomain(good, { zero: true });
  const domain = [0, d[1] * HEADROOM];
  return topLevel(
    `Fixed paths, ${unit}`,
    ["Bar: median; black bar: its 95% interval. Panels share one scale.", ...(cut ? [CUT_NOTE] : [])],
    {
      data: { values: good },
      columns: Math.min(2, panels.length),
      facet: { field: "panel", type: "nominal", sort: panels },
      spec: {
        width: 300,
        height: { step: step * colour.domain.length + 6, for: "position" },
        layer: [
          {
            mark: { type: "bar", clip: true },
            encoding: {
              y,
              yOffset,
              x: { field: "median", type: "quantitative", title: unit, scale: { domain, nice: false } },
              color: { field: "variant", type: "nominal", title: "variant", scale: colour },
            },
          },
          {
            mark: { type: "rule", color: "#111", strokeWidth: 1.4, clip: true },
            encoding: { y, yOffset, x: { field: "lo", type: "quantitative" }, x2: { field: "hi" } },
          },
        ],
      },
      resolve: { scale: { x: "shared", y: "shared" } },
    },
  );
}

/**
 * The fixed-path rows of a results file (JS legs and the native leg): every figure not on a sweep.
 * A path benched several ways (provider-slow per provider) is named by its bench id.
 */
export function pathRows(figures: readonly LevelFigure[], native: readonly NativeFigure[] = []): PathRow[] {
  const sweep = new Set<string>([...SWEEP_PATHS, DIRECT_PATH]);
  const keysOf = new Map<string, Set<string>>();
  for (const f of figures) {
    const k = `${f.engine}|${f.path}`;
    if (!keysOf.has(k)) keysOf.set(k, new Set());
    keysOf.get(k)!.add(f.key);
  }
  const rows: PathRow[] = [];
  for (const f of figures) {
    if (sweep.has(f.path) || f.errors.length > 0) continue;
    const several = keysOf.get(`${f.engine}|${f.path}`)!.size > 1;
    rows.push({
      panel: f.engine,
      bench: several ? f.key.slice(f.key.indexOf("/") + 1) : f.path,
      variant: f.variant,
      unit: f.unit,
      ...levelOf(f),
    });
  }
  for (const f of native)
    if (f.path !== NATIVE_FLOOR_PATH)
      rows.push({
        panel: engineLabel({ engine: "native", flavour: f.flavour }),
        bench: f.path,
        variant: f.variant,
        median: f.median,
        lo: f.lo,
        hi: f.hi,
        unit: f.unit,
      });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The report's chart set and its rendering.

export interface ChartSpec {
  /** File name without extension: <name>.svg and <name>.png. */
  name: string;
  spec: Spec;
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

/** The name of the headline ratio chart (the report shows it under the verdict). */
export const RATIO_CHART = "ratio";

/** Every chart of a results file, headline first. */
export function reportSpecs(r: Pick<ResultsFile, "comparisons" | "figures" | "native">): ChartSpec[] {
  const out: ChartSpec[] = [];
  const ratio = ratioSpec(r.comparisons);
  if (ratio) out.push({ name: RATIO_CHART, spec: ratio });
  const level = (name: string, rows: LevelRow[], title: string, subtitle: string[]) => {
    // A chart per unit: figures in different units never share an axis.
    for (const unit of [...new Set(rows.map((x) => x.unit))]) {
      const s = levelSpec(
        rows.filter((x) => x.unit === unit),
        title,
        subtitle,
      );
      if (s) out.push({ name: out.some((c) => c.name === name) ? `${name}-${slug(unit)}` : name, spec: s });
    }
  };
  level("dispatch", jsLevelRows(r.figures, "dispatch"), "Dispatch sweep: cost against degree", [
    "Real providers behind the dispatcher; line: median, band: 95% interval. Panels share one scale.",
  ]);
  level(
    "dispatch-floor",
    jsLevelRows(r.figures, "dispatch-floor"),
    "Dispatch floor: cost against degree, do-nothing providers",
    [
      "Line: median, band: 95% interval. Dashed: the direct call (same pools and work, no dispatcher): the gap to it is the dispatch.",
      "Panels share one scale.",
    ],
  );
  level(
    "native-dispatch-floor",
    nativeLevelRows(r.native?.figures ?? []),
    "Native C: dispatch floor against degree, per build flavour",
    ["Line: median, band: 95% interval. Panels share one scale: the flavours' cost multipliers show."],
  );
  const paths = pathRows(r.figures, r.native?.figures ?? []);
  const unitRank = (u: string) => {
    const i = UNIT_ORDER.indexOf(u);
    return i < 0 ? UNIT_ORDER.length : i;
  };
  const units = [...new Set(paths.map((p) => p.unit))].sort((a, b) => unitRank(a) - unitRank(b));
  for (const unit of units) {
    const s = pathsSpec(paths.filter((p) => p.unit === unit));
    if (s) out.push({ name: `paths-${slug(unit)}`, spec: s });
  }
  return out;
}

export async function renderSvg(spec: Spec): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The SVG as a PNG at twice its size (sharp on high-density screens). Text uses the system's
 * fonts; DejaVu Sans is asked for first (Debian's default sans), any installed font stands in.
 */
export function svgToPng(svg: string): Uint8Array {
  const png = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
    logLevel: "off",
  })
    .render()
    .asPng();
  return new Uint8Array(png);
}

export interface RenderedChart {
  name: string;
  svg: string;
  png: Uint8Array;
}

/** Renders every chart of a results file to SVG and PNG. */
export async function renderReportCharts(
  r: Pick<ResultsFile, "comparisons" | "figures" | "native">,
): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const { name, spec } of reportSpecs(r)) {
    const svg = await renderSvg(spec);
    out.push({ name, svg, png: svgToPng(svg) });
  }
  return out;
}

/** The markdown for one chart: the PNG (any viewer shows it) and a link to the SVG. */
export function chartMarkdown(dir: string, name: string): string {
  return `![${name}](${dir}/${name}.png)\n\n[${name}.svg](${dir}/${name}.svg)\n`;
}
