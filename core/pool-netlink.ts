/**
 * The netlink view of a pool (net/core/page_pool_user.c): the page-pool-get answer. Reads the
 * pool, never changes it.
 */
import { mpNlFill } from "#dispatch";
import type { PagePool } from "./page-pool.ts";
import type { PagePoolDescription } from "./types.ts";

/** page_pool_nl_fill(): id, ifindex, napi-id, inflight, inflight-mem, detach-time, provider attrs. */
export function describePool(pool: PagePool): PagePoolDescription {
  const inflight = pool.inflight;
  const d: PagePoolDescription = { id: pool.id, inflight, inflightMem: inflight * pool.netmemSize };
  if (pool.netdev) d.ifindex = pool.netdev.ifindex;
  if (pool.napi) d.napiId = pool.napi.id;
  if (pool.state !== "live") d.detachTime = Math.floor(pool.detachTime / 1000);
  const extra = mpNlFill(pool);
  if (extra) Object.assign(d, extra);
  return d;
}
