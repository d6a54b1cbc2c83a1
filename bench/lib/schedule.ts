/**
 * The paired, interleaved schedule (issue 10; Abedi and Brecht, ICPE 2017: randomized multiple
 * interleaved trials) and the bookkeeping of its samples. Pure apart from the Burster it drives,
 * so bench/lib/schedule.test.ts runs it against a synthetic machine.
 *
 * A round visits every bench of a block in a shuffled order and, for each, runs one burst in
 * every process (ops-table, each variant, the A/A twin) in a shuffled order and then again in the
 * mirrored order: A V1 V2 V3 V3 V2 V1 A (ABBA generalised to several variants). A variant's pair
 * ratio for the round is sqrt(v1 v2 / (a1 a2)): its two bursts and ops-table's sit symmetrically
 * about the middle, so a drift in machine speed across the round cancels to first order.
 *
 * Why not one ABBA quartet per variant: then ops-table's process runs half of all bursts and each
 * variant's a sixth, and on a shared machine the scheduler favours the process that slept longer
 * (CFS places a waking task at the minimum virtual runtime): in a first quick run of the quartet
 * scheme on this project's contended 2-core VM the A/A twin measured 25% faster than ops-table on
 * Bun's fast path in both launches. In the palindrome every process runs the same number of
 * bursts, so all of them look alike to the scheduler.
 */
import { AA_VARIANT, BASELINE, type ComparisonRecord } from "./comparison.ts";
import type { Figure } from "./merge.ts";
import { shuffle } from "./rng.ts";
import { unitOf } from "./schema.ts";
import type { BenchMeta } from "./serve.ts";
import {
  callOf,
  type LaunchSummary,
  launchCorrectedCI,
  launchSummary,
  type PooledLaunchVariance,
  poolLaunchVariance,
  type RatioCI,
} from "./stats.ts";

/** Runs one burst of `key` in `variant`'s process and returns ns per op. */
export interface Burster {
  burst(variant: string, key: string): Promise<number>;
}

export interface Step {
  key: string;
  /** Processes in the order of the round's first half (the second half mirrors it). */
  order: string[];
}

/** One round's plan: every key once (shuffled), every process once per half (shuffled). */
export function planRound(
  keys: readonly string[],
  variants: readonly string[],
  rand: () => number,
  baseline = BASELINE,
): Step[] {
  return shuffle([...keys], rand).map((key) => ({ key, order: shuffle([baseline, ...variants], rand) }));
}

/** Where a sample belongs: engine and provider set (the scope), bench key, variant. */
export const sampleId = (scope: string, key: string, variant: string) => `${scope}|${key}|${variant}`;

/** Pair ratios per cell and burst times per figure, each split by launch. */
export class Samples {
  readonly pairs = new Map<string, number[][]>();
  readonly bursts = new Map<string, number[][]>();

  private static push(m: Map<string, number[][]>, id: string, launch: number, x: number): void {
    let g = m.get(id);
    if (!g) m.set(id, (g = []));
    while (g.length <= launch) g.push([]);
    g[launch].push(x);
  }

  addPair(id: string, launch: number, ratio: number): void {
    Samples.push(this.pairs, id, launch, ratio);
  }

  addBurst(id: string, launch: number, ns: number): void {
    Samples.push(this.bursts, id, launch, ns);
  }

  /** The cell's groups with empty launches dropped. */
  groups(id: string): number[][] {
    return (this.pairs.get(id) ?? []).filter((g) => g.length > 0);
  }

  pairCount(id: string, launch: number): number {
    return this.pairs.get(id)?.[launch]?.length ?? 0;
  }
}

/** Runs one round: per step, the order and its mirror; one pair ratio per variant, under `launch`. */
export async function runRound(
  b: Burster,
  steps: readonly Step[],
  scope: string,
  launch: number,
  samples: Samples,
  baseline = BASELINE,
): Promise<void> {
  for (const s of steps) {
    const first = new Map<string, number>();
    const second = new Map<string, number>();
    for (const v of s.order) first.set(v, await b.burst(v, s.key));
    for (let i = s.order.length - 1; i >= 0; i--) second.set(s.order[i], await b.burst(s.order[i], s.key));
    for (const v of s.order) {
      const t1 = first.get(v)!;
      const t2 = second.get(v)!;
      if (!(t1 > 0 && t2 > 0))
        throw new Error(`${scope} ${s.key} ${v}: a burst measured no time (${t1}, ${t2})`);
      samples.addBurst(sampleId(scope, s.key, v), launch, t1);
      samples.addBurst(sampleId(scope, s.key, v), launch, t2);
    }
    const a = first.get(baseline)! * second.get(baseline)!;
    for (const v of s.order)
      if (v !== baseline)
        samples.addPair(sampleId(scope, s.key, v), launch, Math.sqrt((first.get(v)! * second.get(v)!) / a));
  }
}

/** Between-launch variance pooled over every cell of `scope` that has data. */
export function pooledFor(samples: Samples, scope: string, seed = 1): PooledLaunchVariance {
  const sums: LaunchSummary[] = [];
  let i = 0;
  for (const id of samples.pairs.keys()) {
    if (!id.startsWith(`${scope}|`)) continue;
    const g = samples.groups(id);
    if (g.length) sums.push(launchSummary(g, seed + i++, 150));
  }
  return poolLaunchVariance(sums);
}

/** The cell's interval, or null without pairs. */
export function cellCI(
  samples: Samples,
  id: string,
  pooled: PooledLaunchVariance,
  seed = 1,
  resamples = 300,
) {
  const g = samples.groups(id);
  if (!g.length) return null;
  return launchCorrectedCI(g, { pooled, seed, resamples });
}

/** Engine and set of a scope string "engine|set". */
export function splitScope(scope: string): { engine: string; set: string } {
  const [engine, set] = scope.split("|");
  return { engine, set };
}

const medianOf = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * A measured bench of one variant: the absolute figure (charts, accounting, compare mode), the
 * one-shot Figure's fields (p50/p75/mean of every burst, spread of the launches' medians,
 * launches as runs) plus its unit and interval.
 */
export interface LevelFigure extends Figure {
  key: string;
  unit: string;
  /** Interval of the level (launch-corrected like the ratios; `logSE` feeds compare mode). */
  ci: RatioCI & { logSE: number };
  bursts: number;
}

export interface SummaryInput {
  samples: Samples;
  /** scope "engine|set" -> key -> meta */
  metas: Map<string, Map<string, BenchMeta>>;
  target: number;
  seed: number;
  /** sampleId -> optimised-out flag / errors / extras, from the children. */
  flags?: Map<
    string,
    { optimisedOut?: boolean; errors?: string[]; extra?: Record<string, number | string | boolean> }
  >;
}

/** Comparison records and level figures from the samples. */
export function summarise(inp: SummaryInput): { comparisons: ComparisonRecord[]; figures: LevelFigure[] } {
  const { samples, metas, target, seed } = inp;
  const comparisons: ComparisonRecord[] = [];
  const figures: LevelFigure[] = [];
  const pooledCache = new Map<string, PooledLaunchVariance>();
  const pooledOf = (scope: string) => {
    let p = pooledCache.get(scope);
    if (!p) pooledCache.set(scope, (p = pooledFor(samples, scope, seed)));
    return p;
  };
  let n = 0;
  for (const [id, groups] of samples.bursts) {
    const [engine, set, key, variant] = id.split("|");
    const meta = metas.get(`${engine}|${set}`)?.get(key);
    if (!meta) continue;
    const g = groups.filter((x) => x.length > 0);
    if (!g.length) continue;
    const all = g.flat().sort((a, b) => a - b);
    const per = g.map(medianOf);
    const med = medianOf(per);
    const fl = inp.flags?.get(id);
    figures.push({
      engine,
      set,
      variant,
      key,
      scenario: meta.scenario,
      id: meta.id,
      path: meta.path,
      degree: meta.degree,
      label: meta.label,
      synthetic: meta.synthetic,
      providers: meta.providers,
      unit: unitOf(meta.path),
      p50: medianOf(all),
      p75: all[Math.min(all.length - 1, Math.floor(all.length * 0.75))],
      mean: all.reduce((a, x) => a + x, 0) / all.length,
      ci: launchCorrectedCI(g, { seed: seed + n++, resamples: 200 }),
      spread: per.length > 1 ? (Math.max(...per) - Math.min(...per)) / 2 / med : Number.NaN,
      runs: g.length,
      bursts: all.length,
      perProcessP50: per,
      optimisedOut: fl?.optimisedOut ?? false,
      errors: fl?.errors ?? [],
      extra: fl?.extra ?? {},
    });
  }
  for (const id of samples.pairs.keys()) {
    const [engine, set, key, variant] = id.split("|");
    const scope = `${engine}|${set}`;
    const meta = metas.get(scope)?.get(key);
    if (!meta) continue;
    const ratio = cellCI(samples, id, pooledOf(scope), seed + n++);
    if (!ratio) continue;
    const level = (v: string) =>
      figures.find((f) => f.engine === engine && f.set === set && f.key === key && f.variant === v)?.p50 ??
      Number.NaN;
    comparisons.push({
      engine: engine as ComparisonRecord["engine"],
      path: meta.path,
      degree: meta.degree || undefined,
      baseline: BASELINE,
      variant,
      aa: variant === AA_VARIANT,
      unit: unitOf(meta.path),
      baselineMedian: level(BASELINE),
      variantMedian: level(variant),
      ratio: { ...ratio },
      call: callOf(ratio),
      reachedTarget: ratio.halfWidth <= target,
      key,
      set,
      synthetic: meta.synthetic,
      groups: samples.groups(id),
    });
  }
  const order = (c: { engine: string; path: string; degree?: number; variant: string; key?: string }) =>
    [c.engine, c.path, String(c.degree ?? 0).padStart(3, "0"), c.key ?? "", c.variant].join("|");
  comparisons.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  figures.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return { comparisons, figures };
}
