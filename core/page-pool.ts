/**
 * PagePool: net/core/page_pool.c in TypeScript. Names follow the kernel's in camelCase.
 *
 * Concurrency contract, as in the kernel: allocation, the alloc cache and direct recycling belong
 * to the pool's NAPI context (one consumer, no locks); puts from elsewhere go through the ring.
 * The model is single-threaded, so "elsewhere" is expressed with napiRun()/onCpu() in netdev.ts.
 *
 * Hot paths (allocNetmem, putNetmem, recycleDirect, allocFragNetmem) allocate no objects: refs
 * are integers and per-netmem state lives in the typed arrays of netmem.ts.
 */
import { mpAllocNetmems, mpDestroy, mpInit, mpNlFill, mpReleaseNetmem, providerKind } from "#dispatch";
import { PagePoolError } from "./errors.ts";
import { cpu, type Napi, type NetDevice, type RxQueue } from "./netdev.ts";
import {
  descriptorLimit,
  LOC_CACHE,
  LOC_FREE,
  LOC_INFLIGHT,
  LOC_NAMES,
  LOC_RING,
  NET_IOV,
  type NetmemRef,
  nm,
  PAGE_SIZE,
} from "./netmem.ts";
import {
  type DmaDevice,
  defaultDmaDevice,
  MAX_PAGE_ORDER,
  NUMA_NO_NODE,
  type PageAllocator,
} from "./page-alloc.ts";
import { type MemoryProviderOps, mpStaticKey } from "./provider.ts";
import { PtrRing } from "./ptr-ring.ts";
import {
  NUM_STATS,
  type PagePoolStats,
  S_CACHE_FULL,
  S_CACHED,
  S_EMPTY,
  S_FAST,
  S_REFILL,
  S_RELEASED_REFCNT,
  S_RING,
  S_RING_FULL,
  S_SLOW,
  S_SLOW_HIGH_ORDER,
  S_WAIVE,
  statsFromArray,
} from "./stats.ts";
import { realTimers, type Timers } from "./timers.ts";

// --- constants (include/net/page_pool/types.h, net/core/page_pool.c) ---
export const PP_ALLOC_CACHE_SIZE = 128;
export const PP_ALLOC_CACHE_REFILL = 64;
export const PP_RING_DEFAULT_SIZE = 1024;
export const PP_RING_MAX_SIZE = 16384;
export const PP_FLAG_DMA_MAP = 1 << 0;
export const PP_FLAG_DMA_SYNC_DEV = 1 << 1;
export const PP_FLAG_SYSTEM_POOL = 1 << 2;
export const PP_FLAG_ALLOW_UNREADABLE_NETMEM = 1 << 3;
export const PP_FLAG_ALL =
  PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_SYSTEM_POOL | PP_FLAG_ALLOW_UNREADABLE_NETMEM;
export const DEFER_TIME_MS = 1000;
export const DEFER_WARN_INTERVAL_MS = 60_000;
/**
 * BIAS_MAX is LONG_MAX >> 1 in the kernel. pp_ref_count lives in an Int32Array here, so the
 * model uses 2^30 - 1: still far above any real number of fragment users.
 */
export const BIAS_MAX = 0x3fff_ffff;
/** Chunk size of page_pool_put_netmem_bulk (XDP_BULK_QUEUE_SIZE). */
export const XDP_BULK_QUEUE_SIZE = 16;

export const GFP_ATOMIC = 0x1;
export const GFP_KERNEL = 0x2;
export const __GFP_NOWARN = 0x200;

export type DmaDir = "bidirectional" | "to-device" | "from-device" | "none";

export interface PagePoolParams {
  // fast group
  order?: number;
  /** ptr_ring size: 0 means the default 1024; otherwise min(poolSize, 16384). */
  poolSize?: number;
  nid?: number;
  /** The DMA device (pages are mapped for it). Default: the netdev's, else the host default. */
  dev?: DmaDevice;
  /** The NAPI instance that is the pool's sole consumer; puts from it may recycle directly. */
  napi?: Napi | null;
  dmaDir?: DmaDir;
  /** Bytes the device may write; the upper bound of sync-for-device. */
  maxLen?: number;
  /** Offset of the DMA area in the page (sync-for-device starts there). */
  offset?: number;
  // slow group
  netdev?: NetDevice | null;
  queueIdx?: number;
  flags?: number;
  /** Model only: timers for the deferred destroy (default real, unref'd timers). */
  timers?: Timers;
  /** Model only: where warnings go (default console.warn). */
  log?: (msg: string) => void;
}

/** One pool's netlink page-pool-get answer. */
export interface PagePoolDescription {
  id: number;
  ifindex?: number;
  napiId?: number;
  inflight: number;
  inflightMem: number;
  detachTime?: number;
  [providerAttr: string]: unknown;
}

export interface AuditReport {
  ok: boolean;
  problems: string[];
  cache: number;
  ring: number;
  inflight: number;
  hold: number;
  release: number;
}

let nextPoolId = 1;
/** Live pools by id (netmem->pp points here). Entries are removed when a pool is freed. */
export const poolsById = new Map<number, PagePool>();

type PoolState = "live" | "detached" | "freed";

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
  /** The 11 counters, indexed by the S_* constants of stats.ts. */
  readonly st = new Float64Array(NUM_STATS);

  /** pages_state_hold_cnt / pages_state_release_cnt. */
  holdCount = 0;
  releaseCount = 0;

  // frag state
  fragPage: NetmemRef = 0;
  fragOffset = 0;
  fragUsers = 0;
  /** Out slots of allocFragNetmem/allocNetmemSized (the kernel's `unsigned int *offset, *size`). */
  outOffset = 0;
  outSize = 0;

  /**
   * Bytes one netmem holds: PAGE_SIZE << order, unless the provider set a smaller buffer size in
   * its init (providerSetNetmemSize). The frag API carves within it and inflightMem counts it.
   * Model extension: in the kernel a net_iov is never smaller than a page (zcrx's later
   * niov_shift only grows it, and then the pool's order must match).
   */
  netmemSize: number;

  /** DMA sync-for-device work done on recycle (bytes and calls). */
  dmaSyncBytes = 0;
  dmaSyncCalls = 0;

  // memory provider (copied from the rx queue at creation)
  readonly mpOps: MemoryProviderOps | null;
  mpPriv: unknown;
  /** Small integer of the provider in the generated registry (0 = none): the if-chain's key. */
  readonly mpKind: number;

  // teardown
  state: PoolState = "live";
  destroyCnt = 0;
  detachTime = 0;
  deferWarn = 0;
  #retry: unknown = null;
  /** Warnings emitted while a detached pool waited (tests read this). */
  stalledWarnings = 0;

  private constructor(
    p: PagePoolParams,
    mp: { ops: MemoryProviderOps | null; priv: unknown; rxq: RxQueue | null },
  ) {
    this.order = p.order ?? 0;
    this.nid = p.nid ?? NUMA_NO_NODE;
    this.maxLen = p.maxLen ?? 0;
    this.offset = p.offset ?? 0;
    this.flags = p.flags ?? 0;
    this.dmaDir = p.dmaDir ?? "from-device";
    this.netdev = p.netdev ?? null;
    this.queueIdx = p.queueIdx ?? -1;
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
    this.id = nextPoolId++;
  }

  /**
   * page_pool_create(): validates params as page_pool_init() does, takes the provider from the
   * rx queue (never from params), calls its init, and unwinds on failure.
   */
  static create(params: PagePoolParams = {}): PagePool {
    const p = params;
    const flags = p.flags ?? 0;
    const intField = (name: string, v: unknown, min: number, max: number) => {
      if (v === undefined) return;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
        throw new PagePoolError("EINVAL", `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
    };
    intField("flags", p.flags, 0, 0x7fff_ffff);
    if (flags & ~PP_FLAG_ALL)
      throw new PagePoolError("EINVAL", `flags: unknown flag bits 0x${(flags & ~PP_FLAG_ALL).toString(16)}`);
    intField("order", p.order, 0, 31);
    intField("poolSize", p.poolSize, 0, 0x7fff_ffff);
    intField("maxLen", p.maxLen, 0, 0x7fff_ffff);
    intField("offset", p.offset, 0, 0x7fff_ffff);
    intField("nid", p.nid, -1, 63);
    if (p.queueIdx !== undefined) intField("queueIdx", p.queueIdx, 0, 1023);
    const dmaDir = p.dmaDir ?? "from-device";
    if (!["bidirectional", "to-device", "from-device", "none"].includes(dmaDir))
      throw new PagePoolError(
        "EINVAL",
        `dmaDir must be one of bidirectional, to-device, from-device, none; got ${String(dmaDir)}`,
      );
    if (flags & PP_FLAG_DMA_MAP && dmaDir !== "from-device" && dmaDir !== "bidirectional")
      throw new PagePoolError(
        "EINVAL",
        `dmaDir must be from-device or bidirectional with PP_FLAG_DMA_MAP, got ${dmaDir}`,
      );
    if (flags & PP_FLAG_DMA_SYNC_DEV) {
      if (!(flags & PP_FLAG_DMA_MAP))
        throw new PagePoolError("EINVAL", "flags: PP_FLAG_DMA_SYNC_DEV requires PP_FLAG_DMA_MAP");
      if (!p.maxLen) throw new PagePoolError("EINVAL", "maxLen must be non-zero with PP_FLAG_DMA_SYNC_DEV");
    }
    let rxq: RxQueue | null = null;
    let ops: MemoryProviderOps | null = null;
    let priv: unknown = null;
    if (flags & PP_FLAG_ALLOW_UNREADABLE_NETMEM) {
      if (!p.netdev || p.queueIdx === undefined)
        throw new PagePoolError(
          "EINVAL",
          "queueIdx (and netdev) required with PP_FLAG_ALLOW_UNREADABLE_NETMEM",
        );
      rxq = p.netdev.rxQueue(p.queueIdx);
      ops = rxq.mpParams.ops;
      priv = rxq.mpParams.priv;
    } else if (p.netdev && p.queueIdx !== undefined) {
      rxq = p.netdev.rxQueue(p.queueIdx);
    }

    const pool = new PagePool({ ...p, dmaDir }, { ops, priv, rxq });
    if (ops) {
      // Providers need the pool to map and sync (they then turn off what they do not need).
      if (!pool.dmaMap || !pool.dmaSync)
        throw new PagePoolError(
          "EOPNOTSUPP",
          "a memory provider needs flags PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV",
        );
      // The kernel WARNs unless mp_ops is in rodata; here: frozen and in the generated registry.
      if (!Object.isFrozen(ops) || pool.mpKind === 0)
        throw new PagePoolError("EFAULT", `provider "${ops.name}" ops are not a frozen, registered table`);
      mpInit(pool); // throws to refuse; nothing else was set up yet, so nothing to unwind
      mpStaticKey.count++;
    } else if (pool.order > MAX_PAGE_ORDER) {
      throw new PagePoolError(
        "EINVAL",
        `order must be <= MAX_PAGE_ORDER (${MAX_PAGE_ORDER}), got ${pool.order}`,
      );
    }
    poolsById.set(pool.id, pool);
    rxq?.pools.add(pool);
    return pool;
  }

  // ------------------------------------------------------------------ allocation

  /**
   * page_pool_alloc_netmems(): one netmem with pp_ref_count 1, or 0. Caller must be in the
   * pool's NAPI context (the cache has no lock).
   */
  allocNetmem(gfp: number = GFP_ATOMIC): NetmemRef {
    // fast path: never reaches a provider
    if (this.cacheCount > 0) {
      const ref = this.cache[--this.cacheCount];
      this.st[S_FAST]++;
      nm.loc[ref >>> 1] = LOC_INFLIGHT;
      return ref;
    }
    let ref = this.#refillAllocCache();
    if (ref === 0) {
      // slow path: the dispatcher calls the bound provider, else allocPagesSlow()
      ref = mpAllocNetmems(this, gfp);
      if (ref === 0) return 0;
    }
    nm.loc[ref >>> 1] = LOC_INFLIGHT;
    return ref;
  }

  /** page_pool_refill_alloc_cache(): up to 64 from the ring into the cache; pop one. */
  #refillAllocCache(): NetmemRef {
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
      if (ref & NET_IOV || this.pages.pageNid(ref) === prefNid) {
        nm.loc[ref >>> 1] = LOC_CACHE;
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

  /**
   * __page_pool_alloc_netmems_slow(): the no-provider slow path. Order 0: bulk 64 pages into the
   * cache and pop one; higher orders: one compound page. Called by the dispatcher only.
   */
  allocPagesSlow(_gfp: number): NetmemRef {
    if (this.order > 0) return this.#allocPageOrder();
    // Unnecessary, as the cache is empty, but keeps the count at zero (as the kernel does).
    if (this.cacheCount > 0) return this.cache[--this.cacheCount];
    const n = this.pages.allocPagesBulk(this.nid, PP_ALLOC_CACHE_REFILL, this.cache, 0);
    if (n === 0) return 0;
    const cache = this.cache;
    for (let i = 0; i < n; i++) {
      const ref = cache[i];
      if (this.dmaMap && !this.#dmaMap(ref)) {
        this.pages.putPage(ref);
        continue;
      }
      this.#setPpInfo(ref);
      nm.loc[ref >>> 1] = LOC_CACHE;
      cache[this.cacheCount++] = ref;
      this.holdCount++;
    }
    if (this.cacheCount === 0) return 0;
    this.st[S_SLOW]++;
    return cache[--this.cacheCount];
  }

  #allocPageOrder(): NetmemRef {
    const ref = this.pages.allocPages(this.order, this.nid);
    if (ref === 0) return 0;
    if (this.dmaMap && !this.#dmaMap(ref)) {
      this.pages.putPage(ref);
      return 0;
    }
    this.holdCount++;
    this.#setPpInfo(ref);
    this.st[S_SLOW_HIGH_ORDER]++;
    return ref;
  }

  #setPpInfo(ref: NetmemRef): void {
    const d = ref >>> 1;
    nm.pp[d] = this.id;
    nm.ppRef[d] = 1;
  }

  /** page_pool_dma_map(): maps the whole PAGE_SIZE << order once, on entry to the pool. */
  #dmaMap(ref: NetmemRef): boolean {
    const addr = this.dev.mapPage(ref);
    if (addr === 0) return false;
    nm.dma[ref >>> 1] = addr;
    // Sync the whole area once for the device, as the kernel does on first map.
    this.#syncForDevice(ref, this.maxLen);
    return true;
  }

  /**
   * page_pool_alloc_frag_netmem(): carves `size` bytes (aligned to the device's cache alignment)
   * from the pool's current frag page. The offset is left in `pool.outOffset`. Each frag costs no
   * atomic; the page carries a BIAS_MAX count that is drained once when the page is used up.
   */
  allocFragNetmem(size: number, gfp: number = GFP_ATOMIC): NetmemRef {
    const maxSize = this.netmemSize;
    if (!(size > 0 && size <= maxSize)) {
      // WARN_ON(size > max_size) in the kernel; a non-positive size is also a caller bug.
      throw new PagePoolError("EINVAL", `frag size must be in [1, ${maxSize}], got ${size}`);
    }
    const align = this.dev.cacheAlignment;
    size = (size + align - 1) & ~(align - 1);
    let ref = this.fragPage;
    const offset = this.fragOffset;
    if (ref !== 0 && offset + size > maxSize) {
      ref = this.#drainFrag(ref);
      if (ref !== 0) {
        // The page came back with no other user: reuse it at once.
        this.fragPage = ref;
        this.st[S_CACHED]++;
        this.st[S_FAST]++;
        this.fragUsers = 1;
        this.outOffset = 0;
        this.fragOffset = size;
        nm.ppRef[ref >>> 1] = BIAS_MAX;
        nm.loc[ref >>> 1] = LOC_INFLIGHT;
        return ref;
      }
    }
    if (ref === 0) {
      ref = this.allocNetmem(gfp);
      if (ref === 0) {
        this.fragPage = 0;
        return 0;
      }
      this.fragPage = ref;
      this.fragUsers = 1;
      this.outOffset = 0;
      this.fragOffset = size;
      nm.ppRef[ref >>> 1] = BIAS_MAX; // page_pool_fragment_netmem(netmem, BIAS_MAX)
      return ref;
    }
    this.fragUsers++;
    this.outOffset = offset;
    this.fragOffset = offset + size;
    return ref;
  }

  /**
   * page_pool_alloc_netmem(): a whole page when `size * 2 > PAGE_SIZE << order`, else a frag.
   * Leaves the offset in `outOffset` and the true size in `outSize` (extended to the page end
   * when no further frag would fit, for truesize accounting).
   */
  allocNetmemSized(size: number, gfp: number = GFP_ATOMIC): NetmemRef {
    const maxSize = this.netmemSize;
    if (size * 2 > maxSize) {
      this.outSize = maxSize;
      this.outOffset = 0;
      return this.allocNetmem(gfp);
    }
    const ref = this.allocFragNetmem(size, gfp);
    if (ref === 0) return 0;
    this.outSize = size;
    if (this.fragOffset + size > maxSize) {
      this.outSize = maxSize - this.outOffset;
      this.fragOffset = maxSize;
    }
    return ref;
  }

  /** page_pool_drain_frag(): returns the frag page if its last user is gone, else 0. */
  #drainFrag(ref: NetmemRef): NetmemRef {
    const drain = BIAS_MAX - this.fragUsers;
    this.fragPage = 0;
    if (unrefNetmem(ref, drain) !== 0) return 0; // some frag user still holds it
    if (this.#canRecycle(ref)) {
      this.#syncForDevice(ref, -1);
      return ref;
    }
    this.returnNetmem(ref);
    return 0;
  }

  /** page_pool_free_frag(): drops the pool's bias on the current frag page (destroy). */
  #freeFrag(): void {
    const ref = this.fragPage;
    this.fragPage = 0;
    if (ref === 0 || unrefNetmem(ref, BIAS_MAX - this.fragUsers) !== 0) return;
    this.returnNetmem(ref);
  }

  // ------------------------------------------------------------------ references

  /** page_pool_ref_netmem(): one more pp reference (e.g. a second skb frag on the same page). */
  refNetmem(ref: NetmemRef): void {
    this.#checkOwned(ref, "refNetmem");
    nm.ppRef[ref >>> 1]++;
  }

  /** page_pool_fragment_netmem(): sets pp_ref_count to `n` (the caller splits the page n ways). */
  fragmentNetmem(ref: NetmemRef, n: number): void {
    this.#checkOwned(ref, "fragmentNetmem");
    if (!Number.isInteger(n) || n < 1 || n > BIAS_MAX)
      throw new PagePoolError("EINVAL", `fragment count must be in [1, ${BIAS_MAX}], got ${n}`);
    nm.ppRef[ref >>> 1] = n;
  }

  // ------------------------------------------------------------------ release

  /**
   * page_pool_put_netmem(): drops one pp reference; on the last, recycles. `dmaSyncSize` bytes
   * (-1 = whole maxLen) are synced for the device. `allowDirect` says the caller is in the
   * pool's NAPI context; when false the pool still recycles directly if page_pool_napi_local().
   */
  putNetmem(ref: NetmemRef, dmaSyncSize: number, allowDirect: boolean): void {
    this.#checkOwned(ref, "putNetmem");
    if (unrefNetmem(ref, 1) !== 0) return;
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
    if (this.#canRecycle(ref)) {
      this.#syncForDevice(ref, dmaSyncSize);
      if (allowDirect) {
        // page_pool_recycle_in_cache()
        if (this.cacheCount < PP_ALLOC_CACHE_SIZE) {
          nm.loc[ref >>> 1] = LOC_CACHE;
          this.cache[this.cacheCount++] = ref;
          this.st[S_CACHED]++;
          return;
        }
        this.st[S_CACHE_FULL]++;
      }
      // page_pool_recycle_in_ring()
      if (this.ring.produce(ref)) {
        nm.loc[ref >>> 1] = LOC_RING;
        this.st[S_RING]++;
        return;
      }
      this.st[S_RING_FULL]++;
      this.returnNetmem(ref);
      return;
    }
    this.st[S_RELEASED_REFCNT]++;
    this.returnNetmem(ref);
  }

  /**
   * page_pool_put_netmem_bulk(): drops one reference on each of `refs[0..n)` (all of this pool),
   * evaluates napi-local once, and produces the survivors into the ring in chunks of
   * XDP_BULK_QUEUE_SIZE under one producer-lock hold each. As in the kernel, a full ring counts
   * `ring_full` once per chunk and the rest of that chunk is released uncounted.
   */
  putNetmemBulk(refs: ArrayLike<NetmemRef>, n: number = refs.length): void {
    for (let i = 0; i < n; i++) this.#checkOwned(refs[i], "putNetmemBulk");
    const allowDirect = this.napiLocal();
    const bulk = this.#bulk;
    let len = 0;
    for (let i = 0; i < n; i++) {
      const ref = refs[i];
      if (unrefNetmem(ref, 1) !== 0) continue;
      if (!this.#canRecycle(ref)) {
        this.st[S_RELEASED_REFCNT]++;
        this.returnNetmem(ref);
        continue;
      }
      this.#syncForDevice(ref, -1);
      if (allowDirect) {
        if (this.cacheCount < PP_ALLOC_CACHE_SIZE) {
          nm.loc[ref >>> 1] = LOC_CACHE;
          this.cache[this.cacheCount++] = ref;
          this.st[S_CACHED]++;
          continue;
        }
        this.st[S_CACHE_FULL]++;
      }
      bulk[len++] = ref;
      if (len === XDP_BULK_QUEUE_SIZE) {
        this.#recycleRingBulk(len);
        len = 0;
      }
    }
    if (len > 0) this.#recycleRingBulk(len);
  }

  readonly #bulk = new Int32Array(XDP_BULK_QUEUE_SIZE);

  /** page_pool_recycle_ring_bulk(). */
  #recycleRingBulk(len: number): void {
    const bulk = this.#bulk;
    let i = 0;
    for (; i < len; i++) {
      if (!this.ring.produce(bulk[i])) {
        this.st[S_RING_FULL]++;
        break;
      }
      nm.loc[bulk[i] >>> 1] = LOC_RING;
    }
    this.st[S_RING] += i;
    for (; i < len; i++) this.returnNetmem(bulk[i]);
  }

  /** page_pool_napi_local(): may a put from the current context recycle straight into the cache? */
  napiLocal(): boolean {
    if (!cpu.inSoftirq) return false;
    if (this.cpuid === cpu.id) return true;
    const napi = this.napi;
    return napi !== null && napi.listOwner === cpu.id;
  }

  /** __page_pool_page_can_be_recycled(): a net_iov always; a page only if nobody else holds it. */
  #canRecycle(ref: NetmemRef): boolean {
    return (ref & NET_IOV) !== 0 || nm.pageRef[ref >>> 1] === 1;
  }

  #syncForDevice(ref: NetmemRef, dmaSyncSize: number): void {
    if (!this.dmaSync || !this.dev.needSync) return;
    // dma_sync_size is unsigned in the kernel: -1 means "everything up to max_len".
    const len = dmaSyncSize < 0 ? this.maxLen : Math.min(dmaSyncSize, this.maxLen);
    this.dmaSyncBytes += len;
    this.dmaSyncCalls++;
    this.dev.syncForDevice(nm.dma[ref >>> 1] + this.offset, len);
  }

  /**
   * page_pool_return_netmem(): the netmem leaves the pool for good: to the provider, or unmapped
   * and put back to the page allocator. Counts the release (inflight goes down).
   */
  returnNetmem(ref: NetmemRef): void {
    const put = mpReleaseNetmem(this, ref);
    this.releaseCount++;
    const d = ref >>> 1;
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

  /** __page_pool_release_page_dma(): the default (no provider) release; called by the dispatcher. */
  releasePageDma(ref: NetmemRef): void {
    if (!this.dmaMap) return;
    const d = ref >>> 1;
    if (nm.dma[d] === 0) return; // already unmapped by scrub
    this.dev.unmapPage(ref);
    nm.dma[d] = 0;
  }

  #checkOwned(ref: NetmemRef, what: string): void {
    const d = ref >>> 1;
    if (ref <= 0 || d >= nm.pp.length || nm.pp[d] !== this.id || (ref & NET_IOV) !== nm.iov[d])
      throw new PagePoolError("EINVAL", `${what}: netmem ${ref} does not belong to pool ${this.id}`);
    if (nm.loc[d] !== LOC_INFLIGHT)
      throw new PagePoolError(
        "EINVAL",
        `${what}: netmem ${ref} is not in flight (it is in the ${LOC_NAMES[nm.loc[d]]}): double put?`,
      );
  }

  // ------------------------------------------------------------------ introspection

  /** In-flight netmems: held minus released (page_pool_inflight). */
  get inflight(): number {
    return this.holdCount - this.releaseCount;
  }

  /** page_pool_get_stats(). */
  get stats(): PagePoolStats {
    return statsFromArray(this.st);
  }

  /** netlink page-pool-get. */
  describe(): PagePoolDescription {
    const d: PagePoolDescription = {
      id: this.id,
      inflight: this.inflight,
      inflightMem: this.inflight * this.netmemSize,
    };
    if (this.netdev) d.ifindex = this.netdev.ifindex;
    if (this.napi) d.napiId = this.napi.id;
    if (this.state !== "live") d.detachTime = Math.floor(this.detachTime / 1000);
    const extra = mpNlFill(this);
    if (extra) Object.assign(d, extra);
    return d;
  }

  /**
   * Conservation check: every netmem attached to this pool is in exactly one place (cache, ring,
   * in flight), the cache and ring hold no duplicates, and hold - release = cache + ring + inflight >= 0.
   */
  audit(): AuditReport {
    const problems: string[] = [];
    const seen = new Set<number>();
    const check = (ref: number, where: string, loc: number) => {
      const d = ref >>> 1;
      if (ref === 0) problems.push(`${where}: empty slot inside the live range`);
      else if (seen.has(ref)) problems.push(`netmem ${ref} appears twice (${where})`);
      else if (nm.pp[d] !== this.id) problems.push(`netmem ${ref} in ${where} belongs to pool ${nm.pp[d]}`);
      else if (nm.loc[d] !== loc)
        problems.push(`netmem ${ref} in ${where} is marked ${LOC_NAMES[nm.loc[d]]}`);
      else if (nm.ppRef[d] !== 1)
        problems.push(`netmem ${ref} in ${where} has pp_ref_count ${nm.ppRef[d]} (want 1)`);
      seen.add(ref);
    };
    for (let i = 0; i < this.cacheCount; i++) check(this.cache[i], "cache", LOC_CACHE);
    this.ring.forEach((ref) => {
      check(ref, "ring", LOC_RING);
    });
    let inflight = 0;
    let cacheMarked = 0;
    let ringMarked = 0;
    const lim = descriptorLimit();
    for (let d = 1; d < lim; d++) {
      if (nm.pp[d] !== this.id) continue;
      const loc = nm.loc[d];
      if (loc === LOC_INFLIGHT) {
        inflight++;
        if (nm.ppRef[d] < 1) problems.push(`in-flight descriptor ${d} has pp_ref_count ${nm.ppRef[d]}`);
      } else if (loc === LOC_CACHE) cacheMarked++;
      else if (loc === LOC_RING) ringMarked++;
      else problems.push(`descriptor ${d} is attached to pool ${this.id} but marked ${LOC_NAMES[loc]}`);
    }
    if (cacheMarked !== this.cacheCount)
      problems.push(`${cacheMarked} netmems marked cache, cache holds ${this.cacheCount}`);
    const ringCount = this.ring.count();
    if (ringMarked !== ringCount) problems.push(`${ringMarked} netmems marked ring, ring holds ${ringCount}`);
    const held = this.holdCount - this.releaseCount;
    if (held < 0)
      problems.push(`inflight is negative: hold ${this.holdCount} - release ${this.releaseCount}`);
    if (held !== this.cacheCount + ringCount + inflight)
      problems.push(
        `hold - release = ${held}, but cache ${this.cacheCount} + ring ${ringCount} + in flight ${inflight}`,
      );
    return {
      ok: problems.length === 0,
      problems,
      cache: this.cacheCount,
      ring: ringCount,
      inflight,
      hold: this.holdCount,
      release: this.releaseCount,
    };
  }

  // ------------------------------------------------------------------ teardown

  /**
   * page_pool_destroy(): stops direct recycling, drops the frag page, empties cache and ring back
   * to the provider or page allocator, and frees the pool if nothing is in flight. Otherwise the
   * pool is detached and re-checked every DEFER_TIME; it is freed (and the provider's destroy
   * called, once) at the first check after the last netmem came back.
   */
  destroy(): void {
    if (this.state !== "live") throw new PagePoolError("EINVAL", `pool ${this.id} is already destroyed`);
    // page_pool_disable_direct_recycling()
    this.cpuid = -1;
    this.napi = null;
    this.#freeFrag();
    const inflight = this.#release();
    if (inflight === 0) return;
    this.state = "detached";
    this.detachTime = this.timers.now();
    this.deferWarn = this.detachTime + DEFER_WARN_INTERVAL_MS;
    this.#retry = this.timers.setTimeout(() => this.#releaseRetry(), DEFER_TIME_MS);
  }

  /** page_pool_release(): scrub, then free if nothing is in flight. Returns inflight. */
  #release(): number {
    this.#scrub();
    const inflight = this.inflight;
    if (inflight === 0) this.#free();
    return inflight;
  }

  /** page_pool_scrub(): empty the cache once, stop syncing, empty the ring. */
  #scrub(): void {
    if (this.destroyCnt === 0) {
      while (this.cacheCount > 0) this.returnNetmem(this.cache[--this.cacheCount]);
      // Model: the kernel (6.15+) also unmaps in-flight pages here via its dma_mapped xarray;
      // this model leaves them mapped until they come back, then unmaps them on release.
      this.dmaSync = false;
    }
    this.destroyCnt++;
    for (let ref = this.ring.consume(); ref !== 0; ref = this.ring.consume()) {
      if (!(ref & NET_IOV) && nm.pageRef[ref >>> 1] !== 1)
        this.log(`page_pool_empty_ring(): page ${ref} refcount != 1`);
      this.returnNetmem(ref);
    }
  }

  #releaseRetry(): void {
    this.#retry = null;
    if (this.state !== "detached") return;
    const inflight = this.#release();
    // A driver bug can make inflight negative; the kernel does not retry then.
    if (inflight <= 0) {
      if (inflight < 0)
        this.log(`page_pool_release_retry(): pool ${this.id} inflight ${inflight} < 0, giving up`);
      return;
    }
    const now = this.timers.now();
    // The kernel warns only for pools netlink cannot show (no netdev any more).
    if (now >= this.deferWarn && (this.netdev === null || !this.netdev.registered)) {
      const sec = Math.floor((now - this.detachTime) / 1000);
      this.stalledWarnings++;
      this.log(
        `page_pool_release_retry() stalled pool shutdown: id ${this.id}, ${inflight} inflight ${sec} sec`,
      );
      this.deferWarn = now + DEFER_WARN_INTERVAL_MS;
    }
    this.#retry = this.timers.setTimeout(() => this.#releaseRetry(), DEFER_TIME_MS);
  }

  /** __page_pool_destroy() + page_pool_uninit(). */
  #free(): void {
    this.state = "freed";
    if (this.#retry !== null) this.timers.clearTimeout(this.#retry);
    this.#retry = null;
    if (this.mpOps) {
      mpDestroy(this);
      mpStaticKey.count--;
    }
    poolsById.delete(this.id);
    this.rxq?.pools.delete(this);
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
    while (this.cacheCount > 0) this.returnNetmem(this.cache[--this.cacheCount]);
  }

  /** The pool's net device went away (page_pool_unreg_netdev): the pool becomes invisible. */
  netdevGone(): void {
    this.netdev = null;
  }
}

/**
 * page_pool_unref_netmem(): drops `nr` pp references and returns what is left; 0 means the
 * caller dropped the last one (the count is then reset to 1, as the kernel does, so every
 * netmem in the cache or ring reads 1).
 */
export function unrefNetmem(ref: NetmemRef, nr: number): number {
  const d = ref >>> 1;
  const cur = nm.ppRef[d];
  if (cur === nr) {
    nm.ppRef[d] = 1;
    return 0;
  }
  const left = cur - nr;
  if (left < 0) {
    throw new PagePoolError("EFAULT", `netmem ${ref}: pp_ref_count underflow (${cur} - ${nr})`);
  }
  nm.ppRef[d] = left;
  return left;
}
