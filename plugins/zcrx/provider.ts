/**
 * zcrx: io_uring zero-copy receive as a memory provider (io_uring/zcrx.c, io_uring_pp_zc_ops).
 * The pool's `mpPriv` is the ZcrxIfq (ifq.ts) the rx queue was bound to by registerZcrxIfq
 * (register.ts). The ops are thin: the work is the ifq's, as in the kernel.
 */
import { PagePoolError } from "../../core/errors.ts";
import { NET_IOV, type NetmemRef, PAGE_SHIFT } from "../../core/netmem.ts";
import {
  type MemoryProviderOps,
  type MpRxQueue,
  netmemClearPagePool,
  type PoolView,
} from "../../core/provider.ts";
import { ZcrxIfq } from "./ifq.ts";

/**
 * io_pp_zc_alloc_netmems(): refill the cache from the user's refill ring (up to 64 entries), else
 * from the area's freelist (up to 64), then pop one; 0 when the user holds everything.
 * Caller: the pool's slow path, in its NAPI context.
 */
export function zcrxAllocNetmems(pool: PoolView, _gfp: number): NetmemRef {
  const ifq = pool.mpPriv as ZcrxIfq;
  // The pool only calls with an empty cache; the kernel checks anyway ("pp should already be ensuring that").
  if (pool.cacheCount === 0) {
    ifq.refillFromRing(pool);
    if (pool.cacheCount === 0) {
      ifq.refillFromFreelist(pool);
      if (pool.cacheCount === 0) return 0;
    }
  }
  return pool.cache[--pool.cacheCount];
}

/** io_pp_zc_release_netmem(): detach, back to the freelist; the provider keeps it (false). */
export function zcrxReleaseNetmem(pool: PoolView, netmem: NetmemRef): boolean {
  // The kernel WARNs and returns false for a page; the model refuses loudly instead.
  if (!(netmem & NET_IOV))
    throw new PagePoolError(
      "EFAULT",
      `zcrx: releaseNetmem got page ${netmem}; a zcrx pool holds only net_iovs`,
    );
  const ifq = pool.mpPriv as ZcrxIfq;
  if (ifq.area.indexOf(netmem) < 0)
    throw new PagePoolError("EFAULT", `zcrx: releaseNetmem got net_iov ${netmem} from another area`);
  netmemClearPagePool(netmem);
  ifq.releaseToFreelist(netmem);
  return false;
}

/**
 * io_pp_zc_init(): the pool must be for this ifq's device, DMA-mapping, order 0 (one 4 KiB net_iov
 * per buffer) and FROM_DEVICE; maps the area once and takes a reference on the ifq.
 */
export function zcrxInit(pool: PoolView): void {
  const ifq = pool.mpPriv;
  if (!(ifq instanceof ZcrxIfq))
    throw new PagePoolError("EINVAL", "zcrx: pool has no zcrx ifq as its provider state");
  if (ifq.state !== "live") throw new PagePoolError("EINVAL", `zcrx: the ifq is ${ifq.state}`);
  if (ifq.dev !== pool.dev)
    throw new PagePoolError(
      "EINVAL",
      `zcrx: pool device ${pool.dev.name} is not the ifq's device ${ifq.dev.name}`,
    );
  if (!pool.dmaMap) throw new PagePoolError("EOPNOTSUPP", "zcrx: the pool must DMA-map (PP_FLAG_DMA_MAP)");
  // v6.15 returns -EOPNOTSUPP for order != 0; later kernels (rx_buf_len, niov_shift) -EINVAL
  // for an order that does not match the net_iov size. The model follows the later rule.
  if (pool.order + PAGE_SHIFT !== ifq.area.niovShift)
    throw new PagePoolError(
      "EINVAL",
      `zcrx: pool order ${pool.order} does not match the ${ifq.area.niovSize}-byte net_iov size (order ${ifq.area.niovShift - PAGE_SHIFT})`,
    );
  if (pool.dmaDir !== "from-device")
    throw new PagePoolError("EOPNOTSUPP", `zcrx: pool DMA direction must be from-device, got ${pool.dmaDir}`);
  if (!ifq.area.map(pool.dev)) throw new PagePoolError("ENOMEM", "zcrx: mapping the area for DMA failed");
  ifq.livePools++; // percpu_ref_get(&ifq->ctx->refs)
  ifq.inits++;
}

/** io_pp_zc_destroy(): drops the pool's reference on the ifq. */
export function zcrxDestroy(pool: PoolView): void {
  const ifq = pool.mpPriv as ZcrxIfq;
  ifq.livePools--;
  ifq.destroys++;
}

/** io_pp_nl_fill(): an empty io-uring nest, for page-pool-get and queue-get alike. */
export function zcrxNlFill(_priv: unknown, _rxq: MpRxQueue | null): Record<string, unknown> {
  return { ioUring: {} };
}

/** io_pp_uninstall(): the net device is going away: drop it and unmap the area. */
export function zcrxUninstall(priv: unknown, _rxq: MpRxQueue): void {
  const ifq = priv as ZcrxIfq;
  ifq.netdev = null;
  ifq.bound = false;
  ifq.area.unmap(ifq.dev);
  ifq.uninstalls++;
}

export const zcrxOps = Object.freeze({
  name: "zcrx",
  allocNetmems: zcrxAllocNetmems,
  releaseNetmem: zcrxReleaseNetmem,
  init: zcrxInit,
  destroy: zcrxDestroy,
  nlFill: zcrxNlFill,
  uninstall: zcrxUninstall,
}) satisfies MemoryProviderOps;
