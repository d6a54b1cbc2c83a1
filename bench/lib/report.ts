/**
 * The written report: a markdown file with SVG charts rendered headless by vega-lite + vega
 * (renderer "none" needs no canvas), and the terminal tables. Formatting only; the numbers come
 * from lib/merge.ts.
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import {
  type AccountingRow,
  type Figure,
  FLOOR_PATH,
  type FloorRow,
  floorRows,
  KERNEL_FIGURES,
  nullNoise,
  REFERENCE_VARIANT,
  type VerdictRow,
  verdictLine,
} from "./merge.ts";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  arch: string;
}

export interface ResultsFile {
  schema: "pagepool-bench/1";
  startedAt: string;
  finishedAt: string;
  mode: string;
  seed: number;
  reps: number;
  command: string;
  machine: Machine;
  versions: Record<string, string>;
  /** Provider names per set, in the order the sweep takes them. */
  providerSets: Record<string, string[]>;
  /** Providers registered but not bindable by the benchmark (no adapter yet). */
  skippedProviders: string[];
  figures: Figure[];
  verdict: VerdictRow[];
  accounting: AccountingRow[];
  failures: string[];
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const pct = (x: number) => (Number.isFinite(x) ? `±${(x * 100).toFixed(1)}%` : "n/a (1 run)");

type Spec = Record<string, unknown>;

export async function renderSvg(spec: Spec): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** ns/op against degree, one line per variant (the dispatch sweep), for one engine. */
export function sweepSpec(figs: readonly Figure[], engine: string): Spec | null {
  return degreeSpec(
    figs,
    engine,
    "dispatch",
    `${engine}: dispatch sweep, provider slow path (ns per alloc+release, p50)`,
    [],
  );
}

/**
 * The dispatch floor for one engine: ns/op against degree, one line per variant, and the direct
 * call (the same pools, one provider, the pool's slow path inline, no dispatcher) as a dashed grey
 * line: the gap to it is the dispatch.
 */
export function floorSpec(figs: readonly Figure[], engine: string): Spec | null {
  const direct = floorRows(figs)
    .filter((r) => r.engine === engine && Number.isFinite(r.direct))
    .map((r) => ({ degree: r.degree, ns: r.direct }));
  return degreeSpec(
    figs,
    engine,
    FLOOR_PATH,
    `${engine}: dispatch floor, synthetic do-nothing providers (ns per alloc+release, p50)`,
    direct,
  );
}

/** ns/op against degree for `path`, one line per variant; `direct` (if any) as a dashed grey line. */
function degreeSpec(
  figs: readonly Figure[],
  engine: string,
  path: string,
  title: string,
  direct: ReadonlyArray<{ degree: number; ns: number }>,
): Spec | null {
  const values = figs
    .filter((f) => f.engine === engine && f.path === path && f.errors.length === 0)
    .map((f) => ({
      degree: f.degree,
      ns: f.p50,
      lo: f.p50 * (1 - (Number.isFinite(f.spread) ? f.spread : 0)),
      hi: f.p50 * (1 + (Number.isFinite(f.spread) ? f.spread : 0)),
      variant: f.variant,
      providers: f.synthetic ? "with synthetic" : "real only",
    }));
  if (values.length === 0) return null;
  const x = {
    field: "degree",
    type: "quantitative",
    scale: { type: "log", base: 2 },
    title: "providers behind the call site",
  };
  const last = direct.at(-1);
  const directLayers = last
    ? [
        {
          data: { values: direct.map((d) => ({ ...d, label: "direct call (no dispatcher)" })) },
          encoding: { x, y: { field: "ns", type: "quantitative" } },
          layer: [
            { mark: { type: "line", strokeDash: [6, 4], color: "#555" } },
            { mark: { type: "point", shape: "diamond", filled: true, size: 40, color: "#555" } },
            {
              transform: [{ filter: `datum.degree === ${last.degree}` }],
              mark: { type: "text", align: "right", dx: -4, dy: -10, color: "#555" },
              encoding: { text: { field: "label" } },
            },
          ],
        },
      ]
    : [];
  // The shape legend only tells apart real-only and synthetic points when both occur.
  const mixed = new Set(values.map((v) => v.providers)).size > 1;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 480,
    height: 280,
    layer: [
      {
        // The variants' lines share x and colour; the direct line (its own data) does not.
        data: { values },
        encoding: { x, color: { field: "variant", type: "nominal" } },
        layer: [
          {
            mark: { type: "line", point: false },
            encoding: {
              y: { field: "ns", type: "quantitative", title: "ns / op (p50)", scale: { zero: true } },
            },
          },
          {
            mark: { type: "point", filled: true, size: 60 },
            encoding: {
              y: { field: "ns", type: "quantitative" },
              ...(mixed ? { shape: { field: "providers", type: "nominal", title: "points" } } : {}),
            },
          },
          {
            mark: { type: "rule" },
            encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
          },
        ],
      },
      ...directLayers,
    ],
  };
}

/** One engine's fixed paths (degree 0 or 1), grouped bars per variant. */
export function pathsSpec(figs: readonly Figure[], engine: string, paths: readonly string[]): Spec | null {
  const values = figs
    .filter((f) => f.engine === engine && paths.includes(f.path) && f.errors.length === 0)
    .map((f) => ({ path: f.path, ns: f.p50, variant: f.variant }));
  if (values.length === 0) return null;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${engine}: per-path cost (ns per op, p50)`,
    data: { values },
    columns: 5,
    facet: { field: "path", type: "nominal", title: null, sort: paths as string[] },
    spec: {
      width: 110,
      height: 160,
      mark: "bar",
      encoding: {
        x: { field: "variant", type: "nominal", axis: { labels: false, ticks: false, title: null } },
        y: { field: "ns", type: "quantitative", title: "ns / op (p50)" },
        color: { field: "variant", type: "nominal" },
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}

/**
 * The verdict as a markdown grid: one row per (engine, path, degree), one column per variant
 * (ratio to ops-table, bold when outside the noise), baselines left out (identical code).
 */
export function verdictTable(rows: readonly VerdictRow[]): string {
  const vs = [...new Set(rows.map((r) => r.variant))];
  const groups = new Map<string, VerdictRow[]>();
  for (const r of rows) {
    if (r.path.startsWith("baseline:")) continue;
    const k = `${r.engine}|${r.path}|${r.degree}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const head = `| engine | path | degree | ${vs.map((v) => `${v} / ops-table (noise)`).join(" | ")} |\n|---|---|---|${vs.map(() => "---").join("|")}|`;
  const body = [...groups.values()].map((g) => {
    const r0 = g[0];
    const cells = vs.map((v) => {
      const r = g.find((x) => x.variant === v);
      if (!r) return "–";
      const n = Number.isFinite(r.noise) ? ` (±${(r.noise * 100).toFixed(0)}%)` : "";
      if (r.call === "inside noise") return `${fmt(r.ratio)}x ≈${n}`;
      if (r.call === "noise unknown") return `${fmt(r.ratio)}x ?`;
      return `**${fmt(r.ratio)}x** ${r.call}${n}`;
    });
    return `| ${r0.engine} | ${r0.path} | ${r0.degree || "–"}${r0.synthetic ? " (synthetic)" : ""} | ${cells.join(" | ")} |`;
  });
  return [head, ...body].join("\n");
}

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
    "| engine | variant | scenario/bench | path | degree | p50 ns/op | p75 | mean | spread | runs | notes |\n|---|---|---|---|---|---|---|---|---|---|---|";
  const body = figs.map(
    (f) =>
      `| ${f.engine} | ${f.variant} | ${f.scenario}/${f.id} | ${f.path} | ${f.degree || "–"}${f.synthetic ? " (synthetic)" : ""} | ${fmt(f.p50)} | ${fmt(f.p75)} | ${fmt(f.mean)} | ${pct(f.spread)} | ${f.runs} | ${notes(f)} |${f.optimisedOut ? " **!**" : ""}${f.errors.length ? ` error: ${f.errors[0]}` : ""}`,
  );
  return [head, ...body].join("\n");
}

export const FIXED_PATHS = [
  "baseline:stack",
  "fast",
  "ring",
  "slow",
  "baseline:direct",
  "provider-slow",
  "return:copy",
  "return:zcrx",
  "return:devmem",
  "e2e",
];

/** Renders every chart; returns file name -> SVG text. */
export async function renderCharts(figs: readonly Figure[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const engine of [...new Set(figs.map((f) => f.engine))].sort()) {
    const s = sweepSpec(figs, engine);
    if (s) out.set(`${engine}-dispatch.svg`, await renderSvg(s));
    const fl = floorSpec(figs, engine);
    if (fl) out.set(`${engine}-dispatch-floor.svg`, await renderSvg(fl));
    const present = FIXED_PATHS.filter((p) => figs.some((f) => f.engine === engine && f.path === p));
    const p = pathsSpec(figs, engine, present);
    if (p) out.set(`${engine}-paths.svg`, await renderSvg(p));
  }
  return out;
}

export function markdownReport(r: ResultsFile, chartDir: string, charts: readonly string[]): string {
  const heap = r.figures
    .filter((f) => f.path === "e2e" && typeof f.extra.heapBytesPerMillionPackets === "number")
    .map(
      (f) =>
        `| ${f.engine} | ${f.variant} | ${f.extra.heapBytesPerMillionPackets} | ${f.extra.retainedBytesPerMillionPackets ?? "–"} | ${f.extra.heapPackets ?? "–"} |`,
    );
  const floor = floorRows(r.figures);
  const lines = [
    `# pagepool benchmark report (${r.mode})`,
    "",
    `Run ${r.startedAt} → ${r.finishedAt}, \`${r.command}\`, seed ${r.seed}, ${r.reps} process${r.reps > 1 ? "es" : ""} per (variant, engine, provider set), order shuffled.`,
    "",
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os} (${r.machine.arch}).`,
    `Versions: ${Object.entries(r.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    "",
    `Provider sets (sweep order): ${Object.entries(r.providerSets)
      .map(([k, v]) => `**${k}**: ${v.join(", ")}`)
      .join(
        "; ",
      )}.${r.skippedProviders.length ? ` Registered but not yet bindable by the benchmark: ${r.skippedProviders.join(", ")}.` : ""}`,
    "",
    r.failures.length ? `## FAILED\n\n${r.failures.map((f) => `- ${f}`).join("\n")}\n` : "",
    "## Verdict",
    "",
    `Ratios of each variant's p50 to ${REFERENCE_VARIANT}'s, per engine, path and degree (below 1 = faster than ${REFERENCE_VARIANT}). "≈" (inside noise): the difference is within the noise, the largest of the two figures' spreads across processes added together, the engine's null noise (how far apart variants measure on paths whose code is identical in every variant: ${[
      ...nullNoise(r.figures),
    ]
      .map(([e, x]) => `${(x * 100).toFixed(1)}% on ${e}`)
      .join(", ")}), and 2%.`,
    "",
    verdictTable(r.verdict),
    "",
    ...(floor.length
      ? [
          "## Dispatch floor",
          "",
          "The dispatch itself: the dispatch sweep's work (every allocation and every release dispatches) with synthetic floor providers that do almost nothing (pop or push a page on an Int32Array stack and attach or detach it), one dispatcher build over 16 of them. Per alloc + release, p50 ns ± spread across processes; in brackets, the cost over the direct call at that degree (the same pools and sequence, one provider, the pool's slow-path code written out inline around direct calls: no dispatcher): what the dispatch costs, the dispatcher function and its indirect call or chain, with the engine's speculation on what it has seen. The differences between variants at a degree are the dispatch alone.",
          "",
          floorTable(floor),
          "",
        ]
      : []),
    "## Charts",
    "",
    ...charts.map((c) => `![${c}](${chartDir}/${c})\n`),
    "## Cost accounting: the model against the kernel",
    "",
    "The model's path costs as ratios to its own baselines (ops-table build), beside the same ratios from the kernel's bench_page_pool_simple (kernel-facts.md section 7). Absolute nanoseconds do not compare (a JIT-compiled model against C); the shape of the cost does.",
    "",
    accountingTable(r.accounting),
    "",
    "## Heap growth in the end-to-end loop",
    "",
    "Allocated: heap growth between GCs (chunks in which a collection ran are left out), the allocation rate a per-packet object would show as tens of MB. Retained: live heap after a full GC, before and after (a leak). Both per million packets; target ~0 (a few hundred KB is the engines' own churn and the probe's readings).",
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

/** Cell text for a verdict row: `0.42x faster`, `0.99x ≈` (inside noise), `1.00x ?` (noise unknown). */
function cell(v: VerdictRow): string {
  const mark = v.call === "inside noise" ? "≈" : v.call === "noise unknown" ? "?" : v.call;
  const n = Number.isFinite(v.noise) ? ` ±${(v.noise * 100).toFixed(0)}%` : "";
  return `${v.ratio.toFixed(2)}x ${mark}${n}`;
}

/**
 * The verdict as a grouped table, one row per (engine, path, degree), one column per variant,
 * baselines left out (their code is the same in every variant; they only calibrate the noise).
 */
export function verdictGrid(rows: readonly VerdictRow[]): string {
  const vs = [...new Set(rows.map((r) => r.variant))];
  const keyOf = (r: VerdictRow) => `${r.engine}|${r.path}|${r.degree}`;
  const groups = new Map<string, VerdictRow[]>();
  for (const r of rows) {
    if (r.path.startsWith("baseline:")) continue;
    let g = groups.get(keyOf(r));
    if (!g) groups.set(keyOf(r), (g = []));
    g.push(r);
  }
  const head = `  ${"engine".padEnd(6)} ${"path".padEnd(14)} ${"degree".padEnd(15)} ${vs.map((v) => `${v} / ops-table`.padEnd(28)).join("")}`;
  const lines = [head];
  for (const g of groups.values()) {
    const r0 = g[0];
    const deg = r0.degree ? `${r0.degree}${r0.synthetic ? " (synthetic)" : ""}` : "–";
    const cells = vs.map((v) => {
      const r = g.find((x) => x.variant === v);
      return (r ? cell(r) : "–").padEnd(28);
    });
    lines.push(
      `  ${r0.engine.padEnd(6)} ${r0.path.padEnd(14)} ${deg.padEnd(15)} ${cells.join("").trimEnd()}`,
    );
  }
  return lines.join("\n");
}

/** The terminal's closing summary: the verdict table and sentences, accounting, heap, failures. */
export function terminalSummary(r: ResultsFile): string {
  const out: string[] = [];
  out.push(
    "",
    "Verdict: p50 ratio to ops-table per engine, path and degree ('≈' = inside the noise: the spreads across",
    "processes added, or what identical code measures apart on that engine, at least 2%):",
    verdictGrid(r.verdict),
  );
  const nn = nullNoise(r.figures);
  if (nn.size)
    out.push(
      `  (identical code measured apart by ${[...nn].map(([e, x]) => `${(x * 100).toFixed(1)}% on ${e}`).join(", ")}: the engines' null noise)`,
    );
  const key = r.verdict.filter(
    (v) => v.path === "dispatch" || v.path === "provider-slow" || v.path === FLOOR_PATH,
  );
  if (key.length) {
    out.push("", "Dispatch:");
    for (const v of key) out.push(`  ${verdictLine(v)}`);
  }
  const floor = floorRows(r.figures);
  if (floor.length) {
    const vs = [...new Set(floor.flatMap((x) => Object.keys(x.cells)))].sort();
    out.push(
      "",
      "Dispatch floor (do-nothing providers; ns per alloc+release, p50, and over the direct call at that degree):",
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
  for (const f of r.figures)
    if (f.path === "e2e" && typeof f.extra.heapBytesPerMillionPackets === "number")
      out.push(
        `  heap growth ${f.engine} ${f.variant}: ${f.extra.heapBytesPerMillionPackets} bytes per million packets allocated (${(f.extra.heapBytesPerMillionPackets / 1e6).toFixed(3)} per packet), ${f.extra.retainedBytesPerMillionPackets ?? "?"} retained`,
      );
  if (r.failures.length) out.push("", "FAILED:", ...r.failures.map((f) => `  ${f}`));
  return out.join("\n");
}
