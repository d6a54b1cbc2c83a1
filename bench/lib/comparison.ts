/**
 * The unit of the verdict (bench/RESULTS-CONTRACT: shared with the native leg, bench/native/leg.ts):
 * one variant against ops-table on one engine (or native flavour), path and degree, with the
 * interval of the ratio of paired bursts. The JS legs (bench/run.ts) and the native leg produce
 * these; the report, the headline, the JSON and compare mode consume them.
 */
import type { Call, RatioCI } from "./stats.ts";

export interface ComparisonRecord {
  engine: "bun" | "node" | "native";
  /** Native only: "plain" | "retpoline" | "retpoline+rethunk" | "ibt". */
  flavour?: string;
  /** e.g. "dispatch", "dispatch-floor", "fast", "page_pool01_fast_path". */
  path: string;
  /** Providers behind the dispatcher, for dispatch paths. */
  degree?: number;
  /** Always "ops-table". */
  baseline: string;
  /** "if-chain" | "icall-wrapper" | "icall-pgo" | "ops-table#2" (the A/A twin) ... */
  variant: string;
  /** True when the variant is an identical, separately linked or compiled twin of the baseline. */
  aa: boolean;
  /** "ns per alloc + release", "cycles per alloc + release", ... */
  unit: string;
  /** Medians of the two sides' bursts, in `unit`. */
  baselineMedian: number;
  variantMedian: number;
  /** Interval of variant / baseline; groups[launch][pair] = variant burst / baseline burst. */
  ratio: RatioCI;
  call: Call;
  /** ratio.halfWidth <= the run's target. */
  reachedTarget: boolean;
  /** JS legs: which bench (scenario/id) and provider set the cell is, and its raw pair ratios. */
  key?: string;
  set?: string;
  synthetic?: boolean;
  groups?: number[][];
}

/** The A/A twin's label: a second, separately linked build of ops-table. */
export const AA_VARIANT = "ops-table#2";
export const BASELINE = "ops-table";

/** Paths whose cells must reach the target half-width (they reach the dispatcher). */
export const DISPATCH_PATHS: readonly string[] = ["dispatch", "dispatch-floor", "provider-slow"];

/** Same cell in two result files (or two records of one run): engine, flavour, path, degree, variant, bench. */
export function cellKey(
  c: Pick<ComparisonRecord, "engine" | "flavour" | "path" | "degree" | "variant" | "key">,
): string {
  return [c.engine, c.flavour ?? "", c.key ?? c.path, c.degree ?? "", c.variant].join("|");
}
