/**
 * The measured side of the paired scheme: a long-lived child (`bench/child.ts --serve`) holding
 * every bench of its provider set, linked to its own dispatcher, answering the runner's commands
 * one JSON line at a time on stdin/stdout (logs go to stderr, stdout carries only replies).
 *
 *   {"op":"warmup","keys":[...],"warmupMs":40}       run each bench's body for that much CPU
 *       time (the runner warms every process of a block at once: only the JIT tiers care, and
 *       they count executions, not wall time)
 *   {"op":"prepare","keys":[...],"calibrateMs":10,"burstMs":1}
 *       calibrate each bench with mitata (`measure`: its timer and sampling, the computed
 *       parameters, `do_not_optimize` in the bench bodies; no forced GC, which costs more than
 *       the calibration on a large heap) and flag it when mitata's rule says "likely optimised
 *       out" (avg per iteration < 1.42 x a no-op's measured with the same options in the same
 *       call, mitata's own rule and measurement); mitata's average
 *       gives the first guess of the iterations per burst, refined on the burst loop itself.
 *       calibrateMs 0 skips mitata (the runner runs it in the first launch only: it costs ~70 ms
 *       per bench and process, and whether the engine folded a bench away is a property of the
 *       code and the engine, not of the launch).
 *   {"op":"iters","iters":{"<key>":n}}              set the iterations per burst: the runner
 *       gives every process of a comparison the same count (the median of their calibrations),
 *       so the two sides of a pair do the same work and the cache-cold start of a burst weighs
 *       the same in both
 *   {"op":"burst","key":"dispatch-floor/floor-4"}    -> {"ns": <ns per op over one burst>}
 *   {"op":"after","keys":[...]}                      -> each bench's checks and extra figures
 *   {"op":"quit"}
 *
 * A burst is one fixed count of iterations timed as a whole, not a mitata `measure`: a burst must
 * be a short (1-2 ms) slice taken at the moment the runner chooses, next to the other variant's
 * slice, and mitata's `measure` always takes a warm-up call, at least `min_samples` batches and
 * its own batch-size search, which would stretch each burst to tens of ms and put the two bursts
 * of a pair in different machine states. The burst loop is the one mitata runs per batch (fresh
 * computed parameters per iteration, the result sunk), with the calibrated batch.
 */
import { measure } from "mitata";
import {
  type BenchDef,
  type BenchIdentity,
  type Mode,
  OPTIMISED_OUT_FACTOR,
  unpackGen,
  warmup,
} from "./harness.ts";

/** A bench as the runner sees it: its identity and its key (`scenario/id`). */
export interface BenchMeta extends BenchIdentity {
  key: string;
}

export interface Calibration {
  avgIterNs: number;
  iters: number;
  optimisedOut: boolean;
}

export type Command =
  | { op: "warmup"; keys: string[]; warmupMs: number }
  | { op: "prepare"; keys: string[]; calibrateMs: number; burstMs: number }
  | { op: "iters"; iters: Record<string, number> }
  | { op: "burst"; key: string }
  | { op: "after"; keys: string[] }
  | { op: "quit" };

interface Prepared {
  def: BenchDef;
  bench: (...a: unknown[]) => unknown;
  producers: Array<() => unknown>;
  args: unknown[];
  iters: number;
}

const now: () => number =
  typeof (globalThis as { Bun?: { nanoseconds(): number } }).Bun !== "undefined"
    ? (globalThis as unknown as { Bun: { nanoseconds(): number } }).Bun.nanoseconds
    : () => Number(process.hrtime.bigint());

/** Sink for the bench results, so no burst's work is dead. */
export let sink: unknown;

/** One burst: `p.iters` iterations with fresh parameters each, timed as a whole; ns per op. */
function burst(p: Prepared): number {
  const { bench, producers, args, iters } = p;
  const n = producers.length;
  const t0 = now();
  for (let k = 0; k < iters; k++) {
    for (let i = 0; i < n; i++) args[i] = producers[i]();
    sink = bench(...args);
  }
  const t1 = now();
  return (t1 - t0) / (iters * p.def.ops);
}

/**
 * The no-op's cost per call for mitata's "likely optimised out" rule: the fastest of three warm
 * measurements, each at least NOOP_MIN_NS long. A short calibration (quick mode: a few ms) of a
 * just-compiled no-op reads several times its warm cost, which flagged 64-iteration loops as
 * optimised out; the fastest warm reading is the no-op's real cost, and a bench that was really
 * eliminated still reads below 1.42x of it.
 */
const NOOP_MIN_NS = 20e6;
async function warmNoop(minCpuNs: number): Promise<number> {
  const opts = { min_cpu_time: Math.max(minCpuNs, NOOP_MIN_NS), min_samples: 4, gc: false as const };
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) best = Math.min(best, (await measure(() => {}, opts)).avg);
  return best;
}

export class Server {
  private readonly prepared = new Map<string, Prepared>();
  constructor(private readonly defs: Map<string, BenchDef>) {}

  async handle(cmd: Command): Promise<unknown> {
    switch (cmd.op) {
      case "warmup": {
        for (const key of cmd.keys) warmup(this.def(key).gen, cmd.warmupMs * 1e6, true);
        return { warm: cmd.keys.length };
      }
      case "prepare": {
        const out: Record<string, Calibration> = {};
        const burstNs = cmd.burstMs * 1e6;
        let noop: number | undefined;
        for (const key of cmd.keys) {
          const def = this.def(key);
          const { bench, producers } = unpackGen(def.gen);
          const p: Prepared = { def, bench, producers, args: new Array(producers.length), iters: 1 };
          let avgIterNs = Number.NaN;
          let optimisedOut = false;
          if (cmd.calibrateMs > 0) {
            const opts = { min_cpu_time: cmd.calibrateMs * 1e6, min_samples: 4, gc: false as const };
            const s = await measure(def.gen, opts);
            // mitata's rule against a no-op measured the same way, now (a no-op measured at
            // start-up on a busy machine can read slower than a real bench measured later).
            noop ??= await warmNoop(opts.min_cpu_time);
            avgIterNs = s.avg;
            optimisedOut = s.avg < OPTIMISED_OUT_FACTOR * noop;
            p.iters = Math.max(1, Math.round(burstNs / Math.max(1, s.avg)));
          }
          // mitata's short calibration runs its freshly compiled loop before the optimising
          // tiers have it, so its average overstates the warm cost several times over: the burst
          // length is refined on the burst loop itself (three rounds, each step clamped to x10).
          for (let r = 0; r < 3; r++) {
            const ns = burst(p) * p.iters * def.ops;
            const f = Math.min(10, Math.max(0.1, burstNs / Math.max(1, ns)));
            p.iters = Math.max(1, Math.round(p.iters * f));
          }
          this.prepared.set(key, p);
          out[key] = { avgIterNs, iters: p.iters, optimisedOut };
        }
        return { cal: out };
      }
      case "iters": {
        for (const [key, n] of Object.entries(cmd.iters)) {
          const p = this.prepared.get(key);
          if (!p) throw new Error(`iters before prepare: ${key}`);
          if (!(Number.isInteger(n) && n >= 1))
            throw new Error(`iters for ${key} must be a positive integer, got ${n}`);
          p.iters = n;
        }
        return { ok: true };
      }
      case "burst": {
        const p = this.prepared.get(cmd.key);
        if (!p) throw new Error(`burst before prepare: ${cmd.key}`);
        return { ns: burst(p) };
      }
      case "after": {
        const out: Record<string, { extra?: Record<string, number | string | boolean>; error?: string }> = {};
        for (const key of cmd.keys) {
          try {
            out[key] = { extra: this.def(key).after?.() ?? {} };
          } catch (e) {
            out[key] = { error: (e as Error).message };
          }
        }
        return { after: out };
      }
      case "quit":
        return { bye: true };
      default:
        throw new Error(`unknown op ${(cmd as { op: unknown }).op}`);
    }
  }

  private def(key: string): BenchDef {
    const d = this.defs.get(key);
    if (!d) throw new Error(`no bench ${key} in this process`);
    return d;
  }
}

/** Reads JSON-line commands from stdin, answers each on stdout; returns when told to quit or stdin ends. */
export async function serveStdio(server: Server, ready: unknown): Promise<void> {
  const write = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
  write(ready);
  let buf = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin as AsyncIterable<string>) {
    buf += chunk;
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      if (!line.trim()) continue;
      let cmd: Command;
      try {
        cmd = JSON.parse(line) as Command;
      } catch {
        write({ error: `not JSON: ${line.slice(0, 80)}` });
        continue;
      }
      try {
        write(await server.handle(cmd));
      } catch (e) {
        write({ error: (e as Error).message });
      }
      if (cmd.op === "quit") return;
    }
  }
}

export type { Mode };
