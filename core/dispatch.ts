/**
 * INTERIM hand-written dispatcher (ops-table), used until codegen emits core/generated/*.
 * Every call from the core into a provider goes through this module.
 * Provider authors during bring-up: add your ops to PROVIDERS below.
 */
import { basicOps } from "../plugins/basic/provider.ts";
import type { RxQueue } from "./netdev.ts";
import type { NetmemRef } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { type MemoryProviderOps, mpStaticKey } from "./provider.ts";

export const DISPATCH_VARIANT = "ops-table";

// PROVIDERS-BEGIN
export const PROVIDERS: readonly MemoryProviderOps[] = [basicOps];
// PROVIDERS-END

export function providerKind(ops: MemoryProviderOps): number {
  return PROVIDERS.indexOf(ops) + 1;
}

export function mpAllocNetmems(pool: PagePool, gfp: number): NetmemRef {
  if (mpStaticKey.count > 0 && pool.mpOps !== null) return pool.mpOps.allocNetmems(pool, gfp);
  return pool.allocPagesSlow(gfp);
}

export function mpReleaseNetmem(pool: PagePool, netmem: NetmemRef): boolean {
  if (mpStaticKey.count > 0 && pool.mpOps !== null) return pool.mpOps.releaseNetmem(pool, netmem);
  pool.releasePageDma(netmem);
  return true;
}

export function mpInit(pool: PagePool): void {
  pool.mpOps?.init(pool);
}

export function mpDestroy(pool: PagePool): void {
  pool.mpOps?.destroy(pool);
}

export function mpNlFill(pool: PagePool): Record<string, unknown> | undefined {
  return pool.mpOps?.nlFill?.(pool.mpPriv, pool.rxq as RxQueue | null);
}
