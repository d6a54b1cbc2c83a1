/**
 * The kernel's 11 page_pool counters (struct page_pool_alloc_stats + page_pool_recycle_stats),
 * in the kernel's order. This tuple is the one source of truth for their names: the pool, its
 * `describe()`, the simulator and the benchmark report all read it.
 */
export const STAT_NAMES = [
  "fast",
  "slow",
  "slowHighOrder",
  "empty",
  "refill",
  "waive",
  "cached",
  "cacheFull",
  "ring",
  "ringFull",
  "releasedRefcnt",
] as const;
export type StatName = (typeof STAT_NAMES)[number];

/** The ethtool strings the kernel prints for the same counters (net/core/page_pool.c pp_stats[]). */
export const ETHTOOL_STAT_NAMES = [
  "rx_pp_alloc_fast",
  "rx_pp_alloc_slow",
  "rx_pp_alloc_slow_ho",
  "rx_pp_alloc_empty",
  "rx_pp_alloc_refill",
  "rx_pp_alloc_waive",
  "rx_pp_recycle_cached",
  "rx_pp_recycle_cache_full",
  "rx_pp_recycle_ring",
  "rx_pp_recycle_ring_full",
  "rx_pp_recycle_released_ref",
] as const;

// Indices into a pool's stats Float64Array; hot paths do `st[S_FAST]++`.
export const S_FAST = 0;
export const S_SLOW = 1;
export const S_SLOW_HIGH_ORDER = 2;
export const S_EMPTY = 3;
export const S_REFILL = 4;
export const S_WAIVE = 5;
export const S_CACHED = 6;
export const S_CACHE_FULL = 7;
export const S_RING = 8;
export const S_RING_FULL = 9;
export const S_RELEASED_REFCNT = 10;
export const NUM_STATS = STAT_NAMES.length;

/**
 * Per-CPU recycle counters (struct page_pool_recycle_stats __percpu): recycles run on whatever
 * CPU puts the netmem (this_cpu_inc), so the kernel keeps one set per CPU and
 * page_pool_get_stats() sums them; the alloc counters are the NAPI consumer's, one set. The
 * model keeps CPU c's five recycle counters at [c * RECYCLE_STRIDE + (S_x - S_CACHED)].
 */
export const NR_CPUS = 64;
export const RECYCLE_STRIDE = 8;
export const NUM_RECYCLE = 5;

/** A fresh per-CPU recycle counter block. */
export function newRecyclePcpu(): Float64Array {
  return new Float64Array(NR_CPUS * RECYCLE_STRIDE);
}

/**
 * pp_system_recycle_stats: system pools (PP_FLAG_SYSTEM_POOL, one per CPU) share one per-CPU
 * block instead of allocating their own, so get_stats on any of them reports all of them.
 */
export const systemRecycleStats = newRecyclePcpu();

/** page_pool_get_stats(): alloc counters as kept, recycle counters summed over every CPU. */
export function sumStats(st: ArrayLike<number>, pcpu: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < S_CACHED; i++) out[i] = st[i];
  for (let k = 0; k < NUM_RECYCLE; k++) out[S_CACHED + k] = 0;
  for (let c = 0; c < NR_CPUS; c++)
    for (let k = 0; k < NUM_RECYCLE; k++) out[S_CACHED + k] += pcpu[c * RECYCLE_STRIDE + k];
  return out;
}

export interface PagePoolStats {
  alloc: { fast: number; slow: number; slowHighOrder: number; empty: number; refill: number; waive: number };
  recycle: { cached: number; cacheFull: number; ring: number; ringFull: number; releasedRefcnt: number };
}

/** Builds the nested `page_pool_get_stats` shape from the flat counters (control path only). */
export function statsFromArray(st: ArrayLike<number>): PagePoolStats {
  return {
    alloc: {
      fast: st[S_FAST],
      slow: st[S_SLOW],
      slowHighOrder: st[S_SLOW_HIGH_ORDER],
      empty: st[S_EMPTY],
      refill: st[S_REFILL],
      waive: st[S_WAIVE],
    },
    recycle: {
      cached: st[S_CACHED],
      cacheFull: st[S_CACHE_FULL],
      ring: st[S_RING],
      ringFull: st[S_RING_FULL],
      releasedRefcnt: st[S_RELEASED_REFCNT],
    },
  };
}

/** Flat `{fast: n, slow: n, …}` record in STAT_NAMES order, for reports and JSON. */
export function flatStats(st: ArrayLike<number>): Record<StatName, number> {
  const out = {} as Record<StatName, number>;
  for (let i = 0; i < STAT_NAMES.length; i++) out[STAT_NAMES[i]] = st[i];
  return out;
}

/** CPU `id`'s five recycle counters in a per-CPU block (what this_cpu_inc() on that CPU added). */
export function recycleStatsOnCpu(pcpu: Float64Array, id: number): PagePoolStats["recycle"] {
  const b = id * RECYCLE_STRIDE;
  return {
    cached: pcpu[b],
    cacheFull: pcpu[b + 1],
    ring: pcpu[b + 2],
    ringFull: pcpu[b + 3],
    releasedRefcnt: pcpu[b + 4],
  };
}
