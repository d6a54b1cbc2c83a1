/**
 * The paired schedule against a synthetic machine (no timing is measured): the machine's speed
 * jumps between levels every few bursts and drifts, each process has its own layout factor, and
 * the variants' true costs are known. A real 8% difference must be called, an identical twin must
 * read "≈" in at least 95% of cells, and the plan must run every process equally often.
 */

import { describe, expect, test } from "bun:test";
import { blockSliceEnd, NON_DISPATCH_WEIGHT, weightOf } from "../run.ts";
import { AA_VARIANT, BASELINE } from "./comparison.ts";
import { mulberry32 } from "./rng.ts";
import { type Burster, planRound, runRound, Samples, sampleId, summarise } from "./schedule.ts";
import type { BenchMeta } from "./serve.ts";
import { falseCallRate } from "./stats.ts";

/**
 * A machine whose speed level changes every ~6 bursts and drifts slowly upward. Each launch
 * gives each process a layout factor per bench (sd `layoutSd`: code layout and JIT decisions are
 * per function; in the first quick runs on this VM identical-code benches of one process pair
 * leaned different ways in the same launch) and a small one for the whole process (sd 0.005).
 */
function machine(
  seed: number,
  cost: Record<string, number>,
  layoutSd: number,
): Burster & { relaunch(): void } {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  const levels = [1, 1.35, 1.8];
  let level = 1;
  let t = 0;
  let whole: Record<string, number> = {};
  const layout = new Map<string, number>();
  const relaunch = () => {
    whole = Object.fromEntries(Object.keys(cost).map((v) => [v, Math.exp(0.005 * gauss())]));
    layout.clear();
  };
  relaunch();
  return {
    relaunch,
    async burst(variant: string, key: string) {
      if (r() < 1 / 6) level = levels[Math.floor(r() * levels.length)];
      t++;
      const k = `${variant}|${key}`;
      if (!layout.has(k)) layout.set(k, Math.exp(layoutSd * gauss()));
      const drift = 1 + t * 1e-5;
      return cost[variant] * whole[variant] * layout.get(k)! * level * drift * (1 + 0.03 * gauss());
    },
  };
}

const meta = (key: string, degree: number): BenchMeta => ({
  key,
  scenario: "dispatch-floor",
  id: key.split("/")[1],
  path: "dispatch-floor",
  degree,
  ops: 64,
  label: key,
  synthetic: true,
  providers: [],
});

async function simulate(seed: number, launches: number, rounds: number, layoutSd: number) {
  const keys = [1, 2, 3, 4, 5, 6, 8, 9, 12, 16].map((d) => `dispatch-floor/floor-${d}`);
  const m = machine(seed, { [BASELINE]: 10, "if-chain": 9.2, [AA_VARIANT]: 10 }, layoutSd);
  const samples = new Samples();
  const rand = mulberry32(seed ^ 0x9e37);
  for (let l = 0; l < launches; l++) {
    m.relaunch();
    for (let k = 0; k < rounds; k++)
      await runRound(m, planRound(keys, ["if-chain", AA_VARIANT], rand), "node|floor", l, samples);
  }
  const metas = new Map([
    ["node|floor", new Map(keys.map((k, i) => [k, meta(k, [1, 2, 3, 4, 5, 6, 8, 9, 12, 16][i])]))],
  ]);
  return { samples, ...summarise({ samples, metas, target: 0.02, seed }) };
}

describe("paired schedule", () => {
  test("a round visits every bench once, every process once per half, in shuffled orders", () => {
    const rand = mulberry32(3);
    const firsts = new Set<string>();
    for (let k = 0; k < 50; k++) {
      const steps = planRound(["a", "b", "c"], ["x", "y"], rand);
      expect(steps.map((s) => s.key).sort()).toEqual(["a", "b", "c"]);
      for (const s of steps) {
        expect([...s.order].sort()).toEqual([BASELINE, "x", "y"].sort());
        firsts.add(s.order[0]);
      }
    }
    expect(firsts.size).toBe(3);
  });

  test("the palindrome: every process runs the same bursts; one geometric pair ratio per variant", async () => {
    const seen: string[] = [];
    const t: Record<string, number[]> = { [BASELINE]: [10, 40], v: [20, 20], w: [5, 5] };
    const b: Burster = {
      burst: async (v) => {
        seen.push(v);
        return t[v][seen.filter((x) => x === v).length - 1];
      },
    };
    const s = new Samples();
    await runRound(b, [{ key: "k", order: [BASELINE, "v", "w"] }], "bun|real", 0, s);
    expect(seen).toEqual([BASELINE, "v", "w", "w", "v", BASELINE]);
    expect(s.groups(sampleId("bun|real", "k", "v"))).toEqual([[1]]); // sqrt(20*20 / (10*40))
    expect(s.groups(sampleId("bun|real", "k", "w"))).toEqual([[0.25]]);
    expect(s.bursts.get(sampleId("bun|real", "k", BASELINE))?.[0]).toEqual([10, 40]);
  });

  test("a linear drift across the round cancels", async () => {
    let i = 0;
    const b: Burster = { burst: async (v) => (v === "v" ? 11 : 10) * (1 + 0.01 * i++) };
    const s = new Samples();
    await runRound(b, [{ key: "k", order: ["v", BASELINE] }], "bun|real", 0, s);
    // v at t=0 and t=3, ops-table at t=1 and t=2: 1.1 * sqrt(1.03 / (1.01 * 1.02)) = 1.1 * 0.99995
    expect(s.groups(sampleId("bun|real", "k", "v"))[0][0]).toBeCloseTo(1.1, 3);
  });

  test("a burst that measured no time fails the round instead of becoming a sample", async () => {
    const b: Burster = { burst: async () => 0 };
    await expect(
      runRound(b, [{ key: "k", order: [BASELINE, "v"] }], "bun|real", 0, new Samples()),
    ).rejects.toThrow(/no time/);
  });

  test("through a bimodal, drifting machine: a real 8% speed-up is called, the identical twin reads ≈", async () => {
    const aaCalls: string[] = [];
    let detected = 0;
    let cells = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { comparisons } = await simulate(seed, 3, 15, 0.015);
      for (const c of comparisons) {
        if (c.aa) aaCalls.push(c.call);
        else {
          cells++;
          if (c.call === "faster") detected++;
        }
        expect(c.ratio.launches).toBe(3);
        expect(c.ratio.pairs).toBe(15 * 3);
      }
    }
    expect(falseCallRate(aaCalls as ("faster" | "slower" | "≈")[])).toBeLessThanOrEqual(0.05);
    expect(detected / cells).toBeGreaterThanOrEqual(0.9);
  });

  test("summarise gives every cell an interval, units and medians, and levels per variant", async () => {
    const { comparisons, figures } = await simulate(5, 2, 5, 0.01);
    expect(comparisons.length).toBe(20);
    for (const c of comparisons) {
      expect(c.unit).toBe("ns per alloc + release");
      expect(c.ratio.lo).toBeLessThan(c.ratio.hi);
      expect(c.baselineMedian).toBeGreaterThan(0);
      expect(typeof c.reachedTarget).toBe("boolean");
    }
    expect(figures.length).toBe(30);
    expect(figures.every((f) => f.runs === 2 && f.ci.logSE > 0)).toBe(true);
  });
});

describe("a launch's time shares (blockSliceEnd)", () => {
  /**
   * One launch: a first block of 15 benches (the paths block), then 11 blocks of one (the
   * degrees), each bench costing 0.5 ms of warm-up and calibration before its block's rounds, and
   * a 60 ms deadline. Returns the measuring time each block gets per bench, with the runner's
   * rule (reserve this launch's mean prepare time per bench so far for every bench still ahead)
   * or without a reserve.
   */
  function launch(reserve: boolean): number[] {
    const keys = [15, ...Array<number>(11).fill(1)];
    const deadline = 60;
    let now = 0;
    let prepMs = 0;
    let prepared = 0;
    const got: number[] = [];
    for (let b = 0; b < keys.length; b++) {
      now += 0.5 * keys[b];
      prepMs += 0.5 * keys[b];
      prepared += keys[b];
      const ahead = keys.slice(b + 1).reduce((a, x) => a + x, 0);
      const reserveMs = reserve ? (prepMs / prepared) * ahead : 0;
      const end = Math.max(now, blockSliceEnd(now, deadline, reserveMs, keys[b], keys[b] + ahead));
      got.push((end - now) / keys[b]);
      now = end;
    }
    return got;
  }

  test("with the fixed costs ahead reserved, every bench gets the same share, the last ones too", () => {
    const got = launch(true); // prepares take 13 of the 60 ms: 47 / 26 each
    for (const g of got) expect(g).toBeCloseTo(47 / 26, 6);
  });

  test("without the reserve the first blocks take the time the last ones' prepares need", () => {
    const got = launch(false);
    expect(got[0]).toBeGreaterThan(47 / 26);
    expect(got.at(-1)).toBeLessThan(0.3 * (47 / 26)); // a short slice: MIN_ROUNDS in a real launch
  });
});

describe("time shares by cell weight (weightOf)", () => {
  test("a dispatch bench weighs 1, any other bench NON_DISPATCH_WEIGHT (below 1)", () => {
    const metas = new Map([
      ["paths/fast", { path: "fast" }],
      ["paths/ring", { path: "ring" }],
      ["dispatch-sweep/sweep-2", { path: "dispatch" }],
      ["dispatch-floor/floor-2", { path: "dispatch-floor" }],
      ["paths/provider-slow:zcrx", { path: "provider-slow" }],
    ]);
    expect(NON_DISPATCH_WEIGHT).toBeLessThan(1);
    expect(
      weightOf(["dispatch-sweep/sweep-2", "dispatch-floor/floor-2", "paths/provider-slow:zcrx"], metas),
    ).toBe(3);
    expect(weightOf(["paths/fast", "paths/ring"], metas)).toBeCloseTo(2 * NON_DISPATCH_WEIGHT, 12);
    expect(weightOf(["paths/fast", "dispatch-sweep/sweep-2"], metas)).toBeCloseTo(
      1 + NON_DISPATCH_WEIGHT,
      12,
    );
  });
});
