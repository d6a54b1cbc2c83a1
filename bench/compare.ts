/**
 * `npm run bench -- compare a.json b.json [--fail-on-regression PCT]`: per cell, how results file
 * b's figures compare with a's (two machines, two commits, two engine versions): b / a with a 95%
 * interval from both files' launch-level standard errors (lib/stats.ts twoSampleRatioCI), a
 * headline per engine, and, with --fail-on-regression, exit status 1 when a cell got slower
 * beyond its interval by more than PCT per cent (the interval's lower end above 1 + PCT/100).
 *
 * Cells are the absolute figures (engine, provider set, bench, variant; units must agree) and,
 * beside them, the variant / ops-table comparisons (did the verdict move: ratio of ratios).
 */
import { readFileSync } from "node:fs";
import {
  type Command,
  type Flag,
  fail,
  flag,
  helpText,
  howToRun,
  parse,
  UsageError,
  userPath,
} from "../cli/args.ts";
import { cellKey } from "./lib/comparison.ts";
import { parseResults, type ResultsFile } from "./lib/schema.ts";
import { type Call, callOf, type RatioCI, twoSampleRatioCI } from "./lib/stats.ts";
import { ENGINE_NAMES } from "./lib/verdict.ts";

export interface CompareRow {
  kind: "figure" | "verdict";
  engine: string;
  cell: string;
  unit: string;
  a: number;
  b: number;
  ratio: RatioCI;
  call: Call;
  regression: boolean;
}

export interface CompareResult {
  rows: CompareRow[];
  headlines: string[];
  regressions: CompareRow[];
  /** Cells in one file only. */
  unmatched: string[];
}

const Z = 1.959963984540054;
/** Log-scale standard error from a 95% interval (files that predate logSE on comparisons). */
const seOf = (ci: { lo: number; hi: number; logSE?: number }) =>
  ci.logSE ?? (Math.log(ci.hi) - Math.log(ci.lo)) / (2 * Z);

export function compareResults(a: ResultsFile, b: ResultsFile, failPct: number | null = null): CompareResult {
  const rows: CompareRow[] = [];
  const unmatched: string[] = [];
  const fk = (f: ResultsFile["figures"][number]) => `${f.engine}|${f.set}|${f.scenario}/${f.id}|${f.variant}`;
  const bf = new Map(b.figures.map((f) => [fk(f), f]));
  const seen = new Set<string>();
  const limit = failPct === null ? Number.POSITIVE_INFINITY : 1 + failPct / 100;
  for (const fa of a.figures) {
    const k = fk(fa);
    const fb = bf.get(k);
    if (!fb) {
      unmatched.push(`${k} (only in a)`);
      continue;
    }
    seen.add(k);
    if (fa.unit !== fb.unit) {
      unmatched.push(`${k} (units differ: ${fa.unit} / ${fb.unit})`);
      continue;
    }
    if (!(fa.ci.estimate > 0 && fb.ci.estimate > 0)) continue;
    const ratio = twoSampleRatioCI(
      { estimate: fa.ci.estimate, logSE: seOf(fa.ci) },
      { estimate: fb.ci.estimate, logSE: seOf(fb.ci) },
    );
    const call = callOf(ratio);
    rows.push({
      kind: "figure",
      engine: fa.engine,
      cell: `${fa.engine} ${fa.set} ${fa.scenario}/${fa.id} ${fa.variant}`,
      unit: fa.unit,
      a: fa.ci.estimate,
      b: fb.ci.estimate,
      ratio,
      call,
      regression: ratio.lo > limit,
    });
  }
  for (const k of bf.keys()) if (!seen.has(k)) unmatched.push(`${k} (only in b)`);
  const bc = new Map(b.comparisons.map((c) => [cellKey(c), c]));
  for (const ca of a.comparisons) {
    const cb = bc.get(cellKey(ca));
    if (!cb) continue;
    const ratio = twoSampleRatioCI(
      { estimate: ca.ratio.estimate, logSE: seOf(ca.ratio) },
      { estimate: cb.ratio.estimate, logSE: seOf(cb.ratio) },
    );
    rows.push({
      kind: "verdict",
      engine: ca.engine,
      cell: `${ca.engine}${ca.flavour ? `/${ca.flavour}` : ""} ${ca.path}${ca.degree ? ` ${ca.degree}` : ""} ${ca.variant}/ops-table`,
      unit: "ratio",
      a: ca.ratio.estimate,
      b: cb.ratio.estimate,
      ratio,
      call: callOf(ratio),
      regression: false,
    });
  }
  const headlines: string[] = [];
  for (const engine of [...new Set(rows.map((r) => r.engine))]) {
    const fs = rows.filter((r) => r.kind === "figure" && r.engine === engine);
    if (!fs.length) continue;
    const slower = fs.filter((r) => r.call === "slower").length;
    const faster = fs.filter((r) => r.call === "faster").length;
    const med = [...fs.map((r) => r.ratio.estimate)].sort((x, y) => x - y)[fs.length >> 1];
    const vm = rows.filter((r) => r.kind === "verdict" && r.engine === engine && r.call !== "≈").length;
    headlines.push(
      `${ENGINE_NAMES[engine] ?? engine}: b is ${slower} of ${fs.length} cells slower and ${faster} faster than a beyond their intervals (median b/a ${med.toFixed(3)}); ${vm} variant/ops-table verdict${vm === 1 ? "" : "s"} moved.`,
    );
  }
  return { rows, headlines, regressions: rows.filter((r) => r.regression), unmatched };
}

/** Compare mode's flags (the shared CLI layer). */
export const COMPARE_COMMAND = {
  script: "bench",
  file: "bench/run.ts",
  summary:
    "compare: per-cell ratios b / a with 95% intervals between two pagepool-bench/2 results files, and a headline per engine.",
  positionals: {
    usage: "compare <a.json> <b.json>",
    max: 2,
    description: "two results files (bench/results/*.json)",
  },
  flags: {
    failOnRegression: flag.custom<number | null>(
      "exit 1 when a cell of b is slower than a beyond its interval by more than this many per cent",
      (raw, f) => {
        const x = Number(raw);
        if (!(x >= 0 && x < 1000)) fail(f, `must be a percentage >= 0, e.g. 5; got "${raw}"`);
        return x;
      },
      { default: null, defaultText: "off", metavar: "pct", example: "5" },
    ),
  },
} satisfies Command<Record<string, Flag<unknown>>>;

export async function compareMain(argv: readonly string[]): Promise<number> {
  let files: string[];
  let failPct: number | null;
  try {
    const p = parse(COMPARE_COMMAND, argv);
    if (p.help) {
      process.stdout.write(`${helpText(COMPARE_COMMAND)}\n`);
      return 0;
    }
    if (p.positionals.length !== 2)
      throw new UsageError(`compare needs two results files, got ${p.positionals.length}`);
    files = p.positionals.map((f) => userPath("bench", f));
    failPct = p.values.failOnRegression;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench compare: ${e.message}\ntry ${howToRun("bench", "bench/run.ts", "compare --help")}`);
    return 2;
  }
  let a: ResultsFile;
  let b: ResultsFile;
  try {
    const load = (f: string) => {
      let t: string;
      try {
        t = readFileSync(f, "utf8");
      } catch (e) {
        throw new Error(`cannot read ${f} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      return parseResults(t, f);
    };
    a = load(files[0]);
    b = load(files[1]);
  } catch (e) {
    console.error(`bench compare: ${(e as Error).message}`);
    return 2;
  }
  const r = compareResults(a, b, failPct);
  const out: string[] = [
    `compare: a = ${files[0]} (${a.startedAt}, ${a.machine.cpu}), b = ${files[1]} (${b.startedAt}, ${b.machine.cpu})`,
    ...r.headlines,
    "",
  ];
  for (const row of r.rows)
    out.push(
      `  ${row.cell.padEnd(58)} ${row.kind === "figure" ? `${row.a.toFixed(2)} → ${row.b.toFixed(2)} ${row.unit}`.padEnd(40) : `${row.a.toFixed(3)} → ${row.b.toFixed(3)}`.padEnd(40)} b/a ${row.ratio.estimate.toFixed(3)} (${row.ratio.lo.toFixed(3)}–${row.ratio.hi.toFixed(3)}) ${row.call}${row.regression ? "  REGRESSION" : ""}`,
    );
  if (r.unmatched.length)
    out.push(
      "",
      `${r.unmatched.length} cell(s) in one file only: ${r.unmatched.slice(0, 8).join("; ")}${r.unmatched.length > 8 ? "; …" : ""}`,
    );
  if (failPct !== null)
    out.push(
      "",
      r.regressions.length
        ? `FAIL: ${r.regressions.length} cell(s) slower beyond their interval by more than ${failPct}%: ${r.regressions.map((x) => x.cell).join("; ")}`
        : `no cell slower beyond its interval by more than ${failPct}%`,
    );
  process.stdout.write(`${out.join("\n")}\n`);
  return failPct !== null && r.regressions.length ? 1 : 0;
}
