/**
 * One benchmark process: one engine, one dispatcher variant (whatever `#dispatch` is linked to),
 * one provider set. Started by bench/run.ts, never by hand (but `bun bench/child.ts --scenarios
 * paths --mode quick` works for a look). Writes a ChildReport as JSON to --out and progress lines
 * to stderr.
 *
 * All scenarios are imported statically so `bun build` can bundle this file for Node.
 */
import { writeFileSync } from "node:fs";
import { DISPATCH_VARIANT } from "#dispatch";
import { scenario as baselines } from "./baselines.bench.ts";
import { scenario as floor, profileFloor } from "./dispatch-floor.bench.ts";
import { profileSweep, requestedDegrees, scenario as sweep } from "./dispatch-sweep.bench.ts";
import { scenario as e2e } from "./e2e-napi.bench.ts";
import {
  type BenchResult,
  type ChildReport,
  type Mode,
  measureBench,
  measureNoop,
  type Scenario,
} from "./lib/harness.ts";
import { scenario as paths } from "./paths.bench.ts";
import { scenario as returns } from "./return-paths.bench.ts";

/** In the order they run: baselines first, as the kernel's bench. */
export const SCENARIOS: readonly Scenario[] = [baselines, paths, sweep, floor, returns, e2e];

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

async function main(): Promise<void> {
  const mode = (arg("mode", "default") as Mode) ?? "default";
  const names = (arg("scenarios") ?? SCENARIOS.map((s) => s.name).join(",")).split(",");
  const filter = arg("filter") ? new RegExp(arg("filter")!) : null;
  const seed = Number(arg("seed", "42"));
  const set = arg("set", "real")!;
  const out = arg("out");
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  const engine = isBun ? "bun" : "node";
  const engineVersion = isBun ? (process.versions.bun ?? "") : process.versions.node;

  const profileOut = arg("profile");
  if (profileOut) {
    // Profile mode: no timing; the dispatch counts of the sweep's work and the sweep's provider
    // order (the floor set: the same over its floor providers).
    const prof =
      set === "floor" ? profileFloor(seed, requestedDegrees()) : profileSweep(seed, requestedDegrees());
    writeFileSync(profileOut, JSON.stringify({ variant: DISPATCH_VARIANT, ...prof }));
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
    versions: {
      [engine]: engineVersion,
      v8: process.versions.v8 ?? "",
      webkit: (process.versions as Record<string, string | undefined>).webkit ?? "",
    },
  };
  const text = JSON.stringify(report);
  if (out) writeFileSync(out, text);
  else process.stdout.write(`${text}\n`);
}

await main();
