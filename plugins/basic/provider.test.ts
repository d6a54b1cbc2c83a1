import { describe, expect, test } from "bun:test";
import { PagePoolError } from "../../core/errors.ts";
import { NetDevice } from "../../core/netdev.ts";
import { PAGE_SIZE } from "../../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../../core/page-alloc.ts";
import {
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
  poolsById,
} from "../../core/page-pool.ts";
import { mpStaticKey } from "../../core/provider.ts";
import { fixtureTarget, runConformance, runReadmeExample } from "../conformance.case.ts";
import { basicFixture } from "./fixture.ts";
import { BasicProvider, basicOps } from "./index.ts";

runConformance(fixtureTarget(basicFixture, {}, { pages: 512 }));

describe("basic", () => {
  test("README example runs and prints what it says", async () => {
    const { logged, expected } = await runReadmeExample(`${import.meta.dir}/README.md`);
    expect(expected.length).toBe(3);
    expect(logged).toEqual(expected);
  });

  test("an init that throws makes PagePool.create throw it and leaves nothing behind", () => {
    const allocator = new PageAllocator({ pages: 64 });
    const dev = new DmaDevice(allocator);
    const netdev = new NetDevice({ rxQueues: 1, dev });
    const err = new PagePoolError("ENOMEM", "basic: refusing the pool (fault injection)");
    const p = new BasicProvider({ failInit: err });
    const rxq = netdev.bindRxQueue(0, basicOps, p);
    const key = mpStaticKey.count;
    const pools = poolsById.size;
    let thrown: unknown;
    try {
      PagePool.create({
        flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM,
        maxLen: PAGE_SIZE,
        netdev,
        queueIdx: 0,
        napi: rxq.napi,
      });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(err);
    expect(rxq.pools.size).toBe(0);
    expect(poolsById.size).toBe(pools);
    expect(mpStaticKey.count).toBe(key);
    expect([p.inits, p.destroys, p.allocs]).toEqual([0, 0, 0]);
    expect(allocator.freePages).toBe(allocator.numPages);
    expect(dev.maps).toBe(0);
    netdev.unbindRxQueue(0);
    allocator.dispose();
  });

  test("pages are mapped by the provider and unmapped on release", () => {
    const allocator = new PageAllocator({ pages: 64 });
    const dev = new DmaDevice(allocator);
    const netdev = new NetDevice({ rxQueues: 1, dev });
    const p = new BasicProvider();
    const rxq = netdev.bindRxQueue(0, basicOps, p);
    const pool = PagePool.create({
      flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM,
      maxLen: PAGE_SIZE,
      netdev,
      queueIdx: 0,
      napi: rxq.napi,
    });
    const ref = pool.allocNetmem();
    expect(ref & 1).toBe(0); // a host page, not a net_iov
    expect(p.allocs).toBe(1);
    expect(dev.maps).toBe(1);
    expect(pool.describe().basic).toEqual({ allocs: 1, releases: 0 });
    pool.putNetmem(ref, -1, false); // process context: to the ring
    pool.destroy(); // the ring is emptied back to the provider
    expect(pool.state).toBe("freed");
    expect([p.releases, dev.unmaps, p.destroys]).toEqual([1, 1, 1]);
    expect(allocator.freePages).toBe(allocator.numPages);
    netdev.unbindRxQueue(0);
    allocator.dispose();
  });
});
