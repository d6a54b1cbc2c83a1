/**
 * Which dispatcher `#dispatch` linked to: ops-table by default, else the one named by
 * `--conditions=<variant>` (codegen/variants.test.ts runs this file under each variant with
 * PAGEPOOL_EXPECT_VARIANT set). The core must see the same module: a pool's slow path must go
 * through the linked variant.
 */
import { expect, test } from "bun:test";
import { DISPATCH_VARIANT, PROVIDERS, providerKind } from "#dispatch";
import { NetDevice } from "../core/netdev.ts";
import { PAGE_SIZE } from "../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../core/page-alloc.ts";
import {
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../core/page-pool.ts";
import { BasicProvider, basicOps } from "../plugins/basic/index.ts";

test("the linked dispatcher is the one the conditions chose", () => {
  expect(DISPATCH_VARIANT).toBe(
    (process.env.PAGEPOOL_EXPECT_VARIANT ?? "ops-table") as typeof DISPATCH_VARIANT,
  );
});

test("registered providers have kinds 1..n; an unregistered table is kind 0 and cannot be bound", () => {
  PROVIDERS.forEach((ops, i) => {
    expect(providerKind(ops)).toBe(i + 1);
  });
  const forged = Object.freeze({ ...basicOps });
  expect(providerKind(forged)).toBe(0);
  const allocator = new PageAllocator({ pages: 64 });
  const netdev = new NetDevice({ rxQueues: 1, dev: new DmaDevice(allocator) });
  expect(() => netdev.bindRxQueue(0, forged, new BasicProvider())).toThrow("is not a registered provider");
  const p = new BasicProvider();
  const rxq = netdev.bindRxQueue(0, basicOps, p);
  const pool = PagePool.create({
    flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM,
    maxLen: PAGE_SIZE,
    netdev,
    queueIdx: 0,
    napi: rxq.napi,
  });
  expect(pool.mpKind).toBe(providerKind(basicOps));
  const ref = pool.allocNetmem();
  expect(ref).not.toBe(0);
  expect([p.inits, p.allocs]).toEqual([1, 1]); // init and the slow path went through the dispatcher
  pool.putNetmem(ref, -1, false);
  pool.destroy();
  expect([p.releases, p.destroys]).toEqual([1, 1]);
  netdev.unbindRxQueue(0);
  allocator.dispose();
});
