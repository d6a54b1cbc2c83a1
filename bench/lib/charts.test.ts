/**
 * The report's charts from synthetic v2 records (no benchmark runs, no timing): every spec compiles
 * with vega-lite and renders to SVG and PNG; the ratio chart has its intervals and the rule at 1;
 * units come from the records; panels that compare share one scale; no label is truncated.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import * as vl from "vega-lite";
import type { NativeFigure } from "../native/leg.ts";
import {
  chartMarkdown,
  type LevelRow,
  levelSpec,
  RATIO_CHART,
  ratioSpec,
  renderReportCharts,
  renderSvg,
  reportSpecs,
  type Spec,
  svgToPng,
  valueDomain,
  variantScale,
} from "./charts.ts";
import { AA_VARIANT, BASELINE, type ComparisonRecord } from "./comparison.ts";
import { markdownReport } from "./report.ts";
import { mulberry32 } from "./rng.ts";
import type { LevelFigure } from "./schedule.ts";
import type { ResultsFile } from "./schema.ts";

const DEGREES = [1, 2, 4, 8];
const FLAVOURS = ["plain", "retpoline"];
const JS_VARIANTS = [BASELINE, "if-chain", AA_VARIANT];
const NATIVE_VARIANTS = [BASELINE, "if-chain", "icall-wrapper", AA_VARIANT];
/** The units the JS legs use per path (schema.ts unitOf), written out so a rename shows here. */
const JS_PATHS: Array<{ path: string; key: string; unit: string; ns: number }> = [
  { path: "fast", key: "paths/fast", unit: "ns per element", ns: 12 },
  { path: "slow", key: "paths/slow", unit: "ns per element", ns: 60 },
  { path: "provider-slow", key: "paths/provider-slow:basic", unit: "ns per alloc + release", ns: 40 },
  { path: "provider-slow", key: "paths/provider-slow:zcrx", unit: "ns per alloc + release", ns: 30 },
  { path: "return:copy", key: "return-paths/copy", unit: "ns per buffer", ns: 90 },
  { path: "e2e", key: "e2e-napi/e2e", unit: "ns per packet", ns: 300 },
];
const CYCLES = "cycles per alloc + release";

function ci(estimate: number, half: number) {
  return {
    estimate,
    lo: estimate * (1 - half),
    hi: estimate * (1 + half),
    level: 0.95,
    halfWidth: half,
    pairs: 40,
    launches: 3,
  };
}

function figure(
  engine: string,
  variant: string,
  path: string,
  key: string,
  degree: number,
  unit: string,
  v: number,
  half: number,
): LevelFigure {
  return {
    engine,
    set: "real",
    variant,
    key,
    scenario: key.split("/")[0],
    id: key.split("/")[1],
    path,
    degree,
    label: key,
    synthetic: false,
    providers: [],
    unit,
    p50: v,
    p75: v * 1.05,
    mean: v,
    ci: { ...ci(v, half), logSE: half / 2 },
    spread: half,
    runs: 3,
    bursts: 40,
    perProcessP50: [v, v, v],
    optimisedOut: false,
    errors: [],
    extra: {},
  };
}

function comparison(
  engine: ComparisonRecord["engine"],
  flavour: string | undefined,
  path: string,
  degree: number | undefined,
  variant: string,
  unit: string,
  ratio: number,
  half: number,
): ComparisonRecord {
  const r = ci(ratio, half);
  return {
    engine,
    ...(flavour ? { flavour } : {}),
    path,
    ...(degree ? { degree } : {}),
    baseline: BASELINE,
    variant,
    aa: variant === AA_VARIANT,
    unit,
    baselineMedian: 20,
    variantMedian: 20 * ratio,
    ratio: r,
    call: r.hi < 1 ? "faster" : r.lo > 1 ? "slower" : "≈",
    reachedTarget: half <= 0.02,
  };
}

/** A v2 results file's chart inputs: two JS engines and two native flavours, seeded noise. */
function synth(seed = 1): Pick<ResultsFile, "comparisons" | "figures" | "native"> {
  const rnd = mulberry32(seed);
  const half = () => 0.01 + 0.05 * rnd();
  const comparisons: ComparisonRecord[] = [];
  const figures: LevelFigure[] = [];
  const unit = "ns per alloc + release";
  for (const engine of ["bun", "node"] as const) {
    for (const path of ["dispatch", "dispatch-floor", "baseline:floor-direct"])
      for (const d of DEGREES)
        for (const v of JS_VARIANTS) {
          const ratio = v === "if-chain" && path !== "baseline:floor-direct" ? 0.8 + 0.05 * rnd() : 1;
          const base = path === "baseline:floor-direct" ? 8 : 20 + 2 * d;
          figures.push(figure(engine, v, path, `${path}/d${d}`, d, unit, base * ratio, half()));
          if (v !== BASELINE)
            comparisons.push(comparison(engine, undefined, path, d, v, unit, ratio, half()));
        }
    for (const p of JS_PATHS)
      for (const v of JS_VARIANTS) {
        figures.push(figure(engine, v, p.path, p.key, 0, p.unit, p.ns * (1 + 0.1 * rnd()), half()));
        if (v !== BASELINE)
          comparisons.push(comparison(engine, undefined, p.path, undefined, v, p.unit, 1, half()));
      }
  }
  const native: NativeFigure[] = [];
  for (const flavour of FLAVOURS) {
    const k = flavour === "plain" ? 1 : 3;
    for (const v of NATIVE_VARIANTS) {
      for (const d of DEGREES) {
        const ratio = v === "if-chain" ? (flavour === "plain" ? 1.1 : 0.4) : 1;
        const m = k * (12 + 2 * d) * ratio;
        native.push({
          flavour,
          path: "dispatch-floor",
          variant: v,
          degree: d,
          unit: CYCLES,
          median: m,
          lo: m * 0.98,
          hi: m * 1.02,
        });
        if (v !== BASELINE)
          comparisons.push(comparison("native", flavour, "dispatch-floor", d, v, CYCLES, ratio, half()));
      }
      for (const [path, c] of [
        ["page_pool01_fast_path", 4],
        ["page_pool03_slow", 15],
      ] as const)
        native.push({
          flavour,
          path,
          variant: v,
          degree: 1,
          unit: CYCLES,
          median: c * k,
          lo: c * k * 0.97,
          hi: c * k * 1.03,
        });
    }
  }
  return { comparisons, figures, native: { figures: native } };
}

/** Every sub-spec (a layer, a facet's spec, a concat member) of a vega-lite spec, depth first. */
function walk(s: unknown, out: Spec[] = []): Spec[] {
  if (!s || typeof s !== "object") return out;
  const o = s as Spec;
  out.push(o);
  for (const k of ["spec", "layer", "vconcat", "hconcat", "concat"])
    for (const c of ([] as unknown[]).concat(o[k] ?? [])) walk(c, out);
  return out;
}
const encodings = (s: Spec) =>
  walk(s).map((x) => (x.encoding ?? {}) as Record<string, Record<string, unknown>>);
/** Text of every <text> element of an SVG. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
const unentity = (t: string) => t.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe("charts from v2 results", () => {
  const r = synth();
  const specs = reportSpecs(r);

  test("the set: the ratio chart first, the degree charts (JS and native), one per-path chart per unit", () => {
    expect(specs.map((s) => s.name)).toEqual([
      RATIO_CHART,
      "dispatch",
      "dispatch-floor",
      "native-dispatch-floor",
      "paths-ns-per-element",
      "paths-ns-per-alloc-release",
      "paths-ns-per-buffer",
      "paths-ns-per-packet",
      "paths-cycles-per-alloc-release",
    ]);
  });

  test("every spec compiles with vega-lite and renders to SVG and PNG, no label truncated", async () => {
    const rendered = await renderReportCharts(r);
    expect(rendered.length).toBe(specs.length);
    for (const c of rendered) {
      expect(() => vl.compile(specs.find((s) => s.name === c.name)!.spec as never)).not.toThrow();
      expect(c.svg.startsWith("<svg")).toBe(true);
      expect(c.svg.trimEnd().endsWith("</svg>")).toBe(true);
      expect([...c.png.subarray(0, 8)]).toEqual(PNG_MAGIC);
      // IHDR: width and height (big-endian) follow the chunk header; twice the SVG's size.
      const dv = new DataView(c.png.buffer, c.png.byteOffset);
      const svgW = Number(/width="(\d+)"/.exec(c.svg)![1]);
      expect(dv.getUint32(16)).toBe(svgW * 2);
      expect(dv.getUint32(20)).toBeGreaterThan(100);
      expect(c.png.length).toBeGreaterThan(5000);
      // vega marks a label cut by its limit with an ellipsis
      expect(texts(c.svg).some((t) => t.includes("…"))).toBe(false);
      expect(c.svg).not.toContain("ns / op");
    }
  });

  test("the ratio chart: point at the estimate, a bar from ratio.lo to ratio.hi, a rule at 1, A/A twin drawn", async () => {
    const spec = specs[0].spec;
    const enc = encodings(spec);
    expect(enc.some((e) => e.y?.field === "lo" && e.y2?.field === "hi")).toBe(true);
    expect(enc.some((e) => e.y?.field === "estimate")).toBe(true);
    expect(enc.some((e) => e.y?.datum === 1)).toBe(true);
    const values = walk(spec).flatMap(
      (s) => (s.data as { values?: Array<Record<string, unknown>> })?.values ?? [],
    );
    // the interval bars carry the records' intervals
    const rec = r.comparisons.find(
      (c) => c.engine === "node" && c.path === "dispatch" && c.degree === 4 && c.variant === "if-chain",
    )!;
    expect(values).toContainEqual(
      expect.objectContaining({
        panel: "node",
        degree: 4,
        variant: "if-chain",
        lo: rec.ratio.lo,
        hi: rec.ratio.hi,
      }),
    );
    // one panel per engine and native flavour; the twin present everywhere, in grey
    expect(new Set(values.map((v) => v.panel))).toEqual(
      new Set(["bun", "node", "native plain", "native retpoline"]),
    );
    for (const p of ["bun", "node", "native plain"])
      expect(values.some((v) => v.panel === p && v.variant === AA_VARIANT)).toBe(true);
    const colour = enc.find((e) => e.color)!.color.scale as { domain: string[]; range: string[] };
    expect(colour.range[colour.domain.indexOf(AA_VARIANT)]).toBe("#9a9a9a");
    // non-sweep paths (per-path cells) are not in the per-degree chart
    expect(values.some((v) => v.path === "fast")).toBe(false);
    const svg = await renderSvg(spec);
    const t = texts(svg).map(unentity);
    for (const s of ["bun", "node", "native plain", "native retpoline", AA_VARIANT, "1.00"])
      expect(t).toContain(s);
    for (const d of DEGREES) expect(t).toContain(String(d));
  });

  test("units come from the records: axis titles, chart titles, native cycles", async () => {
    const titles = (s: Spec) =>
      encodings(s)
        .flatMap((e) => [e.x?.title, e.y?.title])
        .filter((x): x is string => typeof x === "string");
    const by = (n: string) => specs.find((s) => s.name === n)!.spec;
    expect(titles(by("dispatch"))).toContain("ns per alloc + release");
    expect(titles(by("native-dispatch-floor"))).toContain(CYCLES);
    expect(titles(by("paths-ns-per-buffer"))).toContain("ns per buffer");
    expect(titles(by("paths-ns-per-packet"))).toContain("ns per packet");
    expect(titles(by("paths-ns-per-element"))).toContain("ns per element");
    expect(titles(by("paths-cycles-per-alloc-release"))).toContain(CYCLES);
    // a unit no code knows is used as given
    const odd = synth(2);
    for (const f of odd.figures) if (f.path === "e2e") f.unit = "µs per frame";
    const s = reportSpecs(odd).find((c) => c.name === "paths-s-per-frame")!;
    expect(titles(s.spec)).toContain("µs per frame");
    const svg = texts(await renderSvg(s.spec)).map(unentity);
    expect(svg).toContain("µs per frame");
    // a path benched per provider is one bar per bench, by name
    expect(texts(await renderSvg(by("paths-ns-per-alloc-release")))).toEqual(
      expect.arrayContaining(["provider-slow:basic", "provider-slow:zcrx"]),
    );
  });

  test("panels that compare share one scale: one top-level value scale in the compiled vega", () => {
    const shared: Record<string, "x" | "y"> = {
      [RATIO_CHART]: "y",
      dispatch: "y",
      "dispatch-floor": "y",
      "native-dispatch-floor": "y",
      "paths-ns-per-element": "x",
      "paths-cycles-per-alloc-release": "x",
    };
    for (const [name, channel] of Object.entries(shared)) {
      const spec = specs.find((s) => s.name === name)!.spec;
      expect((spec.resolve as { scale: Record<string, string> }).scale[channel]).toBe("shared");
      // shared: the scale lives at the top of the compiled spec, not inside each facet cell
      const top = (vl.compile(spec as never).spec.scales ?? []).map((s) => s.name);
      expect(top).toContain(channel);
    }
  });

  test("noise on every figure: bands on the degree charts, interval bars on the path charts", () => {
    for (const s of specs.filter((c) => c.name !== RATIO_CHART)) {
      const enc = encodings(s.spec);
      const band = enc.some((e) => e.y?.field === "lo" && e.y2?.field === "hi");
      const bar = enc.some((e) => e.x?.field === "lo" && e.x2?.field === "hi");
      expect(band || bar).toBe(true);
    }
    const floor = specs.find((s) => s.name === "dispatch-floor")!.spec;
    const values = (floor.data as { values: LevelRow[] }).values;
    const direct = values.filter((v) => v.kind === "direct");
    expect(direct.length).toBe(2 * DEGREES.length); // the direct call, per engine and degree
    expect(direct.every((v) => v.hi > v.lo)).toBe(true);
  });

  test("the report embeds PNGs and links the SVGs; the ratio chart sits under the verdict grid", () => {
    expect(chartMarkdown("d", "ratio")).toBe("![ratio](d/ratio.png)\n\n[ratio.svg](d/ratio.svg)\n");
    const full = {
      ...r,
      schema: "pagepool-bench/2",
      startedAt: "",
      finishedAt: "",
      durationS: 1,
      mode: "quick",
      seed: 1,
      launches: 3,
      launchesRun: 3,
      budgetS: 1,
      burstMs: 1,
      command: "npm run bench -- --quick",
      machine: {
        cpu: "x",
        cores: 2,
        memoryGiB: 1,
        os: "Linux",
        arch: "x64",
        loadavgStart: [],
        loadavgEnd: [],
      },
      runtime: { bun: "", node: "", v8: "", webkit: "" },
      versions: {},
      providerSets: {},
      skippedProviders: [],
      headlines: [],
      targets: { target: 0.02, cells: 0, reached: 0, medianHalfWidth: 0, missed: [] },
      aa: [],
      accounting: [],
      failures: [],
    } as ResultsFile;
    const md = markdownReport(full, "run", ["ratio", "dispatch", "paths-ns-per-buffer"]);
    const at = (s: string) => md.indexOf(s);
    expect(at("![ratio](run/ratio.png)")).toBeGreaterThan(at("## Verdict"));
    expect(at("![ratio](run/ratio.png)")).toBeLessThan(at("## Charts"));
    expect(at("![dispatch](run/dispatch.png)")).toBeGreaterThan(at("## Charts"));
    expect(md).toContain("[paths-ns-per-buffer.svg](run/paths-ns-per-buffer.svg)");
    expect(md.match(/!\[ratio\]/g)!.length).toBe(1);
  });
});

describe("chart parts", () => {
  test("one colour per variant whatever else is present; the twin after the variants", () => {
    const a = variantScale(["if-chain", AA_VARIANT, BASELINE, "zz-new"]);
    const b = variantScale(["if-chain", "icall-pgo"]);
    const colourOf = (s: { domain: string[]; range: string[] }, v: string) => s.range[s.domain.indexOf(v)];
    expect(colourOf(a, "if-chain")).toBe(colourOf(b, "if-chain"));
    expect(a.domain).toEqual([BASELINE, "if-chain", "zz-new", AA_VARIANT]);
    expect(new Set(a.range).size).toBe(a.range.length);
  });

  test("value domain: every estimate inside, a wild interval cut at 1.5 x the outermost estimate", () => {
    const rows = [
      { median: 10, lo: 9, hi: 11 },
      { median: 20, lo: 2, hi: 2000 },
    ];
    expect(valueDomain(rows, { zero: true })).toEqual({ domain: [0, 30], cut: true });
    expect(valueDomain(rows.slice(0, 1), { zero: true })).toEqual({ domain: [0, 11], cut: false });
    const ratio = valueDomain([{ median: 0.8, lo: 0.7, hi: 0.9 }], { zero: false, include: 1 });
    expect(ratio).toEqual({ domain: [0.7, 1], cut: false });
    fc.assert(
      fc.property(
        fc.array(
          fc
            .tuple(
              fc.double({ min: 0.01, max: 1e6, noNaN: true }),
              fc.double({ min: 0, max: 0.99, noNaN: true }),
              fc.double({ min: 0, max: 100, noNaN: true }),
            )
            .map(([m, a, b]) => ({ median: m, lo: m * (1 - a), hi: m * (1 + b) })),
          { minLength: 1, maxLength: 30 },
        ),
        fc.boolean(),
        (rs, zero) => {
          const { domain, cut } = valueDomain(rs, { zero, include: zero ? undefined : 1 });
          const top = Math.max(...rs.map((x) => x.median), zero ? 0 : 1);
          for (const x of rs) expect(x.median >= domain[0] && x.median <= domain[1]).toBe(true);
          expect(domain[1]).toBeLessThanOrEqual(top * 1.5 * (1 + 1e-12));
          expect(cut).toBe(rs.some((x) => x.hi > domain[1] || x.lo < domain[0]));
        },
      ),
    );
  });

  test("a degree chart refuses figures in two units (they never share an axis)", () => {
    const row = (unit: string): LevelRow => ({
      panel: "bun",
      variant: BASELINE,
      degree: 1,
      median: 1,
      lo: 1,
      hi: 1,
      unit,
      kind: "measured",
    });
    expect(() => levelSpec([row("ns per element"), row("ns per buffer")], "t", [])).toThrow(
      /one unit per chart/,
    );
    expect(levelSpec([], "t", [])).toBeNull();
    expect(ratioSpec([])).toBeNull();
  });

  test("svgToPng: a PNG of twice the SVG's size", () => {
    const png = svgToPng(
      '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="red"/></svg>',
    );
    expect([...png.subarray(0, 8)]).toEqual(PNG_MAGIC);
    const dv = new DataView(png.buffer, png.byteOffset);
    expect([dv.getUint32(16), dv.getUint32(20)]).toEqual([80, 60]);
  });
});
