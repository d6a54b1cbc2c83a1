/**
 * basic: the smallest real provider, over the host page allocator (the kernel RFC's PP_MP_BASIC
 * test provider). One page per allocNetmems call, mapped for DMA by the provider; released pages
 * are unmapped and given back to the page allocator (releaseNetmem returns true).
 *
 * State (pool.mpPriv, set at bind time) is a BasicProvider; its counters let tests see every call.
 */
import type { PagePoolError } from "../../core/errors.ts";
import { type NetmemRef, nm } from "../../core/netmem.ts";
import {
  type MemoryProviderOps,
  type MpRxQueue,
  netmemSetPagePool,
  niovSetDmaAddr,
  type PoolView,
} from "../../core/provider.ts";

export class BasicProvider {
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;
  /** Fault injection: init throws this (a provider refusing a pool). */
  failInit: PagePoolError | null = null;
  constructor(opts: { failInit?: PagePoolError } = {}) {
    this.failInit = opts.failInit ?? null;
  }
}

function priv(pool: PoolView): BasicProvider {
  return pool.mpPriv as BasicProvider;
}

export function basicAllocNetmems(pool: PoolView, _gfp: number): NetmemRef {
  const ref = pool.pages.allocPages(pool.order, pool.nid);
  if (ref === 0) return 0;
  const addr = pool.dev.mapPage(ref);
  if (addr === 0) {
    pool.pages.putPage(ref);
    return 0;
  }
  niovSetDmaAddr(ref, addr);
  netmemSetPagePool(pool, ref);
  priv(pool).allocs++;
  return ref;
}

export function basicReleaseNetmem(pool: PoolView, netmem: NetmemRef): boolean {
  pool.dev.unmapPage(netmem);
  nm.dma[netmem >>> 1] = 0;
  priv(pool).releases++;
  return true; // the core puts the page back to the page allocator
}

export function basicInit(pool: PoolView): void {
  const p = priv(pool);
  if (p.failInit) throw p.failInit;
  p.inits++;
}

export function basicDestroy(pool: PoolView): void {
  priv(pool).destroys++;
}

/**
 * The provider's netlink attributes. As the kernel's providers pick the attribute by context
 * (NETDEV_A_QUEUE_* when given the queue, NETDEV_A_PAGE_POOL_* for a pool dump, which passes
 * none), the answer names the queue only in queue-get.
 */
export function basicNlFill(priv: unknown, rxq: MpRxQueue | null): Record<string, unknown> {
  const p = priv as BasicProvider;
  const a = { allocs: p.allocs, releases: p.releases };
  return { basic: rxq ? { ...a, queue: rxq.index } : a };
}

export function basicUninstall(priv: unknown, _rxq: MpRxQueue): void {
  (priv as BasicProvider).uninstalls++;
}

export const basicOps = Object.freeze({
  name: "basic",
  allocNetmems: basicAllocNetmems,
  releaseNetmem: basicReleaseNetmem,
  init: basicInit,
  destroy: basicDestroy,
  nlFill: basicNlFill,
  uninstall: basicUninstall,
}) satisfies MemoryProviderOps;
