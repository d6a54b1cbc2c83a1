/**
 * Pure logic over recorded figures (no timing, no I/O): merging one-shot processes' reports into
 * one figure per (engine, variant, bench) (bench/child.ts without --serve, and the fixtures), the
 * dispatch floor rows, the cost accounting against the kernel's published figures, and failure
 * collection. The verdict itself is lib/schedule.ts + lib/stats.ts + lib/verdict.ts.
 * bench/merge.test.ts runs this on recorded fixtures.
 */
import type { BenchResult } from "./harness.ts";

/** One measured process's result for one bench, tagged with where it ran. */
export interface RunRecord {
  engine: string;
  /** Variant label: ops-table, if-chain, icall-wrapper, icall-pgo (the profile-guided build). */
  variant: string;
  /** Provider set: "real" (the project's generated dispatchers) or "synthetic". */
  set: string;
  /** Which process (repetition) this came from. */
  rep: number;
  result: BenchResult;
}

export interface Figure {
  engine: string;
  variant: string;
  set: string;
  scenario: string;
  id: string;
  path: string;
  degree: number;
  label: string;
  synthetic: boolean;
  providers: string[];
  /** ns per operation: the median across processes of each process's p50 / p75. */
  p50: number;
  p75: number;
  /** ns per operation: the mean across processes of each process's mean. */
  mean: number;
  /** Relative half-range of the processes' p50s around the median (0.03 = ±3%); NaN with one run. */
  spread: number;
  /** Number of processes merged. */
  runs: number;
  perProcessP50: number[];
  optimisedOut: boolean;
  errors: string[];
  /** Extra figures: numbers are the median across processes, others the first process's value. */
  extra: Record<string, number | string | boolean>;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Half the range of `xs` relative to their median; NaN for fewer than two values. */
export function relativeSpread(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const med = median(xs);
  if (!(med > 0)) return Number.NaN;
  return (Math.max(...xs) - Math.min(...xs)) / 2 / med;
}

export function figureKey(f: { engine: string; variant: string; scenario: string; id: string }): string {
  return `${f.engine}|${f.variant}|${f.scenario}|${f.id}`;
}

/** Merges per-process records into figures, sorted by engine, path, degree, variant. */
export function mergeRuns(records: readonly RunRecord[]): Figure[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const k = figureKey({
      engine: r.engine,
      variant: r.variant,
      scenario: r.result.scenario,
      id: r.result.id,
    });
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const out: Figure[] = [];
  for (const g of groups.values()) {
    const ok = g.filter((r) => !r.result.error);
    const first = g[0];
    const p50s = ok.map((r) => r.result.perOp.p50);
    const extra: Figure["extra"] = {};
    for (const r of ok) for (const [k, v] of Object.entries(r.result.extra)) if (!(k in extra)) extra[k] = v;
    for (const k of Object.keys(extra))
      if (typeof extra[k] === "number")
        extra[k] = median(ok.map((r) => r.result.extra[k]).filter((v): v is number => typeof v === "number"));
    out.push({
      engine: first.engine,
      variant: first.variant,
      set: first.set,
      scenario: first.result.scenario,
      id: first.result.id,
      path: first.result.path,
      degree: first.result.degree,
      label: first.result.label,
      synthetic: first.result.synthetic,
      providers: first.result.providers,
      p50: median(p50s),
      p75: median(ok.map((r) => r.result.perOp.p75)),
      mean: ok.length ? ok.reduce((a, r) => a + r.result.perOp.avg, 0) / ok.length : Number.NaN,
      spread: relativeSpread(p50s),
      runs: ok.length,
      perProcessP50: p50s,
      optimisedOut: g.some((r) => r.result.optimisedOut),
      errors: g.filter((r) => r.result.error).map((r) => r.result.error!.split("\n")[0]),
      extra,
    });
  }
  const order = (f: Figure) => [f.engine, f.path, String(f.degree).padStart(3, "0"), f.variant].join("|");
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

export const REFERENCE_VARIANT = "ops-table";

/** The dispatch floor's paths (bench/dispatch-floor.bench.ts). */
export const FLOOR_PATH = "dispatch-floor";
export const FLOOR_DIRECT_PATH = "baseline:floor-direct";

export interface FloorCell {
  /** ns per alloc + release, p50 (median across processes). */
  p50: number;
  spread: number;
  /** p50 minus the direct call's at the same degree: what the dispatch costs. */
  overDirect: number;
}

export interface FloorRow {
  engine: string;
  degree: number;
  /**
   * The direct call's p50 at this degree (the same pools and sequence, one provider, the pool's
   * slow path inline, no dispatcher): the median of its figures across variants (identical code
   * in each); NaN when not measured.
   */
  direct: number;
  /** By variant. */
  cells: Record<string, FloorCell>;
}

/** The dispatch floor per engine and degree, every variant beside the direct call (sorted). */
export function floorRows(figs: readonly Figure[]): FloorRow[] {
  const ok = (f: Figure) => f.errors.length === 0 && f.p50 > 0;
  const rows: FloorRow[] = [];
  const engines = [...new Set(figs.map((f) => f.engine))].sort();
  for (const engine of engines) {
    const mine = figs.filter((f) => f.engine === engine && ok(f));
    const degrees = [...new Set(mine.filter((f) => f.path === FLOOR_PATH).map((f) => f.degree))].sort(
      (a, b) => a - b,
    );
    for (const degree of degrees) {
      const direct = median(
        mine.filter((f) => f.path === FLOOR_DIRECT_PATH && f.degree === degree).map((f) => f.p50),
      );
      const cells: Record<string, FloorCell> = {};
      for (const f of mine)
        if (f.path === FLOOR_PATH && f.degree === degree)
          cells[f.variant] = { p50: f.p50, spread: f.spread, overDirect: f.p50 - direct };
      rows.push({ engine, degree, direct, cells });
    }
  }
  return rows;
}

/**
 * The kernel's per-element figures (kernel-facts.md section 7, tasklet/softirq unless noted), ns.
 * bench_page_pool_simple: 01 fast_path, 02 ptr_ring, 03 slow.
 */
export const KERNEL_FIGURES = [
  { source: "Jesper, Jan 2025, E5-1650 v4, 6.13-rc6 (after fix)", fast: 5.49, ring: 15.8, slow: 78.9 },
  { source: "Jesper, Jan 2025, no-softirq", fast: 5.54, ring: 17.1, slow: 75.8 },
  { source: "Jesper, Dec 2022", fast: 4.48, ring: 13.1, slow: 48.3 },
] as const;
/** XDP_DROP at 100G, 148 Mpps: the per-packet budget the fast path competes for. */
export const XDP_BUDGET_NS = 6.72;

export interface AccountingRow {
  engine: string;
  variant: string;
  /** Ratio name: "fast / stack", "ring / fast", "slow / fast", "provider-slow / direct". */
  ratio: string;
  model: number;
  /** The kernel's ratios (one per KERNEL_FIGURES source), NaN where the kernel has no such figure. */
  kernel: number[];
}

/** The model's own path costs as ratios to its baselines, beside the kernel's ratios. */
export function accounting(figs: readonly Figure[], variant = REFERENCE_VARIANT): AccountingRow[] {
  const rows: AccountingRow[] = [];
  const engines = [...new Set(figs.map((f) => f.engine))].sort();
  for (const engine of engines) {
    const get = (path: string) =>
      figs.find(
        (f) => f.engine === engine && f.variant === variant && f.path === path && f.errors.length === 0,
      )?.p50 ?? Number.NaN;
    const fast = get("fast");
    const defs: Array<[string, number, number[]]> = [
      ["fast / stack", fast / get("baseline:stack"), KERNEL_FIGURES.map(() => Number.NaN)],
      ["ring / fast", get("ring") / fast, KERNEL_FIGURES.map((k) => k.ring / k.fast)],
      ["slow / fast", get("slow") / fast, KERNEL_FIGURES.map((k) => k.slow / k.fast)],
      ["fast / XDP budget", fast / XDP_BUDGET_NS, KERNEL_FIGURES.map((k) => k.fast / XDP_BUDGET_NS)],
      [
        "provider-slow / direct",
        get("provider-slow") / get("baseline:direct"),
        KERNEL_FIGURES.map(() => Number.NaN),
      ],
      ["e2e / fast", get("e2e") / fast, KERNEL_FIGURES.map(() => Number.NaN)],
    ];
    for (const [ratio, model, kernel] of defs) rows.push({ engine, variant, ratio, model, kernel });
  }
  return rows;
}

export interface LargeRxRow {
  engine: string;
  /** ns per KiB received with 4 KiB and with 32 KiB rx buffers (ops-table build). */
  small: number;
  large: number;
  /** large / small: CPU per byte with 32 KiB buffers relative to 4 KiB. */
  ratio: number;
  allocsPerMiB: [number, number];
  returnsPerMiB: [number, number];
}

/**
 * The series' reported effect of large rx buffers (netdev, January 2026, "providers with large rx
 * buffer", as the parity issue quotes it): ~30% less CPU at 200 Gbit/s, i.e. ~0.7x per byte.
 */
export const LARGE_RX_SERIES_RATIO = 0.7;

/** The end-to-end loop with 4 KiB against 32 KiB rx buffers, per engine (e2e:rx-4k, e2e:rx-32k). */
export function largeRxRows(figs: readonly Figure[], variant = REFERENCE_VARIANT): LargeRxRow[] {
  const rows: LargeRxRow[] = [];
  for (const engine of [...new Set(figs.map((f) => f.engine))].sort()) {
    const get = (path: string) =>
      figs.find(
        (f) => f.engine === engine && f.variant === variant && f.path === path && f.errors.length === 0,
      );
    const s = get("e2e:rx-4k");
    const l = get("e2e:rx-32k");
    if (!s || !l) continue;
    const num = (f: Figure, k: string) =>
      typeof f.extra[k] === "number" ? (f.extra[k] as number) : Number.NaN;
    rows.push({
      engine,
      small: s.p50,
      large: l.p50,
      ratio: l.p50 / s.p50,
      allocsPerMiB: [num(s, "allocsPerMiB"), num(l, "allocsPerMiB")],
      returnsPerMiB: [num(s, "returnsPerMiB"), num(l, "returnsPerMiB")],
    });
  }
  return rows;
}

/** Failures that make the run fail: optimised-out flags and errors, as readable lines. */
export function failures(figs: readonly Figure[]): string[] {
  const out: string[] = [];
  for (const f of figs) {
    const at = `${f.engine} ${f.variant} ${f.scenario}/${f.id}`;
    if (f.optimisedOut) out.push(`${at}: likely optimised out (avg < 1.42 x no-op in some process)`);
    for (const e of f.errors) out.push(`${at}: ${e}`);
  }
  return out;
}
