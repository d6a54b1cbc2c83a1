/**
 * The verdict statistics on seeded synthetic timings: a known effect must be called, identical
 * distributions must read "≈" (at most 5% false calls), and launch-level variance must widen the
 * interval instead of being averaged away. No timing is measured here.
 */
import { describe, expect, test } from "bun:test";
import { mulberry32 } from "./rng.ts";
import { type Call, callOf, falseCallRate, MIN_EFFECT, pairedRatioCI } from "./stats.ts";

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
