/**
 * The dispatch sweep: `degree` pools, each bound to a distinct provider, all behind the same
 * call sites (PagePool.allocNetmem -> #dispatch mpAllocNetmems, PagePool.returnNetmem ->
 * mpReleaseNetmem). Each operation takes the next pool from a seeded Zipf interleaving
 * precomputed into a Uint8Array, allocates, and releases the buffer to its provider (the release
 * the kernel does when a netmem cannot be recycled: one dispatch per operation). The ring stays
 * empty, so an allocation dispatches whenever the pool's cache is empty: every time for providers
 * that hand out one netmem per call (basic, devmem, the synthetic ones), once per batch of up to
 * 64 for the bulk fillers (limited, huge, zcrx), as in the kernel. The figures report how many
 * allocation dispatches an operation made (`allocDispatchPerOp`).
 *
 * Degrees beyond the real providers the benchmark can bind use synthetic providers rendered from
 * the scaffold template (bench/lib/synthetic.ts); such points are labelled synthetic. Which
 * degrees a process runs is chosen by the runner (BENCH_DEGREES), so the real-provider points and
 * the synthetic ones come from different builds of the dispatchers, each in its own process.
 */
import { do_not_optimize } from "mitata";
import { GFP_ATOMIC, type PagePool } from "../core/page-pool.ts";
import { S_EMPTY } from "../core/stats.ts";
import type { BenchDef, Scenario } from "./lib/harness.ts";
import { interleaving, SEQ_LEN } from "./lib/rng.ts";
import { makeHost, type ProviderRig, poolsForRigs, providerRigs } from "./lib/world.ts";

export const SWEEP_DEGREES = [1, 2, 4, 8, 16] as const;
const N = 64;

/** Degrees this process should measure: BENCH_DEGREES="1,2,4" (set by the runner), else all it can. */
export function requestedDegrees(): number[] {
  const env = process.env.BENCH_DEGREES;
  if (!env) return [...SWEEP_DEGREES];
  return env
    .split(",")
    .map((s) => Number(s))
    .filter((d) => Number.isInteger(d) && d > 0);
}

export const scenario: Scenario = {
  name: "dispatch-sweep",
  title: "Dispatch sweep: 1..16 providers behind the same call sites, seeded Zipf interleaving",
  setup(ctx) {
    const { rigs } = providerRigs();
    const defs: BenchDef[] = [];
    for (const degree of requestedDegrees()) {
      if (degree > rigs.length) continue;
      const chosen = rigs.slice(0, degree);
      const pools: PagePool[] = poolsForRigs(makeHost(4096), chosen);
      const seq = interleaving(degree, ctx.seed);
      let cursor = 0;
      const nextCursor = () => {
        cursor = (cursor + N) & (SEQ_LEN - 1);
        return cursor;
      };
      defs.push({
        id: `sweep-${degree}`,
        path: "dispatch",
        degree,
        ops: N,
        label: `dispatch sweep, ${degree} provider${degree > 1 ? "s" : ""}`,
        synthetic: chosen.some((r) => r.synthetic),
        providers: chosen.map((r) => r.name),
        gen: function* () {
          yield {
            0: nextCursor,
            bench(at: number) {
              let s = 0;
              for (let i = 0; i < N; i++) {
                const pool = pools[seq[at + i]];
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = (s + ref) | 0;
                pool.returnNetmem(ref);
              }
              return do_not_optimize(s);
            },
          };
        },
        after: () => {
          let dispatches = 0;
          let ops = 0;
          for (const p of pools) {
            const a = p.audit();
            if (!a.ok) throw new Error(`sweep-${degree}: pool ${p.id}: ${a.problems.slice(0, 3).join("; ")}`);
            dispatches += p.st[S_EMPTY];
            ops += p.releaseCount;
          }
          return { allocDispatchPerOp: Math.round((dispatches / Math.max(1, ops)) * 1000) / 1000 };
        },
      });
    }
    return defs;
  },
};

/**
 * The profile the icall-wrapper's profile-guided build reads (codegen/README.md format): runs the
 * sweep's work (SEQ_LEN operations per degree, same seed) on fresh pools and counts the dispatches
 * per provider per op: allocNetmems from the pools' `empty` counter (each one preceded a provider
 * call), releaseNetmem from their release count. Also returns the provider order the sweep uses.
 * `source` defaults to the sweep's providers; the dispatch floor passes its own (same work).
 */
export function profileSweep(
  seed: number,
  degrees: readonly number[],
  source: { rigs: ProviderRig[]; skipped: string[] } = providerRigs(),
): { rigs: string[]; skipped: string[]; counts: Record<string, Record<string, number>> } {
  const { rigs, skipped } = source;
  const counts: Record<string, Record<string, number>> = {};
  for (const degree of degrees) {
    if (degree > rigs.length) continue;
    const chosen = rigs.slice(0, degree);
    const pools = poolsForRigs(makeHost(4096), chosen);
    const base = pools.map((p) => [p.st[S_EMPTY], p.releaseCount]);
    const seq = interleaving(degree, seed);
    for (let i = 0; i < SEQ_LEN; i++) {
      const pool = pools[seq[i]];
      pool.returnNetmem(pool.allocNetmem(GFP_ATOMIC));
    }
    pools.forEach((p, i) => {
      const c = (counts[chosen[i].name] ??= { allocNetmems: 0, releaseNetmem: 0 });
      c.allocNetmems += p.st[S_EMPTY] - base[i][0];
      c.releaseNetmem += p.releaseCount - base[i][1];
    });
  }
  return { rigs: rigs.map((r) => r.name), skipped, counts };
}
