/**
 * The runner's pure logic on recorded results (bench/fixtures/records.json, values chosen by
 * hand so every expectation below is exact): merging across processes, the spread, the verdict
 * and its noise rule, the cost accounting, failure collection, argument parsing, and the report.
 * Nothing here measures time.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import floorFixture from "./fixtures/floor-records.json" with { type: "json" };
import fixture from "./fixtures/records.json" with { type: "json" };
import {
  accounting,
  type Figure,
  failures,
  floorRows,
  KERNEL_FIGURES,
  median,
  mergeRuns,
  NOISE_FLOOR,
  nullNoise,
  type RunRecord,
  relativeSpread,
  verdict,
  verdictLine,
} from "./lib/merge.ts";
import {
  floorTable,
  markdownReport,
  type ResultsFile,
  renderCharts,
  terminalSummary,
  verdictGrid,
} from "./lib/report.ts";
import { interleaving, interleavingCounts, packetSizes, SEQ_LEN } from "./lib/rng.ts";
import { parseArgs, setWanted } from "./run.ts";

const records = fixture.records as RunRecord[];
const figs = mergeRuns(records);
const fig = (engine: string, variant: string, id: string): Figure => {
  const f = figs.find((x) => x.engine === engine && x.variant === variant && x.id === id);
  if (!f) throw new Error(`no figure ${engine} ${variant} ${id}`);
  return f;
};

describe("mergeRuns", () => {
  test("one figure per (engine, variant, scenario, bench); processes counted", () => {
    const keys = new Set(records.map((r) => `${r.engine}|${r.variant}|${r.result.scenario}|${r.result.id}`));
    expect(figs.length).toBe(keys.size);
    expect(fig("bun", "ops-table", "fast").runs).toBe(3);
  });

  test("p50 and p75 are medians across processes, mean is the mean, spread the relative half-range", () => {
    const f = fig("bun", "ops-table", "fast"); // p50s 5, 5.2, 4.8
    expect(f.p50).toBe(5);
    expect(f.p75).toBeCloseTo(5 * 1.05, 10);
    expect(f.mean).toBeCloseTo(((5 + 5.2 + 4.8) / 3) * 1.1, 10);
    expect(f.spread).toBeCloseTo(0.04, 10);
    expect(f.perProcessP50).toEqual([5, 5.2, 4.8]);
  });

  test("numeric extras are merged by median, labels kept", () => {
    const f = fig("bun", "ops-table", "e2e");
    expect(f.extra.heapBytesPerMillionPackets).toBe(1100); // 1000, 1100, 1200
    expect(fig("bun", "ops-table", "sweep-8").synthetic).toBe(true);
    expect(fig("bun", "ops-table", "sweep-8").set).toBe("synthetic");
  });

  test("an errored process is left out of the figures and reported", () => {
    const f = fig("node", "if-chain", "zcrx");
    expect(f.runs).toBe(1);
    expect(f.errors).toEqual(["zcrx: audit failed"]);
    expect(Number.isNaN(f.spread)).toBe(true);
  });

  test("one process flagged optimised-out flags the figure", () => {
    expect(fig("node", "if-chain", "loop").optimisedOut).toBe(true);
    expect(fig("node", "ops-table", "fast").optimisedOut).toBe(false);
  });
});

describe("verdict", () => {
  const rows = verdict(figs);
  const row = (engine: string, id: string) => rows.find((r) => r.engine === engine && r.id === id)!;

  test("ratios to ops-table per engine and degree, with the noise rule", () => {
    const d2 = row("bun", "sweep-2"); // 42 vs median(100, 90, 110) = 100, spread ±10%
    expect(d2.ratio).toBeCloseTo(0.42, 10);
    expect(d2.noise).toBeCloseTo(0.1, 10);
    expect(d2.call).toBe("faster");
    expect(verdictLine(d2)).toBe(
      "if-chain / ops-table = 0.42x on bun dispatch at degree 2, p50; spread ±10% (faster)",
    );
    const d1 = row("node", "sweep-1"); // 120 vs 120: identical, spread below the floor
    expect(d1.ratio).toBeCloseTo(1, 10);
    expect(d1.noise).toBe(NOISE_FLOOR);
    expect(d1.call).toBe("inside noise");
    const d8 = row("node", "sweep-8");
    expect(d8.synthetic).toBe(true);
    expect(d8.call).toBe("faster");
    expect(verdictLine(d8)).toContain("at degree 8 (synthetic)");
    expect(row("bun", "fast").call).toBe("inside noise"); // 5 vs 5 ±4%
  });

  test("no row without a reference figure, none for the reference itself or an errored figure", () => {
    expect(rows.some((r) => r.id === "loop")).toBe(false);
    expect(rows.some((r) => r.id === "zcrx")).toBe(false);
    expect(rows.some((r) => r.variant === "ops-table")).toBe(false);
    expect(rows.length).toBe(8); // 2 engines x (fast, sweep-1, sweep-2, sweep-8)
  });

  test("identical code measuring apart widens the noise for that engine only (null noise)", () => {
    // node's if-chain fast path (identical code in every variant) measured 10% slower:
    const skewed = records.map((r) =>
      r.engine === "node" && r.variant === "if-chain" && r.result.id === "fast"
        ? { ...r, result: { ...r.result, perOp: { ...r.result.perOp, p50: r.result.perOp.p50 * 1.1 } } }
        : r,
    );
    const fs = mergeRuns(skewed);
    expect(nullNoise(fs).get("node")).toBeCloseTo(0.1, 10);
    expect(nullNoise(fs).get("bun")).toBe(0);
    const rows = verdict(fs);
    const d8 = (e: string) => rows.find((r) => r.engine === e && r.id === "sweep-8")!; // 0.90x
    expect(d8("node").noise).toBeCloseTo(0.1, 10);
    expect(d8("node").call).toBe("inside noise");
    expect(d8("bun").call).toBe("faster");
    expect(rows.find((r) => r.engine === "node" && r.id === "fast")!.call).toBe("inside noise");
  });

  test("the terminal grid has one row per engine, path and degree, baselines left out", () => {
    const grid = verdictGrid(verdict(figs)).split("\n");
    expect(grid).toHaveLength(1 + 8);
    expect(grid.some((l) => l.includes("baseline"))).toBe(false);
    const d2 = grid.find((l) => l.includes("bun") && l.includes("dispatch") && / 2 /.test(l))!;
    expect(d2).toContain("0.42x faster ±10%");
    expect(grid.find((l) => l.includes("bun") && l.includes("fast "))!).toContain("1.00x ≈ ±4%");
  });

  test("a single process gives 'noise unknown', never a call", () => {
    const one = mergeRuns(records.filter((r) => r.rep === 1));
    for (const r of verdict(one)) expect(r.call).toBe("noise unknown");
  });
});

describe("accounting", () => {
  test("model ratios against its baselines, beside the kernel's", () => {
    const rows = accounting(figs);
    const get = (engine: string, ratio: string) =>
      rows.find((r) => r.engine === engine && r.ratio === ratio)!;
    expect(get("bun", "fast / stack").model).toBeCloseTo(10, 10);
    expect(get("bun", "ring / fast").model).toBeCloseTo(3, 10);
    expect(get("node", "slow / fast").model).toBeCloseTo(10, 10);
    expect(get("bun", "provider-slow / direct").model).toBeCloseTo(1.5, 10);
    expect(get("bun", "e2e / fast").model).toBeCloseTo(6, 10);
    expect(get("bun", "ring / fast").kernel[0]).toBeCloseTo(15.8 / 5.49, 10);
    expect(get("bun", "slow / fast").kernel).toEqual(KERNEL_FIGURES.map((k) => k.slow / k.fast));
    expect(Number.isNaN(get("bun", "fast / stack").kernel[0])).toBe(true);
  });
});

describe("failures", () => {
  test("optimised-out flags and errors fail the run, each named", () => {
    const f = failures(figs);
    expect(f).toHaveLength(2);
    expect(f[0]).toContain("node if-chain baselines/loop: likely optimised out");
    expect(f[1]).toContain("node if-chain return-paths/zcrx: zcrx: audit failed");
  });
});

describe("statistics (properties)", () => {
  const pos = fc.array(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 30 });

  test("median lies within the values and ignores their order", () => {
    fc.assert(
      fc.property(pos, fc.integer(), (xs, seed) => {
        const m = median(xs);
        expect(m).toBeGreaterThanOrEqual(Math.min(...xs));
        expect(m).toBeLessThanOrEqual(Math.max(...xs));
        const ys = [...xs].sort(() => (seed & 1 ? 1 : -1));
        expect(median(ys)).toBe(m);
      }),
      { numRuns: 300 },
    );
  });

  test("spread is >= 0, zero for equal values, scale-invariant, NaN for one value", () => {
    fc.assert(
      fc.property(pos, fc.double({ min: 0.01, max: 100, noNaN: true }), (xs, k) => {
        const s = relativeSpread(xs);
        if (xs.length < 2) return expect(Number.isNaN(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(relativeSpread(xs.map((x) => x * k))).toBeCloseTo(s, 6);
        expect(relativeSpread(xs.map(() => xs[0]))).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  test("merge conserves processes; verdict calls follow the noise rule", () => {
    const rec = fc.record({
      engine: fc.constantFrom("bun", "node"),
      variant: fc.constantFrom("ops-table", "if-chain", "icall-wrapper"),
      id: fc.constantFrom("a", "b", "c"),
      p50: fc.double({ min: 0.1, max: 1000, noNaN: true }),
      error: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 60 }), (rs) => {
        const runs: RunRecord[] = rs.map((r, i) => ({
          engine: r.engine,
          variant: r.variant,
          set: "real",
          rep: i,
          result: {
            scenario: "s",
            id: r.id,
            path: r.id,
            degree: 0,
            ops: 1,
            label: r.id,
            synthetic: false,
            providers: [],
            iter: {
              avg: r.p50,
              p50: r.p50,
              p75: r.p50,
              p99: r.p50,
              min: r.p50,
              max: r.p50,
              samples: 1,
              ticks: 1,
            },
            perOp: { avg: r.p50, p50: r.p50, p75: r.p50, min: r.p50 },
            optimisedOut: false,
            extra: {},
            ...(r.error ? { error: "boom" } : {}),
          },
        }));
        const fs = mergeRuns(runs);
        expect(fs.reduce((a, f) => a + f.runs + f.errors.length, 0)).toBe(runs.length);
        for (const f of fs)
          if (f.runs > 0) {
            expect(f.p50).toBeGreaterThanOrEqual(Math.min(...f.perProcessP50));
            expect(f.p50).toBeLessThanOrEqual(Math.max(...f.perProcessP50));
          }
        for (const v of verdict(fs)) {
          if (v.call === "noise unknown") expect(Number.isNaN(v.noise)).toBe(true);
          else {
            expect(v.noise).toBeGreaterThanOrEqual(NOISE_FLOOR);
            expect(v.call === "inside noise").toBe(Math.abs(v.ratio - 1) <= v.noise);
            if (v.call === "faster") expect(v.ratio).toBeLessThan(1);
            if (v.call === "slower") expect(v.ratio).toBeGreaterThan(1);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("runner arguments (untrusted input)", () => {
  test("modes, lists and defaults", () => {
    const q = parseArgs([
      "--quick",
      "--engine",
      "node",
      "--variant",
      "if-chain,ops-table",
      "--json",
      "o.json",
    ]);
    expect(q.mode).toBe("quick");
    expect(q.reps).toBe(2);
    expect(q.engines).toEqual(["node"]);
    expect(q.variants).toEqual(["if-chain", "ops-table"]);
    expect(q.json).toBe("o.json");
    const d = parseArgs([]);
    expect(d.mode).toBe("default");
    expect(d.variants).toContain("icall-pgo");
    expect(parseArgs(["--no-pgo"]).variants).not.toContain("icall-pgo");
    expect(parseArgs(["--full", "--reps", "7"]).reps).toBe(7);
    expect(parseArgs(["--name", "sample"]).name).toBe("sample");
    expect(parseArgs(["--render", "bench/results/sample.json"]).render).toBe("bench/results/sample.json");
    expect(d.floor).toBe(true);
    expect(parseArgs(["--no-floor"]).floor).toBe(false);
  });

  test("--filter decides which provider sets are built and run", () => {
    const floorIds = ["dispatch-floor/floor-1", "dispatch-floor/floor-direct-1"];
    const floorPaths = ["dispatch-floor", "baseline:floor-direct"];
    const sweepIds = ["dispatch-sweep/sweep-8"];
    expect(setWanted(null, floorIds, floorPaths)).toBe(true);
    expect(setWanted("floor", floorIds, floorPaths)).toBe(true);
    expect(setWanted("floor", sweepIds, ["dispatch"])).toBe(false);
    expect(setWanted("^dispatch$", floorIds, floorPaths)).toBe(false);
    expect(setWanted("^dispatch$", sweepIds, ["dispatch"])).toBe(true);
    expect(setWanted("direct", floorIds, floorPaths)).toBe(true);
    expect(setWanted("paths", floorIds, floorPaths)).toBe(false);
  });

  test("bad input is refused with a message naming it", () => {
    expect(() => parseArgs(["--engine", "deno"])).toThrow(/unknown engine "deno"/);
    expect(() => parseArgs(["--variant", "switch"])).toThrow(/unknown variant "switch"/);
    expect(() => parseArgs(["--reps", "0"])).toThrow(/--reps/);
    expect(() => parseArgs(["--filter", "("])).toThrow();
    expect(() => parseArgs(["--json"])).toThrow(/needs a value/);
    expect(() => parseArgs(["--frobnicate"])).toThrow(/unknown argument --frobnicate/);
    expect(() => parseArgs(["--name", "../x"])).toThrow(/plain file name/);
  });

  test("any argv either parses to valid options or throws an Error", () => {
    const tok = fc.constantFrom(
      "--quick",
      "--full",
      "--engine",
      "--variant",
      "--filter",
      "--reps",
      "--seed",
      "--json",
      "--no-pgo",
      "--no-synthetic",
      "--no-floor",
      "bun",
      "node",
      "if-chain",
      "ops-table,icall-wrapper",
      "3",
      "-1",
      "x(",
      "",
    );
    fc.assert(
      fc.property(fc.array(tok, { maxLength: 8 }), (argv) => {
        let o: ReturnType<typeof parseArgs>;
        try {
          o = parseArgs(argv);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          return;
        }
        expect(["quick", "default", "full"]).toContain(o.mode);
        expect(o.reps).toBeGreaterThanOrEqual(1);
        for (const e of o.engines) expect(["bun", "node"]).toContain(e);
        expect(o.variants.length).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe("seeded sequences", () => {
  test("interleavings are deterministic, in range, and every pool is used", () => {
    for (const d of [1, 2, 4, 8, 16]) {
      const a = interleaving(d, 42);
      expect(a).toEqual(interleaving(d, 42));
      expect(Math.max(...a)).toBeLessThan(d);
      expect(interleavingCounts(a, d).every((c) => c > 0)).toBe(true);
      expect(interleavingCounts(a, d).reduce((x, y) => x + y, 0)).toBe(SEQ_LEN);
    }
    expect(() => interleaving(0, 1)).toThrow(RangeError);
  });

  test("packet sizes come from the mix only", () => {
    const s = packetSizes(7, 4096);
    for (const x of s) expect([64, 576, 1500]).toContain(x);
  });
});

describe("report", () => {
  const results: ResultsFile = {
    schema: "pagepool-bench/1",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    mode: "quick",
    seed: 42,
    reps: 3,
    command: "bun run bench --quick",
    machine: { cpu: "test cpu", cores: 2, memoryGiB: 4, os: "Linux", arch: "x64-linux" },
    versions: { bun: "1.4.4", node: "20" },
    providerSets: { real: ["basic"] },
    skippedProviders: [],
    figures: figs,
    verdict: verdict(figs),
    accounting: accounting(figs),
    failures: failures(figs),
  };

  test("charts render to SVG: one sweep chart and one path chart per engine", async () => {
    const charts = await renderCharts(figs);
    expect([...charts.keys()].sort()).toEqual([
      "bun-dispatch.svg",
      "bun-paths.svg",
      "node-dispatch.svg",
      "node-paths.svg",
    ]);
    for (const svg of charts.values()) {
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    }
    const sweep = charts.get("node-dispatch.svg")!;
    for (const v of ["ops-table", "if-chain"]) expect(sweep).toContain(v);
  });

  test("markdown and terminal summary carry the verdict, accounting, heap and failures", () => {
    const md = markdownReport(results, "charts", ["bun-dispatch.svg"]);
    expect(md).toContain("![bun-dispatch.svg](charts/bun-dispatch.svg)");
    expect(md).toContain("| bun | dispatch | 2 | **0.42x** faster (±10%) |");
    expect(md).toContain("| bun | dispatch | 1 | 1.00x ≈ (±2%) |");
    const verdictPart = md.slice(md.indexOf("## Verdict"), md.indexOf("## Charts"));
    expect(verdictPart).not.toContain("baseline:");
    expect(md).toContain("| bun | ops-table | 1100 | – | – |");
    expect(md).toContain("## FAILED");
    expect(md).toContain("test cpu, 2 cores");
    const t = terminalSummary(results);
    expect(t).toContain(
      "if-chain / ops-table = 0.42x on bun dispatch at degree 2, p50; spread ±10% (faster)",
    );
    expect(t).toContain("heap growth bun ops-table: 1100 bytes per million packets allocated");
    expect(t).toContain("FAILED:");
  });
});

describe("dispatch floor", () => {
  const ffigs = mergeRuns(floorFixture.records as RunRecord[]);

  test("one row per engine and degree: each variant beside the direct call at that degree", () => {
    const rows = floorRows(ffigs);
    expect(rows.map((r) => [r.engine, r.degree])).toEqual([
      ["bun", 1],
      ["bun", 2],
    ]);
    const [d1, d2] = rows;
    expect(d1.direct).toBe(5);
    expect(d1.cells["ops-table"].p50).toBe(14); // 14, 13, 15
    expect(d1.cells["ops-table"].spread).toBeCloseTo(1 / 14, 10);
    expect(d1.cells["ops-table"].overDirect).toBe(9);
    expect(d1.cells["if-chain"].overDirect).toBe(11);
    // the direct call is identical code in every build: the median across the variants' figures
    expect(d2.direct).toBeCloseTo(6.1, 10);
    expect(d2.cells["if-chain"].overDirect).toBeCloseTo(11.9, 10);
    expect(floorRows(figs)).toEqual([]); // no floor figures, no rows
  });

  test("the direct call calibrates the null noise; the floor points get verdict rows", () => {
    // |6.2 / 6 - 1| at degree 2, 0 at degree 1: median 1/60
    expect(nullNoise(ffigs).get("bun")).toBeCloseTo(1 / 60, 10);
    const rows = verdict(ffigs);
    expect(rows.map((r) => r.id).sort()).toEqual(["floor-1", "floor-2", "floor-direct-1", "floor-direct-2"]);
    const f1 = rows.find((r) => r.id === "floor-1")!;
    expect(f1.ratio).toBeCloseTo(16 / 14, 10);
    expect(f1.noise).toBeCloseTo(1 / 14, 10); // ops-table's spread beats the null noise and the floor
    expect(f1.call).toBe("slower");
    const f2 = rows.find((r) => r.id === "floor-2")!;
    expect(f2.noise).toBe(NOISE_FLOOR);
    expect(f2.call).toBe("faster");
    expect(verdictLine(f2)).toBe(
      "if-chain / ops-table = 0.90x on bun dispatch-floor at degree 2 (synthetic), p50; spread ±2% (faster)",
    );
    const grid = verdictGrid(rows).split("\n");
    expect(grid).toHaveLength(1 + 2); // the direct call is a baseline: left out
  });

  test("report: a floor table, a floor chart per engine with the direct line, the terminal lines", async () => {
    const rows = floorRows(ffigs);
    const table = floorTable(rows).split("\n");
    expect(table[0]).toBe("| engine | degree | direct call | ops-table | if-chain |");
    expect(table[2]).toBe("| bun | 1 | 5.00 | 14.00 ±7% (+9.00) | 16.00 ±0% (+11.00) |");
    expect(table[3]).toBe("| bun | 2 | 6.10 | 20.00 ±0% (+13.90) | 18.00 ±0% (+11.90) |");
    const charts = await renderCharts(ffigs);
    expect([...charts.keys()]).toEqual(["bun-dispatch-floor.svg"]);
    const svg = charts.get("bun-dispatch-floor.svg")!;
    expect(svg.startsWith("<svg")).toBe(true);
    for (const t of ["ops-table", "if-chain", "direct call (no dispatcher)", "dispatch floor"])
      expect(svg).toContain(t);
    const results: ResultsFile = {
      schema: "pagepool-bench/1",
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:01:00.000Z",
      mode: "quick",
      seed: 42,
      reps: 3,
      command: "bun run bench --quick --filter floor",
      machine: { cpu: "test cpu", cores: 2, memoryGiB: 4, os: "Linux", arch: "x64-linux" },
      versions: {},
      providerSets: { floor: ["floor-01", "floor-02"] },
      skippedProviders: [],
      figures: ffigs,
      verdict: verdict(ffigs),
      accounting: [],
      failures: [],
    };
    const md = markdownReport(results, "charts", ["bun-dispatch-floor.svg"]);
    expect(md).toContain("## Dispatch floor");
    expect(md).toContain(table[2]);
    expect(md).toContain("| bun | dispatch-floor | 2 (synthetic) | **0.90x** faster (±2%) |");
    expect(md.indexOf("## Dispatch floor")).toBeLessThan(md.indexOf("## Charts"));
    expect(markdownReport({ ...results, figures: figs }, "c", [])).not.toContain("## Dispatch floor");
    const t = terminalSummary(results);
    expect(t).toContain("Dispatch floor");
    expect(t).toMatch(/bun {4}2 {6}6\.10 {5}18\.00 \(\+11\.90\) {6}20\.00 \(\+13\.90\)/);
    expect(t).toContain("if-chain / ops-table = 0.90x on bun dispatch-floor at degree 2 (synthetic)");
  });
});
