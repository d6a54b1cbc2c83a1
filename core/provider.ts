/**
 * The memory provider contract (include/net/page_pool/memory_provider.h) and the few helpers a
 * provider may call. A provider is a frozen table of exported, module-level functions; its state
 * lives in `pool.mpPriv`, set when the provider was bound to the rx queue the pool serves.
 *
 * The pool calls a provider only on its slow path (cache and ring both empty), on release of a
 * netmem whose last reference dropped and that could not be recycled, at init and at destroy.
 * The cache-hit fast path never reaches a provider.
 */
import { PagePoolError } from "./errors.ts";
import type { RxQueue } from "./netdev.ts";
import { LOC_CACHE, LOC_FREE, LOC_INFLIGHT, type NetmemRef, netmemDesc, nm } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";

export interface MemoryProviderOps {
  /** Stable id, kebab-case; the folder name under plugins/. */
  readonly name: string;
  /**
   * Slow-path allocation: return one netmem attached to `pool` (see netmemSetPagePool), or 0.
   * May also fill the pool's cache in bulk with netmemPlaceInCache. Caller: the pool, in its NAPI context.
   */
  allocNetmems(pool: PagePool, gfp: number): NetmemRef;
  /**
   * A netmem whose last pp reference dropped and that the pool could not recycle. Return true
   * to have the core put the page to the page allocator, false when the provider keeps it
   * (both in-tree providers return false). Must detach it (netmemClearPagePool) when keeping it.
   */
  releaseNetmem(pool: PagePool, netmem: NetmemRef): boolean;
  /** Called once at pool creation, after the core's checks. Throw a PagePoolError to refuse. */
  init(pool: PagePool): void;
  /** Called exactly once when the pool is finally freed (after every netmem came back). */
  destroy(pool: PagePool): void;
  /** Extra attributes for the pool's and queue's netlink dump (page-pool-get, queue-get). */
  nlFill?(priv: unknown, rxq: RxQueue | null): Record<string, unknown>;
  /** The net device is going away while the provider is still bound to `rxq`. */
  uninstall?(priv: unknown, rxq: RxQueue): void;
}

/** static_key page_pool_mem_providers: how many pools with a provider exist. */
export const mpStaticKey = { count: 0 };

/**
 * net_mp_niov_set_page_pool() / page_pool_set_pp_info(): attaches a netmem to `pool` with
 * pp_ref_count 1 and counts it held (hold_cnt++). The provider must call this for every netmem
 * it hands to the pool. Only call from the provider's allocNetmems.
 */
export function netmemSetPagePool(pool: PagePool, ref: NetmemRef): void {
  const d = netmemDesc(ref);
  if (nm.pp[d] !== 0)
    throw new PagePoolError(
      "EFAULT",
      `${pool.mpOps?.name ?? "provider"}: netmem ${ref} already belongs to pool ${nm.pp[d]}`,
    );
  nm.pp[d] = pool.id;
  nm.ppRef[d] = 1;
  nm.loc[d] = LOC_INFLIGHT;
  pool.holdCount++;
}

/**
 * net_mp_niov_clear_page_pool(): detaches a netmem the provider takes back in releaseNetmem.
 * The core counts the release itself.
 */
export function netmemClearPagePool(ref: NetmemRef): void {
  const d = netmemDesc(ref);
  nm.pp[d] = 0;
  nm.ppRef[d] = 0;
  nm.loc[d] = LOC_FREE;
}

/**
 * net_mp_netmem_place_in_cache(): pushes a netmem already attached with netmemSetPagePool
 * straight into the pool's alloc cache. Only call from allocNetmems; the caller ensures room
 * (cacheCount < PP_ALLOC_CACHE_SIZE).
 */
export function netmemPlaceInCache(pool: PagePool, ref: NetmemRef): void {
  if (pool.cacheCount >= pool.cache.length)
    throw new PagePoolError(
      "ENOSPC",
      `${pool.mpOps?.name ?? "provider"}: placed a netmem in a full alloc cache`,
    );
  nm.loc[netmemDesc(ref)] = LOC_CACHE;
  pool.cache[pool.cacheCount++] = ref;
}

/** net_mp_niov_set_dma_addr(): records the DMA address a provider mapped a net_iov at. */
export function niovSetDmaAddr(ref: NetmemRef, addr: number): void {
  nm.dma[netmemDesc(ref)] = addr;
}

/**
 * Model extension for providers whose buffers are smaller than the pool's page (plugins/huge's
 * 2 KiB chunks): tells the pool each netmem holds `bytes`, so the frag API never carves past a
 * buffer and inflightMem counts the right size. Only call from init; `bytes` must be a power of
 * two no larger than PAGE_SIZE << order.
 */
export function providerSetNetmemSize(pool: PagePool, bytes: number): void {
  const max = pool.netmemSize;
  if (!Number.isInteger(bytes) || bytes < 64 || bytes > max || (bytes & (bytes - 1)) !== 0)
    throw new PagePoolError("EINVAL", `netmem size must be a power of two in [64, ${max}], got ${bytes}`);
  pool.netmemSize = bytes;
}
