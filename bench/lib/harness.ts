/**
 * The scenario contract and the in-process measurement (the child side of the runner).
 *
 * A scenario file (bench/<name>.bench.ts) exports a `Scenario`: `setup(ctx)` builds its world
 * once and returns bench definitions, each a mitata generator bench with computed parameters.
 * Every definition processes `ops` operations per iteration (a batch, as the kernel's bench
 * loops), so the report gives ns per operation and nothing is a single trivially-foldable call.
 *
 * Measurement uses mitata's own engine (`measure`) rather than `run()`, because `run()` fixes the
 * sampling budget at 642 ms per bench and measures four no-op baselines first, which would not fit
 * the runner's --quick budget on a 2-core machine. The "likely optimised out" rule is mitata's,
 * applied the same way: avg per iteration < 1.42 x the no-op's avg, with the no-op measured in the
 * same process with the same options. The runner fails the run on any such flag.
 */
import { measure } from "mitata";
import type { AuditReport, PagePool } from "../../core/page-pool.ts";

/**
 * Runs `pool.audit()` after a bench and throws when conservation broke, naming the bench;
 * returns the audit so callers can report its figures.
 */
export function assertAudited(pool: PagePool, what: string): AuditReport {
  const a = pool.audit();
  if (!a.ok) throw new Error(`${what}: audit failed: ${a.problems.slice(0, 3).join("; ")}`);
  return a;
}

export type Mode = "quick" | "default" | "full";

/** Sampling budget per bench, per mode (mitata's defaults are the `full` row). */
export const MODE_OPTS: Record<Mode, { min_cpu_time: number; min_samples: number }> = {
  quick: { min_cpu_time: 50e6, min_samples: 8 },
  default: { min_cpu_time: 250e6, min_samples: 12 },
  full: { min_cpu_time: 642e6, min_samples: 12 },
};

/**
 * Warm-up before mitata measures, in ns of wall time. mitata's own warm-up is one call plus two
 * samples, so the optimising tiers (JSC's FTL after ~64k executions, TurboFan) would kick in
 * inside the measured samples and widen the spread between processes.
 */
export const WARMUP_NS: Record<Mode, number> = { quick: 30e6, default: 100e6, full: 250e6 };

/** mitata's dead-code threshold (src/main.mjs: `r.stats.avg < 1.42 * noop.avg`). */
export const OPTIMISED_OUT_FACTOR = 1.42;

export interface ScenarioContext {
  mode: Mode;
  /** DISPATCH_VARIANT of the linked `#dispatch`. */
  variant: string;
  /** Seed for every precomputed sequence (the same in every process, so variants see the same work). */
  seed: number;
}

/** mitata's generator bench: yields once an object with param producers [0..] and `bench(...)`. */
export type MitataGen = (state: { get(name: string): unknown }) => Generator<unknown, void, unknown>;

export interface BenchDef {
  /** Unique within the scenario; stable across runs (results are merged by it). */
  id: string;
  /** Report path: "baseline:loop", "fast", "ring", "slow", "provider-slow", "dispatch", "return:copy", "e2e"... */
  path: string;
  /** Pools behind the dispatch call sites (the sweep), else 0. */
  degree: number;
  /** Operations per iteration: ns/op = ns/iter / ops. */
  ops: number;
  /** Human label for tables. */
  label: string;
  /** True when any live provider is synthetic (generated for the sweep). */
  synthetic?: boolean;
  providers?: string[];
  gen: MitataGen;
  /** Runs after the measurement: extra figures (heap growth, pool counters) and checks. Throw to fail. */
  after?: () => Record<string, number | string | boolean>;
}

export interface Scenario {
  name: string;
  title: string;
  setup(ctx: ScenarioContext): BenchDef[] | Promise<BenchDef[]>;
}

export interface Stats {
  avg: number;
  p50: number;
  p75: number;
  p99: number;
  min: number;
  max: number;
  samples: number;
  ticks: number;
}

export interface BenchResult {
  scenario: string;
  id: string;
  path: string;
  degree: number;
  ops: number;
  label: string;
  synthetic: boolean;
  providers: string[];
  /** Per iteration, ns (mitata's figures). */
  iter: Stats;
  /** Per operation, ns: iter / ops. */
  perOp: { avg: number; p50: number; p75: number; min: number };
  optimisedOut: boolean;
  extra: Record<string, number | string | boolean>;
  error?: string;
}

export interface ChildReport {
  engine: string;
  engineVersion: string;
  variant: string;
  set: string;
  mode: Mode;
  noop: Stats;
  results: BenchResult[];
  versions: Record<string, string>;
}

function pickStats(s: {
  avg: number;
  p50: number;
  p75: number;
  p99: number;
  min: number;
  max: number;
  ticks: number;
  samples?: unknown[] | null;
}): Stats {
  return {
    avg: s.avg,
    p50: s.p50,
    p75: s.p75,
    p99: s.p99,
    min: s.min,
    max: s.max,
    ticks: s.ticks,
    samples: Array.isArray(s.samples) ? s.samples.length : 0,
  };
}

/** Measures mitata's no-op with the mode's budget: the reference for the optimised-out rule. */
export async function measureNoop(mode: Mode): Promise<Stats> {
  return pickStats(await measure(() => {}, { ...MODE_OPTS[mode] }));
}

/** What a bench is, without its figures: the identity every report of it carries. */
export type BenchIdentity = Pick<
  BenchResult,
  "scenario" | "id" | "path" | "degree" | "ops" | "label" | "synthetic" | "providers"
>;

export function benchMeta(scenario: string, def: BenchDef): BenchIdentity {
  return {
    scenario,
    id: def.id,
    path: def.path,
    degree: def.degree,
    ops: def.ops,
    label: def.label,
    synthetic: def.synthetic ?? false,
    providers: def.providers ?? [],
  };
}

export async function measureBench(
  scenario: string,
  def: BenchDef,
  mode: Mode,
  noop: Stats,
): Promise<BenchResult> {
  const base = benchMeta(scenario, def);
  try {
    warmup(def.gen, WARMUP_NS[mode]);
    const s = pickStats(await measure(def.gen, { ...MODE_OPTS[mode] }));
    const extra = def.after?.() ?? {};
    return {
      ...base,
      iter: s,
      perOp: { avg: s.avg / def.ops, p50: s.p50 / def.ops, p75: s.p75 / def.ops, min: s.min / def.ops },
      optimisedOut: s.avg < OPTIMISED_OUT_FACTOR * noop.avg,
      extra,
    };
  } catch (e) {
    const zero: Stats = { avg: 0, p50: 0, p75: 0, p99: 0, min: 0, max: 0, samples: 0, ticks: 0 };
    return {
      ...base,
      iter: zero,
      perOp: { avg: 0, p50: 0, p75: 0, min: 0 },
      optimisedOut: false,
      extra: {},
      error: (e as Error)?.stack ?? String(e),
    };
  }
}

/**
 * Runs a generator bench's body (with fresh computed parameters each call) for `ns` of wall time,
 * or, with `cpu`, until this process has spent `ns` of CPU time in it: on a busy machine a
 * wall-clock warm-up may give the bench a fraction of the executions the optimising tiers wait
 * for, and the tier-up then lands inside the measurement.
 */
export function warmup(gen: MitataGen, ns: number, cpu = false): void {
  const { bench, producers } = unpackGen(gen);
  const clock = cpu
    ? () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      }
    : () => performance.now();
  const end = clock() + ns / 1e6;
  const args: unknown[] = new Array(producers.length);
  do {
    for (let k = 0; k < 256; k++) {
      for (let i = 0; i < producers.length; i++) args[i] = producers[i]();
      bench(...args);
    }
  } while (clock() < end);
}

/** The bench's body and its parameter producers, as mitata's generator yields them. */
export function unpackGen(gen: MitataGen): {
  bench: (...a: unknown[]) => unknown;
  producers: Array<() => unknown>;
} {
  const it = gen({ get: () => undefined });
  const y = it.next().value as { bench: (...a: unknown[]) => unknown; [k: number]: () => unknown };
  const producers: Array<() => unknown> = [];
  for (let i = 0; typeof y[i] === "function"; i++) producers.push(y[i]);
  return { bench: y.bench, producers };
}

/** A full garbage collection on either engine (Node needs --expose-gc; the runner passes it). */
export function fullGc(): void {
  const g = globalThis as { Bun?: { gc(force: boolean): void }; gc?: () => void };
  if (g.Bun) g.Bun.gc(true);
  else if (typeof g.gc === "function") g.gc();
  else throw new Error("no GC hook: run node with --expose-gc");
}

/** Bytes of live JS heap, after the caller's fullGc(). */
export function heapUsed(): number {
  return process.memoryUsage().heapUsed;
}

/**
 * A reader of "bytes allocated so far" for allocation-rate probes (read before and after a chunk
 * of work with no GC forced in between): V8's heapUsed on Node, which grows with every object;
 * on Bun the allocator's current bytes (bun:jsc memoryUsage().current, what mitata's heap column
 * reads), because JSC's heap size only moves at collections. Bun's figure undercounts small
 * objects (it sees pages, not cells) but is non-zero whenever a loop allocates per item.
 */
export async function allocationReader(): Promise<() => number> {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") {
    const jsc = (await import("bun:jsc")) as { memoryUsage(): { current: number } };
    return () => jsc.memoryUsage().current;
  }
  return () => process.memoryUsage().heapUsed;
}
