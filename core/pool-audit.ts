/**
 * Model only: checks the kernel does not make. The ownership check runs on the hot put paths
 * (it turns a double put or a foreign netmem into an EINVAL instead of silent corruption); the
 * conservation audit is for tests, the simulator and the benches' after-checks.
 */
import { PagePoolError } from "./errors.ts";
import {
  descriptorLimit,
  LOC_CACHE,
  LOC_INFLIGHT,
  LOC_NAMES,
  LOC_RING,
  NET_IOV,
  type NetmemRef,
  netmemDesc,
  nm,
} from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import type { AuditReport } from "./types.ts";

/** netmemDesc through a module-local binding: see page-pool.ts, HOT. */
const descHot = netmemDesc;

/**
 * Model only, on the hot path: `ref` must be attached to pool `poolId` and in flight. Only typed
 * array reads here; the message is built out of line (notOwned), so this stays small enough for
 * the engines to inline it into every put.
 */
export function checkOwned(poolId: number, ref: NetmemRef, what: string): void {
  const d = descHot(ref);
  if (
    ref <= 0 ||
    d >= nm.pp.length ||
    nm.pp[d] !== poolId ||
    (ref & NET_IOV) !== nm.iov[d] ||
    nm.loc[d] !== LOC_INFLIGHT
  )
    notOwned(poolId, ref, what);
}

function notOwned(poolId: number, ref: NetmemRef, what: string): never {
  const d = netmemDesc(ref);
  if (ref <= 0 || d >= nm.pp.length || nm.pp[d] !== poolId || (ref & NET_IOV) !== nm.iov[d])
    throw new PagePoolError("EINVAL", `${what}: netmem ${ref} does not belong to pool ${poolId}`);
  throw new PagePoolError(
    "EINVAL",
    `${what}: netmem ${ref} is not in flight (it is in the ${LOC_NAMES[nm.loc[d]]}): double put?`,
  );
}

/**
 * Conservation check: every netmem attached to the pool is in exactly one place (cache, ring,
 * in flight), the cache and ring hold no duplicates, and hold - release = cache + ring + inflight >= 0.
 */
export function auditPool(pool: PagePool): AuditReport {
  const problems: string[] = [];
  const seen = new Set<number>();
  const check = (ref: number, where: string, loc: number) => {
    const d = netmemDesc(ref);
    if (ref === 0) problems.push(`${where}: empty slot inside the live range`);
    else if (seen.has(ref)) problems.push(`netmem ${ref} appears twice (${where})`);
    else if (nm.pp[d] !== pool.id) problems.push(`netmem ${ref} in ${where} belongs to pool ${nm.pp[d]}`);
    else if (nm.loc[d] !== loc) problems.push(`netmem ${ref} in ${where} is marked ${LOC_NAMES[nm.loc[d]]}`);
    else if (nm.ppRef[d] !== 1)
      problems.push(`netmem ${ref} in ${where} has pp_ref_count ${nm.ppRef[d]} (want 1)`);
    seen.add(ref);
  };
  for (let i = 0; i < pool.cacheCount; i++) check(pool.cache[i], "cache", LOC_CACHE);
  pool.ring.forEach((ref) => {
    check(ref, "ring", LOC_RING);
  });
  let inflight = 0;
  let cacheMarked = 0;
  let ringMarked = 0;
  const lim = descriptorLimit();
  for (let d = 1; d < lim; d++) {
    if (nm.pp[d] !== pool.id) continue;
    const loc = nm.loc[d];
    if (loc === LOC_INFLIGHT) {
      inflight++;
      if (nm.ppRef[d] < 1) problems.push(`in-flight descriptor ${d} has pp_ref_count ${nm.ppRef[d]}`);
    } else if (loc === LOC_CACHE) cacheMarked++;
    else if (loc === LOC_RING) ringMarked++;
    else problems.push(`descriptor ${d} is attached to pool ${pool.id} but marked ${LOC_NAMES[loc]}`);
  }
  if (cacheMarked !== pool.cacheCount)
    problems.push(`${cacheMarked} netmems marked cache, cache holds ${pool.cacheCount}`);
  const ringCount = pool.ring.count();
  if (ringMarked !== ringCount) problems.push(`${ringMarked} netmems marked ring, ring holds ${ringCount}`);
  const held = pool.holdCount - pool.releaseCount;
  if (held < 0) problems.push(`inflight is negative: hold ${pool.holdCount} - release ${pool.releaseCount}`);
  if (held !== pool.cacheCount + ringCount + inflight)
    problems.push(
      `hold - release = ${held}, but cache ${pool.cacheCount} + ring ${ringCount} + in flight ${inflight}`,
    );
  return {
    ok: problems.length === 0,
    problems,
    cache: pool.cacheCount,
    ring: ringCount,
    inflight,
    hold: pool.holdCount,
    release: pool.releaseCount,
  };
}
