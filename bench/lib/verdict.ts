/**
 * From comparison records to what a reader needs first: the A/A false-call rate, which dispatch
 * cells reached the target, and one headline sentence per engine. Pure; tested in
 * bench/lib/verdict.test.ts.
 */
import { type ComparisonRecord, DISPATCH_PATHS } from "./comparison.ts";
import type { AASummary, TargetSummary } from "./schema.ts";
import {
  type Call,
  callOf,
  describeRatio,
  falseCallRate,
  launchCorrectedCI,
  launchSummary,
  type PooledLaunchVariance,
  poolLaunchVariance,
} from "./stats.ts";

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const ENGINE_NAMES: Record<string, string> = {
  node: "V8 (Node)",
  bun: "JavaScriptCore (Bun)",
  native: "native C",
};

/** Pools several cells' pair ratios launch by launch (launch l of each cell into group l). */
export function poolGroups(cells: readonly ComparisonRecord[]): number[][] {
  const out: number[][] = [];
  for (const c of cells)
    (c.groups ?? []).forEach((g, l) => {
      while (out.length <= l) out.push([]);
      out[l].push(...g);
    });
  return out.filter((g) => g.length > 0);
}

/** Per engine (and native flavour): A/A cells, false calls and their rate. */
export function aaSummaries(comparisons: readonly ComparisonRecord[]): AASummary[] {
  const by = new Map<string, ComparisonRecord[]>();
  for (const c of comparisons) {
    if (!c.aa) continue;
    const k = `${c.engine}|${c.flavour ?? ""}`;
    let g = by.get(k);
    if (!g) by.set(k, (g = []));
    g.push(c);
  }
  return [...by.entries()].map(([k, cs]) => {
    const [engine, flavour] = k.split("|");
    const disp = cs.filter((c) => DISPATCH_PATHS.includes(c.path) && c.groups?.length);
    const tau = poolLaunchVariance(
      comparisons
        .filter((c) => c.engine === engine && (c.flavour ?? "") === flavour && c.groups?.length)
        .map((c, i) => launchSummary(c.groups!, i + 1, 150)),
    );
    const pooled = disp.length
      ? launchCorrectedCI(poolGroups(disp), { pooled: tau, seed: 1, resamples: 200 })
      : null;
    return {
      engine,
      ...(flavour ? { flavour } : {}),
      cells: cs.length,
      falseCalls: cs.filter((c) => c.call !== "≈").length,
      rate: falseCallRate(cs.map((c) => c.call)),
      medianHalfWidth: median(cs.map((c) => c.ratio.halfWidth)),
      ...(pooled ? { dispatch: { estimate: pooled.estimate, lo: pooled.lo, hi: pooled.hi } } : {}),
    };
  });
}

/** Dispatch cells (every variant, A/A included) against the target. */
export function targetSummary(comparisons: readonly ComparisonRecord[], target: number): TargetSummary {
  const cells = comparisons.filter((c) => DISPATCH_PATHS.includes(c.path));
  const missed = cells
    .filter((c) => !(c.ratio.halfWidth <= target))
    .map(
      (c) =>
        `${c.engine}${c.flavour ? `/${c.flavour}` : ""} ${c.path}${c.degree ? ` ${c.degree}` : ""} ${c.variant} ±${(c.ratio.halfWidth * 100).toFixed(1)}%`,
    );
  return {
    target,
    cells: cells.length,
    reached: cells.length - missed.length,
    medianHalfWidth: median(cells.map((c) => c.ratio.halfWidth)),
    missed,
  };
}

/** "2-16 providers", "1 provider", "1, 3 and 5 providers" for a sorted list of degrees. */
export function degreesText(ds: readonly number[]): string {
  const noun = ds.length === 1 && ds[0] === 1 ? "provider" : "providers";
  const runs: string[] = [];
  let i = 0;
  while (i < ds.length) {
    let j = i;
    while (j + 1 < ds.length && ds[j + 1] > ds[j]) j++;
    runs.push(i === j ? String(ds[i]) : `${ds[i]}–${ds[j]}`);
    i = j + 1;
  }
  return `${runs.join(", ")} ${noun}`;
}

/**
 * One sentence for one engine: how `variant` compares with ops-table on `path` across degrees,
 * consecutive degrees with the same call merged (their pair ratios pooled launch by launch, so
 * the interval is that of the merged range), e.g. "V8 (Node): if-chain is 8% faster than
 * ops-table at 2–16 providers (95% CI 5–11%); at 1 provider ≈ (−2 to +3%)".
 */
export function headline(
  comparisons: readonly ComparisonRecord[],
  engine: string,
  opts: { variant?: string; path?: string; pooled?: PooledLaunchVariance; label?: string } = {},
): string | null {
  const variant = opts.variant ?? "if-chain";
  const paths = opts.path ? [opts.path] : ["dispatch-floor", "dispatch"];
  let cells: ComparisonRecord[] = [];
  let path = "";
  for (const p of paths) {
    cells = comparisons.filter(
      (c) => c.engine === engine && c.variant === variant && c.path === p && c.degree,
    );
    if (cells.length) {
      path = p;
      break;
    }
  }
  if (!cells.length) return null;
  cells.sort((a, b) => (a.degree ?? 0) - (b.degree ?? 0));
  const runs: Array<{ call: Call; cells: ComparisonRecord[] }> = [];
  for (const c of cells) {
    const last = runs.at(-1);
    if (last && last.call === c.call) last.cells.push(c);
    else runs.push({ call: c.call, cells: [c] });
  }
  // Launch-level variance pooled over every cell of the engine and provider set (as the cells'
  // own intervals are).
  const pooled =
    opts.pooled ??
    poolLaunchVariance(
      comparisons
        .filter((c) => c.engine === engine && c.set === cells[0].set && c.groups?.length)
        .map((c, i) => launchSummary(c.groups!, i + 1, 150)),
    );
  const parts = runs.map((r) => {
    const ds = r.cells.map((c) => c.degree ?? 0);
    const g = poolGroups(r.cells);
    const ci =
      r.cells.length === 1 || !g.length
        ? r.cells[0].ratio
        : launchCorrectedCI(g, { pooled, seed: 1, resamples: 300 });
    // Each cell was called on its own; when the pooled interval of a merged range does not carry
    // the same call (the cells' effects differ too much to pool), the range of estimates is given.
    if (r.cells.length > 1 && callOf(ci) !== r.call && r.call !== "≈") {
      const pcts = r.cells
        .map((c) => Math.abs(Math.round((c.ratio.estimate - 1) * 100)))
        .sort((a, b) => a - b);
      return {
        ds,
        text: `${pcts[0]}–${pcts.at(-1)}% ${r.call} (each cell's 95% CI excludes 1)`,
        call: r.call,
      };
    }
    if (r.cells.length > 1 && r.call === "≈" && callOf(ci) !== "≈")
      return { ds, text: `≈ in each cell (pooled ${describeRatio(ci, "≈").slice(3, -1)})`, call: r.call };
    return { ds, text: describeRatio(ci, r.call), call: r.call };
  });
  // Lead with the largest range that differs, so the sentence reads "X is n% faster ... at ...".
  const name = opts.label ?? ENGINE_NAMES[engine] ?? engine;
  const where = path === "dispatch-floor" ? "dispatch floor" : "dispatch sweep";
  const lead = [...parts].sort(
    (a, b) => (b.call !== "≈" ? 1 : 0) - (a.call !== "≈" ? 1 : 0) || b.ds.length - a.ds.length,
  )[0];
  const rest = parts.filter((p) => p !== lead);
  const leadText =
    lead.call === "≈"
      ? `${variant} ≈ ops-table at ${degreesText(lead.ds)} ${lead.text.slice(2)}`
      : `${variant} is ${lead.text.replace(/ \(95% CI/, ` than ops-table at ${degreesText(lead.ds)} (95% CI`)}`;
  const restText = rest.map((p) => `at ${degreesText(p.ds)} ${p.text}`).join("; ");
  return `${name}, ${where}: ${leadText}${restText ? `; ${restText}` : ""}.`;
}
