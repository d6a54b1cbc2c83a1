/** page_pool_put_netmem_bulk() and page_pool_recycle_ring_bulk(). */

import { cpu } from "./netdev.ts";
import { LOC_RING, type NetmemRef, netmemDesc, nm, unrefNetmem } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { checkOwned } from "./pool-audit.ts";
import { RECYCLE_STRIDE, S_CACHED, S_RELEASED_REFCNT, S_RING, S_RING_FULL } from "./stats.ts";
import { XDP_BULK_QUEUE_SIZE } from "./types.ts";

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
    if (!pool.canRecycle(ref)) {
      pool.st[S_RELEASED_REFCNT]++;
      pool.recyclePcpu[cpu.id * RECYCLE_STRIDE + (S_RELEASED_REFCNT - S_CACHED)]++;
      pool.returnNetmem(ref);
      continue;
    }
    pool.syncForDevice(ref, -1);
    if (allowDirect && pool.recycleInCache(ref)) continue;
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
