/**
 * The frag API of the pool (page_pool_alloc_frag_netmem, page_pool_alloc_netmem, drain/free of
 * the frag page): carves several buffers from one netmem with one pp_ref_count bias instead of
 * an atomic per frag. Functions of the pool rather than methods so page-pool.ts stays one seam.
 */
import { PagePoolError } from "./errors.ts";
import { cpu } from "./netdev.ts";
import { LOC_INFLIGHT, type NetmemRef, netmemDesc, nm, unrefNetmem } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { canRecycle } from "./pool-bulk.ts";
import { RECYCLE_STRIDE, S_CACHED, S_FAST } from "./stats.ts";
import { BIAS_MAX } from "./types.ts";

/**
 * Makes `ref` the pool's frag page with its first frag of `size` bytes at offset 0, and sets the
 * BIAS_MAX count (page_pool_fragment_netmem(netmem, BIAS_MAX)) that drainFrag later settles.
 */
function fragStart(pool: PagePool, ref: NetmemRef, size: number): void {
  pool.fragPage = ref;
  pool.fragUsers = 1;
  pool.outOffset = 0;
  pool.fragOffset = size;
  nm.ppRef[netmemDesc(ref)] = BIAS_MAX;
}

/** page_pool_alloc_frag_netmem(); see PagePool.allocFragNetmem. */
export function allocFragNetmem(pool: PagePool, size: number, gfp: number): NetmemRef {
  const maxSize = pool.netmemSize;
  if (!(size > 0 && size <= maxSize)) {
    // WARN_ON(size > max_size) in the kernel; a non-positive size is also a caller bug.
    throw new PagePoolError("EINVAL", `frag size must be in [1, ${maxSize}], got ${size}`);
  }
  const align = pool.dev.cacheAlignment;
  size = (size + align - 1) & ~(align - 1);
  let ref = pool.fragPage;
  const offset = pool.fragOffset;
  if (ref !== 0 && offset + size > maxSize) {
    ref = drainFrag(pool, ref);
    if (ref !== 0) {
      // The page came back with no other user: reuse it at once (counted as a cache hit).
      pool.st[S_CACHED]++;
      pool.recyclePcpu[cpu.id * RECYCLE_STRIDE]++; // recycle_stat_inc(pool, cached)
      pool.st[S_FAST]++;
      nm.loc[netmemDesc(ref)] = LOC_INFLIGHT;
      fragStart(pool, ref, size);
      return ref;
    }
  }
  if (ref === 0) {
    ref = pool.allocNetmem(gfp);
    if (ref === 0) {
      pool.fragPage = 0;
      return 0;
    }
    fragStart(pool, ref, size);
    return ref;
  }
  pool.fragUsers++;
  pool.outOffset = offset;
  pool.fragOffset = offset + size;
  return ref;
}

/** page_pool_alloc_netmem(); see PagePool.allocNetmemSized. */
export function allocNetmemSized(pool: PagePool, size: number, gfp: number): NetmemRef {
  const maxSize = pool.netmemSize;
  if (size * 2 > maxSize) {
    pool.outSize = maxSize;
    pool.outOffset = 0;
    return pool.allocNetmem(gfp);
  }
  const ref = allocFragNetmem(pool, size, gfp);
  if (ref === 0) return 0;
  pool.outSize = size;
  if (pool.fragOffset + size > maxSize) {
    pool.outSize = maxSize - pool.outOffset;
    pool.fragOffset = maxSize;
  }
  return ref;
}

/** page_pool_drain_frag(): returns the frag page if its last user is gone, else 0. */
function drainFrag(pool: PagePool, ref: NetmemRef): NetmemRef {
  const drain = BIAS_MAX - pool.fragUsers;
  pool.fragPage = 0;
  if (unrefNetmem(ref, drain) !== 0) return 0; // some frag user still holds it
  if (canRecycle(pool, ref)) {
    pool.syncForDevice(ref, -1);
    return ref;
  }
  pool.returnNetmem(ref);
  return 0;
}

/** page_pool_free_frag(): drops the pool's bias on the current frag page (destroy). */
export function freeFrag(pool: PagePool): void {
  const ref = pool.fragPage;
  pool.fragPage = 0;
  if (ref === 0 || unrefNetmem(ref, BIAS_MAX - pool.fragUsers) !== 0) return;
  pool.returnNetmem(ref);
}
