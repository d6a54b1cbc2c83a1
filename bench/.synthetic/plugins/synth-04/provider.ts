/**
 * synth-04: synthetic provider for the dispatch sweep (bench only).
 *
 * Scaffolded by `bun run new-provider synth-04`: every op is a working minimal implementation over
 * the host page allocator (one page per allocNetmems call, mapped for DMA here, unmapped and given
 * back on release). Replace the bodies with the provider's own memory; keep the shape: each op an
 * exported, named, module-level function and one frozen ops table, or codegen refuses the plugin.
 * After changing the ops table run `bun run codegen`.
 *
 * State (pool.mpPriv, set when the provider is bound to an rx queue) is a Synth04Provider.
 */
import type { RxQueue } from "../../../../core/netdev.ts";
import { type NetmemRef, nm } from "../../../../core/netmem.ts";
import type { PagePool } from "../../../../core/page-pool.ts";
import { type MemoryProviderOps, netmemSetPagePool, niovSetDmaAddr } from "../../../../core/provider.ts";

export class Synth04Provider {
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;
}

function priv(pool: PagePool): Synth04Provider {
  return pool.mpPriv as Synth04Provider;
}

/** Slow path: one page, mapped and attached to the pool, or 0 when none can be had. */
export function synth04AllocNetmems(pool: PagePool, _gfp: number): NetmemRef {
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
export function synth04ReleaseNetmem(pool: PagePool, netmem: NetmemRef): boolean {
  pool.dev.unmapPage(netmem);
  nm.dma[netmem >>> 1] = 0;
  priv(pool).releases++;
  return true;
}

/** Throw a PagePoolError here to refuse a pool. */
export function synth04Init(pool: PagePool): void {
  priv(pool).inits++;
}

export function synth04Destroy(pool: PagePool): void {
  priv(pool).destroys++;
}

export function synth04NlFill(priv: unknown, _rxq: RxQueue | null): Record<string, unknown> {
  const p = priv as Synth04Provider;
  return { "synth-04": { allocs: p.allocs, releases: p.releases } };
}

export function synth04Uninstall(priv: unknown, _rxq: RxQueue): void {
  (priv as Synth04Provider).uninstalls++;
}

export const synth04Ops = Object.freeze({
  name: "synth-04",
  allocNetmems: synth04AllocNetmems,
  releaseNetmem: synth04ReleaseNetmem,
  init: synth04Init,
  destroy: synth04Destroy,
  nlFill: synth04NlFill,
  uninstall: synth04Uninstall,
}) satisfies MemoryProviderOps;
