/**
 * The results file, version 2 ("pagepool-bench/2"): every comparison with its interval, every
 * absolute figure with its unit and interval, the A/A calibration, the headline, the machine and
 * runtimes it ran on. Written by bench/run.ts, read back by `--render` and by compare mode
 * (bench/compare.ts), which refuse anything else.
 */
import type { ComparisonRecord } from "./comparison.ts";
import type { AccountingRow } from "./merge.ts";
import type { LevelFigure } from "./schedule.ts";

export const SCHEMA = "pagepool-bench/2";

/** The unit of a path's figures (ns per the operation its bench repeats). */
export function unitOf(path: string): string {
  if (
    path === "dispatch" ||
    path === "dispatch-floor" ||
    path === "provider-slow" ||
    path === "baseline:direct" ||
    path === "baseline:floor-direct"
  )
    return "ns per alloc + release";
  if (path.startsWith("return:")) return "ns per buffer";
  if (path === "e2e") return "ns per packet";
  if (path.startsWith("e2e:rx-")) return "ns per KiB received";
  if (path === "baseline:arraybuffer" || path === "baseline:buffer") return "ns per allocation";
  return "ns per element";
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  arch: string;
  /** 1, 5 and 15 minute load averages at the start and at the end of the run. */
  loadavgStart: number[];
  loadavgEnd: number[];
}

export interface AASummary {
  engine: string;
  flavour?: string;
  cells: number;
  falseCalls: number;
  rate: number;
  /** Median half-width of the A/A intervals, and the A/A interval pooled over the dispatch cells. */
  medianHalfWidth: number;
  dispatch?: { estimate: number; lo: number; hi: number };
}

export interface TargetSummary {
  target: number;
  /** Dispatch cells (paths that reach the dispatcher), and how many got below the target. */
  cells: number;
  reached: number;
  medianHalfWidth: number;
  /** Cells that did not, as "engine path degree variant ±x%". */
  missed: string[];
}

/** One absolute per-op figure of the native leg, with its interval (for the charts). */
export interface NativeFigure {
  flavour: string;
  path: string;
  variant: string;
  degree?: number;
  unit: string;
  median: number;
  lo: number;
  hi: number;
}

export interface NativeSection {
  skipped?: string;
  meta?: Record<string, unknown>;
  figures?: NativeFigure[];
  headlines?: string[];
  error?: string;
}

export interface ResultsFile {
  schema: typeof SCHEMA;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  mode: string;
  seed: number;
  /** Launches (fresh processes per variant) planned and run. */
  launches: number;
  launchesRun: number;
  budgetS: number;
  burstMs: number;
  command: string;
  machine: Machine;
  runtime: { bun: string; node: string; v8: string; webkit: string };
  versions: Record<string, string>;
  providerSets: Record<string, string[]>;
  skippedProviders: string[];
  headlines: string[];
  targets: TargetSummary;
  aa: AASummary[];
  comparisons: ComparisonRecord[];
  figures: LevelFigure[];
  native?: NativeSection;
  accounting: AccountingRow[];
  failures: string[];
}

/** Parses a results file, or throws an Error saying plainly what is wrong with it. */
export function parseResults(text: string, name: string): ResultsFile {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not JSON (${(e as Error).message})`);
  }
  const o = r as Partial<ResultsFile> | null;
  if (!o || typeof o !== "object") throw new Error(`${name}: not a results file`);
  if (o.schema !== SCHEMA)
    throw new Error(
      `${name}: schema ${JSON.stringify(o.schema ?? null)}, expected "${SCHEMA}" (files from before the paired method cannot be compared or re-rendered; measure again)`,
    );
  if (!Array.isArray(o.comparisons) || !Array.isArray(o.figures))
    throw new Error(`${name}: no comparisons or figures`);
  return o as ResultsFile;
}
