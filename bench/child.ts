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
import { parseArgs } from "node:util";
import { DISPATCH_VARIANT } from "#dispatch";
import { scenario as baselines } from "./baselines.bench.ts";
import { scenario as floor, profileFloor } from "./dispatch-floor.bench.ts";
import { profileSweep, requestedDegrees, scenario as sweep } from "./dispatch-sweep.bench.ts";
import { scenario as e2e } from "./e2e-napi.bench.ts";
import {
  type BenchDef,
  type BenchResult,
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

async function main(): Promise<void> {
  // Strict: a mistyped flag is an error, not a silently different measurement.
  const { values: a } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      mode: { type: "string", default: "default" },
      scenarios: { type: "string" },
      filter: { type: "string" },
      seed: { type: "string", default: "42" },
      set: { type: "string", default: "real" },
      out: { type: "string" },
      profile: { type: "string" },
      serve: { type: "boolean", default: false },
    },
  });
  const mode = a.mode as Mode;
  if (!MODES.includes(mode)) throw new Error(`--mode must be one of ${MODES.join(", ")}`);
  const names = (a.scenarios ?? SCENARIOS.map((s) => s.name).join(",")).split(",");
  const filter = a.filter ? new RegExp(a.filter) : null;
  const seed = Number(a.seed);
  if (!Number.isInteger(seed)) throw new Error("--seed must be an integer");
  const set = a.set as string;
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
  const noop = await measureNoop(mode);
  if (a.serve) {
    const defs = new Map<string, BenchDef>();
    const metas: BenchMeta[] = [];
    for (const sc of SCENARIOS) {
      if (!names.includes(sc.name)) continue;
      for (const def of await sc.setup({ mode, variant: DISPATCH_VARIANT, seed })) {
        if (filter && !filter.test(`${sc.name}/${def.id}`) && !filter.test(def.path)) continue;
        const key = `${sc.name}/${def.id}`;
        defs.set(key, def);
        metas.push({
          key,
          scenario: sc.name,
          id: def.id,
          path: def.path,
          degree: def.degree,
          ops: def.ops,
          label: def.label,
          synthetic: def.synthetic ?? false,
          providers: def.providers ?? [],
        });
      }
    }
    const ready = {
      ready: true,
      engine,
      engineVersion,
      variant: DISPATCH_VARIANT,
      set,
      versions,
      noop,
      benches: metas,
    };
    await serveStdio(new Server(defs, noop.avg), ready);
    return;
  }
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
  process.exit(2);
}
