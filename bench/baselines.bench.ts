/**
 * Baselines, measured first as the kernel's bench does ("we need to know the overhead introduced
 * by the for loop itself"): the loop, a bare typed-array stack (the floor for the cache-hit fast
 * path), a hand-written direct call into one provider (the floor for dispatch: the provider slow
 * path minus the dispatcher), and what a JavaScript user does without a pool.
 */
import { do_not_optimize } from "mitata";
import { LOC_FREE, LOC_INFLIGHT, nm } from "../core/netmem.ts";
import { GFP_ATOMIC } from "../core/page-pool.ts";
import { basicAllocNetmems, basicReleaseNetmem } from "../plugins/basic/provider.ts";
import { assertAudited, type BenchDef, type Scenario } from "./lib/harness.ts";
import { type CountingPriv, makeHost, poolsForRigs, providerRigs } from "./lib/world.ts";

/** Operations per iteration for the per-element baselines (the kernel reports per element too). */
const N = 64;

export const scenario: Scenario = {
  name: "baselines",
  title: "Baselines: loop, bare stack, direct provider call, ArrayBuffer / Buffer",
  setup() {
    const defs: BenchDef[] = [];
    // Passed in through mitata's parameter producers, so the JIT never sees a constant trip count.
    const n = N;
    const nextN = () => n;

    defs.push({
      id: "loop",
      path: "baseline:loop",
      degree: 0,
      ops: N,
      label: "for loop (per iteration)",
      gen: function* () {
        yield {
          0: nextN,
          bench(k: number) {
            let s = 0;
            for (let i = 0; i < k; i++) s = (s + i) | 0;
            return do_not_optimize(s);
          },
        };
      },
    });

    // The fast path's floor: pop from and push to an Int32Array stack, as the alloc cache does.
    const stack = new Int32Array(128);
    for (let i = 0; i < stack.length; i++) stack[i] = (i + 1) << 1;
    let top = 64;
    defs.push({
      id: "stack",
      path: "baseline:stack",
      degree: 0,
      ops: N,
      label: "typed-array stack pop+push",
      gen: function* () {
        yield {
          0: nextN,
          bench(k: number) {
            let s = 0;
            for (let i = 0; i < k; i++) {
              const v = stack[--top];
              s = (s + v) | 0;
              stack[top++] = v;
            }
            return do_not_optimize(s);
          },
        };
      },
    });

    // The dispatch floor: the same alloc + release as the provider slow path bench, calling the
    // basic provider's functions directly and doing the core's bookkeeping inline.
    const dev = makeHost(4096);
    const basic = providerRigs().rigs.find((r) => r.name === "basic");
    if (basic) {
      const [pool] = poolsForRigs(dev, [basic]);
      const pages = dev.pages;
      defs.push({
        id: "direct-call",
        path: "baseline:direct",
        degree: 1,
        ops: N,
        label: "direct call: basic alloc + release",
        providers: ["basic"],
        gen: function* () {
          yield {
            0: nextN,
            bench(k: number) {
              let s = 0;
              for (let i = 0; i < k; i++) {
                const ref = basicAllocNetmems(pool, GFP_ATOMIC);
                nm.loc[ref >>> 1] = LOC_INFLIGHT;
                s = (s + ref) | 0;
                if (basicReleaseNetmem(pool, ref)) {
                  // what page_pool_return_netmem() does after the provider said "put it back"
                  pool.releaseCount++;
                  const d = ref >>> 1;
                  nm.pp[d] = 0;
                  nm.ppRef[d] = 0;
                  nm.loc[d] = LOC_FREE;
                  pages.putPage(ref);
                }
              }
              return do_not_optimize(s);
            },
          };
        },
        after: () => {
          assertAudited(pool, "direct-call");
          return { allocs: (pool.mpPriv as CountingPriv).allocs };
        },
      });
    }

    const size = 4096;
    const nextSize = () => size;
    defs.push({
      id: "arraybuffer",
      path: "baseline:arraybuffer",
      degree: 0,
      ops: 1,
      label: "new ArrayBuffer(4096)",
      gen: function* () {
        yield {
          0: nextSize,
          bench(sz: number) {
            return do_not_optimize(new ArrayBuffer(sz));
          },
        };
      },
    });
    defs.push({
      id: "buffer",
      path: "baseline:buffer",
      degree: 0,
      ops: 1,
      label: "Buffer.allocUnsafe(4096)",
      gen: function* () {
        yield {
          0: nextSize,
          bench(sz: number) {
            return do_not_optimize(Buffer.allocUnsafe(sz));
          },
        };
      },
    });
    return defs;
  },
};
