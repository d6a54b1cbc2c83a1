/**
 * page_pool_create()'s checks around the constructor (page_pool_init() and page_pool_list()):
 * params and cpuid validation, the provider taken from the rx queue, the provider's init, and
 * listing the live pool. Control path only.
 */
import { mpInit } from "#dispatch";
import { PagePoolError } from "./errors.ts";
import type { RxQueue } from "./netdev.ts";
import { MAX_PAGE_ORDER } from "./page-alloc.ts";
import type { PagePool } from "./page-pool.ts";
import { poolsById } from "./pool-table.ts";
import { type MemoryProviderOps, mpStaticKey } from "./provider.ts";
import {
  type DmaDir,
  type PagePoolParams,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  validateParams,
} from "./types.ts";

/** What the constructor takes besides the params: the rx queue and the provider bound to it. */
export interface PoolBinding {
  ops: MemoryProviderOps | null;
  priv: unknown;
  rxq: RxQueue | null;
}

/**
 * Validates params and cpuid (page_pool_init()'s checks) and takes the provider from the rx
 * queue, never from params. Returns the defaulted DMA direction and the binding.
 */
export function checkCreate(p: PagePoolParams, cpuid: number): PoolBinding & { dmaDir: DmaDir } {
  const dmaDir = validateParams(p);
  if (!Number.isInteger(cpuid) || cpuid < -1 || cpuid > 1023)
    throw new PagePoolError("EINVAL", `cpuid must be an integer in [-1, 1023], got ${cpuid}`);
  let rxq: RxQueue | null = null;
  let ops: MemoryProviderOps | null = null;
  let priv: unknown = null;
  if (p.netdev) {
    rxq = p.netdev.rxQueue(p.queueIdx ?? 0);
    // Only a pool that may hold unreadable netmem takes the queue's provider.
    if ((p.flags ?? 0) & PP_FLAG_ALLOW_UNREADABLE_NETMEM) {
      ops = rxq.mpParams.ops;
      priv = rxq.mpParams.priv;
    }
  }
  return { dmaDir, ops, priv, rxq };
}

/**
 * The rest of page_pool_init() on a constructed pool: the provider's checks and init (it throws
 * to refuse; nothing else was set up yet, so nothing to unwind), else the page order's bound.
 * Then page_pool_list(): the pool enters the live table, its queue, and its device's list.
 */
export function initAndList(pool: PagePool): void {
  const ops = pool.mpOps;
  if (ops) {
    // Providers need the pool to map and sync (they then turn off what they do not need).
    if (!pool.dmaMap || !pool.dmaSync)
      throw new PagePoolError(
        "EOPNOTSUPP",
        "a memory provider needs flags PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV",
      );
    // The kernel WARNs unless mp_ops is in rodata; here: frozen and in the generated registry.
    if (!Object.isFrozen(ops) || pool.mpKind === 0)
      throw new PagePoolError("EFAULT", `provider "${ops.name}" ops are not a frozen, registered table`);
    mpInit(pool);
    mpStaticKey.count++;
  } else if (pool.order > MAX_PAGE_ORDER)
    throw new PagePoolError(
      "EINVAL",
      `order must be <= MAX_PAGE_ORDER (${MAX_PAGE_ORDER}), got ${pool.order}`,
    );
  poolsById.set(pool.id, pool);
  pool.rxq?.pools.add(pool);
  // A pool made with a netdev is listed on it (netlink can see it).
  pool.netdev?.pagePools.add(pool);
}
