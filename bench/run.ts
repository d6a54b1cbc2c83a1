/**
 * `npm run bench`: measures every dispatcher variant against ops-table on Bun (JavaScriptCore) and
 * Node (V8), and the native C leg when a C compiler is found, by paired interleaved bursts, and
 * ends with one headline sentence per engine, the grid of intervals, the A/A calibration and the
 * cost accounting; writes bench/results/<timestamp>.{json,md} with charts (SVG and PNG).
 *
 *   npm run bench -- [--quick | --full] [--engine bun,node,native] [--variant if-chain,...]
 *                    [--filter re] [--launches N] [--target 0.02] [--budget S] [--seed N]
 *                    [--json out.json | --json -] [--no-pgo] [--no-synthetic] [--no-floor]
 *                    [--name base [--overwrite]]
 *   npm run bench -- --render bench/results/x.json   # rebuild a report from its results file
 *   npm run bench -- compare a.json b.json [--fail-on-regression PCT]
 *   npm run bench -- ab <commit-a> <commit-b> [--engine node]   # two commits' hot paths, paired
 *
 * The method (issue 10): per engine and provider set, one long-lived child per variant, each
 * linked to its own dispatcher (Bun: import condition; Node and the generated sets: a bundle with
 * `#dispatch` redirected), plus a second, separately linked ops-table ("ops-table#2", the A/A
 * twin). The runner drives them over stdin/stdout (bench/lib/serve.ts): short bursts of ops-table
 * and of a variant in ABBA/BAAB quartets in random order (bench/lib/schedule.ts), so the two
 * bursts of a pair see the same machine state; the figure of merit is the distribution of pair
 * ratios, per launch; several launches (fresh processes) sample process-level effects. Rounds run
 * until every cell's interval is below --target or the mode's budget is spent (adaptive). Benches
 * are run in blocks in the order the old one-shot child ran them (baselines and paths, then the
 * dispatch degrees ascending, then returns and end to end), so at degree d the dispatch call
 * sites have been exercised hot by at most d providers.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, join, relative } from "node:path";
import {
  type Command,
  type Flag,
  fail,
  flag,
  helpText,
  howToRun,
  type Output,
  openOutput,
  parse,
  UsageError,
  userPath,
} from "../cli/args.ts";
import { FIXED_PATHS, renderReportCharts } from "./lib/charts.ts";
import { AA_VARIANT, BASELINE, type ComparisonRecord, DISPATCH_PATHS } from "./lib/comparison.ts";
import type { Mode } from "./lib/harness.ts";
import { accounting, failures } from "./lib/merge.ts";
import { ServingChild } from "./lib/proc.ts";
import { markdownReport, terminalSummary } from "./lib/report.ts";
import { mulberry32, shuffle } from "./lib/rng.ts";
import { cellCI, planRound, pooledFor, runRound, Samples, sampleId, summarise } from "./lib/schedule.ts";
import { type NativeSection, parseResults, type ResultsFile, SCHEMA } from "./lib/schema.ts";
import type { BenchMeta, Calibration } from "./lib/serve.ts";
import {
  callOf,
  launchCorrectedCI,
  launchSummary,
  type PooledLaunchVariance,
  poolLaunchVariance,
} from "./lib/stats.ts";
import {
  BENCH_DIR,
  dispatchFile,
  emitSet,
  FLOOR_PLUGINS_DIR,
  ROOT,
  SYNTH_DIR,
  writeFloorProviders,
  writeSyntheticProviders,
} from "./lib/synthetic.ts";
import { aaSummaries, headline, targetSummary } from "./lib/verdict.ts";

export const VARIANTS = ["ops-table", "if-chain", "icall-wrapper", "icall-pgo"] as const;
export const ENGINES = ["bun", "node", "native"] as const;
/** Degrees that cross the engines' thresholds: V8 megamorphic past 4, JSC's limits 5 and 8. */
export const DEGREES = [1, 2, 3, 4, 5, 6, 8, 9, 12, 16];
const FULL_DEGREES = Array.from({ length: 16 }, (_, i) => i + 1);
const MAX_SYNTHETIC_DEGREE = 16;
/** Floor providers generated for the dispatch floor (bench/templates/floor-provider.ts.hbs). */
const FLOOR_PROVIDERS = 16;

/** Whole-run budgets, seconds (the native leg's share included), and the native leg's share. */
export const BUDGET_S: Record<Mode, number> = { quick: 95, default: 540, full: 1680 };
export const NATIVE_SHARE_S: Record<Mode, number> = { quick: 35, default: 90, full: 240 };
export const LAUNCHES: Record<Mode, number> = { quick: 3, default: 4, full: 6 };
/** Burst length, warm-up and mitata calibration per bench per process, ms. */
const BURST_MS: Record<Mode, number> = { quick: 1, default: 2, full: 2 };
/** Warm-up in CPU ms per bench and process: JSC's FTL waits for ~64k calls (tooling-notes 5). */
const WARMUP_MS: Record<Mode, number> = { quick: 40, default: 100, full: 200 };
const CALIBRATE_MS: Record<Mode, number> = { quick: 2, default: 5, full: 10 };
/** Rounds every block gets in every launch, whatever the budget: every cell has an interval. */
const MIN_ROUNDS = 6;

export interface Options {
  mode: Mode;
  engines: string[];
  /** True when --engine was given (native then runs even without a compiler, to say why not). */
  enginesExplicit: boolean;
  variants: string[];
  filter: string | null;
  launches: number;
  target: number;
  budgetS: number;
  seed: number;
  json: string | null;
  synthetic: boolean;
  floor: boolean;
  name: string | null;
  overwrite: boolean;
  render: string | null;
}

const nameFlag = (raw: string, f: string) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw)) fail(f, `must be a plain file name, got "${raw}"`);
  return raw;
};
const listFlag = (allowed: readonly string[]) => (raw: string, f: string) => {
  const xs = raw.split(",").filter(Boolean);
  if (!xs.length) fail(f, "needs a comma-separated list");
  for (const y of xs)
    if (!allowed.includes(y)) fail(f, `unknown value "${y}" (one of ${allowed.join(", ")})`);
  return xs;
};

/** The bench command's flags (the shared CLI layer, cli/args.ts: --flag value or --flag=value). */
export const BENCH_COMMAND = {
  script: "bench",
  file: "bench/run.ts",
  summary:
    "Paired, interleaved measurement of every dispatcher variant against ops-table (and an A/A twin of ops-table) on Bun and Node, and the native C leg when a C compiler is found.",
  flags: {
    quick: flag.bool(
      `3 launches, 1 ms bursts, budget ${BUDGET_S.quick} s including the native leg's ${NATIVE_SHARE_S.quick} s`,
    ),
    full: flag.bool(
      `6 launches, every degree 1-16, budget ${BUDGET_S.full} s (the default mode: 4 launches, ${BUDGET_S.default} s)`,
    ),
    engine: flag.custom<string[] | null>("engines to measure", listFlag(ENGINES), {
      default: null,
      defaultText: "bun,node, and native when a C compiler is found ($PAGEPOOL_CC or cc)",
      metavar: "list",
      example: "node,native",
    }),
    variant: flag.custom<string[] | null>(
      "dispatcher variants (ops-table is always measured)",
      listFlag(VARIANTS),
      {
        default: null,
        defaultText: "all; --quick: if-chain only",
        metavar: "list",
        example: "if-chain",
      },
    ),
    filter: flag.custom<string | null>(
      "only benches whose scenario/id or path matches (nothing matched: exit 2)",
      (raw, f) => {
        try {
          new RegExp(raw);
        } catch (e) {
          fail(f, `is not a regular expression: ${(e as Error).message}`);
        }
        return raw;
      },
      { default: null, defaultText: "none", metavar: "regex", example: "floor" },
    ),
    launches: flag.int("fresh processes per comparison", {
      default: 0,
      defaultText: "quick 3, default 4, full 6",
      min: 1,
      max: 20,
    }),
    target: flag.custom(
      "stop a cell once its interval half-width is below this",
      (raw, f) => {
        const x = Number(raw);
        if (!(x > 0 && x < 1)) fail(f, `must be a fraction in (0, 1), e.g. 0.02 for ±2%; got "${raw}"`);
        return x;
      },
      { default: 0.02, metavar: "fraction", example: "0.03" },
    ),
    budget: flag.int("whole-run budget", {
      default: 0,
      defaultText: `quick ${BUDGET_S.quick}, default ${BUDGET_S.default}, full ${BUDGET_S.full}`,
      min: 10,
      max: 86400,
      metavar: "seconds",
    }),
    seed: flag.int("seed of the work sequences, the schedule and the bootstrap", {
      default: 42,
      max: 2 ** 31 - 1,
    }),
    json: flag.str("also write the results there (- : only the JSON on stdout, progress on stderr)", {
      metavar: "file",
      example: "out.json",
    }),
    noPgo: flag.bool("leave out icall-pgo"),
    noSynthetic: flag.bool("leave out the sweep degrees that need synthetic providers (--quick always does)"),
    noFloor: flag.bool("leave out the dispatch floor"),
    name: flag.custom<string | null>("report file name instead of the start time", nameFlag, {
      default: null,
      defaultText: "the start time",
      metavar: "base",
      example: "mine",
    }),
    overwrite: flag.bool("let --name replace an existing report (the committed sample needs it)"),
    render: flag.str("rebuild the report of a results file, no measuring", {
      metavar: "file",
      example: "bench/results/sample.json",
    }),
  },
  epilog: () =>
    [
      "compare mode:",
      `  ${howToRun("bench", "bench/run.ts", "compare <a.json> <b.json> [--fail-on-regression <pct>]")}`,
      "  per-cell ratios b/a with intervals, a headline per engine; exit 1 with --fail-on-regression",
      "  when a cell of b is slower than a beyond its interval by more than pct per cent.",
      "two commits, paired:",
      `  ${howToRun("bench", "bench/run.ts", "ab <commit-a> <commit-b> [--engine bun|node] [--launches N]")}`,
      "  the fast and slow paths of each commit in its own process, interleaved bursts, b/a with a",
      "  95% interval (see ab --help).",
    ].join("\n"),
} satisfies Command<Record<string, Flag<unknown>>>;

/** Parses the bench command line (throws the shared UsageError); `help` is set on --help. */
export function parseArgs(argv: readonly string[]): Options & { help: boolean } {
  const p = parse(BENCH_COMMAND, argv);
  if (p.help) return { help: true, ...defaults("default") };
  const v = p.values;
  if (v.quick && v.full) throw new UsageError("--quick and --full exclude each other");
  const mode: Mode = v.quick ? "quick" : v.full ? "full" : "default";
  // --quick: the headline's question only (if-chain against ops-table, and the A/A twin).
  let variants: string[] =
    v.variant ?? VARIANTS.filter((x) => mode !== "quick" || x === "ops-table" || x === "if-chain");
  if (v.noPgo) variants = variants.filter((x) => x !== "icall-pgo");
  if (!variants.includes(BASELINE)) variants = [BASELINE, ...variants];
  return {
    help: false,
    mode,
    engines: v.engine ?? ["bun", "node", "native"],
    enginesExplicit: v.engine !== null,
    variants,
    filter: v.filter,
    launches: v.launches || LAUNCHES[mode],
    target: v.target,
    budgetS: v.budget || BUDGET_S[mode],
    seed: v.seed,
    json: v.json ?? null,
    // --quick leaves out the synthetic sweep degrees (6-16): the dispatch floor covers 1-16.
    synthetic: !v.noSynthetic && mode !== "quick",
    floor: !v.noFloor,
    name: v.name,
    overwrite: v.overwrite,
    render: v.render ?? null,
  };
}

function defaults(mode: Mode): Options {
  return {
    mode,
    engines: ["bun", "node", "native"],
    enginesExplicit: false,
    variants: [...VARIANTS],
    filter: null,
    launches: LAUNCHES[mode],
    target: 0.02,
    budgetS: BUDGET_S[mode],
    seed: 42,
    json: null,
    synthetic: true,
    floor: true,
    name: null,
    overwrite: false,
    render: null,
  };
}

/**
 * Whether a set's processes could measure anything under --filter: the child matches the filter
 * against `scenario/id` and against the path, so the set is wanted when any of its known ids or
 * paths matches (a set the filter excludes is neither built nor run).
 */
export function setWanted(filter: string | null, ids: readonly string[], paths: readonly string[]): boolean {
  if (filter === null) return true;
  const re = new RegExp(filter);
  return ids.some((id) => re.test(id)) || paths.some((p) => re.test(p));
}

/**
 * A cell's weight in the time shares, off the dispatch paths: those cells need an interval, not
 * the target half-width (only the dispatch cells reach the dispatcher and carry the verdict), so
 * they get a third of a dispatch cell's time. In equal shares the paths block (15 benches) took
 * a third of every launch's measuring time and a dispatch degree under a second.
 */
export const NON_DISPATCH_WEIGHT = 1 / 3;

/** Weight of bench keys in the time shares: 1 per dispatch bench, NON_DISPATCH_WEIGHT per other. */
export function weightOf(keys: readonly string[], metas: ReadonlyMap<string, { path: string }>): number {
  return keys.reduce(
    (a, k) => a + (DISPATCH_PATHS.includes(metas.get(k)?.path ?? "") ? 1 : NON_DISPATCH_WEIGHT),
    0,
  );
}

/**
 * When a block's rounds stop: its share, by cells (`here` of the `left` still to measure in the
 * launch, its own included), of the launch's time left after reserving `reserveMs` for the fixed
 * costs still ahead (the later blocks' warm-up and calibration, the later scopes' process starts).
 */
export function blockSliceEnd(
  now: number,
  launchDeadline: number,
  reserveMs: number,
  here: number,
  left: number,
): number {
  return now + Math.max(0, launchDeadline - now - reserveMs) * (here / Math.max(1, left));
}

/** The C compiler the native leg would use, or null: $PAGEPOOL_CC, else cc. */
export function findCompiler(env: Record<string, string | undefined> = process.env): string | null {
  const cc = env.PAGEPOOL_CC || "cc";
  const r = spawnSync(cc, ["--version"], { stdio: "ignore" });
  return r.status === 0 ? cc : null;
}

/**
 * Blocks of one provider set in run order: the set's bench keys grouped so that a block's cells
 * are interleaved with each other and nothing else (the dispatch degrees ascending, each its own
 * block; fixed paths before, returns and end to end after).
 */
export function blocksOf(metas: readonly BenchMeta[]): Array<{ name: string; keys: string[] }> {
  const rank = (m: BenchMeta) =>
    m.scenario === "baselines" || m.scenario === "paths"
      ? 0
      : m.scenario === "return-paths" || m.scenario === "e2e-napi"
        ? 1000
        : 1 + m.degree;
  const by = new Map<number, string[]>();
  for (const m of metas) {
    const r = rank(m);
    let g = by.get(r);
    if (!g) by.set(r, (g = []));
    g.push(m.key);
  }
  return [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([r, keys]) => ({ name: r === 0 ? "paths" : r === 1000 ? "returns+e2e" : `degree ${r - 1}`, keys }));
}

function bunBin(): string {
  return process.execPath; // the runner itself runs on Bun
}

/** Bundles bench/child.ts for `target`, with `#dispatch` redirected to `redirect` when given. */
export async function bundle(
  outFile: string,
  target: "bun" | "node",
  conditions: string[],
  redirect: string | null,
) {
  const r = await Bun.build({
    entrypoints: [join(BENCH_DIR, "child.ts")],
    target,
    format: "esm",
    conditions,
    minify: false, // minifying invites constant folding the benches are written to avoid
    // Node has no import.meta.dir (Bun's); the shared CLI layer reads it for the repo root.
    define: target === "node" ? { "import.meta.dir": JSON.stringify(join(ROOT, "cli")) } : {},
    plugins: redirect
      ? [
          {
            name: "link-dispatch",
            setup(b) {
              b.onResolve({ filter: /^#dispatch$/ }, () => ({ path: redirect }));
            },
          },
        ]
      : [],
  });
  if (!r.success) throw new Error(`bundling ${outFile} failed:\n${r.logs.map(String).join("\n")}`);
  writeFileSync(outFile, await r.outputs[0].text());
}

/** Runs a helper child (profiling) to completion; throws with its stderr on failure. */
function runQuiet(cmd: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolveP, reject) => {
    const r = spawnSync(cmd[0], cmd.slice(1), {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
    if (r.status === 0) resolveP();
    else
      reject(new Error(`${cmd.join(" ")} exited ${r.status ?? r.signal}:\n${(r.stderr ?? "").slice(-2000)}`));
  });
}

interface SweepProfile {
  rigs: string[];
  skipped: string[];
  counts: Record<string, Record<string, number>>;
}

function pkgVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
}

function nodeBin(): string {
  return process.env.BENCH_NODE ?? "node";
}

function machine(): Omit<ResultsFile["machine"], "loadavgEnd"> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    arch: `${process.arch}-${process.platform}`,
    loadavgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** One process to start per (engine, set, variant): its argv and environment. */
interface Launchable {
  engine: string;
  set: string;
  variant: string;
  cmd: string[];
  env: Record<string, string>;
}

/** Builds the provider sets and every variant's link, as the one-shot runner did. */
async function build(o: Options, log: (s: string) => void) {
  mkdirSync(SYNTH_DIR, { recursive: true });
  const buildDir = join(SYNTH_DIR, "build");
  mkdirSync(buildDir, { recursive: true });
  const profTmp = join(buildDir, "profile-out.json");
  const common0 = ["--seed", String(o.seed)];
  const degrees = o.mode === "full" ? FULL_DEGREES : DEGREES;
  const realCmd = [
    bunBin(),
    "--conditions=ops-table",
    join(BENCH_DIR, "child.ts"),
    ...common0,
    "--profile",
    profTmp,
  ];
  await runQuiet(realCmd, {});
  const realProf = JSON.parse(readFileSync(profTmp, "utf8")) as SweepProfile;
  const realRigs = realProf.rigs;
  const realDegrees = degrees.filter((d) => d <= realRigs.length);
  const synthDegrees =
    o.synthetic &&
    setWanted(
      o.filter,
      degrees.map((d) => `dispatch-sweep/sweep-${d}`),
      ["dispatch"],
    )
      ? degrees.filter((d) => d > realRigs.length && d <= MAX_SYNTHETIC_DEGREE)
      : [];
  const providerSets: Record<string, string[]> = { real: realRigs };
  writeFileSync(
    join(BENCH_DIR, "profile.json"),
    `${JSON.stringify({ source: `bench dispatch sweep, degrees ${realDegrees.join(",")}, seed ${o.seed}`, counts: realProf.counts }, null, 2)}\n`,
  );
  const wantPgo = o.variants.includes("icall-pgo");
  const sets: Array<{
    set: string;
    degrees: number[];
    dir: string | null;
    pgoDir: string | null;
    scenarios: string;
  }> = [];
  const realScenarios = "baselines,paths,dispatch-sweep,return-paths,e2e-napi";
  const realIds = [
    ...["loop", "stack", "direct-call", "arraybuffer", "buffer"].map((x) => `baselines/${x}`),
    ...["fast", "ring", "slow", "provider-slow"].map((x) => `paths/${x}`),
    ...realDegrees.map((d) => `dispatch-sweep/sweep-${d}`),
    ...["copy", "zcrx", "devmem"].map((x) => `return-paths/${x}`),
    "e2e-napi/e2e",
    "e2e-napi/e2e-rx4k",
    "e2e-napi/e2e-rx32k",
  ];
  // The fixed paths the report lists, the other baselines, and the sweep.
  const realPaths = [...FIXED_PATHS, "baseline:loop", "baseline:arraybuffer", "baseline:buffer", "dispatch"];
  if (setWanted(o.filter, realIds, realPaths)) {
    // (the child filters the benches themselves; a set whose children match nothing is dropped)
    sets.push({
      set: "real",
      degrees: realDegrees,
      dir: null,
      pgoDir: wantPgo
        ? await emitSet({ outName: "real-pgo", withSynthetic: false, profile: { counts: realProf.counts } })
        : null,
      scenarios: realScenarios,
    });
  }
  if (synthDegrees.length) {
    writeSyntheticProviders(MAX_SYNTHETIC_DEGREE - realRigs.length);
    const dir = await emitSet({ outName: "synthetic", withSynthetic: true });
    const f = join(buildDir, "synthetic-profile.bun.js");
    await bundle(f, "bun", [], dispatchFile(dir, "ops-table"));
    await runQuiet([bunBin(), f, ...common0, "--profile", profTmp], {
      BENCH_DEGREES: synthDegrees.join(","),
    });
    const prof = JSON.parse(readFileSync(profTmp, "utf8")) as SweepProfile;
    providerSets.synthetic = prof.rigs;
    sets.push({
      set: "synthetic",
      degrees: synthDegrees,
      dir,
      pgoDir: wantPgo
        ? await emitSet({ outName: "synthetic-pgo", withSynthetic: true, profile: { counts: prof.counts } })
        : null,
      scenarios: "dispatch-sweep",
    });
  }
  const floorDegrees = degrees.filter((d) => d <= FLOOR_PROVIDERS);
  if (
    o.floor &&
    setWanted(
      o.filter,
      floorDegrees.flatMap((d) => [`dispatch-floor/floor-${d}`, `dispatch-floor/floor-direct-${d}`]),
      ["dispatch-floor", "baseline:floor-direct"],
    )
  ) {
    writeFloorProviders(FLOOR_PROVIDERS);
    const pluginsDirs = [FLOOR_PLUGINS_DIR];
    const dir = await emitSet({ outName: "floor", withSynthetic: false, pluginsDirs });
    const f = join(buildDir, "floor-profile.bun.js");
    await bundle(f, "bun", [], dispatchFile(dir, "ops-table"));
    await runQuiet([bunBin(), f, ...common0, "--set", "floor", "--profile", profTmp], {
      BENCH_DEGREES: floorDegrees.join(","),
    });
    const prof = JSON.parse(readFileSync(profTmp, "utf8")) as SweepProfile;
    providerSets.floor = prof.rigs;
    sets.push({
      set: "floor",
      degrees: floorDegrees,
      dir,
      pgoDir: wantPgo
        ? await emitSet({
            outName: "floor-pgo",
            withSynthetic: false,
            pluginsDirs,
            profile: { counts: prof.counts },
          })
        : null,
      scenarios: "dispatch-floor",
    });
  }
  const jsEngines = o.engines.filter((e) => e !== "native");
  const procs: Launchable[] = [];
  const labels = [...o.variants, AA_VARIANT];
  for (const s of sets)
    for (const label of labels) {
      // The A/A twin is ops-table again, linked separately: its own bundle file (or, for Bun on
      // the real set, its own process resolving the same import condition, as ops-table does).
      const variant = label === AA_VARIANT ? BASELINE : label;
      const generated = variant === "icall-pgo" ? "icall-wrapper" : variant;
      const redirect =
        variant === "icall-pgo"
          ? dispatchFile(s.pgoDir!, "icall-wrapper")
          : s.dir
            ? dispatchFile(s.dir, generated)
            : null;
      const conditions = redirect ? [] : [generated];
      const common = [
        "--serve",
        "--mode",
        o.mode,
        "--seed",
        String(o.seed),
        "--set",
        s.set,
        "--scenarios",
        s.scenarios,
      ];
      if (o.filter) common.push("--filter", o.filter);
      const env = { BENCH_DEGREES: s.degrees.join(",") || "0" };
      const file = label.replace("#", "-").replace(/[^A-Za-z0-9-]/g, "");
      for (const engine of jsEngines) {
        let cmd: string[];
        if (engine === "bun") {
          if (redirect) {
            const f = join(buildDir, `${s.set}-${file}.bun.js`);
            await bundle(f, "bun", [], redirect);
            cmd = [bunBin(), f, ...common];
          } else cmd = [bunBin(), `--conditions=${generated}`, join(BENCH_DIR, "child.ts"), ...common];
        } else {
          const f = join(buildDir, `${s.set}-${file}.node.mjs`);
          await bundle(f, "node", conditions, redirect);
          cmd = [nodeBin(), "--expose-gc", f, ...common];
        }
        procs.push({ engine, set: s.set, variant: label, cmd, env });
      }
    }
  log(
    `built ${sets.map((s) => `${s.set} (degrees ${s.degrees.join(",") || "–"})`).join(", ")}: ${procs.length} processes per launch`,
  );
  return { procs, providerSets, skippedProviders: realProf.skipped };
}

interface ScopeState {
  scope: string;
  engine: string;
  set: string;
  metas: Map<string, BenchMeta>;
  blocks: Array<{ name: string; keys: string[] }>;
  variants: string[];
}

/** The measuring loop: launches x scopes x blocks, rounds until target or slice end. */
async function measureAll(
  o: Options,
  procs: Launchable[],
  deadline: number,
  log: (s: string) => void,
  stop: { requested: boolean; live: Set<ServingChild> },
) {
  const samples = new Samples();
  const rand = mulberry32(o.seed ^ 0x51ed);
  const scopes = new Map<string, ScopeState>();
  const flags = new Map<
    string,
    { optimisedOut?: boolean; errors?: string[]; extra?: Record<string, number | string | boolean> }
  >();
  const runErrors: string[] = [];
  const versions: Record<string, string> = {};
  const byScope = new Map<string, Launchable[]>();
  for (const p of procs) {
    const k = `${p.engine}|${p.set}`;
    let g = byScope.get(k);
    if (!g) byScope.set(k, (g = []));
    g.push(p);
  }
  const dispatchUnmet = () => {
    const out = new Set<string>();
    for (const st of scopes.values()) {
      const pooled = pooledFor(samples, st.scope, o.seed);
      for (const m of st.metas.values())
        if (DISPATCH_PATHS.includes(m.path))
          for (const v of st.variants) {
            const ci = cellCI(samples, sampleId(st.scope, m.key, v), pooled, o.seed, 150);
            if (!ci || ci.halfWidth > o.target) out.add(st.scope);
          }
    }
    return out;
  };
  let launchesRun = 0;
  const launchTimes: number[] = [];
  const maxLaunches = Math.max(o.launches, 2 * o.launches);
  for (let launch = 0; launch < maxLaunches && !stop.requested; launch++) {
    const extra = launch >= o.launches;
    // Scopes in a fresh random order each launch, so no engine or set is always measured last
    // (with the least of the launch's share left).
    let todo = shuffle([...byScope.keys()], rand);
    if (extra) {
      const unmet = dispatchUnmet();
      const avg = launchTimes.reduce((a, x) => a + x, 0) / Math.max(1, launchTimes.length);
      todo = todo.filter((s) => unmet.has(s));
      if (!todo.length || deadline - Date.now() < 0.8 * avg * (todo.length / Math.max(1, byScope.size)))
        break;
      log(
        `launch ${launch + 1} (extra: ${todo.length} scope${todo.length > 1 ? "s" : ""} short of ±${o.target * 100}%)`,
      );
    } else log(`launch ${launch + 1}/${o.launches}`);
    const tLaunch = Date.now();
    // This launch's fixed costs so far (process starts, warm-up and calibration per block), to
    // reserve for the blocks still ahead: without the reserve, the scopes measured last in a
    // launch got only MIN_ROUNDS (the first launch's calibrations took 60% of its time, and one
    // such launch with 6 pairs per cell made identical code read different).
    let prepMs = 0;
    let preparedKeys = 0;
    let startMs = 0;
    let started = 0;
    // This launch's share of the time left: its own fixed costs (starting processes, warm-up,
    // mitata's calibration in the first launch) come out of its share, not the next launch's.
    const launchDeadline = tLaunch + Math.max(0, deadline - tLaunch) / Math.max(1, o.launches - launch);
    for (let si = 0; si < todo.length && !stop.requested; si++) {
      const scope = todo[si];
      const [engine, set] = scope.split("|");
      const group = byScope.get(scope)!;
      const children = new Map<string, ServingChild>();
      try {
        // Start (and warm, and calibrate) the processes in a fresh order each launch, so no role
        // (ops-table, a variant, the twin) is always first to the CPU.
        for (const p of shuffle([...group], rand)) {
          const c = new ServingChild(`${engine} ${set} ${p.variant}`, p.cmd, {
            cwd: ROOT,
            env: { ...process.env, ...p.env, NO_COLOR: "1" },
          });
          children.set(p.variant, c);
          stop.live.add(c);
        }
        const tReady = Date.now();
        const readies = new Map<string, Record<string, unknown>>();
        for (const [v, c] of children) readies.set(v, await c.ready);
        startMs += Date.now() - tReady;
        started++;
        log(
          `  ${engine.padEnd(4)} ${set.padEnd(9)} ${children.size} processes ready in ${((Date.now() - tReady) / 1000).toFixed(1)} s`,
        );
        for (const [v, r] of readies) {
          const expected = v === AA_VARIANT ? BASELINE : v === "icall-pgo" ? "icall-wrapper" : v;
          if (r.variant !== expected)
            throw new Error(
              `${engine} ${set} ${v}: linked dispatcher is ${r.variant}, expected ${expected} (is codegen up to date?)`,
            );
          const vs = r.versions as Record<string, string>;
          for (const [k, x] of Object.entries(vs)) if (x && !versions[k]) versions[k] = x;
        }
        const metas = readies.get(BASELINE)!.benches as BenchMeta[];
        if (!metas.length) {
          log(`  ${scope}: no bench matches --filter`);
          continue;
        }
        let st = scopes.get(scope);
        if (!st) {
          st = {
            scope,
            engine,
            set,
            metas: new Map(metas.map((m) => [m.key, m])),
            blocks: blocksOf(metas),
            variants: [...children.keys()].filter((v) => v !== BASELINE),
          };
          scopes.set(scope, st);
        }
        const burster = {
          burst: async (variant: string, key: string) =>
            (await children.get(variant)!.request<{ ns: number }>({ op: "burst", key })).ns,
        };
        let blocks = st.blocks;
        if (extra) {
          const pooled = pooledFor(samples, scope, o.seed);
          blocks = blocks.filter((b) =>
            b.keys.some(
              (k) =>
                DISPATCH_PATHS.includes(st!.metas.get(k)!.path) &&
                st!.variants.some(
                  (v) =>
                    !(
                      (cellCI(samples, sampleId(scope, k, v), pooled, o.seed, 150)?.halfWidth ?? 1) <=
                      o.target
                    ),
                ),
            ),
          );
        }
        // Weight of the launch's remaining work, in cells: this scope's blocks from here on and the
        // launch's remaining scopes (an unseen scope counts as big as this one).
        const cellsOf = (s: ScopeState | undefined, n: number) =>
          s ? weightOf([...s.metas.keys()], s.metas) * s.variants.length : n;
        const laterScopes = todo
          .slice(si + 1)
          .reduce((a, k) => a + cellsOf(scopes.get(k), cellsOf(st, 0)), 0);
        // Bench keys still to prepare in the later scopes (an unseen scope counts as many as this
        // one), for the reserve: a block's prepare time is about proportional to its keys (the
        // paths block, with 15 benches, takes 5-8 s where a degree's block takes under 1).
        const keysOf = (bs: ReadonlyArray<{ keys: string[] }>) => bs.reduce((a, x) => a + x.keys.length, 0);
        const laterKeys = todo.slice(si + 1).reduce((a, k) => a + keysOf(scopes.get(k)?.blocks ?? blocks), 0);
        for (let bi = 0; bi < blocks.length && !stop.requested; bi++) {
          const b = blocks[bi];
          const here = weightOf(b.keys, st.metas) * st.variants.length;
          const rest = blocks
            .slice(bi)
            .reduce((a, x) => a + weightOf(x.keys, st!.metas) * st!.variants.length, 0);
          const tPrep = Date.now();
          await Promise.all(
            [...children.values()].map((c) =>
              c.request({ op: "warmup", keys: b.keys, warmupMs: WARMUP_MS[o.mode] }),
            ),
          );
          const cals = await Promise.all(
            [...children.entries()].map(async ([v, c]) => {
              const r = await c.request<{ cal: Record<string, Calibration> }>({
                op: "prepare",
                keys: b.keys,
                calibrateMs: launch === 0 ? CALIBRATE_MS[o.mode] : 0,
                burstMs: BURST_MS[o.mode],
              });
              return [v, r.cal] as const;
            }),
          );
          for (const [v, cal] of cals)
            for (const [k, x] of Object.entries(cal))
              if (x.optimisedOut) {
                const id = sampleId(scope, k, v);
                flags.set(id, { ...flags.get(id), optimisedOut: true });
              }
          // One iteration count per bench for every process: the median of their calibrations.
          const iters: Record<string, number> = {};
          for (const k of b.keys) {
            const ns = cals.map(([, cal]) => cal[k].iters).sort((x, y) => x - y);
            iters[k] = ns[ns.length >> 1];
          }
          await Promise.all([...children.values()].map((c) => c.request({ op: "iters", iters })));
          const tRounds = Date.now();
          prepMs += tRounds - tPrep;
          preparedKeys += b.keys.length;
          // This block's share of what is left once the fixed costs still ahead in this launch
          // are reserved (the keys after it, at this launch's mean prepare time per key so far,
          // and the later scopes' process starts).
          const sliceEnd = blockSliceEnd(
            tRounds,
            launchDeadline,
            (prepMs / preparedKeys) * (keysOf(blocks.slice(bi + 1)) + laterKeys) +
              (startMs / started) * (todo.length - si - 1),
            here,
            rest + laterScopes,
          );
          let rounds = 0;
          for (;;) {
            await runRound(burster, planRound(b.keys, st.variants, rand), scope, launch, samples);
            rounds++;
            if (stop.requested) break;
            if (rounds < MIN_ROUNDS) continue;
            if (Date.now() >= sliceEnd) break;
            if (rounds % 4 === 0) {
              const pooled = pooledFor(samples, scope, o.seed);
              const all = b.keys.every((k) =>
                st!.variants.every(
                  (v) =>
                    (cellCI(samples, sampleId(scope, k, v), pooled, o.seed, 150)?.halfWidth ?? 1) <= o.target,
                ),
              );
              if (all) break;
            }
          }
          log(
            `  ${engine.padEnd(4)} ${set.padEnd(9)} ${b.name.padEnd(11)} prepare ${((tRounds - tPrep) / 1000).toFixed(1)} s, ${rounds} rounds in ${((Date.now() - tRounds) / 1000).toFixed(1)} s`,
          );
        }
        // Checks and extra figures (audits, heap growth) once per launch, every process.
        for (const [v, c] of children) {
          const keys = blocks.flatMap((b) => b.keys);
          const after = (
            await c.request<{
              after: Record<string, { extra?: Record<string, number | string | boolean>; error?: string }>;
            }>({ op: "after", keys })
          ).after;
          for (const [k, x] of Object.entries(after)) {
            const id = sampleId(scope, k, v);
            const f = flags.get(id) ?? {};
            if (x.error) f.errors = [...(f.errors ?? []), x.error];
            if (x.extra && !f.extra) f.extra = x.extra;
            flags.set(id, f);
          }
        }
      } catch (e) {
        const msg = `${scope}: ${(e as Error).message}`;
        runErrors.push(msg);
        log(`  FAILED ${msg.split("\n")[0]}`);
      } finally {
        await Promise.all([...children.values()].map((c) => c.close().catch(() => c.kill())));
        for (const c of children.values()) stop.live.delete(c);
      }
    }
    launchesRun = launch + 1;
    launchTimes.push(Date.now() - tLaunch);
    if (Date.now() >= deadline && launch + 1 >= o.launches) break;
  }
  return { samples, scopes, flags, runErrors, versions, launchesRun };
}

/** Runs the native leg (bench/native/leg.ts) if present; never throws. */
async function runNative(
  o: Options,
  budgetMs: number,
  log: (s: string) => void,
): Promise<{ section: NativeSection; comparisons: ComparisonRecord[] }> {
  const leg = join(BENCH_DIR, "native", "leg.ts");
  if (!existsSync(leg)) {
    const skipped = "native: bench/native/leg.ts is not on this branch; native leg skipped";
    log(skipped);
    return { section: { skipped }, comparisons: [] };
  }
  try {
    const mod = (await import(leg)) as {
      runNativeLeg(opts: {
        quick: boolean;
        budgetMs: number;
        launches?: number;
        seed: number;
        log: (l: string) => void;
        target?: number;
      }): Promise<{
        skipped?: string;
        comparisons: ComparisonRecord[];
        figures: NativeSection["figures"];
        meta: Record<string, unknown>;
        headlines: string[];
      }>;
    };
    const r = await mod.runNativeLeg({
      quick: o.mode === "quick",
      budgetMs,
      launches: o.launches,
      seed: o.seed,
      log,
      target: o.target,
    });
    // (the leg has said so itself, in one line)
    if (r.skipped) return { section: { skipped: r.skipped }, comparisons: [] };
    return {
      section: { meta: r.meta, figures: r.figures, headlines: r.headlines },
      comparisons: r.comparisons ?? [],
    };
  } catch (e) {
    const error = `native leg failed: ${(e as Error).message}`;
    log(error);
    return { section: { error }, comparisons: [] };
  }
}

/** Headlines, A/A, targets and accounting from the comparisons and figures (also --render). */
export function derive(
  r: Pick<ResultsFile, "comparisons" | "figures" | "native" | "targets">,
): Pick<ResultsFile, "headlines" | "aa" | "targets" | "accounting"> {
  const headlines: string[] = [];
  for (const engine of ["node", "bun"]) {
    const h = headline(r.comparisons, engine);
    if (h) headlines.push(h);
  }
  headlines.push(...(r.native?.headlines ?? []));
  return {
    headlines,
    aa: aaSummaries(r.comparisons),
    targets: targetSummary(r.comparisons, r.targets.target),
    accounting: accounting(r.figures.filter((f) => f.variant !== AA_VARIANT)),
  };
}

/**
 * The JS legs' intervals and calls again from their stored pair ratios, with the current
 * statistics (the between-launch variance pooled per engine and provider set, as measured runs
 * do); native records are the native leg's and stay as they are.
 */
export function recomputeComparisons(
  cs: readonly ComparisonRecord[],
  target: number,
  seed: number,
): ComparisonRecord[] {
  const pools = new Map<string, PooledLaunchVariance>();
  const scopeOf = (c: ComparisonRecord) => `${c.engine}|${c.set ?? ""}`;
  for (const scope of new Set(cs.filter((c) => c.groups?.length && c.engine !== "native").map(scopeOf)))
    pools.set(
      scope,
      poolLaunchVariance(
        cs
          .filter((c) => scopeOf(c) === scope && c.groups?.length)
          .map((c, i) => launchSummary(c.groups!, seed + i, 150)),
      ),
    );
  let n = 0;
  return cs.map((c) => {
    if (c.engine === "native" || !c.groups?.length) return c;
    const ratio = launchCorrectedCI(c.groups, {
      pooled: pools.get(scopeOf(c)),
      seed: seed + n++,
      resamples: 300,
    });
    return { ...c, ratio: { ...ratio }, call: callOf(ratio), reachedTarget: ratio.halfWidth <= target };
  });
}

/** Writes <base>.md and the charts in <base>/ (<name>.svg and <name>.png); returns the chart names. */
async function writeReport(r: ResultsFile, base: string): Promise<string[]> {
  mkdirSync(base, { recursive: true });
  const charts: string[] = [];
  try {
    // Each chart as SVG and PNG (lib/charts.ts); the report embeds the PNG and links the SVG.
    for (const c of await renderReportCharts(r)) {
      writeFileSync(join(base, `${c.name}.svg`), c.svg);
      writeFileSync(join(base, `${c.name}.png`), c.png);
      charts.push(c.name);
    }
  } catch (e) {
    r.failures.push(`charts: ${(e as Error).message}`);
  }
  writeFileSync(`${base}.md`, markdownReport(r, basename(base), charts));
  return charts;
}

/** `--render <results.json>`: rebuilds the derived parts and the report from the file (no measuring). */
async function rerender(file: string): Promise<number> {
  let r: ResultsFile;
  try {
    r = parseResults(readFileSync(file, "utf8"), file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    console.error(`bench: ${err.code === "ENOENT" ? `cannot read ${file}: no such file` : err.message}`);
    return 2;
  }
  r.comparisons = recomputeComparisons(r.comparisons, r.targets.target, r.seed);
  Object.assign(r, derive(r));
  writeFileSync(file, `${JSON.stringify(r, null, 1)}\n`);
  await writeReport(r, file.replace(/\.json$/, ""));
  process.stdout.write(`${terminalSummary(r)}\n`);
  return r.failures.length ? 1 : 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "compare") {
    const { compareMain } = await import("./compare.ts");
    return compareMain(argv.slice(1));
  }
  if (argv[0] === "ab") {
    const { abMain } = await import("./ab.ts");
    return abMain(argv.slice(1));
  }
  let o: Options;
  let output: Output | null = null;
  try {
    const parsed = parseArgs(argv);
    if (parsed.help) {
      process.stdout.write(`${helpText(BENCH_COMMAND)}\n`);
      return 0;
    }
    o = parsed;
    // --json is checked before any work; the results are never lost to an output error (Output).
    if (o.json) output = openOutput("bench", "--json", o.json, "bench");
    if (o.name && !o.overwrite && existsSync(join(BENCH_DIR, "results", `${o.name}.json`)))
      throw new UsageError(
        `--name ${o.name}: bench/results/${o.name}.json exists${o.name === "sample" ? " (the committed sample)" : ""}; add --overwrite to replace it`,
      );
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\ntry ${howToRun("bench", "bench/run.ts", "--help")}`);
    return 2;
  }
  if (o.render) return rerender(userPath("bench", o.render));
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const mach0 = machine();
  // Progress and diagnostics go to stderr; stdout carries the result: the summary, or with
  // --json - the JSON alone (the summary then goes to stderr too).
  const out = o.json === "-" ? process.stderr : process.stdout;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const stop = { requested: false, live: new Set<ServingChild>() };
  const onInt = () => {
    stop.requested = true;
    for (const c of stop.live) c.kill();
    process.stderr.write("\nbench: interrupted\n");
    process.exit(130);
  };
  process.on("SIGINT", onInt);

  const cc = findCompiler();
  let engines = o.engines;
  let nativeNote: string | null = null;
  if (!o.enginesExplicit && !cc) {
    engines = engines.filter((e) => e !== "native");
    nativeNote = `native: no C compiler (${process.env.PAGEPOOL_CC || "cc"}); native leg skipped`;
  }
  const withNative = engines.includes("native");
  const jsEngines = engines.filter((e) => e !== "native");
  log(
    `pagepool bench: ${o.mode}, engines ${engines.join(",")}, variants ${o.variants.join(",")} + ${AA_VARIANT} (A/A), ${o.launches} launches, target ±${(o.target * 100).toFixed(1)}%, budget ${o.budgetS} s`,
  );
  if (nativeNote) log(nativeNote);
  const budgetMs = o.budgetS * 1000;
  const nativeMs = withNative ? Math.min(NATIVE_SHARE_S[o.mode] * 1000, budgetMs / 3) : 0;
  const reportMs = 4000;

  let built: Awaited<ReturnType<typeof build>> = { procs: [], providerSets: {}, skippedProviders: [] };
  if (jsEngines.length) built = await build({ ...o, engines: jsEngines }, log);
  if (jsEngines.length && built.procs.length === 0) {
    console.error(`bench: --filter ${JSON.stringify(o.filter)} matches no bench`);
    return 2;
  }
  // The native leg first, within its share: what it does not use goes to the JS legs.
  let native: NativeSection | undefined;
  let nativeRun: Awaited<ReturnType<typeof runNative>> | null = null;
  if (withNative) {
    nativeRun = await runNative(o, nativeMs, log);
    native = nativeRun.section;
  } else if (nativeNote) native = { skipped: nativeNote };
  const m = built.procs.length
    ? await measureAll(o, built.procs, t0 + budgetMs - reportMs, log, stop)
    : {
        samples: new Samples(),
        scopes: new Map(),
        flags: new Map(),
        runErrors: [] as string[],
        versions: {} as Record<string, string>,
        launchesRun: 0,
      };
  const metas = new Map([...m.scopes.values()].map((s) => [s.scope, s.metas]));
  if (jsEngines.length && ![...metas.values()].some((x) => x.size > 0) && m.runErrors.length === 0) {
    console.error(`bench: --filter ${JSON.stringify(o.filter)} matches no bench`);
    return 2;
  }
  const { comparisons, figures } = summarise({
    samples: m.samples,
    metas,
    target: o.target,
    seed: o.seed,
    flags: m.flags,
  });
  if (nativeRun)
    comparisons.push(
      ...nativeRun.comparisons.map((c) => ({ ...c, reachedTarget: c.ratio.halfWidth <= o.target })),
    );

  const versions: Record<string, string> = {
    ...m.versions,
    mitata: pkgVersion("mitata"),
    "simple-statistics": pkgVersion("simple-statistics"),
    jstat: pkgVersion("jstat"),
    "vega-lite": pkgVersion("vega-lite"),
    typescript: pkgVersion("typescript"),
  };
  try {
    versions.commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
      encoding: "utf8",
    }).stdout.trim();
  } catch {}
  const partial = {
    comparisons,
    figures,
    native,
    targets: { target: o.target, cells: 0, reached: 0, medianHalfWidth: Number.NaN, missed: [] },
  };
  const results: ResultsFile = {
    schema: SCHEMA,
    startedAt,
    finishedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - t0) / 100) / 10,
    mode: o.mode,
    seed: o.seed,
    launches: o.launches,
    launchesRun: m.launchesRun,
    budgetS: o.budgetS,
    burstMs: BURST_MS[o.mode],
    command: `npm run bench -- ${argv.join(" ")}`.trim(),
    machine: { ...mach0, loadavgEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    runtime: {
      bun: versions.bun ?? "",
      node: versions.node ?? "",
      v8: versions.v8 ?? "",
      webkit: versions.webkit ?? "",
    },
    versions,
    providerSets: built.providerSets,
    skippedProviders: built.skippedProviders,
    ...derive(partial),
    comparisons,
    figures,
    ...(native ? { native } : {}),
    failures: [...m.runErrors, ...failures(figures), ...(native?.error ? [native.error] : [])],
  };
  // Results first, to the results directory (falling back to the temp directory), so an error in
  // --json or the report never loses a measurement.
  const stamp = o.name ?? startedAt.replace(/[:.]/g, "-");
  const jsonText = `${JSON.stringify(results, null, 1)}\n`;
  let base = join(BENCH_DIR, "results", stamp);
  try {
    mkdirSync(dirname(base), { recursive: true });
    writeFileSync(`${base}.json`, jsonText);
  } catch (e) {
    base = join(os.tmpdir(), `pagepool-bench-${stamp}`);
    writeFileSync(`${base}.json`, jsonText);
    log(`bench: could not write bench/results (${(e as Error).message}); results saved to ${base}.json`);
  }
  const status = results.failures.length ? 1 : 0;
  const jsonAt = output ? output.write(jsonText) : null;
  const charts = await writeReport(results, base);
  out.write(`${terminalSummary(results)}\n`);
  out.write(
    `\nwrote ${relative(ROOT, `${base}.json`)}, ${relative(ROOT, `${base}.md`)} (+${charts.length} charts)${jsonAt && jsonAt !== "stdout" ? `, ${jsonAt.startsWith(ROOT) ? relative(ROOT, jsonAt) : jsonAt}` : ""} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
  );
  process.off("SIGINT", onInt);
  return status;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
