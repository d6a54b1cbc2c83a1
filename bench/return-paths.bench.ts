/**
 * Return paths: how a received buffer gets back to the pool once the user is done with it.
 *   copy:   the user copies the payload out and the buffer goes back at once (recycleDirect
 *           within the poll), the path with no zero-copy at all;
 *   zcrx:   the io_uring refill ring (user writes an entry, the allocator drains it in NAPI);
 *   devmem: SO_DEVMEM_DONTNEED with token ranges.
 * The zcrx and devmem legs are added by bench/lib/return-rigs.ts when those providers' user
 * APIs are present; each leg reports per buffer.
 */
import { do_not_optimize } from "mitata";
import { napiRun } from "../core/netdev.ts";
import { GFP_ATOMIC } from "../core/page-pool.ts";
import { assertAudited, type BenchDef, type Scenario } from "./lib/harness.ts";
import { returnRigs } from "./lib/return-rigs.ts";
import { packetSizes, SEQ_LEN } from "./lib/rng.ts";
import { makeHost, plainPool } from "./lib/world.ts";

const N = 64;
const MASK = SEQ_LEN - 1;

export const scenario: Scenario = {
  name: "return-paths",
  title: "Return paths: copy out vs zcrx refill ring vs devmem dontneed",
  async setup(ctx) {
    const defs: BenchDef[] = [];
    {
      const dev = makeHost(4096);
      const pool = plainPool(dev);
      const napi = pool.napi!;
      const mem = dev.pages.memory;
      const pages = dev.pages;
      const sizes = packetSizes(ctx.seed);
      const user = new Uint8Array(64 * 1024);
      let cursor = 0;
      let userOff = 0;
      const batch = () => {
        let s = 0;
        for (let i = 0; i < N; i++) {
          const len = sizes[(cursor + i) & MASK];
          const ref = pool.allocNetmem(GFP_ATOMIC);
          const off = pages.offsetOf(ref);
          // The idiomatic copy: a view of the payload, set() into the user's buffer.
          if (userOff + len > user.length) userOff = 0;
          user.set(mem.subarray(off, off + len), userOff);
          userOff += len;
          s = (s + ref) | 0;
          pool.recycleDirect(ref);
        }
        cursor = (cursor + N) & MASK;
        return s;
      };
      let c = 0;
      const nextC = () => (c = (c + 1) & 0xff);
      defs.push({
        id: "copy",
        path: "return:copy",
        degree: 0,
        ops: N,
        label: "copy payload out + recycle",
        gen: function* () {
          yield {
            0: nextC,
            bench(k: number) {
              return do_not_optimize(napiRun(napi, batch) + k);
            },
          };
        },
        after: () => {
          assertAudited(pool, "copy");
          return {};
        },
      });
    }
    defs.push(...(await returnRigs(ctx, N)));
    return defs;
  },
};
