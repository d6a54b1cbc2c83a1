/**
 * devmem: the dma-buf memory provider of devmem TCP (net/core/devmem.c, "dmabuf devmem memory
 * provider"). State (pool.mpPriv, set when the binding was bound to the queue) is a
 * DevmemBinding; see binding.ts for its lifetime and socket.ts for the user side (tokens and
 * SO_DEVMEM_DONTNEED).
 *
 * As in the kernel, allocNetmems hands the pool ONE net_iov per call and never fills the alloc
 * cache in bulk, so with devmem every cache miss that the ring cannot refill is a provider call.
 */
import { PagePoolError } from "../../core/errors.ts";
import { NET_IOV, type NetmemRef, nm } from "../../core/netmem.ts";
import {
  type MemoryProviderOps,
  type MpRxQueue,
  netmemClearPagePool,
  netmemSetPagePool,
  type PoolView,
} from "../../core/provider.ts";
import type { DevmemBinding } from "./binding.ts";

/** mp_dmabuf_devmem_alloc_netmems(): one net_iov from the binding's chunk pool, or 0. */
export function devmemAllocNetmems(pool: PoolView, _gfp: number): NetmemRef {
  const binding = pool.mpPriv as DevmemBinding;
  const ref = binding.allocNiov();
  if (ref === 0) return 0;
  netmemSetPagePool(pool, ref); // page_pool_set_pp_info + pages_state_hold_cnt++
  return ref;
}

/**
 * mp_dmabuf_devmem_release_page(): the pool gives a net_iov back for good. Detaches it, frees it
 * to the chunk pool, and returns false (the pool must not put_page() a net_iov).
 */
export function devmemReleaseNetmem(pool: PoolView, netmem: NetmemRef): boolean {
  const binding = pool.mpPriv as DevmemBinding;
  // Model: the kernel WARNs (once) and returns false for both cases below, leaking the netmem
  // (and, for a page, leaving it attached). The model refuses loudly instead, before any state
  // changes, so nothing is silently lost.
  if (!(netmem & NET_IOV))
    throw new PagePoolError("EFAULT", `devmem: pool ${pool.id} released page ${netmem}, not a net_iov`);
  const refcount = nm.ppRef[netmem >>> 1];
  if (refcount !== 1)
    throw new PagePoolError(
      "EFAULT",
      `devmem: pool ${pool.id} released net_iov ${netmem} with pp_ref_count ${refcount} (want 1; the kernel WARNs and leaks it)`,
    );
  if (binding.niovIndex(netmem) < 0)
    throw new PagePoolError(
      "EFAULT",
      `devmem: net_iov ${netmem} does not belong to binding ${binding.id} of pool ${pool.id}`,
    );
  netmemClearPagePool(netmem); // page_pool_clear_pp_info
  binding.freeNiov(netmem);
  return false;
}

/**
 * mp_dmabuf_devmem_init(): dma-buf addresses must not be synced, so the pool's dma sync is
 * turned off (before the order check, as the kernel does); only order-0 pools are supported
 * (E2BIG); each pool holds a binding reference.
 */
export function devmemInit(pool: PoolView): void {
  const binding = pool.mpPriv as DevmemBinding | null;
  if (!binding) throw new PagePoolError("EINVAL", "devmem: pool has no binding");
  pool.dmaSync = false;
  if (pool.order !== 0)
    throw new PagePoolError("E2BIG", `devmem: only order-0 pools are supported, got order ${pool.order}`);
  binding.get();
  binding.poolInits++;
}

/** mp_dmabuf_devmem_destroy(): the pool is freed; drop its binding reference. */
export function devmemDestroy(pool: PoolView): void {
  const binding = pool.mpPriv as DevmemBinding;
  binding.poolDestroys++;
  binding.put();
}

/**
 * mp_dmabuf_devmem_nl_fill(): the binding id, as NETDEV_A_QUEUE_DMABUF in a queue dump (rxq
 * given) or NETDEV_A_PAGE_POOL_DMABUF in a page-pool dump. Both are the attribute "dmabuf".
 */
export function devmemNlFill(priv: unknown, _rxq: MpRxQueue | null): Record<string, unknown> {
  return { dmabuf: (priv as DevmemBinding).id };
}

/** mp_dmabuf_devmem_uninstall(): the device is going away; forget the queue. */
export function devmemUninstall(priv: unknown, rxq: MpRxQueue): void {
  (priv as DevmemBinding).forgetRxQueue(rxq);
}

export const devmemOps = Object.freeze({
  name: "devmem",
  allocNetmems: devmemAllocNetmems,
  releaseNetmem: devmemReleaseNetmem,
  init: devmemInit,
  destroy: devmemDestroy,
  nlFill: devmemNlFill,
  uninstall: devmemUninstall,
}) satisfies MemoryProviderOps;
