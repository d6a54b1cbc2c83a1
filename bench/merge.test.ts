/**
 * The runner's pure logic on recorded results (bench/fixtures/records.json, values chosen by
 * hand so every expectation below is exact): merging across processes, the spread, the cost
 * accounting, failure collection, argument parsing, the floor rows and the charts. The verdict
 * itself (paired intervals) is tested in lib/stats.test.ts, lib/schedule.test.ts and report.test.ts.
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
  type RunRecord,
  relativeSpread,
} from "./lib/merge.ts";
import { floorTable } from "./lib/report.ts";
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

  test("merge conserves processes; the median lies within the processes", () => {
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
    expect(q.launches).toBe(3);
    expect(q.engines).toEqual(["node"]);
    expect(q.variants).toEqual(["if-chain", "ops-table"]);
    expect(q.json).toBe("o.json");
    const d = parseArgs([]);
    expect(d.mode).toBe("default");
    expect(d.variants).toContain("icall-pgo");
    expect(q.variants).toEqual(["if-chain", "ops-table"]);
    expect(parseArgs(["--variant", "if-chain"]).variants).toEqual(["ops-table", "if-chain"]);
    expect(parseArgs(["--quick"]).variants).toEqual(["ops-table", "if-chain"]);
    expect(d.engines).toEqual(["bun", "node", "native"]);
    expect(d.enginesExplicit).toBe(false);
    expect(d.target).toBe(0.02);
    expect(parseArgs(["--target", "0.05", "--budget", "60"]).budgetS).toBe(60);
    expect(parseArgs(["--target=0.05"]).target).toBe(0.05);
    expect(parseArgs(["--no-pgo"]).variants).not.toContain("icall-pgo");
    expect(parseArgs(["--full", "--launches", "7"]).launches).toBe(7);
    expect(parseArgs(["--full"]).launches).toBe(6);
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
    expect(() => parseArgs(["--engine", "deno"])).toThrow(/--engine unknown value "deno"/);
    expect(() => parseArgs(["--variant", "switch"])).toThrow(/--variant unknown value "switch"/);
    expect(() => parseArgs(["--launches", "0"])).toThrow(/--launches/);
    expect(() => parseArgs(["--reps", "3"])).toThrow(/--reps/);
    expect(() => parseArgs(["--target", "2"])).toThrow(/--target/);
    expect(() => parseArgs(["--quick", "--full"])).toThrow(/exclude/);
    expect(() => parseArgs(["--filter", "("])).toThrow(/--filter/);
    expect(() => parseArgs(["--json"])).toThrow(/--json/);
    expect(() => parseArgs(["--frobnicate"])).toThrow(/--frobnicate/);
    expect(() => parseArgs(["--name", "../x"])).toThrow(/--name must be a plain file name/);
  });

  test("any argv either parses to valid options or throws an Error", () => {
    const tok = fc.constantFrom(
      "--quick",
      "--full",
      "--engine",
      "--variant",
      "--filter",
      "--launches",
      "--target",
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
        expect(o.launches).toBeGreaterThanOrEqual(1);
        expect(o.target > 0 && o.target < 1).toBe(true);
        for (const e of o.engines) expect(["bun", "node", "native"]).toContain(e);
        expect(o.variants).toContain("ops-table");
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

  test("report: a floor table, each variant beside the direct call", () => {
    const rows = floorRows(ffigs);
    const table = floorTable(rows).split("\n");
    expect(table[0]).toBe("| engine | degree | direct call | ops-table | if-chain |");
    expect(table[2]).toBe("| bun | 1 | 5.00 | 14.00 ±7% (+9.00) | 16.00 ±0% (+11.00) |");
    expect(table[3]).toBe("| bun | 2 | 6.10 | 20.00 ±0% (+13.90) | 18.00 ±0% (+11.90) |");
  });
});
