/**
 * One benchmark process: one engine, one dispatcher variant (whatever `#dispatch` is linked to),
 * one provider set. Started by bench/run.ts as a long-lived server (`--serve`: JSON-line commands
 * on stdin, replies on stdout, see lib/serve.ts), never by hand; `npx bun bench/child.ts
 * --scenarios paths --mode quick` still measures once with mitata for a look (a ChildReport as
 * JSON to --out or stdout, progress lines on stderr).
 *
 * All scenarios are imported statically so `bun build` can bundle this file for Node.
 */
import { writeFileSync } from "node:fs";
import { DISPATCH_VARIANT } from "#dispatch";
import { type Command, type Flag, fail, flag, helpText, parse, UsageError } from "../cli/args.ts";
import { scenario as baselines } from "./baselines.bench.ts";
import { scenario as floor, profileFloor } from "./dispatch-floor.bench.ts";
import { profileSweep, requestedDegrees, scenario as sweep } from "./dispatch-sweep.bench.ts";
import { scenario as e2e } from "./e2e-napi.bench.ts";
import {
  type BenchDef,
  type BenchResult,
  benchMeta,
  type ChildReport,
  type Mode,
  measureBench,
  measureNoop,
  type Scenario,
} from "./lib/harness.ts";
import { type BenchMeta, Server, serveStdio } from "./lib/serve.ts";
import { scenario as paths } from "./paths.bench.ts";
import { scenario as returns } from "./return-paths.bench.ts";

/** In the order they run: baselines first, as the kernel's bench. */
export const SCENARIOS: readonly Scenario[] = [baselines, paths, sweep, floor, returns, e2e];

const MODES: readonly Mode[] = ["quick", "default", "full"];

/** The child's flags (started by bench/run.ts; by hand for a look). */
export const CHILD_COMMAND = {
  script: "bench",
  file: "bench/child.ts",
  summary: "One measured process of the bench (one engine, one linked dispatcher, one provider set).",
  flags: {
    mode: flag.choice<Mode>(MODES, "sampling budget of the one-shot mode, warm-up of the serving one", {
      default: "default",
    }),
    scenarios: flag.str("comma-separated scenarios to set up", {
      metavar: "list",
      example: "paths,dispatch-floor",
    }),
    filter: flag.custom<RegExp | null>(
      "only benches whose scenario/id or path matches",
      (raw, f) => {
        try {
          return new RegExp(raw);
        } catch (e) {
          return fail(f, `is not a regular expression: ${(e as Error).message}`);
        }
      },
      { default: null, defaultText: "none", metavar: "regex" },
    ),
    seed: flag.int("seed of the work sequences", { default: 42, max: 2 ** 31 - 1 }),
    set: flag.choice(["real", "synthetic", "floor"], "provider set this process is linked to", {
      default: "real",
    }),
    out: flag.str("one-shot mode: write the ChildReport there (default: stdout)", { metavar: "file" }),
    profile: flag.str("profile mode: write the dispatch counts there, no timing", { metavar: "file" }),
    serve: flag.bool("serve JSON-line commands on stdin (bench/lib/serve.ts)"),
  },
} satisfies Command<Record<string, Flag<unknown>>>;

async function main(): Promise<void> {
  // The shared CLI layer: a mistyped flag is an error, not a silently different measurement.
  const p = parse(CHILD_COMMAND, process.argv.slice(2));
  if (p.help) {
    process.stdout.write(`${helpText(CHILD_COMMAND)}\n`);
    return;
  }
  const a = p.values;
  const mode = a.mode;
  const names = (a.scenarios ?? SCENARIOS.map((s) => s.name).join(",")).split(",");
  const filter = a.filter;
  const seed = a.seed;
  const set = a.set;
  const out = a.out;
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  const engine = isBun ? "bun" : "node";
  const engineVersion = isBun ? (process.versions.bun ?? "") : process.versions.node;
  const versions = {
    [engine]: engineVersion,
    v8: process.versions.v8 ?? "",
    webkit: (process.versions as Record<string, string | undefined>).webkit ?? "",
  };

  const profileOut = a.profile;
  if (profileOut) {
    // Profile mode: no timing; the dispatch counts of the sweep's work and the sweep's provider
    // order (the floor set: the same over its floor providers).
    const prof =
      set === "floor" ? profileFloor(seed, requestedDegrees()) : profileSweep(seed, requestedDegrees());
    writeFileSync(profileOut, JSON.stringify({ variant: DISPATCH_VARIANT, ...prof }));
    return;
  }
  if (a.serve) {
    const defs = new Map<string, BenchDef>();
    const metas: BenchMeta[] = [];
    for (const sc of SCENARIOS) {
      if (!names.includes(sc.name)) continue;
      for (const def of await sc.setup({ mode, variant: DISPATCH_VARIANT, seed })) {
        if (filter && !filter.test(`${sc.name}/${def.id}`) && !filter.test(def.path)) continue;
        const key = `${sc.name}/${def.id}`;
        defs.set(key, def);
        metas.push({ key, ...benchMeta(sc.name, def) });
      }
    }
    const ready = {
      ready: true,
      engine,
      engineVersion,
      variant: DISPATCH_VARIANT,
      set,
      versions,
      benches: metas,
    };
    await serveStdio(new Server(defs), ready);
    return;
  }
  const noop = await measureNoop(mode);
  const results: BenchResult[] = [];
  for (const sc of SCENARIOS) {
    if (!names.includes(sc.name)) continue;
    const defs = await sc.setup({ mode, variant: DISPATCH_VARIANT, seed });
    for (const def of defs) {
      if (filter && !filter.test(`${sc.name}/${def.id}`) && !filter.test(def.path)) continue;
      const r = await measureBench(sc.name, def, mode, noop);
      results.push(r);
      const shown = r.error
        ? `ERROR ${r.error.split("\n")[0]}`
        : `${r.perOp.p50.toFixed(2)} ns/op${r.optimisedOut ? " !" : ""}`;
      process.stderr.write(`    ${sc.name}/${def.id}: ${shown}\n`);
    }
  }
  const report: ChildReport = {
    engine,
    engineVersion,
    variant: DISPATCH_VARIANT,
    set,
    mode,
    noop,
    results,
    versions,
  };
  const text = JSON.stringify(report);
  if (out) writeFileSync(out, text);
  else process.stdout.write(`${text}\n`);
}

try {
  await main();
} catch (e) {
  process.stderr.write(`bench child: ${(e as Error).message}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
