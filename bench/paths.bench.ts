/**
 * The kernel's three paths (tools/testing/selftests/net/bench/page_pool, bench_page_pool_simple.c),
 * per element, on a pool like the kernel bench's (order 0, no DMA, default ring):
 *   01 fast path: alloc + recycleDirect (cache hit; never reaches a provider),
 *   02 ptr_ring:  alloc + put without direct from outside NAPI (a ring round trip, refill every 64),
 *   03 slow:      alloc + put while the page's refcount is held elsewhere + put_page, so every
 *                 put ends in the page allocator (released_refcnt) and allocs refill in bulk,
 * and the provider slow path, per fixture-backed provider: a pool whose cache and ring stay empty,
 * so every allocation and every release dispatches (what the dispatcher variants differ in).
 */
import { do_not_optimize } from "mitata";
import { cpu } from "../core/netdev.ts";
import { GFP_ATOMIC, type PagePool } from "../core/page-pool.ts";
import { S_CACHED, S_EMPTY, S_FAST, S_RELEASED_REFCNT, S_RING } from "../core/stats.ts";
import { assertAudited, type BenchDef, type Scenario } from "./lib/harness.ts";
import { makeHost, plainPool, poolsForRigs, providerRigs } from "./lib/world.ts";

const N = 64;

function audited(pool: PagePool, what: string, extra: () => Record<string, number>) {
  return () => {
    const a = assertAudited(pool, what);
    return { ...extra(), inflight: a.inflight };
  };
}

export const scenario: Scenario = {
  name: "paths",
  title: "The kernel's paths: fast (cache hit), ptr_ring round trip, slow; provider slow path",
  setup() {
    const defs: BenchDef[] = [];
    const n = N;
    const nextN = () => n;

    {
      const pool = plainPool(makeHost(4096));
      defs.push({
        id: "fast",
        path: "fast",
        degree: 0,
        ops: N,
        label: "01 fast path: alloc + recycleDirect",
        gen: function* () {
          yield {
            0: nextN,
            bench(k: number) {
              let s = 0;
              for (let i = 0; i < k; i++) {
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = (s + ref) | 0;
                pool.recycleDirect(ref); // caller asserts NAPI context, as the kernel's tasklet does
              }
              return do_not_optimize(s);
            },
          };
        },
        after: audited(pool, "fast", () => ({ fast: pool.st[S_FAST], cached: pool.st[S_CACHED] })),
      });
    }

    {
      const pool = plainPool(makeHost(4096));
      defs.push({
        id: "ring",
        path: "ring",
        degree: 0,
        ops: N,
        label: "02 ptr_ring: alloc + put(allowDirect=false)",
        gen: function* () {
          yield {
            0: nextN,
            bench(k: number) {
              // Process context (not in softirq), so napi-local promotion cannot apply.
              cpu.inSoftirq = false;
              let s = 0;
              for (let i = 0; i < k; i++) {
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = (s + ref) | 0;
                pool.putNetmem(ref, -1, false);
              }
              return do_not_optimize(s);
            },
          };
        },
        after: audited(pool, "ring", () => ({ ring: pool.st[S_RING], fast: pool.st[S_FAST] })),
      });
    }

    {
      const dev = makeHost(4096);
      const pool = plainPool(dev);
      const pages = dev.pages;
      defs.push({
        id: "slow",
        path: "slow",
        degree: 0,
        ops: N,
        label: "03 slow: alloc + get_page + put + put_page",
        gen: function* () {
          yield {
            0: nextN,
            bench(k: number) {
              let s = 0;
              for (let i = 0; i < k; i++) {
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = (s + ref) | 0;
                pages.getPage(ref); // someone else holds the page: it cannot be recycled
                pool.putNetmem(ref, -1, true);
                pages.putPage(ref); // the last put frees it to the buddy allocator
              }
              return do_not_optimize(s);
            },
          };
        },
        after: audited(pool, "slow", () => ({ releasedRefcnt: pool.st[S_RELEASED_REFCNT] })),
      });
    }

    // One provider slow path per fixture-backed provider (a scaffolded one included), in registry
    // order, each pool on its own host. They share one process, so from the second on the
    // dispatcher's call sites have seen more than one provider (as in a kernel with several
    // providers bound); the first is the one baselines' direct call measures without a dispatcher.
    for (const rig of providerRigs().rigs.filter((r) => !r.synthetic)) {
      const [pool] = poolsForRigs(makeHost(4096), [rig]);
      const id = `provider-slow:${rig.name}`;
      defs.push({
        id,
        path: "provider-slow",
        degree: 1,
        ops: N,
        label: `provider slow path: alloc + release via ${rig.name}`,
        providers: [rig.name],
        gen: function* () {
          yield {
            0: nextN,
            bench(k: number) {
              let s = 0;
              for (let i = 0; i < k; i++) {
                // cache and ring empty: allocNetmem dispatches mpAllocNetmems
                const ref = pool.allocNetmem(GFP_ATOMIC);
                s = (s + ref) | 0;
                // the release the kernel does when a netmem cannot be recycled: dispatches mpReleaseNetmem
                pool.returnNetmem(ref);
              }
              return do_not_optimize(s);
            },
          };
        },
        after: audited(pool, id, () => ({ empty: pool.st[S_EMPTY] })),
      });
    }
    return defs;
  },
};
