/**
 * synth-01: synthetic provider for the dispatch sweep (bench only).
 *
 * Scaffolded by `bun run new-provider synth-01`: every op is a working minimal implementation over
 * the host page allocator (one page per allocNetmems call, mapped for DMA here, unmapped and given
 * back on release). Replace the bodies with the provider's own memory; keep the shape: each op an
 * exported, named, module-level function and one frozen ops table, or codegen refuses the plugin.
 * After changing the ops table run `bun run codegen`.
 *
 * State (pool.mpPriv, set when the provider is bound to an rx queue) is a Synth01Provider.
 */
import type { RxQueue } from "../../../../core/netdev.ts";
import { type NetmemRef, nm } from "../../../../core/netmem.ts";
import type { PagePool } from "../../../../core/page-pool.ts";
import { type MemoryProviderOps, netmemSetPagePool, niovSetDmaAddr } from "../../../../core/provider.ts";

export class Synth01Provider {
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;
}

function priv(pool: PagePool): Synth01Provider {
  return pool.mpPriv as Synth01Provider;
}

/** Slow path: one page, mapped and attached to the pool, or 0 when none can be had. */
export function synth01AllocNetmems(pool: PagePool, _gfp: number): NetmemRef {
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
export function synth01ReleaseNetmem(pool: PagePool, netmem: NetmemRef): boolean {
  pool.dev.unmapPage(netmem);
  nm.dma[netmem >>> 1] = 0;
  priv(pool).releases++;
  return true;
}

/** Throw a PagePoolError here to refuse a pool. */
export function synth01Init(pool: PagePool): void {
  priv(pool).inits++;
}

export function synth01Destroy(pool: PagePool): void {
  priv(pool).destroys++;
}

export function synth01NlFill(priv: unknown, _rxq: RxQueue | null): Record<string, unknown> {
  const p = priv as Synth01Provider;
  return { "synth-01": { allocs: p.allocs, releases: p.releases } };
}

export function synth01Uninstall(priv: unknown, _rxq: RxQueue): void {
  (priv as Synth01Provider).uninstalls++;
}

export const synth01Ops = Object.freeze({
  name: "synth-01",
  allocNetmems: synth01AllocNetmems,
  releaseNetmem: synth01ReleaseNetmem,
  init: synth01Init,
  destroy: synth01Destroy,
  nlFill: synth01NlFill,
  uninstall: synth01Uninstall,
}) satisfies MemoryProviderOps;
