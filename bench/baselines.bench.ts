/**
 * Baselines, measured first as the kernel's bench does ("we need to know the overhead introduced
 * by the for loop itself"): the loop, a bare typed-array stack (the floor for the cache-hit fast
 * path), a hand-written direct call into one provider (the floor for dispatch: the provider slow
 * path minus the dispatcher), and what a JavaScript user does without a pool.
 */
import { do_not_optimize } from "mitata";
import { LOC_FREE, LOC_INFLIGHT, netmemDesc, nm } from "../core/netmem.ts";
import { GFP_ATOMIC } from "../core/page-pool.ts";
import { assertAudited, type BenchDef, type Scenario } from "./lib/harness.ts";
import { makeHost, poolsForRigs, providerRigs } from "./lib/world.ts";

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

    // The dispatch floor: the same alloc + release as the provider slow path bench (its first
    // provider: the first fixture-backed one in registry order), calling the provider's functions
    // with no dispatcher in between and doing the core's bookkeeping inline. The functions are
    // read from the ops table once, at setup: the measured sites each see one target.
    const dev = makeHost(4096);
    const rig = providerRigs().rigs.find((r) => !r.synthetic);
    if (rig) {
      const [pool] = poolsForRigs(dev, [rig]);
      const pages = dev.pages;
      const allocNetmems = rig.ops.allocNetmems;
      const releaseNetmem = rig.ops.releaseNetmem;
      defs.push({
        id: "direct-call",
        path: "baseline:direct",
        degree: 1,
        ops: N,
        label: `direct call: ${rig.name} alloc + release`,
        providers: [rig.name],
        gen: function* () {
          yield {
            0: nextN,
            bench(k: number) {
              let s = 0;
              for (let i = 0; i < k; i++) {
                const ref = allocNetmems(pool, GFP_ATOMIC);
                const d = netmemDesc(ref);
                nm.loc[d] = LOC_INFLIGHT;
                s = (s + ref) | 0;
                // what page_pool_return_netmem() does around the provider's release
                const put = releaseNetmem(pool, ref);
                pool.releaseCount++;
                if (put) {
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
          const a = assertAudited(pool, "direct-call");
          return { held: pool.holdCount, inflight: a.inflight };
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
