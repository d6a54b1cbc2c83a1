/**
 * Property test of the pool: random sequences of allocate, frag allocate, ref, put (direct or
 * not, from the pool's NAPI or elsewhere), destroy and time passing. After every step the audit
 * holds, every holder's reference is accounted in pp_ref_count, nothing is handed out twice, and
 * the stats obey the kernel's identities. At the end every page is back with the page allocator.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { BasicProvider, basicOps } from "../plugins/basic/provider.ts";
import { PagePoolError } from "./errors.ts";
import { NetDevice, napiRun } from "./netdev.ts";
import { nm } from "./netmem.ts";
import { DmaDevice, PageAllocator } from "./page-alloc.ts";
import {
  BIAS_MAX,
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
  poolsById,
} from "./page-pool.ts";
import { mpStaticKey } from "./provider.ts";
import {
  S_CACHED,
  S_FAST,
  S_REFILL,
  S_RELEASED_REFCNT,
  S_RING,
  S_RING_FULL,
  S_SLOW,
  S_SLOW_HIGH_ORDER,
} from "./stats.ts";
import { ManualTimers } from "./timers.ts";

type Cmd =
  | { k: "alloc" }
  | { k: "frag"; size: number }
  | { k: "ref"; i: number }
  | { k: "put"; i: number; direct: boolean; inNapi: boolean }
  | { k: "destroy" }
  | { k: "tick" };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ k: "alloc" } as Cmd) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4096 }).map((size) => ({ k: "frag", size }) as Cmd) },
  { weight: 1, arbitrary: fc.nat().map((i) => ({ k: "ref", i }) as Cmd) },
  {
    weight: 6,
    arbitrary: fc
      .record({ i: fc.nat(), direct: fc.boolean(), inNapi: fc.boolean() })
      .map((r) => ({ k: "put", ...r }) as Cmd),
  },
  { weight: 1, arbitrary: fc.constant({ k: "destroy" } as Cmd) },
  { weight: 1, arbitrary: fc.constant({ k: "tick" } as Cmd) },
);

test("random pool sequences keep the audit, the refcounts and the stat identities", () => {
  fc.assert(
    fc.property(
      fc.array(cmd, { minLength: 1, maxLength: 80, size: "max" }),
      fc.boolean(),
      fc.constantFrom(16, 64, 1024),
      fc.constantFrom(48, 96, 512),
      (cmds, withProvider, poolSize, pages) => {
        const alloc = new PageAllocator({ pages });
        const dev = new DmaDevice(alloc, { cacheAlignment: 64 });
        const netdev = new NetDevice({ dev });
        const rxq = netdev.rxQueue(0);
        const priv = new BasicProvider();
        if (withProvider) netdev.bindRxQueue(0, basicOps, priv);
        const timers = new ManualTimers();
        const pool = PagePool.create({
          dev,
          netdev,
          queueIdx: 0,
          napi: rxq.napi,
          poolSize,
          maxLen: 4096,
          flags:
            PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | (withProvider ? PP_FLAG_ALLOW_UNREADABLE_NETMEM : 0),
          timers,
          log: () => {},
        });
        const holders: number[] = []; // one entry per reference a "driver" holds
        const count = new Map<number, number>();
        const hold = (r: number) => {
          holders.push(r);
          count.set(r, (count.get(r) ?? 0) + 1);
        };
        let directAllocs = 0;
        let fragNewPages = 0;
        let lastPuts = 0;
        let fragReuses = 0;
        let destroyed = false;

        const check = () => {
          const a = pool.audit();
          if (!a.ok) throw new Error(a.problems.join("; "));
          for (const [r, n] of count) {
            const want = r === pool.fragPage ? BIAS_MAX - pool.fragUsers + n : n;
            if (nm.ppRef[r >>> 1] !== want)
              throw new Error(`ref ${r}: pp_ref_count ${nm.ppRef[r >>> 1]}, want ${want}`);
          }
          const st = pool.st;
          expect(
            st[S_FAST] + st[S_SLOW] + st[S_SLOW_HIGH_ORDER] + st[S_REFILL] + (withProvider ? priv.allocs : 0),
          ).toBe(directAllocs + fragNewPages);
          expect(st[S_CACHED] + st[S_RING] + st[S_RING_FULL] + st[S_RELEASED_REFCNT]).toBe(
            lastPuts + fragReuses,
          );
        };

        for (const c of cmds) {
          switch (c.k) {
            case "alloc": {
              if (destroyed) break;
              const r = napiRun(rxq.napi, () => pool.allocNetmem());
              if (r !== 0) {
                if ((count.get(r) ?? 0) > 0) throw new Error(`ref ${r} handed out twice`);
                directAllocs++;
                hold(r);
              }
              break;
            }
            case "frag": {
              if (destroyed) break;
              const prev = pool.fragPage;
              const r = napiRun(rxq.napi, () => pool.allocFragNetmem(c.size));
              if (r !== 0) {
                if (pool.outOffset === 0) {
                  fragNewPages++;
                  if (r === prev) fragReuses++;
                  else if ((count.get(r) ?? 0) > 0) throw new Error(`frag page ${r} handed out twice`);
                }
                hold(r);
              }
              break;
            }
            case "ref": {
              if (holders.length === 0) break;
              const r = holders[c.i % holders.length];
              pool.refNetmem(r);
              hold(r);
              break;
            }
            case "put": {
              if (holders.length === 0) break;
              const j = c.i % holders.length;
              const r = holders[j];
              holders.splice(j, 1);
              const n = (count.get(r) ?? 0) - 1;
              if (n === 0) count.delete(r);
              else count.set(r, n);
              const isFrag = r === pool.fragPage;
              if (c.inNapi) napiRun(rxq.napi, () => pool.putFullNetmem(r, c.direct && !destroyed));
              else pool.putFullNetmem(r, false);
              if (n === 0 && !isFrag) lastPuts++;
              break;
            }
            case "destroy":
              if (!destroyed) {
                pool.destroy();
                destroyed = true;
              }
              break;
            case "tick":
              timers.advance(1000);
              break;
          }
          check();
        }
        // Return everything, let the deferred destroy finish: every page back, provider destroyed once.
        while (holders.length > 0) {
          const r = holders.pop()!;
          pool.putFullNetmem(r, false);
        }
        count.clear();
        if (!destroyed) pool.destroy();
        timers.advance(1000);
        expect(pool.state).toBe("freed");
        expect(pool.inflight).toBe(0);
        expect(alloc.freePages).toBe(alloc.numPages);
        if (withProvider) {
          expect(priv.inits).toBe(1);
          expect(priv.destroys).toBe(1);
          expect(priv.releases).toBe(priv.allocs);
        }
        alloc.checkInvariants();
        alloc.dispose();
      },
    ),
    { numRuns: Number(process.env.PP_PROPERTY_RUNS ?? 1000) },
  );
});

test("random params: a working pool or a PagePoolError naming the field, never anything half-built", () => {
  const alloc = new PageAllocator({ pages: 256 });
  const dev = new DmaDevice(alloc);
  const netdev = new NetDevice({ dev, rxQueues: 2 });
  netdev.bindRxQueue(1, basicOps, new BasicProvider());
  const anyValue = fc.oneof(
    fc.integer({ min: -5, max: 40 }),
    fc.integer(),
    fc.double(),
    fc.constant(undefined),
    fc.string({ maxLength: 3 }),
  );
  // Mostly plausible values (so pools do get created), sometimes anything at all.
  const mostly = (valid: fc.Arbitrary<unknown>) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.oneof(valid, fc.constant(undefined)) },
      { weight: 1, arbitrary: anyValue },
    );
  let created = 0;
  let refused = 0;
  fc.assert(
    fc.property(
      fc.record(
        {
          order: mostly(fc.integer({ min: 0, max: 3 })),
          poolSize: mostly(fc.integer({ min: 0, max: 20000 })),
          nid: mostly(fc.integer({ min: -1, max: 1 })),
          maxLen: mostly(fc.integer({ min: 0, max: 4096 })),
          offset: mostly(fc.integer({ min: 0, max: 256 })),
          queueIdx: mostly(fc.constantFrom(0, 1, 2)),
          flags: mostly(fc.integer({ min: 0, max: 15 })),
          dmaDir: fc.constantFrom("from-device", "bidirectional", "to-device", "none", "sideways", undefined),
          withNetdev: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      (raw) => {
        const { withNetdev, ...rest } = raw;
        const params = { ...rest, dev, netdev: withNetdev ? netdev : undefined, log: () => {} } as never;
        const poolsBefore = poolsById.size;
        const keyBefore = mpStaticKey.count;
        const free = alloc.freePages;
        let pool: PagePool | undefined;
        try {
          pool = PagePool.create(params);
        } catch (e) {
          expect(e).toBeInstanceOf(PagePoolError);
          // The message names what was wrong.
          expect((e as Error).message).toMatch(
            /order|poolSize|nid|maxLen|offset|queueIdx|flags|dmaDir|rx queue|provider|PP_FLAG/,
          );
          expect(poolsById.size).toBe(poolsBefore);
          expect(mpStaticKey.count).toBe(keyBefore);
          expect(alloc.freePages).toBe(free);
          refused++;
          return;
        }
        created++;
        // A pool that was created works and gives everything back.
        const r = pool.allocNetmem();
        if (r !== 0) pool.putFullNetmem(r, false);
        pool.destroy();
        expect(pool.state).toBe("freed");
        expect(alloc.freePages).toBe(free);
        expect(mpStaticKey.count).toBe(keyBefore);
      },
    ),
    { numRuns: 1000 },
  );
  // Both outcomes must have been exercised, or the generator has gone blind.
  expect(created).toBeGreaterThan(50);
  expect(refused).toBeGreaterThan(50);
});
