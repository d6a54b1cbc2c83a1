/**
 * The verdict statistics on seeded synthetic timings: a known effect must be called, identical
 * distributions must read "≈" (at most 5% false calls), and launch-level variance must widen the
 * interval instead of being averaged away. No timing is measured here.
 */
import { describe, expect, test } from "bun:test";
import { mulberry32 } from "./rng.ts";
import {
  type Call,
  callOf,
  describeRatio,
  falseCallRate,
  launchCorrectedCI,
  launchSummary,
  MIN_EFFECT,
  pairedRatioCI,
  poolLaunchVariance,
  twoSampleRatioCI,
} from "./stats.ts";

/**
 * Synthetic paired bursts on a machine whose speed jumps between levels (as this project's 2-core
 * VM does every few tens of ms): both bursts of a pair see the same level; each burst has its own
 * ±3% jitter; each launch has its own layout factor on B (sd `launchSd`).
 */
function synth(seed: number, effect: number, launches: number, pairs: number, launchSd = 0): number[][] {
  const r = mulberry32(seed);
  const levels = [1, 1.35, 1.8];
  const gauss = () => {
    const u = Math.max(r(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  };
  const out: number[][] = [];
  for (let l = 0; l < launches; l++) {
    const layout = Math.exp(launchSd * gauss());
    const g: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const level = levels[Math.floor(r() * levels.length)];
      const a = 10 * level * (1 + 0.03 * gauss());
      const b = 10 * effect * layout * level * (1 + 0.03 * gauss());
      g.push(b / a);
    }
    out.push(g);
  }
  return out;
}

describe("pairedRatioCI", () => {
  test("detects a known 8% slowdown through a bimodal machine", () => {
    const ci = pairedRatioCI(synth(7, 1.08, 4, 60));
    expect(ci.lo).toBeGreaterThan(1);
    expect(ci.estimate).toBeGreaterThan(1.05);
    expect(ci.estimate).toBeLessThan(1.11);
    expect(callOf(ci)).toBe("slower");
    expect(ci.pairs).toBe(240);
    expect(ci.launches).toBe(4);
  });

  test("detects a known 10% speed-up", () => {
    const ci = pairedRatioCI(synth(11, 0.9, 3, 60));
    expect(ci.hi).toBeLessThan(1);
    expect(callOf(ci)).toBe("faster");
  });

  test("identical code reads ≈ in at least 95% of seeded A/A comparisons", () => {
    const calls: Call[] = [];
    for (let s = 1; s <= 200; s++)
      calls.push(callOf(pairedRatioCI(synth(s, 1, 3, 40), { resamples: 400, seed: s })));
    expect(falseCallRate(calls)).toBeLessThanOrEqual(0.05);
  });

  test("an effect inside the interval but below the minimum effect is ≈", () => {
    // A real 1% difference, measured very precisely: the interval excludes 1, the effect is too small to call.
    const ci = pairedRatioCI(synth(3, 1.01, 6, 400));
    expect(ci.lo).toBeGreaterThan(1);
    expect(ci.estimate).toBeLessThan(1 + MIN_EFFECT);
    expect(callOf(ci)).toBe("≈");
  });

  test("launch-level variance widens the interval (it is not averaged away by many pairs)", () => {
    const flat = pairedRatioCI(synth(5, 1, 4, 200, 0));
    const layered = pairedRatioCI(synth(5, 1, 4, 200, 0.05));
    expect(layered.halfWidth).toBeGreaterThan(2 * flat.halfWidth);
  });

  test("the same input and seed give the same interval", () => {
    const data = synth(9, 1.03, 3, 30);
    expect(pairedRatioCI(data, { seed: 4 })).toEqual(pairedRatioCI(data, { seed: 4 }));
  });

  test("refuses empty input and non-positive ratios", () => {
    expect(() => pairedRatioCI([])).toThrow(RangeError);
    expect(() => pairedRatioCI([[]])).toThrow(/no burst pairs/);
    expect(() => pairedRatioCI([[1, 0]])).toThrow(/positive finite/);
    expect(() => pairedRatioCI([[1, Number.NaN]])).toThrow(/positive finite/);
    expect(() => pairedRatioCI([[1]], { level: 1 })).toThrow(/level/);
  });
});

describe("launchCorrectedCI (pooled between-launch variance)", () => {
  /** Cells of one engine: `n` cells of synthetic bursts, `launches` launches each. */
  const cells = (
    seed: number,
    n: number,
    effect: number,
    launches: number,
    pairs: number,
    launchSd: number,
  ) => Array.from({ length: n }, (_, i) => synth(seed * 1000 + i, effect, launches, pairs, launchSd));

  test("identical code reads ≈ in at least 95% of cells with few launches and launch-level noise", () => {
    const calls: Call[] = [];
    for (let s = 1; s <= 4; s++) {
      const cs = cells(s, 50, 1, 3, 30, 0.02);
      const pooled = poolLaunchVariance(cs.map((g, i) => launchSummary(g, i + 1, 150)));
      expect(pooled.df).toBe(100);
      for (const [i, g] of cs.entries())
        calls.push(callOf(launchCorrectedCI(g, { pooled, seed: i + 1, resamples: 150 })));
    }
    expect(falseCallRate(calls)).toBeLessThanOrEqual(0.05);
  });

  test("a real 6% slowdown is called in most cells at the same noise, and its interval is narrower than Student-t's", () => {
    const cs = cells(9, 30, 1.06, 3, 30, 0.02);
    const pooled = poolLaunchVariance(cs.map((g, i) => launchSummary(g, i + 1, 150)));
    const cis = cs.map((g, i) => launchCorrectedCI(g, { pooled, seed: i + 1, resamples: 150 }));
    const called = cis.filter((c) => callOf(c) === "slower").length;
    expect(called).toBeGreaterThanOrEqual(24);
    // Student-t over 3 launch medians (2 df: t = 4.30) for comparison.
    const tWidths = cs.map((g) => {
      const m = g.map((l) => Math.log(l.slice().sort((a, b) => a - b)[l.length >> 1]));
      const mean = m.reduce((a, x) => a + x, 0) / m.length;
      const sd = Math.sqrt(m.reduce((a, x) => a + (x - mean) ** 2, 0) / (m.length - 1));
      return (4.3 * sd) / Math.sqrt(m.length);
    });
    const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
    expect(med(cis.map((c) => c.halfWidth))).toBeLessThan(med(tWidths));
  });

  test("a cell whose own launches disagree keeps a wide interval (shrinkage does not hide it)", () => {
    const quiet = cells(3, 20, 1, 3, 30, 0);
    const pooled = poolLaunchVariance(quiet.map((g, i) => launchSummary(g, i + 1, 150)));
    const wild = synth(77, 1, 3, 30, 0.15);
    const ci = launchCorrectedCI(wild, { pooled, seed: 1, resamples: 150 });
    const calm = launchCorrectedCI(quiet[0], { pooled, seed: 1, resamples: 150 });
    expect(ci.halfWidth).toBeGreaterThan(2 * calm.halfWidth);
  });

  test("the same input and seed give the same interval; one launch without a pool is its within-launch interval", () => {
    const g = synth(4, 1.05, 2, 40);
    expect(launchCorrectedCI(g, { seed: 3 })).toEqual(launchCorrectedCI(g, { seed: 3 }));
    const one = launchCorrectedCI([g[0]], { seed: 3 });
    expect(one.launches).toBe(1);
    expect(one.lo).toBeLessThan(one.estimate);
    expect(one.hi).toBeGreaterThan(one.estimate);
  });

  test("twoSampleRatioCI: ratio of two log-normal figures, interval from both standard errors", () => {
    const ci = twoSampleRatioCI({ estimate: 10, logSE: 0.03 }, { estimate: 11, logSE: 0.04 });
    expect(ci.estimate).toBeCloseTo(1.1, 10);
    expect(ci.logSE).toBeCloseTo(0.05, 10);
    expect(ci.lo).toBeCloseTo(1.1 * Math.exp(-1.96 * 0.05), 3);
    expect(() => twoSampleRatioCI({ estimate: 0, logSE: 0 }, { estimate: 1, logSE: 0 })).toThrow(RangeError);
  });

  test("describeRatio states the change and its interval the way the headline does", () => {
    expect(describeRatio({ estimate: 0.92, lo: 0.89, hi: 0.95 }, "faster")).toBe("8% faster (95% CI 5–11%)");
    expect(describeRatio({ estimate: 1.1, lo: 1.05, hi: 1.16 }, "slower")).toBe("10% slower (95% CI 5–16%)");
    expect(describeRatio({ estimate: 1.0, lo: 0.98, hi: 1.03 }, "≈")).toBe("≈ (−2 to +3%)");
  });
});
