/**
 * The live-pool table (the kernel's netmem->pp pointer, resolved by id): pools by id, from
 * creation until they are freed. Its own leaf module so providers, the simulator and tests can
 * look a netmem's pool up without importing the pool class.
 */
import type { PoolView } from "./provider.ts";

/** Live pools by id (nm.pp[desc] holds the id). Entries are removed when a pool is freed. */
export const poolsById = new Map<number, PoolView>();

let nextPoolId = 1;

/** A fresh pool id (ids are never reused, as the kernel's xarray ids are cyclic and large). */
export function allocPoolId(): number {
  return nextPoolId++;
}
