/**
 * The unit of the verdict (RESULTS-CONTRACT.md): one paired comparison of a variant against the
 * ops-table baseline, produced by the JS legs (bench/run.ts) and the native leg
 * (bench/native/leg.ts), consumed by the report, the headline, the JSON and compare mode.
 */
import type { Call, RatioCI } from "./stats.ts";

export interface ComparisonRecord {
  engine: "bun" | "node" | "native";
  /** native only: "plain" | "retpoline" | "retpoline+rethunk" | "ibt" */
  flavour?: string;
  /** e.g. "dispatch-sweep", "dispatch-floor", "page_pool01_fast_path" */
  path: string;
  /** providers behind the dispatcher, for dispatch paths */
  degree?: number;
  /** always "ops-table" */
  baseline: string;
  /** "if-chain" | "icall-wrapper" | "pgo" | "ops-table#2" (A/A twin) ... */
  variant: string;
  /** true when variant is an identical separately-linked/compiled twin */
  aa: boolean;
  /** "ns per alloc + release", "cycles per alloc + release", ... */
  unit: string;
  /** in `unit` */
  baselineMedian: number;
  /** in `unit` */
  variantMedian: number;
  /** from pairedRatioCI(groups): groups[launch][pair] = variant/baseline */
  ratio: RatioCI;
  /** callOf(ratio) */
  call: Call;
  /** ratio.halfWidth <= target */
  reachedTarget: boolean;
}
