/**
 * The netlink view of pools (net/core/page_pool_user.c): page-pool-get (one pool, or a dump of
 * every listed pool). Reads the pools, never changes them.
 */
import { mpNlFill } from "#dispatch";
import { PagePoolError } from "./errors.ts";
import { LOOPBACK_IFINDEX } from "./netdev.ts";
import { PAGE_SIZE } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { poolsById } from "./pool-table.ts";
import type { PagePoolDescription } from "./types.ts";

/**
 * page_pool_nl_fill(): id; ifindex unless the pool is listed on loopback (its device is gone);
 * napi-id; inflight (clamped at 0, page_pool_inflight(pool, false)); inflight-mem as
 * inflight * (PAGE_SIZE << order), as the kernel sizes it whatever the provider's buffer size;
 * detach-time once destroyed; then the provider's attributes, its nl_fill called with no queue
 * (the queue view is netdev queue-get, NetDevice.queueGet).
 *
 * napi-id follows the pool's live NAPI pointer, which destroy clears: since "net: page_pool:
 * don't try to stash the napi id" (Jan 2025, in 6.14 and the stable trees) the kernel reads
 * pool->p.napi under page_pools_lock. 6.8 to 6.13 reported the id stashed at creation.
 */
export function describePool(pool: PagePool): PagePoolDescription {
  const inflight = Math.max(0, pool.inflight);
  const d: PagePoolDescription = {
    id: pool.id,
    inflight,
    inflightMem: inflight * (PAGE_SIZE << pool.order),
  };
  if (pool.netdev && pool.netdev.ifindex !== LOOPBACK_IFINDEX) d.ifindex = pool.netdev.ifindex;
  if (pool.napi) d.napiId = pool.napi.id;
  if (pool.state !== "live") d.detachTime = Math.floor(pool.detachTime / 1000);
  // Through the dispatcher, as the kernel calls nl_fill through the ops table (null queue).
  const extra = mpNlFill(pool);
  if (extra) Object.assign(d, extra);
  return d;
}

/** Whether netlink can see the pool: listed on a device (hlist_unhashed() false). */
function listed(pool: PagePool): boolean {
  return pool.netdev?.pagePools.has(pool) === true;
}

/** page-pool-get do: ENOENT for an unknown, freed or invisible (never listed) pool. */
export function pagePoolGet(id: number): PagePoolDescription {
  const pool = poolsById.get(id) as PagePool | undefined; // every entry is a PagePool
  if (!pool || !listed(pool)) throw new PagePoolError("ENOENT", `page pool ${id} not found`);
  return describePool(pool);
}

/**
 * page-pool-get dump: every listed pool, device by device in ifindex order, newest first within
 * a device (the kernel walks each netdev's hlist, which is head-inserted).
 */
export function pagePoolDump(): PagePoolDescription[] {
  const pools = ([...poolsById.values()] as PagePool[]).filter(listed);
  pools.sort((a, b) => (a.netdev?.ifindex ?? 0) - (b.netdev?.ifindex ?? 0) || b.id - a.id);
  return pools.map(describePool);
}
