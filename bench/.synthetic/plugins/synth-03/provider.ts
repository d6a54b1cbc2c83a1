/**
 * synth-03: synthetic provider for the dispatch sweep (bench only).
 *
 * Scaffolded by `bun run new-provider synth-03`: every op is a working minimal implementation over
 * the host page allocator (one page per allocNetmems call, mapped for DMA here, unmapped and given
 * back on release). Replace the bodies with the provider's own memory; keep the shape: each op an
 * exported, named, module-level function and one frozen ops table, or codegen refuses the plugin.
 * After changing the ops table run `bun run codegen`.
 *
 * State (pool.mpPriv, set when the provider is bound to an rx queue) is a Synth03Provider.
 */
import type { RxQueue } from "../../../../core/netdev.ts";
import { type NetmemRef, nm } from "../../../../core/netmem.ts";
import type { PagePool } from "../../../../core/page-pool.ts";
import { type MemoryProviderOps, netmemSetPagePool, niovSetDmaAddr } from "../../../../core/provider.ts";

export class Synth03Provider {
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;
}

function priv(pool: PagePool): Synth03Provider {
  return pool.mpPriv as Synth03Provider;
}

/** Slow path: one page, mapped and attached to the pool, or 0 when none can be had. */
export function synth03AllocNetmems(pool: PagePool, _gfp: number): NetmemRef {
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
export function synth03ReleaseNetmem(pool: PagePool, netmem: NetmemRef): boolean {
  pool.dev.unmapPage(netmem);
  nm.dma[netmem >>> 1] = 0;
  priv(pool).releases++;
  return true;
}

/** Throw a PagePoolError here to refuse a pool. */
export function synth03Init(pool: PagePool): void {
  priv(pool).inits++;
}

export function synth03Destroy(pool: PagePool): void {
  priv(pool).destroys++;
}

export function synth03NlFill(priv: unknown, _rxq: RxQueue | null): Record<string, unknown> {
  const p = priv as Synth03Provider;
  return { "synth-03": { allocs: p.allocs, releases: p.releases } };
}

export function synth03Uninstall(priv: unknown, _rxq: RxQueue): void {
  (priv as Synth03Provider).uninstalls++;
}

export const synth03Ops = Object.freeze({
  name: "synth-03",
  allocNetmems: synth03AllocNetmems,
  releaseNetmem: synth03ReleaseNetmem,
  init: synth03Init,
  destroy: synth03Destroy,
  nlFill: synth03NlFill,
  uninstall: synth03Uninstall,
}) satisfies MemoryProviderOps;
