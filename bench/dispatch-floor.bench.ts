/**
 * The dispatch floor: the dispatch sweep's work with providers that do (almost) nothing, so the
 * cost of the dispatch itself shows instead of hiding behind a real provider's 30-40 ns.
 *
 * Providers: 16 "floor" providers rendered from bench/templates/floor-provider.ts.hbs (each pops
 * a pre-mapped page from an Int32Array stack and attaches it; release detaches it and pushes it
 * back), the only providers of a dispatcher set codegen emits for them (bench/.synthetic/floor/),
 * so these points are synthetic by construction. The pool, the call sites and the sequence are the
 * sweep's: `degree` pools, each bound to a distinct floor provider, behind the same call sites
 * (PagePool.allocNetmem -> #dispatch mpAllocNetmems, PagePool.returnNetmem -> mpReleaseNetmem),
 * taken in the seeded Zipf interleaving of lib/rng.ts precomputed into a Uint8Array. Cache and
 * ring stay empty, so every allocation and every release dispatches (checked after measuring).
 *
 * Baseline ("the floor of the floor"), at every degree: the same pools and sequence, all bound to
 * one floor provider whose alloc + release are called directly, with the core's slow-path checks
 * and bookkeeping written out inline around them (directBench). A point's p50 minus the direct one
 * at its degree is the dispatch (and the pool methods' calls, if not inlined); the core's own work
 * is the same code in every variant, so the differences between variants are the dispatch alone.
 *
 * Degree 1 takes floor-01, the if-chain's first branch and the icall-wrapper's first guess (name
 * order, as in the sweep where basic comes first): the best case of both, the kernel's v6.12 case
 * (one provider behind one test).
 */
import { do_not_optimize } from "mitata";
import { LOC_FREE, LOC_INFLIGHT, nm } from "../core/netmem.ts";
import { GFP_ATOMIC, type PagePool } from "../core/page-pool.ts";
import { S_EMPTY } from "../core/stats.ts";
import { profileSweep, requestedDegrees } from "./dispatch-sweep.bench.ts";
import type { FloorState } from "./lib/floor-state.ts";
import type { BenchDef, Scenario } from "./lib/harness.ts";
import { FLOOR_DIRECT_PATH, FLOOR_PATH } from "./lib/merge.ts";
import { interleaving, SEQ_LEN } from "./lib/rng.ts";
import { floorRigs, makeHost, type ProviderRig, poolsForRigs } from "./lib/world.ts";

/** Operations (alloc + release) per iteration: a floor op is a few ns, so a batch per iteration. */
const N = 64;

/**
 * Checks what the scenario claims: the pools' audits hold, every allocation and every release
 * reached the provider (the `empty` counter counts one per allocation that found cache and ring
 * empty, the pin's included), and each provider's pages are all on its stack but the pin.
 */
function checkFloor(what: string, pools: readonly PagePool[]): Record<string, number> {
  let dispatches = 0;
  let ops = 0;
  for (const p of pools) {
    const a = p.audit();
    if (!a.ok) throw new Error(`${what}: pool ${p.id}: ${a.problems.slice(0, 3).join("; ")}`);
    if (a.cache !== 0 || a.ring !== 0 || a.inflight !== 1)
      throw new Error(`${what}: pool ${p.id}: cache ${a.cache}, ring ${a.ring}, in flight ${a.inflight}`);
    const s = p.mpPriv as FloorState;
    if (s.top !== s.owned - 1) throw new Error(`${what}: ${s.owned} pages, ${s.top} on the stack`);
    dispatches += p.st[S_EMPTY] - 1;
    ops += p.releaseCount;
  }
  if (dispatches !== ops)
    throw new Error(
      `${what}: ${dispatches} allocation dispatches for ${ops} releases: something hit a cache`,
    );
  return { allocDispatchPerOp: 1, ops };
}

/**
 * The floor of the floor at `degree`: the same pools and sequence, every pool bound to floor-01,
 * and PagePool.allocNetmem's slow path and PagePool.returnNetmem written out inline around direct
 * calls of floor-01's functions (no dispatcher, one target). The gap to a variant's point at the
 * same degree is the dispatch: the dispatcher's function and its call or chain, and the pool
 * methods' own call if the engine did not inline them. Mirrors core/page-pool.ts as of this
 * writing; checkFloor() verifies the pools end in the same state as under the real calls.
 */
function directBench(degree: number, rig: ProviderRig, seq: Uint8Array): BenchDef {
  const pools: PagePool[] = poolsForRigs(makeHost(1024), new Array<ProviderRig>(degree).fill(rig));
  // Read once from the ops table into constants: a call through a binding that never changes is
  // what a call to an imported function is to the engines (load the binding, call; the call site
  // sees one target), and the floor providers are generated files the committed bench cannot
  // import statically.
  const alloc = rig.ops.allocNetmems;
  const release = rig.ops.releaseNetmem;
  let cursor = 0;
  const nextCursor = () => {
    cursor = (cursor + N) & (SEQ_LEN - 1);
    return cursor;
  };
  const id = `floor-direct-${degree}`;
  return {
    id,
    path: FLOOR_DIRECT_PATH,
    degree,
    ops: N,
    label: `direct call: ${rig.name} alloc + release on ${degree} pool${degree > 1 ? "s" : ""} (no dispatcher)`,
    synthetic: true,
    providers: [rig.name],
    gen: function* () {
      yield {
        0: nextCursor,
        bench(at: number) {
          let s = 0;
          for (let i = 0; i < N; i++) {
            const pool = pools[seq[at + i]];
            // PagePool.allocNetmem's slow path, inline: cache empty, ring empty (counted), provider.
            if (pool.cacheCount > 0 || !pool.ring.isEmpty())
              throw new Error(`${id}: cache or ring not empty`);
            pool.st[S_EMPTY]++;
            const ref = alloc(pool, GFP_ATOMIC);
            if (ref === 0) throw new Error(`${id}: the provider ran dry`);
            nm.loc[ref >>> 1] = LOC_INFLIGHT;
            s = (s + ref) | 0;
            // PagePool.returnNetmem, inline: provider, count the release, check or free.
            const put = release(pool, ref);
            pool.releaseCount++;
            const d = ref >>> 1;
            if (put) {
              // never taken (floor providers keep their pages)
              nm.pp[d] = 0;
              nm.ppRef[d] = 0;
              nm.loc[d] = LOC_FREE;
              pool.pages.putPage(ref);
            } else if (nm.pp[d] === pool.id) throw new Error(`${id}: provider kept ${ref} attached`);
          }
          return do_not_optimize(s);
        },
      };
    },
    after: () => checkFloor(id, pools),
  };
}

export const scenario: Scenario = {
  name: "dispatch-floor",
  title: "Dispatch floor: 1..16 do-nothing providers behind the same call sites, and a direct call",
  setup(ctx) {
    const rigs = floorRigs();
    const defs: BenchDef[] = [];
    if (rigs.length === 0) return defs; // not linked to the floor set
    for (const degree of requestedDegrees()) {
      if (degree > rigs.length) continue;
      const chosen = rigs.slice(0, degree);
      const pools: PagePool[] = poolsForRigs(makeHost(1024), chosen);
      const seq = interleaving(degree, ctx.seed);
      let cursor = 0;
      const nextCursor = () => {
        cursor = (cursor + N) & (SEQ_LEN - 1);
        return cursor;
      };
      defs.push({
        id: `floor-${degree}`,
        path: FLOOR_PATH,
        degree,
        ops: N,
        label: `dispatch floor, ${degree} synthetic floor provider${degree > 1 ? "s" : ""}`,
        synthetic: true,
        providers: chosen.map((r) => r.name),
        gen: function* () {
          yield {
            0: nextCursor,
            bench(at: number) {
              let s = 0;
              for (let i = 0; i < N; i++) {
                const pool = pools[seq[at + i]];
                // cache and ring empty: dispatches mpAllocNetmems
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = (s + ref) | 0;
                // page_pool_return_netmem(): dispatches mpReleaseNetmem
                pool.returnNetmem(ref);
              }
              return do_not_optimize(s);
            },
          };
        },
        after: () => checkFloor(`floor-${degree}`, pools),
      });
      defs.push(directBench(degree, rigs[0], seq));
    }

    return defs;
  },
};

/**
 * The floor set's profile for its icall-pgo build (the sweep's profile, over the floor providers):
 * dispatch counts per floor provider per op for SEQ_LEN operations per degree, same seed.
 */
export function profileFloor(seed: number, degrees: readonly number[]) {
  return profileSweep(seed, degrees, { rigs: floorRigs(), skipped: [] });
}
