import { describe, expect, test } from "bun:test";
import { BasicProvider, basicOps } from "../plugins/basic/provider.ts";
import { PagePoolError } from "./errors.ts";
import { NetDevice, napiRun, onCpu } from "./netdev.ts";
import { LOC_INFLIGHT, netmemLoc, netmemPpRefCount, PAGE_SIZE } from "./netmem.ts";
import {
  PagePool,
  type PagePoolParams,
  PP_ALLOC_CACHE_SIZE,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "./page-pool.ts";
import { mpStaticKey } from "./provider.ts";
import { flatStats } from "./stats.ts";
import { expectAudit, mkPool as mk, mkDev } from "./testing.ts";

const zero = () => flatStats(new Float64Array(11));

describe("allocation paths: the kernel's stat counts", () => {
  test("first allocation of a fresh order-0 pool: empty 1, slow 1, 63 left in the cache", () => {
    const { pool } = mk();
    const ref = pool.allocNetmem();
    expect(ref).toBeGreaterThan(0);
    expect(flatStats(pool.st)).toEqual({ ...zero(), empty: 1, slow: 1 });
    expect(pool.cacheCount).toBe(63);
    expect(pool.holdCount).toBe(64);
    expect(pool.inflight).toBe(64);
    expect(netmemLoc(ref)).toBe(LOC_INFLIGHT);
    expect(netmemPpRefCount(ref)).toBe(1);
    expectAudit(pool);
  });

  test("63 cache hits are `fast`, the 65th allocation goes slow again", () => {
    const { pool } = mk();
    const refs = new Set<number>();
    for (let i = 0; i < 64; i++) refs.add(pool.allocNetmem());
    expect(refs.size).toBe(64);
    expect(flatStats(pool.st)).toEqual({ ...zero(), empty: 1, slow: 1, fast: 63 });
    refs.add(pool.allocNetmem());
    expect(refs.size).toBe(65);
    expect(flatStats(pool.st)).toEqual({ ...zero(), empty: 2, slow: 2, fast: 63 });
    expect(pool.cacheCount).toBe(63);
    expectAudit(pool);
  });

  test("recycleDirect fills the cache; past 128 it counts cache_full and goes to the ring", () => {
    const { pool } = mk();
    const refs: number[] = [];
    for (let i = 0; i < 192; i++) refs.push(pool.allocNetmem()); // 3 bulk fills
    expect(pool.cacheCount).toBe(0);
    for (const r of refs) pool.recycleDirect(r);
    const s = flatStats(pool.st);
    expect(s.cached).toBe(PP_ALLOC_CACHE_SIZE);
    expect(s.cacheFull).toBe(192 - PP_ALLOC_CACHE_SIZE);
    expect(s.ring).toBe(192 - PP_ALLOC_CACHE_SIZE);
    expect(pool.cacheCount).toBe(128);
    expect(pool.ring.count()).toBe(64);
    expectAudit(pool);
  });

  test("a put outside NAPI goes to the ring; the next miss refills 64 from it (`refill`)", () => {
    const { pool } = mk();
    const refs: number[] = [];
    for (let i = 0; i < 128; i++) refs.push(pool.allocNetmem());
    for (const r of refs) pool.putFullNetmem(r, false);
    expect(pool.st[8]).toBe(128); // ring
    expect(pool.cacheCount).toBe(0);
    const r = pool.allocNetmem();
    // The ring is FIFO: refs[0..63] move to the cache in order; the cache is LIFO: refs[63] comes out.
    expect(r).toBe(refs[63]);
    const s = flatStats(pool.st);
    expect(s.refill).toBe(1);
    expect(pool.cacheCount).toBe(63);
    expect(pool.ring.count()).toBe(64);
    expectAudit(pool);
  });

  test("a put from the pool's NAPI context recycles directly even with allowDirect=false", () => {
    const dev = mkDev();
    const netdev = new NetDevice({ dev });
    const rxq = netdev.rxQueue(0);
    const { pool } = mk({ napi: rxq.napi, netdev, queueIdx: 0 }, dev);
    const r = napiRun(rxq.napi, () => pool.allocNetmem());
    napiRun(rxq.napi, () => pool.putFullNetmem(r, false));
    expect(pool.stats.recycle.cached).toBe(1);
    // From another CPU's softirq it is not napi-local: ring.
    const r2 = napiRun(rxq.napi, () => pool.allocNetmem());
    onCpu(1, () => pool.putFullNetmem(r2, false));
    expect(pool.stats.recycle.ring).toBe(1);
    expectAudit(pool);
  });

  test("ring full: ring_full counted and the page released to the page allocator", () => {
    const dev = mkDev();
    const { pool } = mk({ poolSize: 64 }, dev);
    expect(pool.ring.size).toBe(64);
    const refs: number[] = [];
    for (let i = 0; i < 65; i++) refs.push(pool.allocNetmem());
    const freeBefore = dev.pages.freePages;
    for (const r of refs) pool.putFullNetmem(r, false);
    expect(pool.stats.recycle.ring).toBe(64);
    expect(pool.stats.recycle.ringFull).toBe(1);
    expect(pool.releaseCount).toBe(1);
    expect(dev.pages.freePages).toBe(freeBefore + 1);
    expectAudit(pool);
  });

  test("a page someone else holds (refcount 2) is not recycled: released_refcnt", () => {
    const dev = mkDev();
    const { pool } = mk({}, dev);
    const r = pool.allocNetmem();
    dev.pages.getPage(r);
    pool.recycleDirect(r);
    expect(pool.stats.recycle.releasedRefcnt).toBe(1);
    expect(pool.releaseCount).toBe(1);
    expect(dev.pages.owns(r)).toBe(true);
    const free = dev.pages.freePages;
    dev.pages.putPage(r); // the other holder lets go: the page goes back to the buddy allocator
    expect(dev.pages.freePages).toBe(free + 1);
    expectAudit(pool);
  });

  test("high-order pools allocate one compound page per miss (`slow_high_order`)", () => {
    const dev = mkDev();
    const { pool } = mk({ order: 3 }, dev);
    const r = pool.allocNetmem();
    expect(flatStats(pool.st)).toEqual({ ...zero(), empty: 1, slowHighOrder: 1 });
    expect(dev.pages.orderOf(r)).toBe(3);
    expect(pool.cacheCount).toBe(0);
    expect(pool.describe().inflightMem).toBe(PAGE_SIZE << 3);
    expectAudit(pool);
  });

  test("memory exhaustion returns 0 cleanly and leaves the pool usable", () => {
    const dev = mkDev(64);
    const { pool } = mk({}, dev);
    const refs: number[] = [];
    for (let i = 0; i < 64; i++) refs.push(pool.allocNetmem());
    expect(pool.allocNetmem()).toBe(0);
    expect(pool.stats.alloc.empty).toBe(2);
    pool.recycleDirect(refs[0]);
    expect(pool.allocNetmem()).toBe(refs[0]);
    expectAudit(pool);
  });

  test("a failed DMA map skips that page, as the kernel's bulk path does", () => {
    const dev = mkDev();
    dev.failNextMaps = 3;
    const { pool } = mk({ flags: PP_FLAG_DMA_MAP }, dev);
    expect(pool.allocNetmem()).toBeGreaterThan(0);
    expect(pool.holdCount).toBe(61);
    expect(pool.cacheCount).toBe(60);
    expect(dev.pages.freePages).toBe(1024 - 61);
    expectAudit(pool);
  });

  test("NUMA: after updateNid, pages of the old node in the ring are waived on refill", () => {
    const dev = mkDev(1024, 2);
    const { pool } = mk({ nid: 0 }, dev);
    const refs: number[] = [];
    for (let i = 0; i < 4; i++) refs.push(pool.allocNetmem());
    for (const r of refs) pool.putFullNetmem(r, false);
    const cached: number[] = [];
    while (pool.cacheCount > 0) cached.push(pool.allocNetmem());
    pool.updateNid(1);
    const r = pool.allocNetmem(); // refill: first ring entry is node 0 → waived, stop; slow path from node 1
    expect(pool.stats.alloc.waive).toBe(1);
    expect(dev.pages.pageNid(r)).toBe(1);
    expect(pool.releaseCount).toBe(1);
    expectAudit(pool);
  });
});

describe("updateNid", () => {
  test("flushes the alloc cache back to the page allocator, as page_pool_update_nid does", () => {
    const dev = mkDev(1024, 2);
    const { pool } = mk({ nid: 0 }, dev);
    const r = pool.allocNetmem();
    expect(pool.cacheCount).toBe(63);
    pool.updateNid(1);
    expect(pool.cacheCount).toBe(0);
    expect(pool.releaseCount).toBe(63);
    expect(dev.pages.freePages).toBe(1024 - 1);
    const s = pool.allocNetmem();
    expect(dev.pages.pageNid(s)).toBe(1);
    expect(dev.pages.pageNid(r)).toBe(0);
    expectAudit(pool);
  });
});

describe("DMA sync for device is accounted: min(dmaSyncSize, maxLen)", () => {
  test("on map, on recycle with a length, and with -1", () => {
    const dev = mkDev();
    const { pool } = mk({ flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV, maxLen: 1500, offset: 256 }, dev);
    const r = pool.allocNetmem();
    expect(pool.dmaSyncBytes).toBe(64 * 1500); // each page synced once when mapped
    const before = pool.dmaSyncBytes;
    pool.putNetmem(r, 100, true);
    expect(pool.dmaSyncBytes - before).toBe(100);
    const r2 = pool.allocNetmem();
    pool.putNetmem(r2, 4000, true);
    expect(pool.dmaSyncBytes - before).toBe(1600);
    const r3 = pool.allocNetmem();
    pool.putNetmem(r3, -1, true);
    expect(pool.dmaSyncBytes - before).toBe(3100);
    expect(dev.syncForDeviceBytes).toBe(pool.dmaSyncBytes);
  });

  test("no sync without PP_FLAG_DMA_SYNC_DEV", () => {
    const { pool } = mk({ flags: PP_FLAG_DMA_MAP });
    pool.recycleDirect(pool.allocNetmem());
    expect(pool.dmaSyncBytes).toBe(0);
  });
});

describe("params are validated as page_pool_init does", () => {
  const bad: Array<[string, PagePoolParams, string, RegExp]> = [
    ["unknown flags", { flags: 1 << 4 }, "EINVAL", /flags: unknown flag bits 0x10/],
    [
      "SYNC_DEV without DMA_MAP",
      { flags: PP_FLAG_DMA_SYNC_DEV, maxLen: 100 },
      "EINVAL",
      /PP_FLAG_DMA_SYNC_DEV requires PP_FLAG_DMA_MAP/,
    ],
    [
      "SYNC_DEV without maxLen",
      { flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV },
      "EINVAL",
      /maxLen must be non-zero/,
    ],
    ["order too large", { order: 11 }, "EINVAL", /order must be <= MAX_PAGE_ORDER/],
    ["unreadable without a netdev", { flags: PP_FLAG_ALLOW_UNREADABLE_NETMEM }, "EINVAL", /netdev required/],
    ["DMA_MAP towards the device", { flags: PP_FLAG_DMA_MAP, dmaDir: "to-device" }, "EINVAL", /dmaDir/],
    ["negative order", { order: -1 }, "EINVAL", /order must be an integer/],
    ["fractional poolSize", { poolSize: 1.5 }, "EINVAL", /poolSize/],
  ];
  for (const [what, params, code, msg] of bad) {
    test(what, () => {
      let err: unknown;
      try {
        PagePool.create({ dev: mkDev(16), ...params });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PagePoolError);
      expect((err as PagePoolError).code).toBe(code as PagePoolError["code"]);
      expect((err as PagePoolError).message).toMatch(msg);
    });
  }

  test("ptr_ring size: 1024 by default, min(poolSize, 16384) when given", () => {
    expect(mk().pool.ring.size).toBe(1024);
    expect(mk({ poolSize: 5000 }).pool.ring.size).toBe(5000);
    expect(mk({ poolSize: 100_000 }).pool.ring.size).toBe(16384);
  });
});

describe("providers bound to rx queues", () => {
  const flags = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM;

  test("a pool for a bound queue takes the provider from the queue; the slow path reaches it", () => {
    const dev = mkDev();
    const netdev = new NetDevice({ dev, rxQueues: 2 });
    const priv = new BasicProvider();
    netdev.bindRxQueue(1, basicOps, priv);
    const keyBefore = mpStaticKey.count;
    const { pool, timers } = mk({ netdev, queueIdx: 1, flags, maxLen: 4096 }, dev);
    expect(pool.mpOps).toBe(basicOps);
    expect(pool.mpKind).toBeGreaterThan(0);
    expect(priv.inits).toBe(1);
    expect(mpStaticKey.count).toBe(keyBefore + 1);
    const r = pool.allocNetmem();
    expect(priv.allocs).toBe(1);
    expect(pool.stats.alloc.slow).toBe(0); // provider allocations are not counted slow
    expect(pool.describe()).toMatchObject({ id: pool.id, ifindex: netdev.ifindex, basic: { allocs: 1 } });
    pool.recycleDirect(r);
    expect(pool.allocNetmem()).toBe(r); // fast path: no provider call
    expect(priv.allocs).toBe(1);
    pool.recycleDirect(r);
    pool.destroy();
    expect(priv.releases).toBe(1);
    expect(priv.destroys).toBe(1);
    expect(mpStaticKey.count).toBe(keyBefore);
    timers.advance(10_000);
    expect(priv.destroys).toBe(1);
  });

  test("the same queue without the unreadable flag gets no provider", () => {
    const dev = mkDev();
    const netdev = new NetDevice({ dev });
    netdev.bindRxQueue(0, basicOps, new BasicProvider());
    const { pool } = mk({ netdev, queueIdx: 0 }, dev);
    expect(pool.mpOps).toBeNull();
  });

  test("a provider pool needs DMA_MAP and DMA_SYNC_DEV (EOPNOTSUPP)", () => {
    const dev = mkDev();
    const netdev = new NetDevice({ dev });
    netdev.bindRxQueue(0, basicOps, new BasicProvider());
    expect(() =>
      PagePool.create({ dev, netdev, queueIdx: 0, flags: PP_FLAG_ALLOW_UNREADABLE_NETMEM }),
    ).toThrow(/EOPNOTSUPP/);
  });

  test("only registered, frozen provider tables can be bound (EFAULT)", () => {
    const netdev = new NetDevice({ dev: mkDev(16) });
    const rogue = Object.freeze({ ...basicOps, name: "rogue" });
    expect(() => netdev.bindRxQueue(0, rogue, {})).toThrow(/EFAULT.*not a registered provider/);
  });

  test("binding twice is EEXIST; unbinding an unbound queue is ENOENT; bad index ERANGE", () => {
    const netdev = new NetDevice({ dev: mkDev(16) });
    netdev.bindRxQueue(0, basicOps, new BasicProvider());
    expect(() => netdev.bindRxQueue(0, basicOps, new BasicProvider())).toThrow(/EEXIST/);
    netdev.unbindRxQueue(0);
    expect(() => netdev.unbindRxQueue(0)).toThrow(/ENOENT/);
    expect(() => netdev.bindRxQueue(5, basicOps, {})).toThrow(/ERANGE.*out of range/);
    expect(netdev.rxQueue(0).restarts).toBe(2);
  });

  test("a provider whose init throws: create fails with its error and nothing is left behind", () => {
    const dev = mkDev();
    const netdev = new NetDevice({ dev });
    const err = new PagePoolError("ENOMEM", "no memory for provider state");
    netdev.bindRxQueue(0, basicOps, new BasicProvider({ failInit: err }));
    const key = mpStaticKey.count;
    expect(() => PagePool.create({ dev, netdev, queueIdx: 0, flags, maxLen: 4096 })).toThrow(err);
    expect(mpStaticKey.count).toBe(key);
    expect(netdev.rxQueue(0).pools.size).toBe(0);
    expect(dev.pages.freePages).toBe(dev.pages.numPages);
  });

  test("unbind while a pool holds buffers: the pool keeps its provider until it drains", () => {
    const dev = mkDev();
    const netdev = new NetDevice({ dev });
    const priv = new BasicProvider();
    netdev.bindRxQueue(0, basicOps, priv);
    const { pool, timers } = mk({ netdev, queueIdx: 0, flags, maxLen: 4096 }, dev);
    const a = pool.allocNetmem();
    netdev.unbindRxQueue(0);
    const b = pool.allocNetmem();
    expect(priv.allocs).toBe(2);
    pool.destroy();
    expect(pool.state).toBe("detached");
    pool.putFullNetmem(a, false);
    pool.putFullNetmem(b, false);
    expect(priv.destroys).toBe(0);
    timers.advance(1000);
    expect(pool.state).toBe("freed");
    expect(priv.destroys).toBe(1);
    expect(dev.pages.freePages).toBe(dev.pages.numPages);
  });

  test("unregistering the device uninstalls bound providers; its stalled pools move to loopback, no warning", () => {
    const dev = mkDev();
    const netdev = new NetDevice({ dev });
    const priv = new BasicProvider();
    netdev.bindRxQueue(0, basicOps, priv);
    const { pool, timers } = mk({ netdev, queueIdx: 0, flags, maxLen: 4096 }, dev);
    const r = pool.allocNetmem();
    pool.destroy();
    timers.advance(120_000);
    expect(pool.stalledWarnings).toBe(0); // still visible through its netdev
    netdev.unregister();
    expect(priv.uninstalls).toBe(1);
    expect(netdev.rxQueue(0).mpParams.ops).toBeNull();
    timers.advance(120_000);
    expect(pool.stalledWarnings).toBe(0); // listed on loopback: still visible
    expect(pool.describe().ifindex).toBeUndefined();
    pool.putFullNetmem(r, false);
    timers.advance(1000);
    expect(pool.state).toBe("freed");
    expect(priv.destroys).toBe(1);
  });
});

describe("destroy", () => {
  test("with nothing in flight the pool is freed at once, cache and ring back to the allocator", () => {
    const dev = mkDev();
    const { pool, timers } = mk({}, dev);
    const refs: number[] = [];
    for (let i = 0; i < 70; i++) refs.push(pool.allocNetmem());
    for (let i = 0; i < 35; i++) pool.recycleDirect(refs[i]);
    for (let i = 35; i < 70; i++) pool.putFullNetmem(refs[i], false);
    pool.destroy();
    expect(pool.state).toBe("freed");
    expect(pool.inflight).toBe(0);
    expect(dev.pages.freePages).toBe(dev.pages.numPages);
    expect(timers.pending).toBe(0);
    // A destroy beyond the user count: the kernel's refcount_t underflow WARN, nothing else.
    pool.destroy();
    expect(pool.extraDestroys).toBe(1);
    expect(pool.state).toBe("freed");
  });

  test("with buffers out it defers, retries every second, warns every 60 s, completes after the last return", () => {
    const dev = mkDev();
    const { pool, timers, logs } = mk({}, dev);
    const out = [pool.allocNetmem(), pool.allocNetmem()];
    pool.destroy();
    expect(pool.state).toBe("detached");
    expect(pool.inflight).toBe(2);
    expect(pool.cacheCount).toBe(0);
    expect(pool.describe()).toMatchObject({ inflight: 2, inflightMem: 2 * PAGE_SIZE, detachTime: 0 });
    timers.advance(59_000);
    expect(pool.stalledWarnings).toBe(0);
    timers.advance(1_000);
    expect(pool.stalledWarnings).toBe(1);
    timers.advance(60_000);
    expect(pool.stalledWarnings).toBe(2);
    expect(logs.length).toBe(2);
    pool.putFullNetmem(out[0], false); // napi-local promotion is off after destroy: the ring
    expect(pool.stats.recycle.ring).toBe(1);
    timers.advance(1000);
    expect(pool.state).toBe("detached");
    pool.putFullNetmem(out[1], false);
    timers.advance(1000);
    expect(pool.state).toBe("freed");
    expect(dev.pages.freePages).toBe(dev.pages.numPages);
    expect(timers.pending).toBe(0);
  });
});
