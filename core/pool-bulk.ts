/** page_pool_put_netmem_bulk() and page_pool_recycle_ring_bulk(). */

import { cpu } from "./netdev.ts";
import {
  LOC_CACHE,
  LOC_RING,
  type NetmemRef,
  netmemDesc,
  netmemIsNetIov,
  netmemRefCount,
  nm,
  unrefNetmem,
} from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { checkOwned } from "./pool-audit.ts";
import { RECYCLE_STRIDE, S_CACHE_FULL, S_CACHED, S_RELEASED_REFCNT, S_RING, S_RING_FULL } from "./stats.ts";
import { PP_ALLOC_CACHE_SIZE, XDP_BULK_QUEUE_SIZE } from "./types.ts";

/**
 * Drops one reference on each of `refs[0..n)` (all of `pool`), evaluates napi-local once, and
 * produces the survivors into the ring in chunks of XDP_BULK_QUEUE_SIZE under one producer-lock
 * hold each. As in the kernel, a full ring counts `ring_full` once per chunk and the rest of
 * that chunk is released uncounted.
 */
export function putNetmemBulk(pool: PagePool, refs: ArrayLike<NetmemRef>, n: number): void {
  for (let i = 0; i < n; i++) checkOwned(pool.id, refs[i], "putNetmemBulk"); // model only
  const allowDirect = pool.napiLocal();
  const bulk = pool.bulk;
  let len = 0;
  for (let i = 0; i < n; i++) {
    const ref = refs[i];
    if (unrefNetmem(ref, 1) !== 0) continue;
    if (!canRecycle(pool, ref)) {
      pool.st[S_RELEASED_REFCNT]++;
      pool.recyclePcpu[cpu.id * RECYCLE_STRIDE + (S_RELEASED_REFCNT - S_CACHED)]++;
      pool.returnNetmem(ref);
      continue;
    }
    pool.syncForDevice(ref, -1);
    if (allowDirect && recycleInCache(pool, ref)) continue;
    bulk[len++] = ref;
    if (len === XDP_BULK_QUEUE_SIZE) {
      recycleRingBulk(pool, len);
      len = 0;
    }
  }
  if (len > 0) recycleRingBulk(pool, len);
}

function recycleRingBulk(pool: PagePool, len: number): void {
  const bulk = pool.bulk;
  let i = 0;
  for (; i < len; i++) {
    if (!pool.ring.produce(bulk[i])) {
      pool.st[S_RING_FULL]++;
      pool.recyclePcpu[cpu.id * RECYCLE_STRIDE + (S_RING_FULL - S_CACHED)]++;
      break;
    }
    nm.loc[netmemDesc(bulk[i])] = LOC_RING;
  }
  pool.st[S_RING] += i;
  pool.recyclePcpu[cpu.id * RECYCLE_STRIDE + (S_RING - S_CACHED)] += i; // recycle_stat_add
  for (; i < len; i++) pool.returnNetmem(bulk[i]);
}

/**
 * page_pool_recycle_in_cache(), false (and cache_full counted) when the cache is full. The bulk
 * put calls it; PagePool.putUnrefedNetmem writes the same lines out (see there why).
 */
function recycleInCache(pool: PagePool, ref: NetmemRef): boolean {
  if (pool.cacheCount === PP_ALLOC_CACHE_SIZE) {
    pool.st[S_CACHE_FULL]++;
    pool.recyclePcpu[cpu.id * RECYCLE_STRIDE + (S_CACHE_FULL - S_CACHED)]++;
    return false;
  }
  nm.loc[netmemDesc(ref)] = LOC_CACHE;
  pool.cache[pool.cacheCount++] = ref;
  pool.st[S_CACHED]++;
  pool.recyclePcpu[cpu.id * RECYCLE_STRIDE]++;
  return true;
}

/**
 * __page_pool_page_can_be_recycled(): a net_iov always; a page only if nobody else holds it and
 * it did not come from the emergency reserves (page_is_pfmemalloc). Off the single-put hot path,
 * which writes it out (PagePool.putUnrefedNetmem).
 */
export function canRecycle(pool: PagePool, ref: NetmemRef): boolean {
  return netmemIsNetIov(ref) || (netmemRefCount(ref) === 1 && !pool.pages.isPfmemalloc(ref));
}
