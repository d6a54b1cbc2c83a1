import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PagePoolError } from "../../core/errors.ts";
import { NetDevice, napiRun, onCpu } from "../../core/netdev.ts";
import { type NetmemRef, PAGE_SIZE } from "../../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../../core/page-alloc.ts";
import {
  DEFER_TIME_MS,
  PagePool,
  type PagePoolParams,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../../core/page-pool.ts";
import { S_EMPTY, S_FAST } from "../../core/stats.ts";
import { ManualTimers } from "../../core/timers.ts";
import { fixtureTarget, runConformance, runReadmeExample } from "../conformance.case.ts";
import { runStackModel, stackOpArb } from "../stack-model.ts";
import { limitedFixture } from "./fixture.ts";
import { LimitedProvider, limitedOps } from "./index.ts";

const FLAGS = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM;

for (const bulk of [true, false])
  runConformance(
    fixtureTarget(
      limitedFixture,
      { quotaBytes: 300 * PAGE_SIZE, bulk },
      { name: `limited (bulk: ${bulk})`, pages: 512 },
    ),
  );

/** A small world: allocator, device, one- or two-queue netdev, a provider bound to queue 0. */
function world(opts: { quotaPages: number; bulk?: boolean; pages?: number; queues?: number }) {
  const allocator = new PageAllocator({ pages: opts.pages ?? 256 });
  const dev = new DmaDevice(allocator);
  const netdev = new NetDevice({ rxQueues: opts.queues ?? 1, dev });
  const p = new LimitedProvider({ quotaBytes: opts.quotaPages * PAGE_SIZE, bulk: opts.bulk });
  const rxq = netdev.bindRxQueue(0, limitedOps, p);
  const timers = new ManualTimers();
  const create = (extra: Partial<PagePoolParams> = {}, q = 0) =>
    PagePool.create({
      flags: FLAGS,
      maxLen: PAGE_SIZE,
      netdev,
      queueIdx: q,
      napi: netdev.rxQueue(q).napi,
      timers,
      ...extra,
    });
  const allocAll = (pool: PagePool): NetmemRef[] => {
    const out: NetmemRef[] = [];
    napiRun(pool.rxq!.napi, () => {
      for (let r = pool.allocNetmem(); r !== 0; r = pool.allocNetmem()) out.push(r);
    });
    return out;
  };
  const close = () => {
    for (const q of netdev.rxQueues) if (q.mpParams.ops) netdev.unbindRxQueue(q.index);
    p.dispose();
    expect(allocator.freePages).toBe(allocator.numPages);
    allocator.dispose();
  };
  return { allocator, dev, netdev, p, rxq, timers, create, allocAll, close };
}

describe("limited", () => {
  test("quota must be a positive multiple of the page size", () => {
    for (const q of [0, -PAGE_SIZE, 1, PAGE_SIZE - 1, PAGE_SIZE + 1, 1.5 * PAGE_SIZE, Number.NaN, Infinity])
      expect(() => new LimitedProvider({ quotaBytes: q })).toThrow(PagePoolError);
    for (const q of ["4096", null, undefined, 2 ** 60])
      expect(() => new LimitedProvider({ quotaBytes: q as unknown as number })).toThrow(/EINVAL/);
    expect(() => new LimitedProvider(undefined as unknown as { quotaBytes: number })).toThrow(/EINVAL/);
    expect(() => new LimitedProvider({ quotaBytes: PAGE_SIZE, bulk: 1 as unknown as boolean })).toThrow(
      /EINVAL/,
    );
    const p = new LimitedProvider({ quotaBytes: PAGE_SIZE });
    expect(() => p.setQuota(100)).toThrow(/EINVAL/);
    expect(p.quotaBytes).toBe(PAGE_SIZE);
    p.setQuota(8 * PAGE_SIZE);
    expect(p.quotaBytes).toBe(8 * PAGE_SIZE);
  });

  test("README example runs and prints what it says", async () => {
    const { logged, expected } = await runReadmeExample(`${import.meta.dir}/README.md`);
    expect(expected.length).toBeGreaterThan(3);
    expect(logged).toEqual(expected);
  });

  test("bulk: one provider call fills the cache, bounded by the quota; the quota then fails cleanly", () => {
    const w = world({ quotaPages: 100 });
    const pool = w.create();
    const refs = w.allocAll(pool);
    expect(refs.length).toBe(100);
    expect(new Set(refs).size).toBe(100);
    // 64 + 36 pages in two provider calls, then one refused call.
    expect(w.p.allocs).toBe(100);
    expect(pool.holdCount).toBe(100);
    expect(pool.st[S_EMPTY]).toBe(3);
    expect(pool.st[S_FAST]).toBe(98);
    expect(w.p.quotaFailures).toBe(1);
    expect(w.p.usedBytes).toBe(100 * PAGE_SIZE);
    expect(w.p.peakBytes).toBe(100 * PAGE_SIZE);
    expect(w.allocator.numPages - w.allocator.freePages).toBe(100);
    // Further attempts keep failing cleanly and keep counting.
    expect(napiRun(w.rxq.napi, () => pool.allocNetmem())).toBe(0);
    expect(w.p.quotaFailures).toBe(2);
    expect(pool.describe().limited).toEqual({
      quotaBytes: 100 * PAGE_SIZE,
      usedBytes: 100 * PAGE_SIZE,
      peakBytes: 100 * PAGE_SIZE,
      quotaFailures: 2,
      allocFailures: 0,
    });
    expect(pool.audit().ok).toBe(true);
    for (const r of refs) pool.putNetmem(r, -1, false);
    pool.destroy();
    expect(w.p.usedBytes).toBe(0);
    w.close();
  });

  test("bulk: false dispatches on every cache miss, one page per call", () => {
    const w = world({ quotaPages: 10, bulk: false });
    const pool = w.create();
    const refs = w.allocAll(pool);
    expect(refs.length).toBe(10);
    expect(pool.st[S_FAST]).toBe(0);
    expect(pool.st[S_EMPTY]).toBe(11);
    expect(w.p.quotaFailures).toBe(1);
    for (const r of refs) napiRun(w.rxq.napi, () => pool.recycleDirect(r));
    // Recycled pages stay charged: they are still the pool's.
    expect(w.p.usedBytes).toBe(10 * PAGE_SIZE);
    pool.destroy();
    w.close();
  });

  test("returned memory frees quota only when it leaves the pool", () => {
    const w = world({ quotaPages: 8 });
    const a = w.create();
    const refs = w.allocAll(a);
    expect(refs.length).toBe(8);
    // Returned into the ring: still a's, still charged, and a second pool gets nothing.
    for (const r of refs.slice(0, 4)) onCpu(1, () => a.putNetmem(r, -1, false));
    expect(w.p.usedBytes).toBe(8 * PAGE_SIZE);
    const b = w.create();
    expect(w.allocAll(b).length).toBe(0);
    expect(w.p.quotaFailures).toBe(2);
    // a is destroyed with 4 in flight: the ring's 4 leave the pool at once, freeing quota for b.
    a.destroy();
    expect(a.state).toBe("detached");
    expect(w.p.usedBytes).toBe(4 * PAGE_SIZE);
    const b1 = w.allocAll(b);
    expect(b1.length).toBe(4);
    // a's last 4 come back after its destroy: the retry frees a and its pages, and b gets them.
    for (const r of refs.slice(4)) a.putNetmem(r, -1, false);
    expect(w.p.usedBytes).toBe(8 * PAGE_SIZE);
    w.timers.advance(DEFER_TIME_MS);
    expect(a.state).toBe("freed");
    expect(w.p.usedBytes).toBe(4 * PAGE_SIZE);
    const b2 = w.allocAll(b);
    expect(b2.length).toBe(4);
    b.destroy();
    for (const r of [...b1, ...b2]) b.putNetmem(r, -1, false);
    w.timers.advance(DEFER_TIME_MS);
    expect(b.state).toBe("freed");
    expect(w.p.usedBytes).toBe(0);
    expect(w.p.releases).toBe(w.p.allocs);
    w.close();
  });

  test("one quota is shared by the pools of every queue it is bound to", () => {
    const w = world({ quotaPages: 12, queues: 2 });
    w.netdev.bindRxQueue(1, limitedOps, w.p);
    const a = w.create({}, 0);
    const b = w.create({}, 1);
    const ra = w.allocAll(a);
    const rb = w.allocAll(b);
    expect(ra.length + rb.length).toBe(12);
    expect(rb.length).toBe(0);
    expect(w.p.pools).toBe(2);
    for (const r of ra.slice(0, 5)) a.putNetmem(r, -1, false);
    a.destroy(); // 5 back at once
    const rb2 = w.allocAll(b);
    expect(rb2.length).toBe(5);
    b.destroy();
    for (const r of ra.slice(5)) a.putNetmem(r, -1, false);
    for (const r of rb2) b.putNetmem(r, -1, false);
    w.timers.advance(DEFER_TIME_MS);
    expect([a.state, b.state]).toEqual(["freed", "freed"]);
    expect(w.p.usedBytes).toBe(0);
    w.close();
  });

  test("lowering the quota below use reclaims nothing; allocation resumes once under it", () => {
    const w = world({ quotaPages: 20, bulk: false });
    const pool = w.create();
    const refs: NetmemRef[] = [];
    napiRun(w.rxq.napi, () => {
      for (let i = 0; i < 10; i++) refs.push(pool.allocNetmem());
    });
    w.p.setQuota(4 * PAGE_SIZE);
    expect(w.p.usedBytes).toBe(10 * PAGE_SIZE);
    expect(w.p.availableBytes).toBe(0);
    expect(napiRun(w.rxq.napi, () => pool.allocNetmem())).toBe(0);
    // Pages returned to the ring are reused by the pool without touching the quota.
    onCpu(1, () => pool.putNetmem(refs.pop()!, -1, false));
    refs.push(napiRun(w.rxq.napi, () => pool.allocNetmem()));
    expect(refs[refs.length - 1]).not.toBe(0);
    expect(w.p.quotaFailures).toBe(1);
    pool.destroy();
    for (const r of refs) pool.putNetmem(r, -1, false);
    w.timers.advance(DEFER_TIME_MS);
    expect(w.p.usedBytes).toBe(0);
    w.p.setQuota(4 * PAGE_SIZE);
    const again = w.create();
    const last = w.allocAll(again);
    expect(last.length).toBe(4);
    for (const r of last) again.putNetmem(r, -1, false);
    again.destroy();
    w.timers.advance(DEFER_TIME_MS);
    w.close();
  });

  test("an empty page allocator is an allocFailure, not a quota failure; failed DMA maps are skipped", () => {
    const w = world({ quotaPages: 64, pages: 16 });
    const pool = w.create();
    w.dev.failNextMaps = 3;
    const refs = w.allocAll(pool);
    // 16 pages, 3 of them failed to map and were put back: 13 handed out, 3 back in the allocator.
    expect(refs.length).toBe(16);
    expect(w.dev.maps).toBe(16);
    expect(w.p.quotaFailures).toBe(0);
    expect(w.p.allocFailures).toBe(1);
    expect(w.p.usedBytes).toBe(16 * PAGE_SIZE);
    expect(w.allocator.freePages).toBe(0);
    pool.destroy();
    for (const r of refs) pool.putNetmem(r, -1, false);
    w.timers.advance(DEFER_TIME_MS);
    expect(w.dev.unmaps).toBe(16);
    w.close();
  });

  test("order > 0: one compound page per call, charged in full; E2BIG when one page exceeds the quota", () => {
    const w = world({ quotaPages: 8 });
    const pool = w.create({ order: 2 });
    const refs = w.allocAll(pool);
    expect(refs.length).toBe(2);
    expect(w.p.usedBytes).toBe(8 * PAGE_SIZE);
    expect(w.allocator.numPages - w.allocator.freePages).toBe(8);
    expect(() => w.create({ order: 4 })).toThrow(/E2BIG/);
    expect(w.p.pools).toBe(1);
    for (const r of refs) pool.putNetmem(r, -1, false);
    pool.destroy();
    expect(w.p.usedBytes).toBe(0);
    w.close();
  });

  test("dispose refuses while pools hold pages", () => {
    const w = world({ quotaPages: 4 });
    const pool = w.create();
    const refs = w.allocAll(pool);
    expect(() => w.p.dispose()).toThrow(/EBUSY/);
    expect(w.p.disposed).toBe(false);
    for (const r of refs) pool.putNetmem(r, -1, false);
    pool.destroy();
    w.close();
    expect(w.p.disposed).toBe(true);
    expect(() => w.p.setQuota(PAGE_SIZE)).toThrow(/ENODEV/);
  });
});

// ---------------------------------------------------------------- adversarial property test

type QuotaOp = { t: "quota"; pages: number };
const opArb = stackOpArb<QuotaOp>({ maxAlloc: 40, fragWeight: 3 }, [
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant("quota" as const), pages: fc.integer({ min: 1, max: 48 }) }),
  },
]);

describe("limited: adversarial property", () => {
  test("random interleavings keep the audit, the quota and the page count exact", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 48 }),
        fc.boolean(),
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        (quotaPages, bulk, ops) => {
          const allocator = new PageAllocator({ pages: 128 });
          const dev = new DmaDevice(allocator);
          const netdev = new NetDevice({ rxQueues: 1, dev });
          const p = new LimitedProvider({ quotaBytes: quotaPages * PAGE_SIZE, bulk });
          const rxq = netdev.bindRxQueue(0, limitedOps, p);
          let maxQuota = quotaPages * PAGE_SIZE;
          runStackModel<QuotaOp>(
            { allocator, netdev, rxq },
            {
              poolParams: { maxLen: PAGE_SIZE },
              beforeAlloc: () => p.quotaFailures,
              allocFailed(_pool, failures) {
                // The allocator has room to spare, so a failure can only be the quota.
                if (p.availableBytes >= PAGE_SIZE || p.quotaFailures !== failures + 1)
                  throw new Error("allocation failed with quota left");
              },
              check(label, held) {
                if (p.usedBytes !== held * PAGE_SIZE)
                  throw new Error(`${label}: used ${p.usedBytes}, pools hold ${held}`);
                if (p.usedBytes > maxQuota)
                  throw new Error(`${label}: used ${p.usedBytes} over every quota set`);
                const lent = allocator.numPages - allocator.freePages;
                if (lent !== held) throw new Error(`${label}: allocator lent ${lent}, pools hold ${held}`);
              },
              busy: () => p.pools > 0 || p.usedBytes > 0,
              afterTeardown() {
                if (p.usedBytes !== 0) throw new Error(`quota still charged: ${p.usedBytes}`);
              },
              dispose: () => p.dispose(),
              runExtra(op) {
                p.setQuota(op.pages * PAGE_SIZE);
                maxQuota = Math.max(maxQuota, op.pages * PAGE_SIZE);
              },
            },
            ops,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});
