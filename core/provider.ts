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
import { LOC_CACHE, LOC_FREE, LOC_INFLIGHT, type NetmemRef, netmemDesc, nm } from "./netmem.ts";
import type { DmaDevice, DmaDir, PageAllocator } from "./page-alloc.ts";

/**
 * What a provider sees of an rx queue (struct netdev_rx_queue). Declared here, as the kernel's
 * memory_provider.h forward-declares the struct, so the contract does not depend on netdev.ts;
 * the core's RxQueue is one.
 */
export interface MpRxQueue {
  readonly index: number;
  readonly netdev: { readonly ifindex: number; readonly name: string };
}

/**
 * What a provider sees of a page pool: the fields the kernel's providers read, and the puts a
 * provider's user side makes. The core's PagePool is one; providers never import the class.
 * Writable fields are written only through the helpers below (and `dmaSync` by an init that
 * turns syncing off, as devmem's does).
 */
export interface PoolView {
  readonly id: number;
  readonly order: number;
  readonly nid: number;
  readonly maxLen: number;
  readonly offset: number;
  readonly dmaDir: DmaDir;
  readonly dmaMap: boolean;
  dmaSync: boolean;
  readonly dev: DmaDevice;
  readonly pages: PageAllocator;
  readonly rxq: MpRxQueue | null;
  /** The provider bound when the pool was created, and its state (the queue's mp priv). */
  readonly mpOps: MemoryProviderOps | null;
  readonly mpPriv: unknown;
  /** The alloc cache: a provider may pop from it after filling it (netmemPlaceInCache). */
  readonly cache: Int32Array;
  cacheCount: number;
  /** pages_state_hold_cnt (netmemSetPagePool counts it). */
  holdCount: number;
  /** Bytes one netmem holds (providerSetNetmemSize). */
  netmemSize: number;
  readonly state: "live" | "detached" | "freed";
  /** page_pool_put_netmem(). */
  putNetmem(ref: NetmemRef, dmaSyncSize: number, allowDirect: boolean): void;
  /** page_pool_put_unrefed_netmem(): the last pp reference is already dropped. */
  putUnrefedNetmem(ref: NetmemRef, dmaSyncSize: number, allowDirect: boolean): void;
  /** page_pool_put_full_netmem(). */
  putFullNetmem(ref: NetmemRef, allowDirect: boolean): void;
  /** page_pool_ref_netmem(). */
  refNetmem(ref: NetmemRef): void;
}

/**
 * Core-internal: the dispatcher's view of a pool, the provider view plus the no-provider
 * fallbacks it calls. Providers must not call these.
 */
export interface DispatchPool extends PoolView {
  readonly mpKind: number;
  /** @internal Dispatcher only: the no-provider slow path. */
  allocPagesSlow(gfp: number): NetmemRef;
  /** @internal Dispatcher only: the no-provider release (unmap). */
  releasePageDma(ref: NetmemRef): void;
}

export interface MemoryProviderOps {
  /** Stable id, kebab-case; the folder name under plugins/. */
  readonly name: string;
  /**
   * Slow-path allocation: return one netmem attached to `pool` (see netmemSetPagePool), or 0.
   * May also fill the pool's cache in bulk with netmemPlaceInCache. Caller: the pool, in its NAPI context.
   */
  allocNetmems(pool: PoolView, gfp: number): NetmemRef;
  /**
   * A netmem whose last pp reference dropped and that the pool could not recycle. Return true
   * to have the core put the page to the page allocator, false when the provider keeps it
   * (both in-tree providers return false). Must detach it (netmemClearPagePool) when keeping it.
   */
  releaseNetmem(pool: PoolView, netmem: NetmemRef): boolean;
  /** Called once at pool creation, after the core's checks. Throw a PagePoolError to refuse. */
  init(pool: PoolView): void;
  /** Called exactly once when the pool is finally freed (after every netmem came back). */
  destroy(pool: PoolView): void;
  /** Extra attributes for the pool's and queue's netlink dump (page-pool-get, queue-get). */
  nlFill?(priv: unknown, rxq: MpRxQueue | null): Record<string, unknown>;
  /** The net device is going away while the provider is still bound to `rxq`. */
  uninstall?(priv: unknown, rxq: MpRxQueue): void;
}

/** netmemDesc through a module-local binding: these helpers run on every provider's slow path,
 * where JavaScriptCore pays for a call to an imported function (see page-pool.ts, HOT). */
const descHot = netmemDesc;

/** static_key page_pool_mem_providers: how many pools with a provider exist. */
export const mpStaticKey = { count: 0 };

/**
 * net_mp_niov_set_page_pool() / page_pool_set_pp_info(): attaches a netmem to `pool` with
 * pp_ref_count 1 and counts it held (hold_cnt++). The provider must call this for every netmem
 * it hands to the pool. Only call from the provider's allocNetmems.
 */
export function netmemSetPagePool(pool: PoolView, ref: NetmemRef): void {
  const d = descHot(ref);
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
  const d = descHot(ref);
  nm.pp[d] = 0;
  nm.ppRef[d] = 0;
  nm.loc[d] = LOC_FREE;
}

/**
 * net_mp_netmem_place_in_cache(): pushes a netmem already attached with netmemSetPagePool
 * straight into the pool's alloc cache. Only call from allocNetmems; the caller ensures room
 * (cacheCount < PP_ALLOC_CACHE_SIZE).
 */
export function netmemPlaceInCache(pool: PoolView, ref: NetmemRef): void {
  if (pool.cacheCount >= pool.cache.length)
    throw new PagePoolError(
      "ENOSPC",
      `${pool.mpOps?.name ?? "provider"}: placed a netmem in a full alloc cache`,
    );
  nm.loc[descHot(ref)] = LOC_CACHE;
  pool.cache[pool.cacheCount++] = ref;
}

/** net_mp_niov_set_dma_addr(): records the DMA address a provider mapped a net_iov at. */
export function niovSetDmaAddr(ref: NetmemRef, addr: number): void {
  nm.dma[descHot(ref)] = addr;
}

/**
 * Model extension for providers whose buffers are smaller than the pool's page (plugins/huge's
 * 2 KiB chunks): tells the pool each netmem holds `bytes`, so the frag API never carves past a
 * buffer and inflightMem counts the right size. Only call from init; `bytes` must be a power of
 * two no larger than PAGE_SIZE << order.
 */
export function providerSetNetmemSize(pool: PoolView, bytes: number): void {
  const max = pool.netmemSize;
  if (!Number.isInteger(bytes) || bytes < 64 || bytes > max || (bytes & (bytes - 1)) !== 0)
    throw new PagePoolError("EINVAL", `netmem size must be a power of two in [64, ${max}], got ${bytes}`);
  pool.netmemSize = bytes;
}
