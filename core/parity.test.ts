/**
 * Kernel-parity cases (issue 12): each test pins an outcome of net/core/page_pool*.c that the
 * model once got wrong.
 */
import { describe, expect, test } from "bun:test";
import { BasicProvider, basicOps } from "../plugins/basic/provider.ts";
import { cpu, LOOPBACK_IFINDEX, loopbackDev, NetDevice, napiRun, onCpu } from "./netdev.ts";
import { netmemDesc, nm, PAGE_SIZE } from "./netmem.ts";
import { DmaDevice, PageAllocator } from "./page-alloc.ts";
import {
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
  PP_FLAG_SYSTEM_POOL,
} from "./page-pool.ts";
import { pagePoolDump, pagePoolGet } from "./pool-netlink.ts";
import { NR_CPUS, S_CACHED, S_RELEASED_REFCNT, S_RING } from "./stats.ts";
import { expectAudit, expectCode, mkDev, mkPool } from "./testing.ts";
import { ManualTimers } from "./timers.ts";
import { useXdpMem } from "./xdp.ts";

const PROVIDER_FLAGS = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM;

describe("params default as a zeroed kernel struct", () => {
  test("dmaDir defaults to bidirectional (DMA_BIDIRECTIONAL is 0)", () => {
    const { pool } = mkPool({ flags: PP_FLAG_DMA_MAP });
    expect(pool.dmaDir).toBe("bidirectional");
    pool.destroy();
  });

  test("queueIdx defaults to 0: the pool serves queue 0 and takes its provider", () => {
    const netdev = new NetDevice({ rxQueues: 2, dev: mkDev(64) });
    const p = new BasicProvider();
    netdev.bindRxQueue(0, basicOps, p);
    const pool = PagePool.create({ netdev, flags: PROVIDER_FLAGS, maxLen: 4096, timers: new ManualTimers() });
    expect(pool.queueIdx).toBe(0);
    expect(pool.rxq).toBe(netdev.rxQueue(0));
    expect(netdev.rxQueue(0).pools.has(pool)).toBe(true);
    expect(pool.mpPriv).toBe(p);
    pool.destroy();
    expect(p.destroys).toBe(1);
  });
});

describe("pfmemalloc pages are not recycled", () => {
  test("a page from the emergency reserves goes back to the page allocator (released_refcnt)", () => {
    const { pool, dev } = mkPool();
    const a = pool.allocNetmem();
    const b = pool.allocNetmem();
    dev.pages.markPfmemalloc(a);
    const free = dev.pages.freePages;
    pool.recycleDirect(a);
    expect(pool.st[S_RELEASED_REFCNT]).toBe(1);
    expect(pool.st[S_CACHED]).toBe(0);
    expect(dev.pages.freePages).toBe(free + 1);
    pool.recycleDirect(b);
    expect(pool.st[S_CACHED]).toBe(1);
    expectAudit(pool);
    pool.destroy();
  });

  test("allocations that dip below the reserve watermark are pfmemalloc", () => {
    const pages = new PageAllocator({ pages: 128, reservePages: 100 });
    const dev = new DmaDevice(pages);
    const { pool } = mkPool({}, dev);
    // The first bulk fill takes 64 pages one by one; those taken once fewer than 100 were left
    // free dipped into the reserves. The cache pops the last one taken.
    const first = pool.allocNetmem();
    expect(pages.isPfmemalloc(first)).toBe(true);
    pool.recycleDirect(first);
    expect(pool.st[S_RELEASED_REFCNT]).toBe(1);
    expectAudit(pool);
    pool.destroy();
  });
});

describe("cpuid (page_pool_create_percpu)", () => {
  test("a pool owned by CPU 1 recycles directly from CPU 1's softirq, through the ring elsewhere", () => {
    const dev = mkDev();
    const pool = PagePool.createPercpu({ dev, timers: new ManualTimers() }, 1);
    expect(pool.cpuid).toBe(1);
    const refs = [pool.allocNetmem(), pool.allocNetmem()];
    const netdev = new NetDevice({ dev });
    const napi = netdev.rxQueue(0).napi; // some other NAPI: only the CPU matters
    cpu.id = 1;
    try {
      napiRun(napi, () => pool.putFullNetmem(refs[0], false));
    } finally {
      cpu.id = 0;
    }
    expect(pool.st[S_CACHED]).toBe(1);
    napiRun(napi, () => pool.putFullNetmem(refs[1], false));
    expect(pool.st[S_RING]).toBe(1);
    expectCode(() => PagePool.createPercpu({ dev }, -2), "EINVAL");
    pool.destroy();
    expect(pool.cpuid).toBe(-1);
  });
});

describe("netdev unregister (unregister_netdevice + page_pool_unreg_netdev)", () => {
  test("the device is closed first: the driver's stop destroys its pools, then providers uninstall", () => {
    const dev = mkDev(256);
    const netdev = new NetDevice({ dev });
    const p = new BasicProvider();
    netdev.bindRxQueue(0, basicOps, p);
    const timers = new ManualTimers();
    const pool = PagePool.create({ netdev, flags: PROVIDER_FLAGS, maxLen: 4096, timers, log: () => {} });
    const order: string[] = [];
    netdev.onStop = () => {
      order.push(`stop: uninstalls ${p.uninstalls}`);
      pool.destroy();
    };
    netdev.unregister();
    expect(order).toEqual(["stop: uninstalls 0"]);
    expect(p.uninstalls).toBe(1);
    expect(pool.state).toBe("freed");
  });

  test("without a driver stop hook no pool is left live; the busy one is listed on loopback, visible, not warned about", () => {
    const dev = mkDev(256);
    const netdev = new NetDevice({ dev });
    const timers = new ManualTimers();
    const logs: string[] = [];
    // Made without a queue index: it serves queue 0 and is listed on the device all the same.
    const pool = PagePool.create({ netdev, timers, log: (m) => logs.push(m) });
    const held = pool.allocNetmem();
    expect(pagePoolGet(pool.id).ifindex).toBe(netdev.ifindex);
    netdev.unregister();
    expect(pool.state).toBe("detached");
    expectCode(() => pool.allocNetmem(), "EINVAL");
    expect(pool.netdev).toBe(loopbackDev());
    expect(loopbackDev().ifindex).toBe(LOOPBACK_IFINDEX);
    const d = pagePoolGet(pool.id);
    expect(d.ifindex).toBeUndefined();
    expect(d.detachTime).toBe(0);
    expect(pagePoolDump().map((x) => x.id)).toContain(pool.id);
    timers.advance(5 * 60_000);
    expect(pool.stalledWarnings).toBe(0);
    expect(logs.filter((l) => /stalled/.test(l))).toEqual([]);
    pool.putFullNetmem(held, false);
    timers.advance(1000);
    expect(pool.state).toBe("freed");
    expect(loopbackDev().pagePools.has(pool)).toBe(false);
    expectCode(() => pagePoolGet(pool.id), "ENOENT");
  });

  test("a pool made without a netdev is invisible: ENOENT from page-pool-get, and it does warn when stalled", () => {
    const { pool, timers, logs } = mkPool();
    const held = pool.allocNetmem();
    expectCode(() => pagePoolGet(pool.id), "ENOENT");
    pool.destroy();
    timers.advance(60_000);
    expect(pool.stalledWarnings).toBe(1);
    expect(logs.some((l) => /stalled pool shutdown: id \d+, 1 inflight 60 sec/.test(l))).toBe(true);
    pool.putFullNetmem(held, false);
    timers.advance(1000);
    expect(pool.state).toBe("freed");
  });
});

describe("napi-id (page_pool_nl_fill)", () => {
  test("follows the live NAPI, which destroy clears, as since 'don't try to stash the napi id' (6.14)", () => {
    const dev = mkDev(256);
    const netdev = new NetDevice({ dev });
    const napi = netdev.rxQueue(0).napi;
    const pool = PagePool.create({ netdev, napi, timers: new ManualTimers(), log: () => {} });
    const held = pool.allocNetmem();
    expect(pool.describe().napiId).toBe(napi.id);
    pool.destroy();
    expect(pool.describe().napiId).toBeUndefined();
    pool.putFullNetmem(held, false);
  });
});

describe("use after destroy, and the user count", () => {
  test("allocNetmem on a destroyed pool is refused, takes nothing, and the pool still frees", () => {
    const { pool, dev, timers } = mkPool();
    const held = pool.allocNetmem();
    const other = pool.allocNetmem();
    pool.putFullNetmem(other, false); // one in the ring
    pool.destroy();
    expect(pool.state).toBe("detached");
    const free = dev.pages.freePages;
    expectCode(() => pool.allocNetmem(), "EINVAL");
    expectCode(() => pool.allocFragNetmem(100), "EINVAL");
    expect(dev.pages.freePages).toBe(free);
    expect(pool.inflight).toBe(1);
    expectAudit(pool);
    pool.putFullNetmem(held, false);
    timers.advance(1000);
    expect(pool.state).toBe("freed");
    expect(dev.pages.freePages).toBe(dev.pages.numPages);
  });

  test("a direct recycle into a detached pool is not held forever", () => {
    const { pool, dev, timers } = mkPool();
    const held = pool.allocNetmem();
    pool.destroy();
    pool.recycleDirect(held); // driver bug: its NAPI is gone
    timers.advance(1000);
    expect(pool.state).toBe("freed");
    expect(dev.pages.freePages).toBe(dev.pages.numPages);
  });

  test("destroy drops one user: with an XDP memory model the second destroy tears down; a third only WARNs", () => {
    const { pool, logs } = mkPool();
    let disconnected = 0;
    useXdpMem(pool, () => disconnected++, 7);
    expect(pool.userCnt).toBe(2);
    pool.destroy(); // the driver's
    expect(pool.state).toBe("live");
    pool.recycleDirect(pool.allocNetmem());
    pool.destroy(); // xdp_rxq_info_unreg_mem_model's
    expect(pool.state).toBe("freed");
    expect(disconnected).toBe(1);
    pool.destroy();
    expect(pool.extraDestroys).toBe(1);
    expect(logs.some((l) => /refcount_t: underflow/.test(l))).toBe(true);
  });
});

describe("netlink page-pool-get attributes", () => {
  test("inflight is clamped at 0 (a driver bug can make it negative); inflight-mem is PAGE_SIZE << order", () => {
    const { pool } = mkPool({ order: 2 });
    const a = pool.allocNetmem();
    expect(pool.describe()).toMatchObject({ inflight: 1, inflightMem: 4 * PAGE_SIZE });
    pool.releaseCount += 5; // as if pages were released that were never held
    expect(pool.describe()).toMatchObject({ inflight: 0, inflightMem: 0 });
    pool.releaseCount -= 5;
    pool.recycleDirect(a);
    pool.destroy();
  });

  test("queue-get shows the bound provider on its queue, and an AF_XDP socket as an xsk nest", () => {
    const netdev = new NetDevice({ rxQueues: 2, dev: mkDev(64) });
    const p = new BasicProvider();
    netdev.bindRxQueue(1, basicOps, p);
    netdev.rxQueue(0).xskPool = {};
    expect(netdev.queueGetDump()).toEqual([
      { id: 0, ifindex: netdev.ifindex, type: "rx", napiId: netdev.rxQueue(0).napi.id, xsk: {} },
      {
        id: 1,
        ifindex: netdev.ifindex,
        type: "rx",
        napiId: netdev.rxQueue(1).napi.id,
        basic: { allocs: 0, releases: 0, queue: 1 },
      },
    ]);
    netdev.unregister();
    expectCode(() => netdev.queueGet(0), "ENODEV");
  });
});

describe("the DMA index (v6.15+): destroy unmaps pages still in flight", () => {
  test("scrub unmaps the in-flight page after a grace period; its later return does not unmap again", () => {
    const { pool, dev, timers } = mkPool({ flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV, maxLen: 4096 });
    const held = pool.allocNetmem();
    expect(dev.maps).toBe(64);
    expect(pool.dmaIndex.count).toBe(64);
    expect(nm.dmaIdx[netmemDesc(held)]).toBeGreaterThan(0);
    pool.destroy();
    // 63 cached pages were returned (unmapped), and the held one was unmapped by scrub.
    expect(dev.unmaps).toBe(64);
    expect(pool.dmaScrubUnmaps).toBe(1);
    expect(pool.synchronizeNetCalls).toBe(1);
    expect(pool.dmaIndex.count).toBe(0);
    pool.putFullNetmem(held, false);
    timers.advance(1000);
    expect(pool.state).toBe("freed");
    expect(dev.unmaps).toBe(64); // not twice
    expect(nm.dma[netmemDesc(held)]).toBe(0);
    expect(nm.dmaIdx[netmemDesc(held)]).toBe(0);
  });

  test("no grace period when nothing is mapped or the device needs no sync", () => {
    const dev = new DmaDevice(new PageAllocator({ pages: 128 }), { needSync: false });
    const { pool } = mkPool({ flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV, maxLen: 4096 }, dev);
    const held = pool.allocNetmem();
    pool.destroy();
    expect(pool.synchronizeNetCalls).toBe(0);
    expect(dev.unmaps).toBe(64);
    pool.putFullNetmem(held, false);
  });
});

describe("per-CPU recycle stats (page_pool_get_stats sums them)", () => {
  test("NAPI contexts on two CPUs put into one pool: each CPU's counters, summed in stats", () => {
    const dev = mkDev(512);
    const netdev = new NetDevice({ rxQueues: 2, dev });
    const napi0 = netdev.rxQueue(0).napi;
    const napi1 = netdev.rxQueue(1).napi; // e.g. a redirect target's TX completion
    const pool = PagePool.create({ netdev, napi: napi0, timers: new ManualTimers(), log: () => {} });
    const refs = napiRun(napi0, () => Array.from({ length: 10 }, () => pool.allocNetmem()));
    napiRun(napi0, () => {
      for (const r of refs.slice(0, 6)) pool.putFullNetmem(r, false); // napi-local: cached
    });
    cpu.id = 1;
    try {
      napiRun(napi1, () => {
        for (const r of refs.slice(6)) pool.putFullNetmem(r, false); // not the pool's NAPI: ring
      });
    } finally {
      cpu.id = 0;
    }
    expect(pool.recycleStatsOnCpu(0)).toEqual({
      cached: 6,
      cacheFull: 0,
      ring: 0,
      ringFull: 0,
      releasedRefcnt: 0,
    });
    expect(pool.recycleStatsOnCpu(1)).toEqual({
      cached: 0,
      cacheFull: 0,
      ring: 4,
      ringFull: 0,
      releasedRefcnt: 0,
    });
    expect(pool.stats.recycle).toEqual({ cached: 6, cacheFull: 0, ring: 4, ringFull: 0, releasedRefcnt: 0 });
    expect(pool.stats.alloc.fast).toBe(9); // alloc counters: the consumer's one set
    pool.destroy();
  });

  test("system pools share one per-CPU block: get_stats on either reports both", () => {
    const a = PagePool.createPercpu(
      { flags: PP_FLAG_SYSTEM_POOL, dev: mkDev(256), timers: new ManualTimers() },
      0,
    );
    const b = PagePool.createPercpu(
      { flags: PP_FLAG_SYSTEM_POOL, dev: mkDev(256), timers: new ManualTimers() },
      1,
    );
    const before = a.stats.recycle.cached;
    a.recycleDirect(a.allocNetmem());
    b.recycleDirect(b.allocNetmem());
    expect(a.stats.recycle.cached - before).toBe(2);
    expect(b.stats.recycle.cached).toBe(a.stats.recycle.cached);
    expect(a.st[S_CACHED]).toBe(1); // the model's own per-pool total
    a.destroy();
    b.destroy();
  });

  test("any CPU id outside [0, NR_CPUS) is refused", () => {
    expectCode(() => onCpu(NR_CPUS, () => 0), "EINVAL");
  });
});
