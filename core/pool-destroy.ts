/**
 * Pool teardown (page_pool_destroy, page_pool_release, page_pool_scrub, the deferred
 * page_pool_release_retry and __page_pool_destroy): the control path, kept apart from the
 * allocation and recycle paths of page-pool.ts.
 */
import { mpDestroy } from "#dispatch";
import { netmemRefCount } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { freeFrag } from "./pool-frag.ts";
import { poolsById } from "./pool-table.ts";
import { mpStaticKey } from "./provider.ts";
import { DEFER_TIME_MS, DEFER_WARN_INTERVAL_MS } from "./types.ts";

/**
 * page_pool_destroy(); see PagePool.destroy. Drops one user (page_pool_put): only the last user
 * tears the pool down. A destroy beyond the user count is the kernel's refcount_t underflow: it
 * WARNs and does nothing else, and so does the model (logged, counted in extraDestroys).
 */
export function destroyPool(pool: PagePool): void {
  if (pool.userCnt === 0) {
    pool.extraDestroys++;
    pool.log(
      `refcount_t: underflow; use-after-free (page_pool_destroy of pool ${pool.id}, already destroyed)`,
    );
    return;
  }
  if (--pool.userCnt > 0) return;
  // page_pool_disable_direct_recycling()
  pool.cpuid = -1;
  pool.napi = null;
  freeFrag(pool);
  const inflight = release(pool);
  if (inflight === 0) return;
  pool.state = "detached";
  pool.detachTime = pool.timers.now();
  pool.deferWarn = pool.detachTime + DEFER_WARN_INTERVAL_MS;
  pool.retryHandle = pool.timers.setTimeout(() => releaseRetry(pool), DEFER_TIME_MS);
}

/** page_pool_release(): scrub, then free if nothing is in flight. Returns inflight. */
function release(pool: PagePool): number {
  scrub(pool);
  const inflight = pool.inflight;
  if (inflight === 0) free(pool);
  return inflight;
}

/**
 * page_pool_scrub(): empty the cache once; the first time, stop syncing and (6.15+) unmap every
 * page still in the DMA index, in flight or not, after a grace period (synchronize_net) so no
 * return that saw dma_sync still set is mid-sync; then empty the ring. A page that comes back
 * later is not unmapped again (its index entry is gone).
 */
function scrub(pool: PagePool): void {
  // Model departure: the kernel empties the alloc cache only once. A driver bug can recycle into
  // the cache of a detached pool (recycleDirect after destroy); the model empties it on every
  // pass so such pages are released, not held forever.
  pool.flushCache();
  if (pool.destroyCnt++ === 0 && pool.dmaMap) {
    if (pool.dmaSync) {
      pool.dmaSync = false;
      if (pool.dev.needSync && pool.dmaIndex.count > 0) pool.synchronizeNetCalls++; // synchronize_net()
    }
    // No page reference is held: DMA unmap only (address and index are cleared on return).
    pool.dmaScrubUnmaps += pool.dmaIndex.drain((ref) => pool.dev.unmapPage(ref));
  }
  for (let ref = pool.ring.consume(); ref !== 0; ref = pool.ring.consume()) {
    if (netmemRefCount(ref) !== 1) pool.log(`page_pool_empty_ring(): page ${ref} refcount != 1`);
    pool.returnNetmem(ref);
  }
}

function releaseRetry(pool: PagePool): void {
  pool.retryHandle = null;
  if (pool.state !== "detached") return;
  const inflight = release(pool);
  // A driver bug can make inflight negative; the kernel does not retry then.
  if (inflight <= 0) {
    if (inflight < 0)
      pool.log(`page_pool_release_retry(): pool ${pool.id} inflight ${inflight} < 0, giving up`);
    return;
  }
  const now = pool.timers.now();
  // The kernel warns only for pools netlink cannot show: made without a netdev (a dead device's
  // pools are listed on loopback and stay visible, so they do not warn).
  if (now >= pool.deferWarn && pool.netdev === null) {
    const sec = Math.floor((now - pool.detachTime) / 1000);
    pool.stalledWarnings++;
    pool.log(
      `page_pool_release_retry() stalled pool shutdown: id ${pool.id}, ${inflight} inflight ${sec} sec`,
    );
    pool.deferWarn = now + DEFER_WARN_INTERVAL_MS;
  }
  pool.retryHandle = pool.timers.setTimeout(() => releaseRetry(pool), DEFER_TIME_MS);
}

/** __page_pool_destroy(): disconnect, page_pool_unlist(), page_pool_uninit(). */
function free(pool: PagePool): void {
  pool.state = "freed";
  if (pool.retryHandle !== null) pool.timers.clearTimeout(pool.retryHandle);
  pool.retryHandle = null;
  pool.disconnect?.(pool);
  pool.netdev?.pagePools.delete(pool);
  if (pool.mpOps) {
    mpDestroy(pool);
    mpStaticKey.count--;
  }
  poolsById.delete(pool.id);
  pool.rxq?.pools.delete(pool);
}
