/**
 * limited: host pages under a byte quota, for overcommitted hosts (Mina Almasry's case on netdev:
 * a VM host that must bound how much memory a NIC's rx queues may pin in their page pools).
 *
 * Every page a pool takes from this provider is charged to the quota from the moment it enters
 * the pool (cache, ring or in flight) until it leaves it (releaseNetmem): a page sitting in the
 * cache is memory the host cannot use either, so it counts. At the quota allocNetmems returns 0
 * and counts a quota failure; the pool sees a clean allocation failure (its `empty` counter
 * moves, the driver drops or retries), never an exception. Returning pages frees quota.
 *
 * Allocation fills the pool's cache in bulk, like the kernel's own order-0 slow path
 * (alloc_pages_bulk_node of PP_ALLOC_CACHE_REFILL pages into the cache, one returned), bounded by
 * the quota left: one provider call then serves a NAPI budget of packets, which is what makes
 * the slow path cheap enough in the kernel and keeps the dispatch cost per call comparable with
 * the no-provider path. `bulk: false` allocates one page per call (the devmem shape) for
 * benchmarks that want every cache miss to dispatch.
 *
 * One LimitedProvider may be bound to several rx queues: the quota is then shared by all of
 * their pools (a per-device budget).
 */
import { PagePoolError } from "../../core/errors.ts";
import { type NetmemRef, nm, PAGE_SIZE } from "../../core/netmem.ts";
import {
  type MemoryProviderOps,
  type MpRxQueue,
  netmemPlaceInCache,
  netmemSetPagePool,
  niovSetDmaAddr,
  type PoolView,
} from "../../core/provider.ts";
import { PP_ALLOC_CACHE_REFILL, PP_ALLOC_CACHE_SIZE } from "../../core/types.ts";

export interface LimitedOptions {
  /** The quota in bytes: a positive multiple of PAGE_SIZE (4096). */
  quotaBytes: number;
  /** Fill the pool's cache in bulk on a miss (default true), or hand out one page per call. */
  bulk?: boolean;
}

function checkQuota(quotaBytes: unknown): number {
  if (
    typeof quotaBytes !== "number" ||
    !Number.isSafeInteger(quotaBytes) ||
    quotaBytes <= 0 ||
    quotaBytes % PAGE_SIZE !== 0
  )
    throw new PagePoolError(
      "EINVAL",
      `limited: quotaBytes must be a positive multiple of ${PAGE_SIZE}, got ${String(quotaBytes)}`,
    );
  return quotaBytes;
}

/** The provider state (pool.mpPriv): the quota, its use, and counters for nlFill and tests. */
export class LimitedProvider {
  #quotaBytes: number;
  readonly bulk: boolean;
  /** Bytes charged: pages held by pools of this provider (cache, ring, in flight). */
  usedBytes = 0;
  /** Highest usedBytes seen. */
  peakBytes = 0;
  /** allocNetmems calls refused because the quota was reached. */
  quotaFailures = 0;
  /** allocNetmems calls that found quota but no memory (page allocator empty or DMA map failed). */
  allocFailures = 0;
  /** Pages handed to pools / taken back. */
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  /** Pools of this provider not yet freed. */
  pools = 0;
  #disposed = false;

  constructor(opts: LimitedOptions) {
    if (typeof opts !== "object" || opts === null)
      throw new PagePoolError("EINVAL", "limited: options { quotaBytes } required");
    this.#quotaBytes = checkQuota(opts.quotaBytes);
    if (opts.bulk !== undefined && typeof opts.bulk !== "boolean")
      throw new PagePoolError("EINVAL", `limited: bulk must be a boolean, got ${String(opts.bulk)}`);
    this.bulk = opts.bulk ?? true;
  }

  get quotaBytes(): number {
    return this.#quotaBytes;
  }

  /** Bytes that may still be charged (0 when at or over the quota). */
  get availableBytes(): number {
    return Math.max(0, this.#quotaBytes - this.usedBytes);
  }

  /**
   * Changes the quota (control path). Lowering it below what is in use reclaims nothing: pages
   * already in pools stay (the kernel cannot take pages back from a page_pool either; a cgroup's
   * memory.max lowered below usage would try reclaim, which pool pages do not yield to). New
   * allocations fail until enough comes back.
   */
  setQuota(quotaBytes: number): void {
    if (this.#disposed) throw new PagePoolError("ENODEV", "limited: provider was disposed");
    this.#quotaBytes = checkQuota(quotaBytes);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Ends the provider (after unbinding it). Refuses while any pool still holds its pages. */
  dispose(): void {
    if (this.#disposed) return;
    if (this.usedBytes !== 0 || this.pools !== 0)
      throw new PagePoolError(
        "EBUSY",
        `limited: ${this.usedBytes} bytes still held by ${this.pools} pool(s); destroy them and let them drain first`,
      );
    this.#disposed = true;
  }
}

function priv(pool: PoolView): LimitedProvider {
  return pool.mpPriv as LimitedProvider;
}

/** Maps a fresh page and attaches it to the pool, charging it; false (page put back) on map failure. */
function chargePage(pool: PoolView, p: LimitedProvider, ref: NetmemRef, bytes: number): boolean {
  const addr = pool.dev.mapPage(ref);
  if (addr === 0) {
    pool.pages.putPage(ref);
    return false;
  }
  niovSetDmaAddr(ref, addr);
  netmemSetPagePool(pool, ref);
  p.usedBytes += bytes;
  if (p.usedBytes > p.peakBytes) p.peakBytes = p.usedBytes;
  p.allocs++;
  return true;
}

/**
 * Slow path. Returns one page and, with `bulk`, places up to PP_ALLOC_CACHE_REFILL - 1 more in
 * the (empty) cache, never charging past the quota. Order > 0 pools get one compound page per
 * call, as the kernel's high-order slow path does.
 */
export function limitedAllocNetmems(pool: PoolView, _gfp: number): NetmemRef {
  const p = priv(pool);
  const bytes = PAGE_SIZE << pool.order;
  let want = Math.floor(p.availableBytes / bytes);
  if (want === 0) {
    p.quotaFailures++;
    return 0;
  }
  if (!p.bulk || pool.order > 0) want = 1;
  else {
    const room = PP_ALLOC_CACHE_SIZE - pool.cacheCount;
    want = Math.min(want, PP_ALLOC_CACHE_REFILL, room + 1);
  }
  let first: NetmemRef = 0;
  for (let i = 0; i < want; i++) {
    const ref = pool.pages.allocPages(pool.order, pool.nid);
    if (ref === 0) break;
    if (!chargePage(pool, p, ref, bytes)) continue;
    if (first === 0) first = ref;
    else netmemPlaceInCache(pool, ref);
  }
  if (first === 0) p.allocFailures++;
  return first;
}

/** Unmaps and uncharges; the core puts the page back to the page allocator. */
export function limitedReleaseNetmem(pool: PoolView, netmem: NetmemRef): boolean {
  const p = priv(pool);
  pool.dev.unmapPage(netmem);
  nm.dma[netmem >>> 1] = 0;
  p.usedBytes -= PAGE_SIZE << pool.order;
  p.releases++;
  return true;
}

export function limitedInit(pool: PoolView): void {
  const p = priv(pool);
  if (!(p instanceof LimitedProvider))
    throw new PagePoolError("EINVAL", "limited: queue bound without a LimitedProvider state");
  if (p.disposed) throw new PagePoolError("ENODEV", "limited: provider was disposed");
  if (PAGE_SIZE << pool.order > p.quotaBytes)
    throw new PagePoolError(
      "E2BIG",
      `limited: one order-${pool.order} page (${PAGE_SIZE << pool.order} bytes) exceeds the quota of ${p.quotaBytes}`,
    );
  p.inits++;
  p.pools++;
}

export function limitedDestroy(pool: PoolView): void {
  const p = priv(pool);
  p.destroys++;
  p.pools--;
}

export function limitedNlFill(priv: unknown, _rxq: MpRxQueue | null): Record<string, unknown> {
  const p = priv as LimitedProvider;
  return {
    limited: {
      quotaBytes: p.quotaBytes,
      usedBytes: p.usedBytes,
      peakBytes: p.peakBytes,
      quotaFailures: p.quotaFailures,
      allocFailures: p.allocFailures,
    },
  };
}

export const limitedOps = Object.freeze({
  name: "limited",
  allocNetmems: limitedAllocNetmems,
  releaseNetmem: limitedReleaseNetmem,
  init: limitedInit,
  destroy: limitedDestroy,
  nlFill: limitedNlFill,
}) satisfies MemoryProviderOps;
