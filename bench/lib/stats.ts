/**
 * The statistics behind every verdict: a confidence interval on the ratio of two variants measured
 * in paired, interleaved bursts, and the rule that turns it into "faster" / "slower" / "≈".
 *
 * Input shape: `groups[l][i]` is the ratio time(B) / time(A) of the i-th adjacent burst pair in
 * process launch l (B and A measured back to back, in randomized order, so both saw the same
 * machine state). Pairs within a launch share that launch's code layout and JIT decisions, so they
 * are not independent of each other: the interval comes from a two-level (hierarchical) bootstrap
 * that resamples launches, then pairs within each drawn launch (Kalibera and Jones, "Rigorous
 * Benchmarking in Reasonable Time", ISMM 2013, section on multi-level repetition; Ren et al.,
 * "Hierarchical bootstrap", 2010). With one launch it reduces to the plain pair bootstrap.
 *
 * The statistic is the median of log ratios (a ratio of 1.25 and one of 0.8 are equally far from
 * 1), reported back as a ratio. Medians shrug off the few bursts a context switch lands in. The
 * percentile interval is used: the statistic is a median, for which BCa's jackknife is unstable.
 * Resampling and medians come from simple-statistics; the generator is seeded, so a results file
 * reproduces its own intervals exactly.
 */
import { median, quantileSorted, sampleWithReplacement } from "simple-statistics";
import { mulberry32 } from "./rng.ts";

export interface RatioCI {
  /** Point estimate: exp(median of log ratios). Below 1: B is faster than A. */
  estimate: number;
  /** Lower and upper bounds of the confidence interval, as ratios. */
  lo: number;
  hi: number;
  /** Confidence level of [lo, hi], e.g. 0.95. */
  level: number;
  /** Half the interval's width relative to the estimate: ±0.02 reads "±2%". */
  halfWidth: number;
  /** Pairs and launches the estimate rests on. */
  pairs: number;
  launches: number;
}

export interface CIOptions {
  /** Confidence level (default 0.95). */
  level?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Seed of the resampling generator (default 1). */
  seed?: number;
}

/** The smallest effect a verdict calls: below 2% the answer is "≈" even when the interval is tight. */
export const MIN_EFFECT = 0.02;

export type Call = "faster" | "slower" | "≈";

function logs(groups: readonly (readonly number[])[]): number[][] {
  const out: number[][] = [];
  for (const g of groups) {
    const lg: number[] = [];
    for (const r of g) {
      if (!(r > 0) || !Number.isFinite(r))
        throw new RangeError(`a burst ratio must be a positive finite number, got ${r}`);
      lg.push(Math.log(r));
    }
    if (lg.length > 0) out.push(lg);
  }
  return out;
}

/**
 * Median pair ratio with a hierarchical-bootstrap confidence interval. Throws a RangeError on no
 * data or a ratio that is not a positive finite number (a zero or NaN time is a measuring bug, not
 * a sample).
 */
export function pairedRatioCI(groups: readonly (readonly number[])[], opts: CIOptions = {}): RatioCI {
  const level = opts.level ?? 0.95;
  const resamples = opts.resamples ?? 2000;
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  if (!Number.isInteger(resamples) || resamples < 100)
    throw new RangeError(`resamples must be an integer >= 100, got ${resamples}`);
  const g = logs(groups);
  const pairs = g.reduce((s, x) => s + x.length, 0);
  if (pairs === 0) throw new RangeError("no burst pairs to estimate a ratio from");
  const pooled = g.flat();
  const est = median(pooled);
  const rand = mulberry32(opts.seed ?? 1);
  const stats = new Array<number>(resamples);
  const scratch: number[] = [];
  for (let b = 0; b < resamples; b++) {
    scratch.length = 0;
    // Level 1: launches with replacement (only when there are several to draw from).
    const drawn = g.length > 1 ? sampleWithReplacement(g, g.length, rand) : g;
    // Level 2: pairs with replacement within each drawn launch.
    for (const launch of drawn)
      for (const x of sampleWithReplacement(launch, launch.length, rand)) scratch.push(x);
    stats[b] = median(scratch);
  }
  stats.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  const lo = Math.exp(quantileSorted(stats, alpha));
  const hi = Math.exp(quantileSorted(stats, 1 - alpha));
  const estimate = Math.exp(est);
  return {
    estimate,
    lo,
    hi,
    level,
    halfWidth: (hi - lo) / 2 / estimate,
    pairs,
    launches: g.length,
  };
}

/**
 * The verdict rule: "faster" or "slower" only when the interval excludes 1 and the estimate is
 * at least `minEffect` away from 1; otherwise "≈".
 */
export function callOf(ci: Pick<RatioCI, "estimate" | "lo" | "hi">, minEffect = MIN_EFFECT): Call {
  if (ci.hi < 1 && ci.estimate <= 1 - minEffect) return "faster";
  if (ci.lo > 1 && ci.estimate >= 1 + minEffect) return "slower";
  return "≈";
}

/** Share of calls that are not "≈": for an A/A comparison, the false-call rate. */
export function falseCallRate(calls: readonly Call[]): number {
  if (calls.length === 0) return 0;
  return calls.filter((c) => c !== "≈").length / calls.length;
}

/** "0.92 (0.90–0.95)" or "+8% (5–11%)" styles are the report's business; this is the plain one. */
export function formatCI(ci: Pick<RatioCI, "estimate" | "lo" | "hi">, digits = 3): string {
  return `${ci.estimate.toFixed(digits)} (${ci.lo.toFixed(digits)}–${ci.hi.toFixed(digits)})`;
}
