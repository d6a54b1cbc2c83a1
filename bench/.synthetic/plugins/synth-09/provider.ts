/**
 * synth-09: synthetic provider for the dispatch sweep (bench only).
 *
 * Scaffolded by `bun run new-provider synth-09`: every op is a working minimal implementation over
 * the host page allocator (one page per allocNetmems call, mapped for DMA here, unmapped and given
 * back on release). Replace the bodies with the provider's own memory; keep the shape: each op an
 * exported, named, module-level function and one frozen ops table, or codegen refuses the plugin.
 * After changing the ops table run `bun run codegen`.
 *
 * State (pool.mpPriv, set when the provider is bound to an rx queue) is a Synth09Provider.
 */
import type { RxQueue } from "../../../../core/netdev.ts";
import { type NetmemRef, nm } from "../../../../core/netmem.ts";
import type { PagePool } from "../../../../core/page-pool.ts";
import { type MemoryProviderOps, netmemSetPagePool, niovSetDmaAddr } from "../../../../core/provider.ts";

export class Synth09Provider {
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;
}

function priv(pool: PagePool): Synth09Provider {
  return pool.mpPriv as Synth09Provider;
}

/** Slow path: one page, mapped and attached to the pool, or 0 when none can be had. */
export function synth09AllocNetmems(pool: PagePool, _gfp: number): NetmemRef {
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

/** Unmaps the page; returning true has the core put it back to the page allocator. */
export function synth09ReleaseNetmem(pool: PagePool, netmem: NetmemRef): boolean {
  pool.dev.unmapPage(netmem);
  nm.dma[netmem >>> 1] = 0;
  priv(pool).releases++;
  return true;
}

/** Throw a PagePoolError here to refuse a pool. */
export function synth09Init(pool: PagePool): void {
  priv(pool).inits++;
}

export function synth09Destroy(pool: PagePool): void {
  priv(pool).destroys++;
}

export function synth09NlFill(priv: unknown, _rxq: RxQueue | null): Record<string, unknown> {
  const p = priv as Synth09Provider;
  return { "synth-09": { allocs: p.allocs, releases: p.releases } };
}

export function synth09Uninstall(priv: unknown, _rxq: RxQueue): void {
  (priv as Synth09Provider).uninstalls++;
}

export const synth09Ops = Object.freeze({
  name: "synth-09",
  allocNetmems: synth09AllocNetmems,
  releaseNetmem: synth09ReleaseNetmem,
  init: synth09Init,
  destroy: synth09Destroy,
  nlFill: synth09NlFill,
  uninstall: synth09Uninstall,
}) satisfies MemoryProviderOps;
