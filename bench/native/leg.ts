/**
 * The native leg (RESULTS-CONTRACT.md): builds the C harness in four flavours, launches each
 * binary several times (the launch level of the hierarchical bootstrap), and turns the harness's
 * paired bursts into ComparisonRecords (variant / ops-table per (flavour, path, degree, variant),
 * the A/A twin included), absolute figures for the charts, and one headline per flavour.
 * Every binary runs its differential check before timing; one that refuses a variant fails the leg.
 * Without a C compiler the leg is skipped with one line. See bench/native/README.md.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import type { ComparisonRecord } from "../lib/comparison.ts";
import { mulberry32, shuffle } from "../lib/rng.ts";
import type { NativeFigure } from "../lib/schema.ts";
import {
  callOf,
  formatCI,
  launchCorrectedCI,
  launchSummary,
  pairedRatioCI,
  poolLaunchVariance,
  type RatioCI,
} from "../lib/stats.ts";
import { type Built, buildFlavour, ccCommand, compilerVersion, FLAVOUR_NAMES } from "./build.ts";

export interface NativeLegOptions {
  quick: boolean;
  budgetMs: number;
  launches?: number;
  seed: number;
  log: (line: string) => void;
  target?: number;
}

export type { NativeFigure };

export interface NativeLegResult {
  skipped?: string;
  comparisons: ComparisonRecord[];
  figures: NativeFigure[];
  meta: {
    cc: string;
    ccVersion: string;
    cpu: string;
    timer: "rdtsc" | "clock_gettime";
    flavours: Record<string, string[]>;
    /** TSC ticks per ns (1 for clock_gettime), the median over launches. */
    tscGHz?: number;
    launches?: number;
    pairsPerLaunch?: number;
  };
  headlines: string[];
  /** Ring/fast and slow/fast beside the kernel's published ratios, one line per flavour. */
  notes?: string[];
}

export const BASELINE = "ops-table";
export const FLOOR_PATH = "dispatch-floor";
export const PATHS = ["page_pool01_fast_path", "page_pool02_ptr_ring", "page_pool03_slow"] as const;
/** Jesper Brouer's bench_page_pool_simple on an E5-1650 v4 (ns): fast_path, ptr_ring, slow. */
export const KERNEL_PUBLISHED = [
  { when: "June 2025", fast: 6.1, ring: 16.9, slow: 73.7 },
  { when: "March 2025", fast: 5.7, ring: 15.6, slow: 62.8 },
] as const;

/** One launch's bursts of one (path, degree, variant) combo, in timer units per burst. */
interface ComboRun {
  path: string;
  degree: number;
  variant: string;
  aa: boolean;
  ops: number;
  base: number[];
  vari: number[];
}

export interface HarnessRun {
  timer: "rdtsc" | "clock_gettime";
  tscGHz: number;
  combos: ComboRun[];
}

/** Parses the harness's stdout (harness.c's header comment gives the format). */
export function parseHarness(out: string): HarnessRun {
  let timer: HarnessRun["timer"] = "clock_gettime";
  let tscGHz = 1;
  const combos: ComboRun[] = [];
  for (const line of out.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "timer") timer = f[1] === "rdtsc" ? "rdtsc" : "clock_gettime";
    else if (f[0] === "tsc_ghz") tscGHz = Number(f[1]);
    else if (f[0] === "combo") {
      const nums = f.slice(6).map(Number);
      const base: number[] = [];
      const vari: number[] = [];
      for (let i = 0; i + 1 < nums.length; i += 2) {
        base.push(nums[i]);
        vari.push(nums[i + 1]);
      }
      combos.push({
        path: f[1],
        degree: Number(f[2]),
        variant: f[3],
        aa: f[4] === "1",
        ops: Number(f[5]),
        base,
        vari,
      });
    }
  }
  return { timer, tscGHz, combos };
}

function cpuModel(): string {
  try {
    const m = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1].trim();
  } catch {
    // not Linux: fall through
  }
  return cpus()[0]?.model ?? "unknown";
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const FLAVOUR_PHRASE: Record<string, string> = {
  plain: "in the plain build",
  retpoline: "with retpolines",
  "retpoline+rethunk": "with retpolines and return thunks",
  ibt: "with IBT (endbr64 landing pads)",
};

/** "with retpolines, ops-table costs N cycles more per call than the if-chain at 2 providers (CI …)". */
export function headlineFor(flavour: string, rec: ComparisonRecord | undefined, unitWord: string): string {
  const phrase = FLAVOUR_PHRASE[flavour] ?? `in the ${flavour} build`;
  if (!rec) return `${phrase}: no if-chain comparison at 2 providers was measured`;
  // variant = baseline × ratio, so baseline − variant = B(1 − r); the interval takes B as fixed.
  // Two dispatched calls per alloc + release.
  const B = rec.baselineMedian;
  const per = (r: number) => (B * (1 - r)) / 2;
  const n = per(rec.ratio.estimate);
  const lo = per(rec.ratio.hi);
  const hi = per(rec.ratio.lo);
  const more = n >= 0 ? "more" : "less";
  const f = (x: number) => x.toFixed(1);
  return `${phrase[0].toUpperCase()}${phrase.slice(1)}, ops-table costs ${f(Math.abs(n))} ${unitWord} ${more} per call than the if-chain at 2 providers (95% CI ${f(lo)} to ${f(hi)} per call; ${f(2 * n)} per alloc + release of ${f(B)}; ratio ${formatCI(rec.ratio)}, ${rec.ratio.launches} launches × ${Math.round(rec.ratio.pairs / rec.ratio.launches)} pairs)`;
}

export async function runNativeLeg(opts: NativeLegOptions): Promise<NativeLegResult> {
  const cc = ccCommand();
  const ccVersion = compilerVersion(cc);
  const emptyMeta = { cc, ccVersion: "", cpu: cpuModel(), timer: "clock_gettime" as const, flavours: {} };
  if (ccVersion === null) {
    const skipped = `native leg skipped: no C compiler (\`${cc} --version\` failed; set PAGEPOOL_CC to one)`;
    opts.log(skipped);
    return { skipped, comparisons: [], figures: [], meta: emptyMeta, headlines: [] };
  }
  const t0 = performance.now();
  // At least 3 launches whatever the runner asks: a native launch costs about a second.
  const launches = Math.max(3, opts.launches ?? (opts.quick ? 3 : 8));
  // One link-order layout per launch (build.ts): the launch level then covers code placement.
  const built: Built[] = await Promise.all(FLAVOUR_NAMES.map((f) => buildFlavour(f, [], cc, launches)));
  const flavours: Record<string, string[]> = {};
  for (const b of built) {
    if (b.error) opts.log(`native: flavour ${b.flavour} does not build with ${cc}, left out: ${b.error}`);
    else flavours[b.flavour] = b.flags;
  }
  const ok = built.filter((b) => b.bin);
  if (ok.length === 0) {
    const skipped = `native leg skipped: ${cc} builds no flavour of the harness`;
    opts.log(skipped);
    return { skipped, comparisons: [], figures: [], meta: { ...emptyMeta, ccVersion }, headlines: [] };
  }
  opts.log(
    `native: built ${ok.map((b) => b.flavour).join(", ")} with ${ccVersion} in ${Math.round(performance.now() - t0)} ms`,
  );

  const pairs = opts.quick ? 24 : 96;
  const rand = mulberry32(opts.seed ^ 0x6e61);
  // runs[flavour][launch]
  const runs = new Map<string, HarnessRun[]>(ok.map((b) => [b.flavour, []]));
  for (let l = 0; l < launches; l++) {
    if (l >= 2 && performance.now() - t0 > opts.budgetMs) {
      opts.log(`native: budget reached after ${l} launches per flavour`);
      break;
    }
    for (const b of shuffle([...ok], rand)) {
      const seed = (opts.seed + 7919 * (l + 1) + b.flavour.length * 131) >>> 0;
      const p = Bun.spawn([b.bins![l % b.bins!.length], "--seed", String(seed), "--pairs", String(pairs)], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const [code, out, err] = await Promise.all([
        p.exited,
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
      ]);
      if (code !== 0)
        throw new Error(
          `native leg: the ${b.flavour} harness exited ${code}: ${err.trim() || out.trim().slice(-300)}`,
        );
      runs.get(b.flavour)!.push(parseHarness(out));
    }
  }

  const first = [...runs.values()][0][0];
  const timer = first.timer;
  const tscGHz = median([...runs.values()].flat().map((r) => r.tscGHz));
  const unitWord = timer === "rdtsc" ? "cycles" : "ns";
  const unit = `${unitWord} per alloc + release`;
  const target = opts.target ?? 0.02;
  const resamples = opts.quick ? 1000 : 2000;
  const comparisons: ComparisonRecord[] = [];
  const figures: NativeFigure[] = [];
  const ci = (groups: number[][]): RatioCI => pairedRatioCI(groups, { seed: opts.seed, resamples });

  for (const [flavour, rs] of runs) {
    // key path|degree|variant -> per launch: ratios, baseline and variant per-op values
    const byKey = new Map<
      string,
      { run: ComboRun; ratios: number[][]; base: number[][]; vari: number[][] }
    >();
    const baseByPoint = new Map<string, number[][]>();
    rs.forEach((r, l) => {
      for (const c of r.combos) {
        const k = `${c.path}|${c.degree}|${c.variant}`;
        let e = byKey.get(k);
        if (!e) byKey.set(k, (e = { run: c, ratios: [], base: [], vari: [] }));
        e.ratios[l] = c.vari.map((v, i) => v / c.base[i]);
        e.base[l] = c.base.map((x) => x / c.ops);
        e.vari[l] = c.vari.map((x) => x / c.ops);
        const pk = `${c.path}|${c.degree}`;
        let pb = baseByPoint.get(pk);
        if (!pb) baseByPoint.set(pk, (pb = []));
        (pb[l] ??= []).push(...e.base[l]);
      }
    });
    // The ratios' intervals as the JS legs make theirs (bench/lib/stats.ts launchCorrectedCI):
    // the mean of the launches' median log ratios, Student-t at launch level, with the
    // between-launch variance pooled over the flavour's cells. A percentile bootstrap over 3-4
    // launches is too narrow when launches differ by code placement (each launch links its own
    // layout), and called the identical twin different in up to 3 of 13 cells a flavour.
    const entries = [...byKey.values()].map((e, i) => {
      const groups = e.ratios.filter(Boolean);
      return { ...e, groups, summary: launchSummary(groups, opts.seed + i, 300) };
    });
    const pooled = poolLaunchVariance(entries.map((e) => e.summary));
    for (const { run, base, vari, groups, summary } of entries) {
      const ratio = launchCorrectedCI(groups, { pooled, summary, seed: opts.seed, resamples });
      comparisons.push({
        engine: "native",
        flavour,
        path: run.path,
        degree: run.degree,
        baseline: BASELINE,
        variant: run.variant,
        aa: run.aa,
        unit,
        baselineMedian: median(base.flat()),
        variantMedian: median(vari.flat()),
        ratio,
        call: callOf(ratio),
        reachedTarget: ratio.halfWidth <= target,
        groups, // the per-launch pair ratios, as the JS records carry them
      });
      // Absolute figure with an interval: the same hierarchical bootstrap of a median, applied to
      // the per-op values themselves (a "ratio" to 1 unit).
      const a = ci(vari.filter(Boolean));
      figures.push({
        flavour,
        path: run.path,
        variant: run.variant,
        degree: run.degree,
        unit,
        median: a.estimate,
        lo: a.lo,
        hi: a.hi,
      });
    }
    for (const [pk, groups] of baseByPoint) {
      const [path, degree] = pk.split("|");
      const a = ci(groups.filter(Boolean));
      figures.push({
        flavour,
        path,
        variant: BASELINE,
        degree: Number(degree),
        unit,
        median: a.estimate,
        lo: a.lo,
        hi: a.hi,
      });
    }
  }
  comparisons.sort(
    (a, b) =>
      FLAVOUR_NAMES.indexOf(a.flavour!) - FLAVOUR_NAMES.indexOf(b.flavour!) ||
      a.path.localeCompare(b.path) ||
      a.degree! - b.degree! ||
      a.variant.localeCompare(b.variant),
  );

  const headlines: string[] = [];
  const notes: string[] = [];
  for (const flavour of runs.keys()) {
    const rec = comparisons.find(
      (c) => c.flavour === flavour && c.path === FLOOR_PATH && c.degree === 2 && c.variant === "if-chain",
    );
    headlines.push(headlineFor(flavour, rec, unitWord));
    const fig = (path: string) =>
      figures.find((f) => f.flavour === flavour && f.path === path && f.variant === BASELINE)?.median;
    const [fast, ring, slow] = PATHS.map(fig);
    if (fast && ring && slow) {
      const k = KERNEL_PUBLISHED.map(
        (p) => `${(p.ring / p.fast).toFixed(2)} / ${(p.slow / p.fast).toFixed(1)} (${p.when})`,
      ).join(", ");
      notes.push(
        `${flavour}: page_pool paths ${fast.toFixed(1)} / ${ring.toFixed(1)} / ${slow.toFixed(1)} ${unitWord} (ops-table): ring/fast ${(ring / fast).toFixed(2)}, slow/fast ${(slow / fast).toFixed(2)}; the kernel's published ${k}`,
      );
    }
  }
  opts.log(
    `native: ${comparisons.length} comparisons over ${runs.size} flavours in ${Math.round(performance.now() - t0)} ms`,
  );
  return {
    comparisons,
    figures,
    meta: {
      cc,
      ccVersion,
      cpu: cpuModel(),
      timer,
      flavours,
      tscGHz,
      launches: first ? rs0(runs) : 0,
      pairsPerLaunch: pairs,
    },
    headlines,
    notes,
  };
}

/** Launches actually run per flavour (the budget may stop early). */
function rs0(runs: Map<string, HarnessRun[]>): number {
  return Math.min(...[...runs.values()].map((r) => r.length));
}
