// The pp_ref_count, frag and bulk-put API of the pool (pool-frag.ts, pool-bulk.ts) and ref checks.
import { describe, expect, test } from "bun:test";
import { BasicProvider, basicOps } from "../plugins/basic/provider.ts";
import { PagePoolError } from "./errors.ts";
import { NetDevice, napiRun } from "./netdev.ts";
import { LOC_CACHE, LOC_INFLIGHT, LOC_RING, netmemLoc, netmemPpRefCount, PAGE_SIZE } from "./netmem.ts";
import { DmaDevice, PageAllocator } from "./page-alloc.ts";
import { BIAS_MAX } from "./page-pool.ts";
import { expectAudit, mkPool as mk, mkDev } from "./testing.ts";

describe("pp_ref_count and the frag API", () => {
  test("frags share a page at aligned offsets; the drain reuses it when every user is gone", () => {
    const dev = new DmaDevice(new PageAllocator({ pages: 256 }), { cacheAlignment: 64 });
    const { pool } = mk({}, dev);
    const offs: number[] = [];
    const a = pool.allocFragNetmem(1000);
    offs.push(pool.outOffset);
    const b = pool.allocFragNetmem(1000);
    offs.push(pool.outOffset);
    const c = pool.allocFragNetmem(1000);
    offs.push(pool.outOffset);
    const d = pool.allocFragNetmem(1000);
    offs.push(pool.outOffset);
    expect(new Set([a, b, c, d]).size).toBe(1);
    expect(offs).toEqual([0, 1024, 2048, 3072]);
    expect(netmemPpRefCount(a)).toBe(BIAS_MAX);
    for (let i = 0; i < 4; i++) pool.putFullNetmem(a, true); // each user drops one ref; the bias keeps it
    expect(pool.stats.recycle.cached).toBe(0);
    const fastBefore = pool.stats.alloc.fast;
    const e = pool.allocFragNetmem(1000); // no room: drain finds no user left, reuses the page
    expect(e).toBe(a);
    expect(pool.outOffset).toBe(0);
    expect(pool.stats.recycle.cached).toBe(1);
    expect(pool.stats.alloc.fast).toBe(fastBefore + 1);
    expectAudit(pool);
  });

  test("when a frag user still holds the page, the drain moves on to a new page", () => {
    const { pool } = mk();
    const a = pool.allocFragNetmem(2048);
    pool.allocFragNetmem(2048);
    pool.putFullNetmem(a, true); // one of two users done
    const b = pool.allocFragNetmem(2048);
    expect(b).not.toBe(a);
    expect(netmemPpRefCount(a)).toBe(1); // the remaining user's reference
    pool.putFullNetmem(a, true); // last user: recycled into the cache
    expect(netmemLoc(a)).toBe(LOC_CACHE);
    expectAudit(pool);
  });

  test("allocNetmemSized: whole page above half a page, truesize extended at the page end", () => {
    const { pool } = mk();
    pool.allocNetmemSized(3000);
    expect([pool.outOffset, pool.outSize]).toEqual([0, PAGE_SIZE]);
    pool.allocNetmemSized(1500);
    expect([pool.outOffset, pool.outSize]).toEqual([0, 1500]);
    pool.allocNetmemSized(1500); // a third 1500 would not fit: this one takes the rest of the page
    expect([pool.outOffset, pool.outSize]).toEqual([1500, PAGE_SIZE - 1500]);
  });

  test("refNetmem holds the page across one put; fragmentNetmem sets the count", () => {
    const { pool } = mk();
    const r = pool.allocNetmem();
    pool.refNetmem(r);
    pool.recycleDirect(r);
    expect(netmemLoc(r)).toBe(LOC_INFLIGHT);
    pool.recycleDirect(r);
    expect(netmemLoc(r)).toBe(LOC_CACHE);
    const s = pool.allocNetmem();
    pool.fragmentNetmem(s, 3);
    pool.putFullNetmem(s, false);
    pool.putFullNetmem(s, false);
    expect(netmemLoc(s)).toBe(LOC_INFLIGHT);
    pool.putFullNetmem(s, false);
    expect(netmemLoc(s)).toBe(LOC_RING);
    expectAudit(pool);
  });

  test("double put, and a put to the wrong pool, are refused with a clear error", () => {
    const { pool } = mk();
    const other = mk().pool;
    const r = pool.allocNetmem();
    pool.recycleDirect(r);
    expect(() => pool.recycleDirect(r)).toThrow(/not in flight.*double put/);
    const s = pool.allocNetmem();
    expect(() => other.recycleDirect(s)).toThrow(/does not belong to pool/);
    expectAudit(pool);
  });

  test("putNetmemBulk: ring in chunks of 16, one ring_full per chunk, the rest released", () => {
    const dev = mkDev();
    const { pool } = mk({ poolSize: 20 }, dev);
    const refs = Int32Array.from({ length: 40 }, () => pool.allocNetmem());
    pool.putNetmemBulk(refs);
    // Chunk 1: 16 into the ring; chunk 2: 4 fit (ring of 20), ring_full once, 12 released;
    // chunk 3 (8 refs): ring_full once at the first, all 8 released.
    expect(pool.stats.recycle.ring).toBe(20);
    expect(pool.stats.recycle.ringFull).toBe(2);
    expect(pool.releaseCount).toBe(20);
    expectAudit(pool);
  });

  test("putNetmemBulk from the pool's NAPI recycles into the cache first", () => {
    const dev = mkDev();
    const netdev = new NetDevice({ dev });
    const napi = netdev.rxQueue(0).napi;
    const { pool } = mk({ napi }, dev);
    const refs = napiRun(napi, () => Int32Array.from({ length: 130 }, () => pool.allocNetmem()));
    napiRun(napi, () => pool.putNetmemBulk(refs));
    // 130 allocations took three bulk fills (192 pages): 62 were still cached, so 66 fit.
    expect(pool.stats.recycle.cached).toBe(66);
    expect(pool.cacheCount).toBe(128);
    expect(pool.stats.recycle.cacheFull).toBe(64);
    expect(pool.stats.recycle.ring).toBe(64);
    expectAudit(pool);
  });
});

describe("refs are checked against their kind", () => {
  test("a page ref with the net_iov tag bit set is refused", () => {
    const { pool } = mk();
    const r = pool.allocNetmem();
    expect(() => pool.recycleDirect(r | 1)).toThrow(/does not belong to pool/);
    pool.recycleDirect(r);
    expectAudit(pool);
  });

  test("a queue restart that throws leaves the queue unbound", () => {
    const netdev = new NetDevice({ dev: mkDev(16) });
    netdev.onQueueRestart = () => {
      throw new PagePoolError("ENOMEM", "driver could not restart the queue");
    };
    expect(() => netdev.bindRxQueue(0, basicOps, new BasicProvider())).toThrow(/ENOMEM/);
    expect(netdev.rxQueue(0).mpParams.ops).toBeNull();
  });
});
