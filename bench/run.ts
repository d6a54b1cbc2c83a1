/**
 * `bun run bench`: measures every dispatcher variant on Bun (JavaScriptCore) and Node (V8), each
 * (variant, engine, provider set) in its own process (JIT feedback from one variant would pollute
 * the next in one process), repeated with the order shuffled, then merges, prints the verdict and
 * the cost accounting, and writes bench/results/<timestamp>.{json,md} with SVG charts.
 *
 *   bun run bench [--quick | --full] [--engine bun,node] [--variant if-chain,...] [--filter re]
 *                 [--reps N] [--seed N] [--json out.json] [--no-pgo] [--no-synthetic] [--no-floor]
 *                 [--name sample]
 *   bun run bench --render bench/results/sample.json   # rebuild a report from its results file
 *
 * Linking: the real set is the project's generated dispatchers, picked by import condition
 * (Bun runs bench/child.ts with --conditions=<variant>; Node runs a bundle made by Bun.build with
 * the same conditions, not minified). The synthetic set (synthetic providers rendered from the
 * scaffold template, to reach 8 and 16 providers) and the profile-guided icall-wrapper ("icall-pgo")
 * are emitted by codegen into bench/.synthetic/ and linked by bundling with `#dispatch`
 * redirected to them, for both engines. The floor set (floor providers rendered from
 * bench/templates/floor-provider.ts.hbs, codegen's dispatchers over them alone, and its own
 * profile-guided build) is linked the same way and runs only the dispatch-floor scenario.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, join, relative } from "node:path";
import type { ChildReport, Mode } from "./lib/harness.ts";
import { accounting, type Figure, failures, mergeRuns, type RunRecord, verdict } from "./lib/merge.ts";
import { markdownReport, type ResultsFile, renderCharts, terminalSummary } from "./lib/report.ts";
import { mulberry32, shuffle } from "./lib/rng.ts";
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

export const VARIANTS = ["ops-table", "if-chain", "icall-wrapper", "icall-pgo"] as const;
export const ENGINES = ["bun", "node"] as const;
const SWEEP_DEGREES = [1, 2, 4, 8, 16];
const MAX_SYNTHETIC_DEGREE = 16;
/** Floor providers generated for the dispatch floor (bench/templates/floor-provider.ts.hbs). */
const FLOOR_PROVIDERS = 16;

export interface Options {
  mode: Mode;
  engines: string[];
  variants: string[];
  filter: string | null;
  reps: number;
  seed: number;
  json: string | null;
  synthetic: boolean;
  /** Measure the dispatch floor (its own provider set; --no-floor skips it). */
  floor: boolean;
  /** Base name of the written report (default: the start time). */
  name: string | null;
  /** Re-render the report of an existing results file instead of measuring. */
  render: string | null;
}

const REPS: Record<Mode, number> = { quick: 2, default: 3, full: 5 };

export function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    mode: "default",
    engines: [...ENGINES],
    variants: [...VARIANTS],
    filter: null,
    reps: 0,
    seed: 42,
    json: null,
    synthetic: true,
    floor: true,
    name: null,
    render: null,
  };
  let pgo = true;
  const list = (v: string | undefined, allowed: readonly string[], what: string) => {
    if (!v) throw new Error(`--${what} needs a value`);
    const xs = v.split(",").filter(Boolean);
    for (const x of xs)
      if (!allowed.includes(x)) throw new Error(`unknown ${what} "${x}" (one of ${allowed.join(", ")})`);
    return xs;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") o.mode = "quick";
    else if (a === "--full") o.mode = "full";
    else if (a === "--engine") o.engines = list(val(), ENGINES, "engine");
    else if (a === "--variant") o.variants = list(val(), VARIANTS, "variant");
    else if (a === "--filter") {
      o.filter = val();
      new RegExp(o.filter); // throws on a bad pattern, before anything runs
    } else if (a === "--reps") {
      o.reps = Number(val());
      if (!Number.isInteger(o.reps) || o.reps < 1 || o.reps > 50)
        throw new Error("--reps must be an integer in [1, 50]");
    } else if (a === "--seed") {
      o.seed = Number(val());
      if (!Number.isInteger(o.seed)) throw new Error("--seed must be an integer");
    } else if (a === "--json") o.json = val();
    else if (a === "--no-pgo") pgo = false;
    else if (a === "--name") {
      o.name = val();
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(o.name))
        throw new Error("--name must be a plain file name");
    } else if (a === "--no-synthetic") o.synthetic = false;
    else if (a === "--no-floor") o.floor = false;
    else if (a === "--render") o.render = val();
    else if (a === "--help" || a === "-h") throw new Error("help");
    else throw new Error(`unknown argument ${a}`);
  }
  if (!pgo) o.variants = o.variants.filter((v) => v !== "icall-pgo");
  if (o.reps === 0) o.reps = REPS[o.mode];
  return o;
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

interface Job {
  engine: string;
  variant: string;
  set: string;
  rep: number;
  /** argv to spawn */
  cmd: string[];
  env: Record<string, string>;
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

function runChild(job: Job, out: string, onLine: (l: string) => void): Promise<void> {
  return new Promise((resolveP, reject) => {
    const p = spawn(job.cmd[0], [...job.cmd.slice(1), "--out", out], {
      cwd: ROOT,
      env: { ...process.env, ...job.env, NO_COLOR: "1" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    p.stderr.setEncoding("utf8");
    p.stderr.on("data", (d: string) => {
      err += d;
      for (const l of d.split("\n")) if (l.trim()) onLine(l.trim());
    });
    p.on("error", reject);
    p.on("exit", (code, sig) => {
      if (code === 0) resolveP();
      else reject(new Error(`${job.cmd.join(" ")} exited ${code ?? sig}:\n${err.slice(-2000)}`));
    });
  });
}

interface SweepProfile {
  rigs: string[];
  skipped: string[];
  counts: Record<string, Record<string, number>>;
}

/** Runs a helper child (profiling) to completion; throws with its stderr on failure. */
function runQuiet(cmd: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolveP, reject) => {
    const p = spawn(cmd[0], cmd.slice(1), {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    p.stderr.setEncoding("utf8");
    p.stderr.on("data", (d: string) => {
      err += d;
    });
    p.on("error", reject);
    p.on("exit", (code) =>
      code === 0 ? resolveP() : reject(new Error(`${cmd.join(" ")} exited ${code}:\n${err.slice(-2000)}`)),
    );
  });
}

function machine(): ResultsFile["machine"] {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    arch: `${process.arch}-${process.platform}`,
  };
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

/**
 * `--render <results.json>`: rebuilds the verdict, accounting and failures from the file's
 * figures with the current logic and rewrites its markdown and charts beside it (no measuring).
 */
async function rerender(file: string): Promise<number> {
  const r = JSON.parse(readFileSync(file, "utf8")) as ResultsFile;
  if (r.schema !== "pagepool-bench/1" || !Array.isArray(r.figures)) {
    console.error(`bench: ${file} is not a pagepool-bench/1 results file`);
    return 2;
  }
  r.verdict = verdict(r.figures);
  r.accounting = accounting(r.figures);
  r.failures = [...r.failures.filter((f) => !f.includes(": likely optimised out")), ...failures(r.figures)];
  r.failures = [...new Set(r.failures)];
  writeFileSync(file, `${JSON.stringify(r, null, 1)}\n`);
  await writeReport(r, file.replace(/\.json$/, ""));
  process.stdout.write(`${terminalSummary(r)}\n`);
  return r.failures.length ? 1 : 0;
}

/** Writes <base>.md and the charts in <base>/; returns the chart file names. */
async function writeReport(r: ResultsFile, base: string): Promise<string[]> {
  const chartDir = base;
  mkdirSync(chartDir, { recursive: true });
  let charts: string[] = [];
  try {
    const svgs = await renderCharts(r.figures);
    for (const [name, svg] of svgs) writeFileSync(join(chartDir, name), svg);
    charts = [...svgs.keys()];
  } catch (e) {
    r.failures.push(`charts: ${(e as Error).message}`);
  }
  writeFileSync(`${base}.md`, markdownReport(r, basename(base), charts));
  return charts;
}

export async function main(argv: readonly string[]): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (e) {
    const msg = (e as Error).message;
    console.error(
      `${msg === "help" ? "" : `bench: ${msg}\n`}usage: bun run bench [--quick|--full] [--engine bun,node] [--variant ${VARIANTS.join(",")}] [--filter re] [--reps N] [--seed N] [--json file] [--no-pgo] [--no-synthetic] [--no-floor] [--name base] | --render results.json`,
    );
    return msg === "help" ? 0 : 2;
  }
  if (o.render) return rerender(o.render);
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const log = (s: string) => process.stdout.write(`${s}\n`);
  log(
    `pagepool bench: ${o.mode}, engines ${o.engines.join(",")}, variants ${o.variants.join(",")}, ${o.reps} reps`,
  );

  // ---- provider sets, profiles, dispatcher builds
  mkdirSync(SYNTH_DIR, { recursive: true });
  const buildDir = join(SYNTH_DIR, "build");
  mkdirSync(buildDir, { recursive: true });
  const profTmp = join(buildDir, "profile-out.json");
  const common0 = ["--seed", String(o.seed)];
  // The real set: which providers the sweep can bind, and their dispatch counts (a Bun child
  // linked like the measured ones; nothing is timed).
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
  const skippedProviders = realProf.skipped;
  const realDegrees = SWEEP_DEGREES.filter((d) => d <= realRigs.length);
  const synthDegrees =
    o.synthetic &&
    setWanted(
      o.filter,
      SWEEP_DEGREES.map((d) => `dispatch-sweep/sweep-${d}`),
      ["dispatch"],
    )
      ? SWEEP_DEGREES.filter((d) => d > realRigs.length && d <= MAX_SYNTHETIC_DEGREE)
      : [];
  const providerSets: Record<string, string[]> = { real: realRigs };
  // The profile the icall-wrapper reads (codegen/README.md): `bun run codegen --profile bench/profile.json`.
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
  sets.push({
    set: "real",
    degrees: realDegrees,
    dir: null,
    pgoDir: wantPgo
      ? await emitSet({ outName: "real-pgo", withSynthetic: false, profile: { counts: realProf.counts } })
      : null,
    scenarios: "baselines,paths,dispatch-sweep,return-paths,e2e-napi",
  });
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
  const floorDegrees = SWEEP_DEGREES.filter((d) => d <= FLOOR_PROVIDERS);
  if (
    o.floor &&
    setWanted(
      o.filter,
      floorDegrees.flatMap((d) => [`dispatch-floor/floor-${d}`, `dispatch-floor/floor-direct-${d}`]),
      ["dispatch-floor", "baseline:floor-direct"],
    )
  ) {
    // The floor set: floor providers only, every degree from this one build.
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

  const jobsPerRep: Omit<Job, "rep">[] = [];
  for (const s of sets) {
    for (const variant of o.variants) {
      const generated = variant === "icall-pgo" ? "icall-wrapper" : variant;
      const redirect =
        variant === "icall-pgo"
          ? dispatchFile(s.pgoDir!, "icall-wrapper")
          : s.dir
            ? dispatchFile(s.dir, generated)
            : null;
      const conditions = redirect ? [] : [generated];
      const common = ["--mode", o.mode, "--seed", String(o.seed), "--set", s.set, "--scenarios", s.scenarios];
      if (o.filter) common.push("--filter", o.filter);
      const env = { BENCH_DEGREES: s.degrees.join(",") || "0" };
      for (const engine of o.engines) {
        let cmd: string[];
        if (engine === "bun") {
          if (redirect) {
            const f = join(buildDir, `${s.set}-${variant}.bun.js`);
            await bundle(f, "bun", [], redirect);
            cmd = [bunBin(), f, ...common];
          } else cmd = [bunBin(), `--conditions=${generated}`, join(BENCH_DIR, "child.ts"), ...common];
        } else {
          const f = join(buildDir, `${s.set}-${variant}.node.mjs`);
          await bundle(f, "node", conditions, redirect);
          cmd = [nodeBin(), "--expose-gc", f, ...common];
        }
        jobsPerRep.push({ engine, variant, set: s.set, cmd, env });
      }
    }
  }

  // ---- run: every rep runs every job once, in a freshly shuffled order
  const rand = mulberry32(o.seed ^ 0x51ed);
  const total = jobsPerRep.length * o.reps;
  const records: RunRecord[] = [];
  const reports: ChildReport[] = [];
  const runErrors: string[] = [];
  const tty = process.stdout.isTTY;
  let done = 0;
  const tmp = join(buildDir, "child-out.json");
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const j of shuffle([...jobsPerRep], rand)) {
      const job: Job = { ...j, rep };
      const tag = `[${String(++done).padStart(String(total).length)}/${total}] rep ${rep} ${job.engine.padEnd(4)} ${job.variant.padEnd(13)} ${job.set}`;
      const t = Date.now();
      if (tty) process.stdout.write(`${tag} …`);
      else log(tag);
      try {
        await runChild(job, tmp, (line) => {
          if (tty) process.stdout.write(`\r\x1b[2K${tag} ${line.slice(0, 80)}`);
        });
        const rep0 = JSON.parse(readFileSync(tmp, "utf8")) as ChildReport;
        const expected = job.variant === "icall-pgo" ? "icall-wrapper" : job.variant;
        if (rep0.variant !== expected)
          throw new Error(
            `linked dispatcher is ${rep0.variant}, expected ${expected} (is codegen up to date?)`,
          );
        reports.push(rep0);
        for (const result of rep0.results)
          records.push({ engine: job.engine, variant: job.variant, set: job.set, rep, result });
        const flags = rep0.results.filter((r) => r.optimisedOut || r.error).length;
        const msg = `${tag} ${((Date.now() - t) / 1000).toFixed(1)}s, ${rep0.results.length} benches${flags ? `, ${flags} FLAGGED` : ""}`;
        if (tty) process.stdout.write(`\r\x1b[2K${msg}\n`);
        else log(`  ${msg}`);
      } catch (e) {
        const msg = `${tag}: ${(e as Error).message}`;
        runErrors.push(msg);
        if (tty) process.stdout.write("\n");
        log(`  FAILED ${msg}`);
      }
    }
  }

  // ---- merge, verdict, report
  const figures: Figure[] = mergeRuns(records);
  const versions: Record<string, string> = {
    bun: reports.find((r) => r.engine === "bun")?.engineVersion ?? process.versions.bun ?? "",
    node: reports.find((r) => r.engine === "node")?.engineVersion ?? "",
    v8: reports.find((r) => r.engine === "node")?.versions.v8 ?? "",
    webkit: reports.find((r) => r.engine === "bun")?.versions.webkit ?? "",
    mitata: pkgVersion("mitata"),
    "vega-lite": pkgVersion("vega-lite"),
    typescript: pkgVersion("typescript"),
  };
  try {
    const { execSync } = await import("node:child_process");
    versions.commit = execSync("git rev-parse --short HEAD", {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {}
  const results: ResultsFile = {
    schema: "pagepool-bench/1",
    startedAt,
    finishedAt: new Date().toISOString(),
    mode: o.mode,
    seed: o.seed,
    reps: o.reps,
    command: `bun run bench ${argv.join(" ")}`.trim(),
    machine: machine(),
    versions,
    providerSets,
    skippedProviders,
    figures,
    verdict: verdict(figures),
    accounting: accounting(figures),
    failures: [...runErrors, ...failures(figures)],
  };
  const stamp = o.name ?? startedAt.replace(/[:.]/g, "-");
  const resultsDir = join(BENCH_DIR, "results");
  mkdirSync(resultsDir, { recursive: true });
  const base = join(resultsDir, stamp);
  const jsonText = `${JSON.stringify(results, null, 1)}\n`;
  writeFileSync(`${base}.json`, jsonText);
  if (o.json) writeFileSync(o.json, jsonText);
  const charts = await writeReport(results, base);
  log(terminalSummary(results));
  log(
    `\nwrote ${relative(ROOT, `${base}.json`)}, ${relative(ROOT, `${base}.md`)} (+${charts.length} charts)${o.json ? `, ${o.json}` : ""} in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  return results.failures.length ? 1 : 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
