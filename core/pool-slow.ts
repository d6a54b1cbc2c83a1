/**
 * The pool's no-provider slow path (__page_pool_alloc_netmems_slow, __page_pool_alloc_page_order,
 * page_pool_set_pp_info, page_pool_dma_map) and its release (__page_pool_release_page_dma):
 * reached through the dispatcher when no provider is bound.
 */
import { LOC_CACHE, type NetmemRef, netmemDesc, nm } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { S_SLOW, S_SLOW_HIGH_ORDER } from "./stats.ts";
import { PP_ALLOC_CACHE_REFILL } from "./types.ts";

/** Order 0: bulk 64 pages into the cache and pop one; higher orders: one compound page. */
export function allocPagesSlow(pool: PagePool, _gfp: number): NetmemRef {
  if (pool.order > 0) return allocPageOrder(pool);
  const cache = pool.cache;
  // Unnecessary, as the cache is empty, but keeps the count at zero (as the kernel does).
  if (pool.cacheCount > 0) return cache[--pool.cacheCount];
  const n = pool.pages.allocPagesBulk(pool.nid, PP_ALLOC_CACHE_REFILL, cache, 0);
  if (n === 0) return 0;
  for (let i = 0; i < n; i++) {
    const ref = cache[i];
    if (pool.dmaMap && !dmaMapPage(pool, ref)) {
      pool.pages.putPage(ref);
      continue;
    }
    setPpInfo(pool, ref);
    nm.loc[netmemDesc(ref)] = LOC_CACHE;
    cache[pool.cacheCount++] = ref;
    pool.holdCount++;
  }
  if (pool.cacheCount === 0) return 0;
  pool.st[S_SLOW]++;
  return cache[--pool.cacheCount];
}

function allocPageOrder(pool: PagePool): NetmemRef {
  const ref = pool.pages.allocPages(pool.order, pool.nid);
  if (ref === 0) return 0;
  if (pool.dmaMap && !dmaMapPage(pool, ref)) {
    pool.pages.putPage(ref);
    return 0;
  }
  pool.holdCount++;
  setPpInfo(pool, ref);
  pool.st[S_SLOW_HIGH_ORDER]++;
  return ref;
}

/** page_pool_set_pp_info(): attach to the pool with pp_ref_count 1. */
function setPpInfo(pool: PagePool, ref: NetmemRef): void {
  const d = netmemDesc(ref);
  nm.pp[d] = pool.id;
  nm.ppRef[d] = 1;
}

/** page_pool_dma_map(): maps the whole PAGE_SIZE << order once, on entry to the pool. */
function dmaMapPage(pool: PagePool, ref: NetmemRef): boolean {
  const addr = pool.dev.mapPage(ref);
  if (addr === 0) return false;
  nm.dma[netmemDesc(ref)] = addr;
  pool.dmaIndex.register(ref); // page_pool_register_dma_index()
  // Sync the whole area once for the device, as the kernel does on first map.
  pool.syncForDevice(ref, pool.maxLen);
  return true;
}

/**
 * __page_pool_release_netmem_dma(): a page leaving a pool that has no provider is unmapped unless
 * scrub already did (its DMA index entry is then gone), and its DMA address and index cleared.
 */
export function releasePageDma(pool: PagePool, ref: NetmemRef): void {
  if (!pool.dmaMap) return;
  const d = netmemDesc(ref);
  // __page_pool_unmap_netmem_dma(): the index entry is gone when scrub already unmapped it.
  if (pool.dmaIndex.take(ref)) pool.dev.unmapPage(ref);
  nm.dma[d] = 0;
  nm.dmaIdx[d] = 0;
}
