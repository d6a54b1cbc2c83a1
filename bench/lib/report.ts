/**
 * The written report: a markdown file embedding the charts of lib/charts.ts (PNG, with a link to
 * the SVG), and the terminal tables. Formatting only; the numbers come from lib/merge.ts.
 */
import { chartMarkdown, FIXED_PATHS, RATIO_CHART, renderSvg } from "./charts.ts";
import { AA_VARIANT, type ComparisonRecord } from "./comparison.ts";
import {
  type AccountingRow,
  type Figure,
  FLOOR_PATH,
  type FloorRow,
  floorRows,
  KERNEL_FIGURES,
  LARGE_RX_SERIES_RATIO,
  largeRxRows,
  REFERENCE_VARIANT,
} from "./merge.ts";
import type { ResultsFile } from "./schema.ts";

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const pct = (x: number) => (Number.isFinite(x) ? `±${(x * 100).toFixed(1)}%` : "n/a (1 run)");

export { renderSvg };

/**
 * The dispatch floor as a markdown grid: one row per (engine, degree), the direct call, then per
 * variant its p50 ± spread and, in brackets, how much it costs over the direct call.
 */
export function floorTable(rows: readonly FloorRow[]): string {
  const vs = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))].sort((a, b) =>
    a === REFERENCE_VARIANT ? -1 : b === REFERENCE_VARIANT ? 1 : a < b ? -1 : 1,
  );
  const head = `| engine | degree | direct call | ${vs.join(" | ")} |\n|---|---|---|${vs.map(() => "---").join("|")}|`;
  const body = rows.map((r) => {
    const cells = vs.map((v) => {
      const c = r.cells[v];
      if (!c) return "–";
      const sp = Number.isFinite(c.spread) ? ` ±${(c.spread * 100).toFixed(0)}%` : "";
      const over = Number.isFinite(c.overDirect) ? ` (+${fmt(c.overDirect)})` : "";
      return `${fmt(c.p50)}${sp}${over}`;
    });
    return `| ${r.engine} | ${r.degree} | ${fmt(r.direct)} | ${cells.join(" | ")} |`;
  });
  return [head, ...body].join("\n");
}

/** The large-rx-buffer rows as a markdown table (empty when the run measured neither length). */
export function largeRxTable(figs: readonly Figure[]): string {
  const rows = largeRxRows(figs);
  if (!rows.length) return "";
  const head =
    "| engine | 4 KiB: ns / KiB | 32 KiB: ns / KiB | 32 KiB / 4 KiB | the series | allocations / MiB (4 K, 32 K) | returns / MiB (4 K, 32 K) |\n|---|---|---|---|---|---|---|";
  const body = rows.map(
    (r) =>
      `| ${r.engine} | ${fmt(r.small, 3)} | ${fmt(r.large, 3)} | **${fmt(r.ratio)}** | ~${LARGE_RX_SERIES_RATIO} | ${r.allocsPerMiB.map((x) => fmt(x, 0)).join(", ")} | ${r.returnsPerMiB.map((x) => fmt(x, 0)).join(", ")} |`,
  );
  return [head, ...body].join("\n");
}

export function accountingTable(rows: readonly AccountingRow[]): string {
  const head = `| engine | ratio | model | ${KERNEL_FIGURES.map((k) => `kernel: ${k.source}`).join(" | ")} |\n|---|---|---|${KERNEL_FIGURES.map(() => "---").join("|")}|`;
  const body = rows.map(
    (r) => `| ${r.engine} | ${r.ratio} | **${fmt(r.model)}** | ${r.kernel.map((k) => fmt(k)).join(" | ")} |`,
  );
  return [head, ...body].join("\n");
}

/** The figure's extras worth a glance (sweep providers and dispatches per op, pool counters). */
function notes(f: Figure): string {
  const parts: string[] = [];
  if (f.path === "dispatch") parts.push(f.providers.join(", "));
  if (f.path === FLOOR_PATH)
    parts.push(f.providers.length > 2 ? `${f.providers[0]}..${f.providers.at(-1)}` : f.providers.join(", "));
  for (const [k, v] of Object.entries(f.extra))
    if (k !== "heapPackets") parts.push(`${k} ${typeof v === "number" ? Math.round(v * 1000) / 1000 : v}`);
  return parts.join("; ");
}

export function figuresTable(figs: readonly Figure[]): string {
  const head =
    "| engine | variant | scenario/bench | path | degree | unit | median | 95% CI | p75 | mean | spread of launches | launches | notes |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|";
  const body = figs.map((f) => {
    const x = f as Figure & { unit?: string; ci?: { lo: number; hi: number } };
    return `| ${f.engine} | ${f.variant} | ${f.scenario}/${f.id} | ${f.path} | ${f.degree || "–"}${f.synthetic ? " (synthetic)" : ""} | ${x.unit ?? "ns per op"} | ${fmt(f.p50)} | ${x.ci ? `${fmt(x.ci.lo)}–${fmt(x.ci.hi)}` : "–"} | ${fmt(f.p75)} | ${fmt(f.mean)} | ${pct(f.spread)} | ${f.runs} | ${notes(f)} |${f.optimisedOut ? " **!**" : ""}${f.errors.length ? ` error: ${f.errors[0]}` : ""}`;
  });
  return [head, ...body].join("\n");
}

export { FIXED_PATHS };

/** A comparison's cell: `0.92 (0.89–0.95) faster`, `1.01 (0.98–1.03) ≈`; `*` when short of the target. */
export function comparisonCell(c: ComparisonRecord, digits = 2): string {
  const r = c.ratio;
  const mark = c.call === "≈" ? "≈" : c.call;
  return `${r.estimate.toFixed(digits)} (${r.lo.toFixed(digits)}–${r.hi.toFixed(digits)}) ${mark}${c.reachedTarget ? "" : "*"}`;
}

type Row = {
  engine: string;
  label: string;
  path: string;
  degree: number;
  synthetic: boolean;
  cells: Map<string, ComparisonRecord>;
};

/** Rows of the grid: one per (engine or native flavour, path, degree), one column per variant. */
function gridRows(cs: readonly ComparisonRecord[]): { rows: Row[]; variants: string[] } {
  const vs = [...new Set(cs.map((c) => c.variant))].sort((a, b) =>
    a === AA_VARIANT ? 1 : b === AA_VARIANT ? -1 : a < b ? -1 : 1,
  );
  const rows = new Map<string, Row>();
  for (const c of cs) {
    const engine = c.flavour ? `native/${c.flavour}` : c.engine;
    const k = `${engine}|${c.path}|${c.key ?? ""}|${c.degree ?? 0}`;
    let r = rows.get(k);
    if (!r)
      rows.set(
        k,
        (r = {
          engine,
          label: c.path,
          path: c.path,
          degree: c.degree ?? 0,
          synthetic: c.synthetic ?? false,
          cells: new Map(),
        }),
      );
    r.cells.set(c.variant, c);
  }
  return { rows: [...rows.values()], variants: vs };
}

/** The grid as markdown: variant / ops-table with its 95% interval and call, per cell. */
export function comparisonTable(cs: readonly ComparisonRecord[]): string {
  const { rows, variants } = gridRows(cs);
  const head = `| engine | path | degree | ${variants.map((v) => `${v} / ops-table`).join(" | ")} |\n|---|---|---|${variants.map(() => "---").join("|")}|`;
  const body = rows.map((r) => {
    const cells = variants.map((v) => {
      const c = r.cells.get(v);
      if (!c) return "–";
      const t = comparisonCell(c);
      return c.call === "≈" ? t : `**${t}**`;
    });
    return `| ${r.engine} | ${r.path} | ${r.degree || "–"}${r.synthetic ? " (s)" : ""} | ${cells.join(" | ")} |`;
  });
  return [head, ...body].join("\n");
}

/** The grid for the terminal. */
export function comparisonGrid(cs: readonly ComparisonRecord[]): string {
  const { rows, variants } = gridRows(cs);
  const w = 27;
  const lines = [
    `  ${"engine".padEnd(10)} ${"path".padEnd(21)} ${"deg".padEnd(6)} ${variants.map((v) => `${v} / ops-table`.padEnd(w)).join("")}`,
  ];
  for (const r of rows)
    lines.push(
      `  ${r.engine.padEnd(10)} ${r.path.padEnd(21)} ${`${r.degree || "–"}${r.synthetic ? "s" : ""}`.padEnd(6)} ${variants
        .map((v) => {
          const c = r.cells.get(v);
          return (c ? comparisonCell(c) : "–").padEnd(w);
        })
        .join("")
        .trimEnd()}`,
    );
  return lines.join("\n");
}

function aaLines(r: ResultsFile): string[] {
  const lines = r.aa.map((a) => {
    const d = a.dispatch
      ? `; pooled over the dispatch cells ${a.dispatch.estimate.toFixed(3)} (${a.dispatch.lo.toFixed(3)}–${a.dispatch.hi.toFixed(3)})`
      : "";
    // The ≤ 5% bar is per engine; a native flavour has 13 cells, so one miss there reads 7.7%.
    const bar = a.flavour ? "" : ", must be ≤ 5%";
    return `A/A ${a.engine}${a.flavour ? `/${a.flavour}` : ""}: ops-table#2 / ops-table called different in ${a.falseCalls} of ${a.cells} cells (false-call rate ${(a.rate * 100).toFixed(1)}%${bar}); median half-width ±${(a.medianHalfWidth * 100).toFixed(1)}%${d}.`;
  });
  const native = r.aa.filter((a) => a.engine === "native");
  if (native.length > 0) {
    const calls = native.reduce((n, a) => n + a.falseCalls, 0);
    const cells = native.reduce((n, a) => n + a.cells, 0);
    const at = lines.findIndex((_, i) => r.aa[i].engine === "native");
    lines.splice(
      at,
      0,
      `A/A native (all ${native.length} flavours): called different in ${calls} of ${cells} cells (false-call rate ${((calls / Math.max(1, cells)) * 100).toFixed(1)}%, must be ≤ 5%).`,
    );
  }
  return lines;
}

function targetLine(r: ResultsFile): string {
  const t = r.targets;
  return `Target ±${(t.target * 100).toFixed(1)}%: ${t.reached} of ${t.cells} dispatch cells reached it (median half-width ±${(t.medianHalfWidth * 100).toFixed(1)}%)${t.missed.length ? `; short: ${t.missed.slice(0, 12).join(", ")}${t.missed.length > 12 ? `, and ${t.missed.length - 12} more` : ""}` : ""}.`;
}

function fastPathLine(r: ResultsFile): string[] {
  return r.comparisons
    .filter((c) => c.path === "fast" && !c.aa)
    .map(
      (c) =>
        `Fast path (cache hit, never dispatches) ${c.engine}: ${c.variant} / ops-table ${comparisonCell(c, 3)}.`,
    );
}

export function markdownReport(r: ResultsFile, chartDir: string, charts: readonly string[]): string {
  const heap = r.figures
    .filter((f) => f.path === "e2e" && typeof f.extra.heapBytesPerMillionPackets === "number")
    .map(
      (f) =>
        `| ${f.engine} | ${f.variant} | ${f.extra.heapBytesPerMillionPackets} | ${f.extra.retainedBytesPerMillionPackets ?? "–"} | ${f.extra.heapPackets ?? "–"} |`,
    );
  const floor = floorRows(r.figures);
  const largeRx = largeRxTable(r.figures);
  const m = r.machine;
  const lines = [
    `# pagepool benchmark report (${r.mode})`,
    "",
    ...r.headlines.map((h) => `**${h}**\n`),
    ...aaLines(r).map((l) => `${l}\n`),
    `${targetLine(r)}\n`,
    ...fastPathLine(r).map((l) => `${l}\n`),
    `Run ${r.startedAt} → ${r.finishedAt} (${r.durationS} s), \`${r.command}\`, seed ${r.seed}, ${r.launchesRun} launch${r.launchesRun === 1 ? "" : "es"} (${r.launches} planned) of one process per variant, ${r.burstMs} ms bursts, each round a palindrome over every process (A V1 V2 V2 V1 A, order shuffled), budget ${r.budgetS} s.`,
    "",
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os} (${m.arch}); load average ${m.loadavgStart.join(" / ")} at the start, ${m.loadavgEnd.join(" / ")} at the end.`,
    `Runtimes: Bun ${r.runtime.bun} (WebKit ${r.runtime.webkit.slice(0, 12)}), Node ${r.runtime.node} (V8 ${r.runtime.v8}). Versions: ${Object.entries(
      r.versions,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    "",
    `Provider sets (sweep order): ${Object.entries(r.providerSets)
      .map(([k, v]) => `**${k}**: ${v.join(", ")}`)
      .join(
        "; ",
      )}.${r.skippedProviders.length ? ` Registered but not bindable by the benchmark: ${r.skippedProviders.join(", ")}.` : ""}`,
    "",
    r.native?.skipped
      ? `Native leg: ${r.native.skipped}.\n`
      : r.native?.error
        ? `Native leg: ${r.native.error}\n`
        : "",
    r.failures.length ? `## FAILED\n\n${r.failures.map((f) => `- ${f}`).join("\n")}\n` : "",
    "## Verdict",
    "",
    `Each cell: the variant's time over ops-table's, the median of per-round pair ratios (each process's two bursts of a round placed symmetrically, so drift cancels; the round lasts a few ms, so both see one machine state), with its 95% interval (launch-level corrected: the variance between launches pooled over the engine's cells, bench/lib/stats.ts). "faster"/"slower" only when the interval excludes 1 and the effect is at least 2%; otherwise ≈. \`*\`: the half-width is above the ±${(r.targets.target * 100).toFixed(1)}% target. ${AA_VARIANT} is a second, separately linked ops-table (the A/A calibration): any call there is a false call. (s): synthetic providers live.`,
    "",
    comparisonTable(r.comparisons),
    "",
    ...charts.filter((c) => c === RATIO_CHART).map((c) => chartMarkdown(chartDir, c)),
    ...(floor.length
      ? [
          "## Dispatch floor",
          "",
          "The dispatch itself: the dispatch sweep's work with synthetic floor providers that do almost nothing. Per alloc + release, median ns of the bursts ± spread of the launches' medians; in brackets, the cost over the direct call at that degree (same pools and sequence, one provider, the pool's slow path inline, no dispatcher).",
          "",
          floorTable(floor),
          "",
        ]
      : []),
    "## Charts",
    "",
    ...charts.filter((c) => c !== RATIO_CHART).map((c) => chartMarkdown(chartDir, c)),
    "## Cost accounting: the model against the kernel",
    "",
    "The model's path costs as ratios to its own baselines (ops-table build), beside the same ratios from the kernel's bench_page_pool_simple (kernel-facts.md section 7). Absolute nanoseconds do not compare (a JIT-compiled model against C); the shape of the cost does.",
    "",
    accountingTable(r.accounting),
    "",
    ...(largeRx
      ? [
          "## Large rx buffers: 4 KiB against 32 KiB",
          "",
          "The end-to-end loop receiving a bulk stream into 4 KiB and into 32 KiB rx buffers (what a provider's rx-buf-len gives its queue), per KiB received, medians of the same processes' interleaved bursts (ops-table build). The model has only the pool's per-buffer work (no DMA, checksums, stack or copy), so its ratio is the bound the buffer count alone allows; the series reported ~30% less CPU at 200 Gbit/s.",
          "",
          largeRx,
          "",
        ]
      : []),
    "## Heap growth in the end-to-end loop",
    "",
    "Allocated: heap growth between GCs (chunks in which a collection ran are left out). Retained: live heap after a full GC, before and after (a leak). Both per million packets; target ~0.",
    "",
    "| engine | variant | allocated B / M packets | retained B / M packets | packets probed |\n|---|---|---|---|---|",
    ...heap,
    "",
    "## Every figure",
    "",
    figuresTable(r.figures),
    "",
  ];
  return lines.join("\n");
}

/** The terminal's closing summary: headline first, then the A/A line, the target, the grid, accounting. */
export function terminalSummary(r: ResultsFile): string {
  const out: string[] = ["", ...r.headlines, ...aaLines(r), targetLine(r), ...fastPathLine(r)];
  if (r.native?.skipped) out.push(`Native leg: ${r.native.skipped}.`);
  out.push(
    "",
    "Grid: variant / ops-table, median pair ratio (95% CI) and call; * = short of the target; s = synthetic providers:",
    comparisonGrid(r.comparisons),
  );
  const floor = floorRows(r.figures);
  if (floor.length) {
    const vs = [...new Set(floor.flatMap((x) => Object.keys(x.cells)))].sort();
    out.push(
      "",
      "Dispatch floor (ns per alloc+release, median of bursts, and over the direct call at that degree):",
      `  ${"engine".padEnd(6)} ${"degree".padEnd(6)} ${"direct".padEnd(8)} ${vs.map((v) => v.padEnd(20)).join("")}`,
    );
    for (const x of floor)
      out.push(
        `  ${x.engine.padEnd(6)} ${String(x.degree).padEnd(6)} ${fmt(x.direct).padEnd(8)} ${vs
          .map((v) => {
            const c = x.cells[v];
            return (c ? `${fmt(c.p50)} (+${fmt(c.overDirect)})` : "–").padEnd(20);
          })
          .join("")
          .trimEnd()}`,
      );
  }
  out.push(
    "",
    "Cost accounting (model ratio | kernel ratios: Jan 2025 tasklet, Jan 2025 no-softirq, Dec 2022):",
  );
  for (const a of r.accounting)
    out.push(
      `  ${a.engine.padEnd(5)} ${a.ratio.padEnd(24)} ${fmt(a.model).padStart(8)} | ${a.kernel.map((k) => fmt(k).padStart(6)).join(" ")}`,
    );
  for (const l of largeRxRows(r.figures))
    out.push(
      `  ${l.engine.padEnd(5)} ${"e2e rx 32 KiB / 4 KiB".padEnd(24)} ${fmt(l.ratio).padStart(8)} | series ~${LARGE_RX_SERIES_RATIO} (per KiB; ${fmt(l.allocsPerMiB[0], 0)} -> ${fmt(l.allocsPerMiB[1], 0)} allocations per MiB)`,
    );
  for (const f of r.figures)
    if (f.path === "e2e" && typeof f.extra.heapBytesPerMillionPackets === "number")
      out.push(
        `  heap growth ${f.engine} ${f.variant}: ${f.extra.heapBytesPerMillionPackets} bytes per million packets allocated, ${f.extra.retainedBytesPerMillionPackets ?? "?"} retained`,
      );
  if (r.failures.length) out.push("", "FAILED:", ...r.failures.map((f) => `  ${f}`));
  return out.join("\n");
}
