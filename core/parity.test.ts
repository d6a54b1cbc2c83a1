/**
 * Kernel-parity cases (issue 12): each test pins an outcome of net/core/page_pool*.c that the
 * model once got wrong.
 */
import { describe, expect, test } from "bun:test";
import { BasicProvider, basicOps } from "../plugins/basic/provider.ts";
import { cpu, NetDevice, napiRun } from "./netdev.ts";
import { DmaDevice, PageAllocator } from "./page-alloc.ts";
import {
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "./page-pool.ts";
import { S_CACHED, S_RELEASED_REFCNT, S_RING } from "./stats.ts";
import { expectAudit, expectCode, mkDev, mkPool } from "./testing.ts";
import { ManualTimers } from "./timers.ts";

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
