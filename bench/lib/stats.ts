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

import jstat from "jstat";
import {
  median,
  medianAbsoluteDeviation,
  probit,
  quantileSorted,
  sampleVariance,
  sampleWithReplacement,
} from "simple-statistics";
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
  return ratioCI(est, quantileSorted(stats, alpha), quantileSorted(stats, 1 - alpha), level, pairs, g.length);
}

/** A RatioCI from its bounds on the log scale. */
function ratioCI(
  logEst: number,
  logLo: number,
  logHi: number,
  level: number,
  pairs: number,
  launches: number,
): RatioCI {
  const estimate = Math.exp(logEst);
  const lo = Math.exp(logLo);
  const hi = Math.exp(logHi);
  return { estimate, lo, hi, level, halfWidth: (hi - lo) / 2 / estimate, pairs, launches };
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

// ---------------------------------------------------------------------------------------------
// Launch-level correction.
//
// The hierarchical bootstrap above estimates the between-launch variance from the cell's own
// launches, and a quick run has two or three of them: with L = 3 the launch-level term rests on
// two degrees of freedom, so one launch that drew a bad code layout either widens the interval to
// ±15% (a Student-t over launches) or is missed (the bootstrap with few launches). Process-level
// effects (layout, JIT timing) are a property of the engine and the machine more than of the cell,
// so the variance between launches is pooled over every cell of an engine and provider set
// (`poolLaunchVariance`, a method-of-moments random-effects estimate as in DerSimonian and Laird,
// 1986, with the within-launch variance of each launch's median taken from a seeded bootstrap) and
// each cell's own estimate is shrunk towards it (`launchCorrectedCI`), the pooled figure counting
// as POOL_WEIGHT launches at most. The interval is Student-t on the log scale with
// Welch-Satterthwaite degrees of freedom (jstat's quantile). bench/lib/stats.test.ts
// checks the result on synthetic data: identical distributions read "≈" in >= 95% of cells, real
// 5-10% effects are called.
// ---------------------------------------------------------------------------------------------

/** What one cell's launches say about the variance of its launch-level medians (log scale). */
export interface LaunchSummary {
  /** Per launch: median of the log values. */
  medians: number[];
  /** Per launch: bootstrap variance of that median (the within-launch part). */
  within: number[];
  /** Own method-of-moments estimate of the between-launch variance (>= 0; 0 with one launch). */
  tau2: number;
  /** Degrees of freedom behind tau2: launches - 1. */
  df: number;
}

/** Per-launch medians of log values and their bootstrap variances, and the cell's own tau². */
export function launchSummary(
  groups: readonly (readonly number[])[],
  seed = 1,
  resamples = 300,
): LaunchSummary {
  const g = logs(groups);
  if (g.length === 0) throw new RangeError("no burst pairs to estimate a ratio from");
  const rand = mulberry32(seed);
  const medians: number[] = [];
  const within: number[] = [];
  const boot = new Array<number>(resamples);
  for (const launch of g) {
    medians.push(median(launch));
    if (launch.length < 2) {
      within.push(0);
      continue;
    }
    for (let b = 0; b < resamples; b++) boot[b] = median(sampleWithReplacement(launch, launch.length, rand));
    // With a handful of pairs the bootstrap of a median takes few distinct values and understates
    // its variance; the large-sample variance of a median, (pi/2) sigma² / n with sigma from the
    // MAD, is the floor.
    const sigma = 1.4826 * medianAbsoluteDeviation(launch);
    within.push(Math.max(sampleVariance(boot), ((Math.PI / 2) * (sigma * sigma)) / launch.length));
  }
  const L = medians.length;
  const meanWithin = within.reduce((s, x) => s + x, 0) / L;
  const tau2 = L > 1 ? Math.max(0, sampleVariance(medians) - meanWithin) : 0;
  return { medians, within, tau2, df: L - 1 };
}

/** Between-launch variance pooled over cells, and the degrees of freedom of the cells pooled. */
export interface PooledLaunchVariance {
  tau2: number;
  df: number;
}

export function poolLaunchVariance(cells: readonly LaunchSummary[]): PooledLaunchVariance {
  // Method of moments: each cell's sample variance of its launch medians less its own mean
  // within-launch variance estimates tau² (unbiased, so negative values are kept), averaged with
  // weights df. A few cells whose launches disagree wildly (the allocation baselines, at the
  // mercy of the collector) would set every cell's interval, so each cell's contribution is
  // capped at WINSOR x the cells' median launch-median variance; those cells keep their own,
  // larger estimate through the shrinkage in launchCorrectedCI. With homogeneous cells the cap
  // is almost never reached (chi²(1) beyond 9 x its median: 4%).
  const withDf = cells.filter((c) => c.df > 0);
  const df = withDf.reduce((n, c) => n + c.df, 0);
  if (!withDf.length) return { tau2: 0, df: 0 };
  const s2 = withDf.map((c) => sampleVariance(c.medians));
  const cap = WINSOR * median(s2);
  let num = 0;
  withDf.forEach((c, i) => {
    const w = c.within.reduce((a, x) => a + x, 0) / c.within.length;
    num += Math.min(s2[i] - w, cap) * c.df;
  });
  return { tau2: Math.max(0, num / df), df };
}

/** Cap of a cell's launch-median variance in the pool, in multiples of the cells' median. */
export const WINSOR = 9;

/** How many launches' worth of weight the pooled tau² carries against a cell's own estimate. */
export const POOL_WEIGHT = 4;

export interface LaunchCIOptions extends CIOptions {
  /** Pooled between-launch variance of the cell's engine and provider set (omit: own only). */
  pooled?: PooledLaunchVariance;
  /** A precomputed summary of the same groups (saves the bootstrap). */
  summary?: LaunchSummary;
}

/**
 * The verdict's interval: the mean of the launches' median log ratios, with variance
 * (tau² + mean within-launch variance) / launches, where tau² is the cell's own between-launch
 * variance shrunk towards the pooled one (weights: the cell's df and min(POOL_WEIGHT, pooled df)),
 * and never less than the pooled one. With no pooled figure and a single launch it is the within-launch
 * interval of that launch. `logSE` in the result is the standard error on the log scale (compare
 * mode combines two files' figures with it).
 */
export function launchCorrectedCI(
  groups: readonly (readonly number[])[],
  opts: LaunchCIOptions = {},
): RatioCI & { logSE: number; tau2: number } {
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const s =
    opts.summary ??
    launchSummary(groups, opts.seed ?? 1, Math.max(100, Math.min(opts.resamples ?? 300, 2000)));
  const L = s.medians.length;
  const pairs = groups.reduce((n, g) => n + g.length, 0);
  const w = opts.pooled ? Math.min(POOL_WEIGHT, opts.pooled.df) : 0;
  // Never below the pooled figure: a cell whose own two or three launches happen to agree is not
  // evidence that its launches vary less than every other cell's (that would under-cover: 7.5%
  // false calls at 95% on the synthetic A/A test without the floor).
  const pooledTau2 = opts.pooled?.tau2 ?? 0;
  const shrunk = s.df + w > 0 ? (s.df * s.tau2 + w * pooledTau2) / (s.df + w) : 0;
  let tau2 = Math.max(shrunk, pooledTau2);
  let dfTau = s.df + w;
  // A cell whose own launches disagree far more than the pool allows (an F test at 95%: the JIT
  // compiled one process's bench differently, 3x apart in one quick run on this VM) is not like
  // the others: its own estimate and its own degrees of freedom stand, however few.
  const meanWithin0 = s.within.reduce((a, x) => a + x, 0) / L;
  if (
    s.df > 0 &&
    w > 0 &&
    s.tau2 + meanWithin0 > jstat.centralF.inv(0.95, s.df, w) * (pooledTau2 + meanWithin0)
  ) {
    tau2 = s.tau2;
    dfTau = s.df;
  }
  const meanWithin = s.within.reduce((a, x) => a + x, 0) / L;
  const se = Math.sqrt((tau2 + meanWithin) / L);
  const m = s.medians.reduce((a, x) => a + x, 0) / L;
  // Student-t with Welch-Satterthwaite degrees of freedom: the launch term rests on the cell's df
  // plus the pooled figure's weight, the within term on the pairs.
  const dfWithin = Math.max(1, pairs - L);
  const dfEff =
    tau2 + meanWithin > 0
      ? (tau2 + meanWithin) ** 2 / ((dfTau > 0 ? tau2 ** 2 / dfTau : 0) + meanWithin ** 2 / dfWithin)
      : dfWithin;
  const z = jstat.studentt.inv(1 - (1 - level) / 2, Math.max(1, dfEff));
  return { ...ratioCI(m, m - z * se, m + z * se, level, pairs, L), logSE: se, tau2 };
}

/**
 * Ratio b / a of two independent figures given on the log scale (estimate and standard error),
 * e.g. one cell of two results files: normal interval on the difference of logs.
 */
export function twoSampleRatioCI(
  a: { estimate: number; logSE: number },
  b: { estimate: number; logSE: number },
  level = 0.95,
): RatioCI & { logSE: number } {
  if (!(a.estimate > 0 && b.estimate > 0)) throw new RangeError("estimates must be positive");
  const d = Math.log(b.estimate) - Math.log(a.estimate);
  const se = Math.sqrt(a.logSE ** 2 + b.logSE ** 2);
  const z = probit(1 - (1 - level) / 2);
  return { ...ratioCI(d, d - z * se, d + z * se, level, 0, 0), logSE: se };
}

/** "8% faster (5–11%)", "≈ (−2 to +3%)": a ratio as a signed percentage change with its interval. */
export function describeRatio(ci: Pick<RatioCI, "estimate" | "lo" | "hi">, call: Call): string {
  const p = (x: number) => Math.round((x - 1) * 100);
  const signed = (x: number) => (p(x) > 0 ? `+${p(x)}` : p(x) < 0 ? `−${-p(x)}` : "0");
  const num = (x: number) => (x < 0 ? `−${-x}` : String(x));
  if (call === "faster") return `${-p(ci.estimate)}% faster (95% CI ${num(-p(ci.hi))}–${num(-p(ci.lo))}%)`;
  if (call === "slower") return `${p(ci.estimate)}% slower (95% CI ${num(p(ci.lo))}–${num(p(ci.hi))}%)`;
  return `≈ (${signed(ci.lo)} to ${signed(ci.hi)}%)`;
}
