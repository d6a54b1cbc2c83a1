/**
 * PagePool: net/core/page_pool.c in TypeScript, names in camelCase. This file is the pool and
 * its data paths (fast path, refill, put/recycle); the kernel's other seams sit beside it:
 * types.ts (types.h: constants, params), pool-create.ts, pool-slow.ts, pool-frag.ts,
 * pool-bulk.ts, pool-destroy.ts, pool-netlink.ts (page_pool_user.c), pool-table.ts,
 * pool-audit.ts (model only); the per-CPU stats in stats.ts, use_xdp_mem in xdp.ts.
 *
 * Concurrency contract, as in the kernel: allocation, the alloc cache and direct recycling belong
 * to the pool's NAPI context (one consumer, no locks); puts from elsewhere go through the ring.
 * The model is single-threaded, so "elsewhere" is expressed with napiRun()/onCpu() in netdev.ts.
 * Hot paths allocate no objects: refs are integers, per-netmem state is in netmem.ts's tables.
 */
import { mpAllocNetmems, mpReleaseNetmem, providerKind } from "#dispatch";
import { PagePoolError } from "./errors.ts";
import { cpu, type Napi, type NetDevice, type RxQueue } from "./netdev.ts";
import {
  LOC_CACHE,
  LOC_FREE,
  LOC_INFLIGHT,
  LOC_RING,
  type NetmemRef,
  netmemDesc,
  netmemDmaAddr,
  netmemIsNetIov,
  nm,
  PAGE_SIZE,
  unrefNetmem,
} from "./netmem.ts";
import { type DmaDevice, defaultDmaDevice, NUMA_NO_NODE, type PageAllocator } from "./page-alloc.ts";
import { auditPool, checkOwned } from "./pool-audit.ts";
import { putNetmemBulk } from "./pool-bulk.ts";
import { checkCreate, initAndList, type PoolBinding } from "./pool-create.ts";
import { destroyPool } from "./pool-destroy.ts";
import { DmaIndex } from "./pool-dma.ts";
import { allocFragNetmem, allocNetmemSized } from "./pool-frag.ts";
import { describePool } from "./pool-netlink.ts";
import { allocPagesSlow, releasePageDma } from "./pool-slow.ts";
import { allocPoolId } from "./pool-table.ts";
import type { MemoryProviderOps } from "./provider.ts";
import { PtrRing } from "./ptr-ring.ts";
import {
  NUM_STATS,
  newRecyclePcpu,
  type PagePoolStats,
  RECYCLE_STRIDE,
  recycleStatsOnCpu,
  S_CACHE_FULL,
  S_CACHED,
  S_EMPTY,
  S_FAST,
  S_REFILL,
  S_RELEASED_REFCNT,
  S_RING,
  S_RING_FULL,
  S_WAIVE,
  statsFromArray,
  sumStats,
  systemRecycleStats,
} from "./stats.ts";
import { realTimers, type Timers } from "./timers.ts";
import {
  type AuditReport,
  BIAS_MAX,
  type DmaDir,
  GFP_ATOMIC,
  type PagePoolDescription,
  type PagePoolParams,
  PP_ALLOC_CACHE_REFILL,
  PP_ALLOC_CACHE_SIZE,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
  PP_FLAG_SYSTEM_POOL,
  PP_RING_DEFAULT_SIZE,
  PP_RING_MAX_SIZE,
  XDP_BULK_QUEUE_SIZE,
} from "./types.ts";

// The public import path of the pool's API: constants, params, the table and unref stay
// importable from here for tests, benches and the simulator. Plugins import the leaf modules.
export { unrefNetmem } from "./netmem.ts";
export { poolsById } from "./pool-table.ts";
export * from "./types.ts";

type PoolState = "live" | "detached" | "freed";

// HOT: the data paths call these imports through module-local bindings. On JavaScriptCore a call
// to an imported function cost 10-20% of the fast path (alloc + recycleDirect; paired bursts of
// old and new code in one process), through a local const nothing. (Node runs a bundle.)
const checkOwnedHot = checkOwned;
const unrefHot = unrefNetmem;
const descHot = netmemDesc;
const isNetIovHot = netmemIsNetIov;

export class PagePool {
  readonly id: number;
  readonly order: number;
  /** Preferred NUMA node (p.nid); page_pool_update_nid() changes it. */
  nid: number;
  readonly maxLen: number;
  readonly offset: number;
  readonly flags: number;
  readonly dmaDir: DmaDir;
  readonly dev: DmaDevice;
  readonly pages: PageAllocator;
  readonly timers: Timers;
  readonly log: (msg: string) => void;
  /** page_pool_params.napi; cleared by destroy (page_pool_disable_direct_recycling). */
  napi: Napi | null;
  /** pool->cpuid: a CPU whose softirq may recycle directly (-1 = none). */
  cpuid = -1;
  netdev: NetDevice | null;
  readonly queueIdx: number;
  readonly rxq: RxQueue | null;
  dmaMap: boolean;
  dmaSync: boolean;

  // fast path state: the LIFO alloc cache
  readonly cache = new Int32Array(PP_ALLOC_CACHE_SIZE);
  cacheCount = 0;
  readonly ring: PtrRing;
  /**
   * The 11 counters, indexed by the S_* constants of stats.ts. The recycle ones here are the
   * model's running totals over every CPU, kept for the hot-path readers and the audit; the
   * kernel's per-CPU counters are recyclePcpu, and `stats` (page_pool_get_stats) sums those.
   */
  readonly st = new Float64Array(NUM_STATS);
  /** Per-CPU recycle counters (stats.ts); system pools share systemRecycleStats. */
  readonly recyclePcpu: Float64Array;
  /** Scratch of putNetmemBulk: the survivors of one XDP_BULK_QUEUE_SIZE chunk. */
  readonly bulk = new Int32Array(XDP_BULK_QUEUE_SIZE);

  /** pages_state_hold_cnt / pages_state_release_cnt. */
  holdCount = 0;
  releaseCount = 0;
  // frag state (pool-frag.ts)
  fragPage: NetmemRef = 0;
  fragOffset = 0;
  fragUsers = 0;
  /** Out slots of allocFragNetmem/allocNetmemSized (the kernel's `unsigned int *offset, *size`). */
  outOffset = 0;
  outSize = 0;
  /**
   * Bytes one netmem holds: PAGE_SIZE << order, or less if the provider's init said so
   * (providerSetNetmemSize). Model extension: a kernel net_iov is never smaller than a page.
   */
  netmemSize: number;
  /** DMA sync-for-device work done on recycle (bytes and calls). */
  dmaSyncBytes = 0;
  dmaSyncCalls = 0;
  /** pool->dma_mapped (6.15+): the pages this pool mapped and has not unmapped (pool-dma.ts). */
  readonly dmaIndex = new DmaIndex();
  /** Pages scrub unmapped while still in flight, and its synchronize_net() grace periods. */
  dmaScrubUnmaps = 0;
  synchronizeNetCalls = 0;

  // memory provider (copied from the rx queue at creation)
  readonly mpOps: MemoryProviderOps | null;
  mpPriv: unknown;
  /** Small integer of the provider in the generated registry (0 = none): the if-chain's key. */
  readonly mpKind: number;
  // teardown (pool-destroy.ts)
  /**
   * pool->user_cnt: the driver's reference (1 at create) plus one per XDP memory model
   * registration (page_pool_use_xdp_mem). page_pool_destroy() drops one; the last tears down.
   */
  userCnt = 1;
  /** Destroys beyond the user count: the kernel's refcount_t underflow WARN (nothing else happens). */
  extraDestroys = 0;
  /** pool->disconnect: the XDP memory model's callback, run when the pool is finally freed. */
  disconnect: ((pool: PagePool) => void) | null = null;
  xdpMemId = 0;
  state: PoolState = "live";
  destroyCnt = 0;
  detachTime = 0;
  deferWarn = 0;
  /** The pending release_retry timer, or null. */
  retryHandle: unknown = null;
  /** Warnings emitted while a detached pool waited (tests read this). */
  stalledWarnings = 0;

  private constructor(p: PagePoolParams, mp: PoolBinding) {
    this.order = p.order ?? 0;
    this.nid = p.nid ?? NUMA_NO_NODE;
    this.maxLen = p.maxLen ?? 0;
    this.offset = p.offset ?? 0;
    this.flags = p.flags ?? 0;
    this.dmaDir = p.dmaDir ?? "bidirectional";
    this.netdev = p.netdev ?? null;
    this.queueIdx = p.queueIdx ?? 0;
    this.rxq = mp.rxq;
    this.dev = p.dev ?? this.netdev?.dev ?? defaultDmaDevice();
    this.pages = this.dev.pages;
    this.napi = p.napi ?? null;
    this.timers = p.timers ?? realTimers;
    this.log = p.log ?? ((m) => console.warn(m));
    this.dmaMap = (this.flags & PP_FLAG_DMA_MAP) !== 0;
    this.dmaSync = (this.flags & PP_FLAG_DMA_SYNC_DEV) !== 0;
    const poolSize = p.poolSize ?? 0;
    this.ring = new PtrRing(poolSize ? Math.min(poolSize, PP_RING_MAX_SIZE) : PP_RING_DEFAULT_SIZE);
    this.mpOps = mp.ops;
    this.mpPriv = mp.priv;
    this.mpKind = mp.ops ? providerKind(mp.ops) : 0;
    this.netmemSize = PAGE_SIZE << this.order;
    this.recyclePcpu = this.flags & PP_FLAG_SYSTEM_POOL ? systemRecycleStats : newRecyclePcpu();
    this.id = allocPoolId();
  }

  /**
   * page_pool_create() (pool-create.ts): validates params as page_pool_init() does, takes the
   * provider from the rx queue (never from params), calls its init, and unwinds on failure.
   */
  static create(params: PagePoolParams = {}): PagePool {
    return PagePool.createPercpu(params, -1);
  }

  /**
   * page_pool_create_percpu(): a pool owned by CPU `cpuid` (the per-CPU system pools): puts
   * from that CPU's softirq recycle straight into the cache, as napi-local puts do.
   */
  static createPercpu(params: PagePoolParams, cpuid: number): PagePool {
    const b = checkCreate(params, cpuid); // pool-create.ts
    const pool = new PagePool({ ...params, dmaDir: b.dmaDir }, b);
    pool.cpuid = cpuid;
    initAndList(pool);
    return pool;
  }

  /**
   * page_pool_alloc_netmems(): one netmem with pp_ref_count 1, or 0. Caller must be in the
   * pool's NAPI context (the cache has no lock).
   */
  allocNetmem(gfp: number = GFP_ATOMIC): NetmemRef {
    // fast path: never reaches a provider
    if (this.cacheCount > 0) {
      const ref = this.cache[--this.cacheCount];
      this.st[S_FAST]++;
      nm.loc[descHot(ref)] = LOC_INFLIGHT;
      return ref;
    }
    let ref = this.refillAllocCache();
    if (ref === 0) {
      // slow path: the dispatcher calls the bound provider, else allocPagesSlow()
      ref = mpAllocNetmems(this, gfp);
      if (ref === 0) return 0;
    }
    nm.loc[descHot(ref)] = LOC_INFLIGHT;
    return ref;
  }

  /** page_pool_refill_alloc_cache(): up to 64 from the ring into the cache; pop one. */
  private refillAllocCache(): NetmemRef {
    // Model only, off the fast path (destroy emptied the cache, so every allocation after it
    // gets here): the kernel has no check, and a driver allocating from a destroyed pool makes
    // it hold pages forever. The model refuses, and nothing is taken from the ring or provider.
    if (this.state !== "live") this.refuseAfterDestroy("allocNetmem");
    const ring = this.ring;
    if (ring.isEmpty()) {
      this.st[S_EMPTY]++;
      return 0;
    }
    const prefNid = this.nid === NUMA_NO_NODE ? 0 : this.nid;
    let ref = 0;
    do {
      ref = ring.consume();
      if (ref === 0) break;
      // netmem_is_pref_nid(): a net_iov is always "preferred".
      if (isNetIovHot(ref) || this.pages.pageNid(ref) === prefNid) {
        nm.loc[descHot(ref)] = LOC_CACHE;
        this.cache[this.cacheCount++] = ref;
      } else {
        this.returnNetmem(ref);
        this.st[S_WAIVE]++;
        ref = 0;
        break;
      }
    } while (this.cacheCount < PP_ALLOC_CACHE_REFILL);
    if (this.cacheCount > 0) {
      ref = this.cache[--this.cacheCount];
      this.st[S_REFILL]++;
    }
    return ref;
  }

  private refuseAfterDestroy(what: string): never {
    throw new PagePoolError(
      "EINVAL",
      `${what}: pool ${this.id} is destroyed (${this.state}); allocating from it is a driver bug`,
    );
  }

  /**
   * @internal Dispatcher only: __page_pool_alloc_netmems_slow(), the no-provider slow path
   * (pool-slow.ts).
   */
  allocPagesSlow(gfp: number): NetmemRef {
    return allocPagesSlow(this, gfp);
  }

  /** page_pool_alloc_frag_netmem(): `size` bytes of the frag page, offset in outOffset (pool-frag.ts). */
  allocFragNetmem(size: number, gfp: number = GFP_ATOMIC): NetmemRef {
    return allocFragNetmem(this, size, gfp);
  }

  /** page_pool_alloc_netmem(): a page or a frag; offset in outOffset, truesize in outSize. */
  allocNetmemSized(size: number, gfp: number = GFP_ATOMIC): NetmemRef {
    return allocNetmemSized(this, size, gfp);
  }

  /** page_pool_ref_netmem(): one more pp reference (e.g. a second skb frag on the same page). */
  refNetmem(ref: NetmemRef): void {
    checkOwned(this.id, ref, "refNetmem");
    nm.ppRef[netmemDesc(ref)]++;
  }

  /** page_pool_fragment_netmem(): sets pp_ref_count to `n` (the caller splits the page n ways). */
  fragmentNetmem(ref: NetmemRef, n: number): void {
    checkOwned(this.id, ref, "fragmentNetmem");
    if (!Number.isInteger(n) || n < 1 || n > BIAS_MAX)
      throw new PagePoolError("EINVAL", `fragment count must be in [1, ${BIAS_MAX}], got ${n}`);
    nm.ppRef[netmemDesc(ref)] = n;
  }

  /**
   * page_pool_put_netmem(): drops one pp reference; on the last, recycles. `dmaSyncSize` bytes
   * (-1 = whole maxLen) are synced for the device. `allowDirect` says the caller is in the
   * pool's NAPI context; when false the pool still recycles directly if page_pool_napi_local().
   */
  putNetmem(ref: NetmemRef, dmaSyncSize: number, allowDirect: boolean): void {
    checkOwnedHot(this.id, ref, "putNetmem"); // model only
    if (unrefHot(ref, 1) !== 0) return;
    this.putUnrefedNetmem(ref, dmaSyncSize, allowDirect);
  }

  /** page_pool_put_full_netmem(): put with dma_sync_size = -1. */
  putFullNetmem(ref: NetmemRef, allowDirect: boolean): void {
    this.putNetmem(ref, -1, allowDirect);
  }

  /** page_pool_recycle_direct(): caller must be in the pool's NAPI context. */
  recycleDirect(ref: NetmemRef): void {
    this.putNetmem(ref, -1, true);
  }

  /** page_pool_put_unrefed_netmem(): the last reference is already gone. */
  putUnrefedNetmem(ref: NetmemRef, dmaSyncSize: number, allowDirect: boolean): void {
    if (!allowDirect) allowDirect = this.napiLocal();
    const d = descHot(ref);
    // __page_pool_page_can_be_recycled() (canRecycle), inline: a net_iov always; a page only if
    // nobody else holds it and it did not come from the emergency reserves (pfmemalloc).
    if (!isNetIovHot(ref) && (nm.pageRef[d] !== 1 || nm.pfmem[d] !== 0)) {
      this.releaseUnrecyclable(ref);
      return;
    }
    if (this.dmaSync) this.syncForDevice(ref, dmaSyncSize);
    // page_pool_recycle_in_cache() (pool-bulk.ts recycleInCache), written out on this, the single-put hot
    // path: V8 inlines by cumulative bytecode size (920 bytes), and recycleDirect must fit whole
    // into the caller's loop; one helper call more made Node's fast path 1.27x slower.
    if (allowDirect && this.cacheCount < PP_ALLOC_CACHE_SIZE) {
      nm.loc[d] = LOC_CACHE;
      this.cache[this.cacheCount++] = ref;
      this.st[S_CACHED]++;
      this.recyclePcpu[cpu.id * RECYCLE_STRIDE]++; // recycle_stat_inc(pool, cached): this CPU's
      return;
    }
    this.recycleInRing(ref, allowDirect);
  }

  /** The rest of a put that could not go to the cache (out of line: the hot path stays small). */
  private recycleInRing(ref: NetmemRef, triedCache: boolean): void {
    const pc = cpu.id * RECYCLE_STRIDE - S_CACHED; // this CPU's recycle counters, by S_* index
    if (triedCache) {
      this.st[S_CACHE_FULL]++;
      this.recyclePcpu[pc + S_CACHE_FULL]++;
    }
    // page_pool_recycle_in_ring()
    if (this.ring.produce(ref)) {
      nm.loc[netmemDesc(ref)] = LOC_RING;
      this.st[S_RING]++;
      this.recyclePcpu[pc + S_RING]++;
      return;
    }
    this.st[S_RING_FULL]++;
    this.recyclePcpu[pc + S_RING_FULL]++;
    this.returnNetmem(ref);
  }

  /** A page someone else still holds (page_pool_put_unrefed_netmem's released_refcnt branch). */
  private releaseUnrecyclable(ref: NetmemRef): void {
    this.st[S_RELEASED_REFCNT]++;
    this.recyclePcpu[cpu.id * RECYCLE_STRIDE + (S_RELEASED_REFCNT - S_CACHED)]++;
    this.returnNetmem(ref);
  }

  /**
   * page_pool_put_netmem_bulk(): drops one reference on each of `refs[0..n)` (all of this pool)
   * and recycles the survivors, the ring in chunks of XDP_BULK_QUEUE_SIZE (pool-bulk.ts).
   */
  putNetmemBulk(refs: ArrayLike<NetmemRef>, n: number = refs.length): void {
    putNetmemBulk(this, refs, n);
  }

  /** page_pool_napi_local(): may a put from the current context recycle straight into the cache? */
  napiLocal(): boolean {
    if (!cpu.inSoftirq) return false;
    if (this.cpuid === cpu.id) return true;
    const napi = this.napi;
    return napi !== null && napi.listOwner === cpu.id;
  }

  /** @internal page_pool_dma_sync_for_device(). */
  syncForDevice(ref: NetmemRef, dmaSyncSize: number): void {
    if (!this.dmaSync || !this.dev.needSync) return;
    // dma_sync_size is unsigned in the kernel: -1 means "everything up to max_len".
    const len = dmaSyncSize < 0 ? this.maxLen : Math.min(dmaSyncSize, this.maxLen);
    this.dmaSyncBytes += len;
    this.dmaSyncCalls++;
    this.dev.syncForDevice(netmemDmaAddr(ref) + this.offset, len);
  }

  /**
   * @internal Pool and dispatcher only: page_pool_return_netmem(), the netmem leaves the pool for
   * good: to the provider, or unmapped and put back to the page allocator. Counts the release
   * (inflight goes down).
   */
  returnNetmem(ref: NetmemRef): void {
    const put = mpReleaseNetmem(this, ref);
    this.releaseCount++;
    const d = descHot(ref);
    if (put) {
      nm.pp[d] = 0;
      nm.ppRef[d] = 0;
      nm.loc[d] = LOC_FREE;
      this.pages.putPage(ref);
    } else if (nm.pp[d] === this.id) {
      // A provider that keeps the netmem must have detached it (netmemClearPagePool).
      throw new PagePoolError(
        "EFAULT",
        `provider "${this.mpOps?.name}" kept netmem ${ref} without detaching it`,
      );
    }
  }

  /**
   * @internal Dispatcher only: __page_pool_release_netmem_dma(), the no-provider release
   * (pool-slow.ts): unmaps the page unless scrub already did (its DMA index entry is then gone).
   */
  releasePageDma(ref: NetmemRef): void {
    releasePageDma(this, ref);
  }

  /** @internal Returns every netmem of the alloc cache to its owner (scrub, update_nid). */
  flushCache(): void {
    while (this.cacheCount > 0) this.returnNetmem(this.cache[--this.cacheCount]);
  }

  /** In-flight netmems: held minus released (page_pool_inflight). */
  get inflight(): number {
    return this.holdCount - this.releaseCount;
  }

  /** page_pool_get_stats(): alloc counters, and recycle counters summed over every CPU. */
  get stats(): PagePoolStats {
    return statsFromArray(sumStats(this.st, this.recyclePcpu, new Float64Array(NUM_STATS)));
  }

  /** One CPU's recycle counters (what this_cpu_inc() on that CPU added), model introspection. */
  recycleStatsOnCpu(id: number): PagePoolStats["recycle"] {
    return recycleStatsOnCpu(this.recyclePcpu, id);
  }

  /** netlink page-pool-get (pool-netlink.ts). */
  describe(): PagePoolDescription {
    return describePool(this);
  }

  /** Model only: the conservation audit (pool-audit.ts). */
  audit(): AuditReport {
    return auditPool(this);
  }

  /** page_pool_destroy(): frees the pool now, or detaches it until the last netmem is back (pool-destroy.ts). */
  destroy(): void {
    destroyPool(this);
  }

  /**
   * page_pool_update_nid(): the driver moved the queue's IRQ to another node. The alloc cache is
   * flushed back; pages of the old node still in the ring are waived on refill (`waive`).
   * Caller must be in the pool's NAPI context.
   */
  updateNid(nid: number): void {
    if (!Number.isInteger(nid) || nid < NUMA_NO_NODE)
      throw new PagePoolError("EINVAL", `nid must be >= -1, got ${nid}`);
    this.nid = nid;
    // Flush the alloc cache, as refill checks the NUMA node (the ring is checked on refill).
    this.flushCache();
  }
}
