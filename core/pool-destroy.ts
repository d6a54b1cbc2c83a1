/**
 * Pool teardown (page_pool_destroy, page_pool_release, page_pool_scrub, the deferred
 * page_pool_release_retry and __page_pool_destroy): the control path, kept apart from the
 * allocation and recycle paths of page-pool.ts.
 */
import { mpDestroy } from "#dispatch";
import { PagePoolError } from "./errors.ts";
import { netmemRefCount } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { freeFrag } from "./pool-frag.ts";
import { poolsById } from "./pool-table.ts";
import { mpStaticKey } from "./provider.ts";
import { DEFER_TIME_MS, DEFER_WARN_INTERVAL_MS } from "./types.ts";

/** page_pool_destroy(); see PagePool.destroy. */
export function destroyPool(pool: PagePool): void {
  if (pool.state !== "live") throw new PagePoolError("EINVAL", `pool ${pool.id} is already destroyed`);
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

/** page_pool_scrub(): empty the cache once, stop syncing, empty the ring. */
function scrub(pool: PagePool): void {
  if (pool.destroyCnt === 0) {
    pool.flushCache();
    // Model: the kernel (6.15+) also unmaps in-flight pages here via its dma_mapped xarray;
    // this model leaves them mapped until they come back, then unmaps them on release.
    pool.dmaSync = false;
  }
  pool.destroyCnt++;
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
  // The kernel warns only for pools netlink cannot show (no netdev any more).
  if (now >= pool.deferWarn && (pool.netdev === null || !pool.netdev.registered)) {
    const sec = Math.floor((now - pool.detachTime) / 1000);
    pool.stalledWarnings++;
    pool.log(
      `page_pool_release_retry() stalled pool shutdown: id ${pool.id}, ${inflight} inflight ${sec} sec`,
    );
    pool.deferWarn = now + DEFER_WARN_INTERVAL_MS;
  }
  pool.retryHandle = pool.timers.setTimeout(() => releaseRetry(pool), DEFER_TIME_MS);
}

/** __page_pool_destroy() + page_pool_uninit(). */
function free(pool: PagePool): void {
  pool.state = "freed";
  if (pool.retryHandle !== null) pool.timers.clearTimeout(pool.retryHandle);
  pool.retryHandle = null;
  if (pool.mpOps) {
    mpDestroy(pool);
    mpStaticKey.count--;
  }
  poolsById.delete(pool.id);
  pool.rxq?.pools.delete(pool);
}
