/**
 * io_zcrx_ifq: one io_uring zero-copy receive interface queue. It owns the user area, the refill
 * ring (user → kernel) and the completion ring (kernel → user), and is the `mpPriv` of every page
 * pool created for the rx queue it is bound to. This file holds the kernel's side of io_uring/zcrx.c:
 * refill from the ring and from the freelist (called by the provider ops), receive, the copy
 * fallback, scrub, and teardown. The user's side is user.ts.
 *
 * Threads: everything here runs on the "kernel" thread (the NAPI context for refill, the receive
 * path for recvFrag/copyChunk, process context for the control path). The only memory shared
 * with a user thread is the two rings and the area's bytes.
 */
import { PagePoolError } from "../../core/errors.ts";
import type { NetDevice } from "../../core/netdev.ts";
import {
  LOC_FREE,
  LOC_INFLIGHT,
  LOC_NAMES,
  LOC_USER,
  type NetmemRef,
  nm,
  PAGE_SIZE,
  unrefNetmem,
} from "../../core/netmem.ts";
import type { DmaDevice, PageAllocator } from "../../core/page-alloc.ts";
import { poolsById } from "../../core/pool-table.ts";
import { netmemPlaceInCache, netmemSetPagePool, type PoolView } from "../../core/provider.ts";
import { PP_ALLOC_CACHE_REFILL } from "../../core/types.ts";
import { ZcrxArea } from "./area.ts";
import { CompletionRingKernel, RefillRingKernel } from "./ring.ts";
import {
  AREA_SHIFT_HI,
  IORING_CQE_F_MORE,
  OFF_HI_MASK,
  RING_OFFSETS,
  RQE_OFF_HI,
  RQE_OFF_LO,
  RQE_PAD,
  type ZcrxUserDescriptor,
} from "./uapi.ts";

/** Negative errno results of the receive path (runtime conditions the caller handles, not bugs). */
export const ZCRX_ENOMEM = -12;
export const ZCRX_ENODEV = -19;
export const ZCRX_ENOSPC = -28;

/**
 * What the ifq did, per kind. The kernel keeps none of these: it skips bad refill entries
 * silently (`continue`). The model counts every skipped kind so tests, the simulator and a user
 * can see that a forged or doubled return was seen and ignored.
 */
export class ZcrxCounters {
  /** Refill-ring entries consumed (valid or not). */
  rqConsumed = 0;
  /** Skipped: `__pad` was not zero. */
  rqBadPad = 0;
  /** Skipped: the area id in `off` is not this ifq's area. */
  rqBadArea = 0;
  /** Skipped: the net_iov index is beyond the area. */
  rqBadIndex = 0;
  /** Skipped: user_refs was 0, so the user did not hold that buffer (forged or doubled return). */
  rqNotHeld = 0;
  /** Valid, but not the last pp reference (the stack still holds the buffer too): nothing to recycle. */
  rqNotLastRef = 0;
  /** Valid and last, and the net_iov belongs to this pool: synced and placed in the alloc cache. */
  rqRecycled = 0;
  /**
   * Last reference dropped outside the pool's own refill (a refill entry for a net_iov of another,
   * older pool, or scrub): handed to the owning pool (io_zcrx_return_niov).
   */
  toOwnerPool = 0;
  /** The same for a copy-fallback net_iov (no pool): straight back to the freelist. */
  toFreelist = 0;
  /** Net_iovs moved from the freelist into a pool's cache (io_zcrx_refill_slow). */
  freelistRefills = 0;
  /** Completions posted (zero-copy and copy). */
  cqPosted = 0;
  /** Receives refused because the completion ring was full (reported as ZCRX_ENOSPC). */
  cqFull = 0;
  /** Copy fallback: chunks (one net_iov each) and bytes copied. */
  copyChunks = 0;
  copyBytes = 0;
  /** Copy fallback found the freelist empty (reported as ZCRX_ENOMEM when nothing was copied). */
  copyNoMem = 0;
  /** Scrub: net_iovs the user still held, and the user references taken back. */
  scrubbedNiovs = 0;
  scrubbedRefs = 0;
}

export interface ZcrxAuditReport {
  ok: boolean;
  problems: string[];
  /** Net_iovs on the freelist. */
  free: number;
  /** Net_iovs attached to a pool (cache, ring, in flight, or with the user through a pool). */
  inPools: number;
  /** Copy-fallback net_iovs with the user (no pool). */
  userCopies: number;
  /** Sum of user_refs. */
  userRefs: number;
}

export type ZcrxIfqState = "live" | "shutdown" | "freed";

export class ZcrxIfq {
  readonly area: ZcrxArea;
  readonly rq: RefillRingKernel;
  readonly cq: CompletionRingKernel;
  readonly dev: DmaDevice;
  /** The device's page allocator: page fragments handed to recvFrag come from it. */
  readonly pages: PageAllocator;
  readonly queueIdx: number;
  /** ifq->netdev; dropped by uninstall or closeQueue. */
  netdev: NetDevice | null;
  readonly c = new ZcrxCounters();
  state: ZcrxIfqState = "live";
  /** Whether the provider is bound to the rx queue (net_mp_open_rxq done, close not yet). */
  bound = false;
  /** Pools created with this ifq that are not yet destroyed (the ctx references they hold). */
  livePools = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;

  constructor(
    netdev: NetDevice,
    queueIdx: number,
    opts: { numNiovs: number; areaId: number; rqEntries: number; cqEntries: number; niovShift?: number },
  ) {
    this.netdev = netdev;
    this.dev = netdev.dev;
    this.pages = netdev.dev.pages;
    this.queueIdx = queueIdx;
    this.rq = new RefillRingKernel(opts.rqEntries);
    this.cq = new CompletionRingKernel(opts.cqEntries);
    this.area = new ZcrxArea(opts.numNiovs, opts.areaId, this, opts.niovShift);
  }

  // ------------------------------------------------------------------ refill (NAPI context)

  /**
   * io_zcrx_ring_refill(): consumes up to PP_ALLOC_CACHE_REFILL - cacheCount refill entries,
   * validating each as the kernel does, and publishes the new head. Caller: zcrxAllocNetmems, in
   * the pool's NAPI context (the ring's sole consumer, so no lock).
   */
  refillFromRing(pool: PoolView): void {
    const rq = this.rq;
    let entries = rq.available();
    const room = PP_ALLOC_CACHE_REFILL - pool.cacheCount;
    if (entries > room) entries = room;
    if (entries <= 0) return;
    const u32 = rq.u32;
    const area = this.area;
    const userRefs = area.userRefs;
    const base = area.base;
    const areaId = area.id;
    const shift = area.niovShift;
    const c = this.c;
    c.rqConsumed += entries;
    for (; entries > 0; entries--) {
      const w = rq.nextEntryWord();
      const hi = u32[w + RQE_OFF_HI];
      if (u32[w + RQE_PAD] !== 0) {
        c.rqBadPad++;
        continue;
      }
      if (hi >>> AREA_SHIFT_HI !== areaId) {
        c.rqBadArea++;
        continue;
      }
      // niov index = low 48 bits of off >> 12, computed without leaving exact double arithmetic.
      const idx = (hi & OFF_HI_MASK) * 2 ** (32 - shift) + (u32[w + RQE_OFF_LO] >>> shift);
      if (idx >= area.numNiovs) {
        c.rqBadIndex++;
        continue;
      }
      // io_zcrx_put_niov_uref(): a buffer the user does not hold is ignored (forged or doubled).
      if (userRefs[idx] === 0) {
        c.rqNotHeld++;
        continue;
      }
      userRefs[idx]--;
      const ref = ((base + idx) << 1) | 1;
      if (unrefNetmem(ref, 1) !== 0) {
        c.rqNotLastRef++;
        continue;
      }
      if (nm.pp[base + idx] !== pool.id) {
        this.returnNiov(ref);
        continue;
      }
      this.#syncForDevice(pool, base + idx);
      netmemPlaceInCache(pool, ref);
      c.rqRecycled++;
    }
    rq.publishHead();
  }

  /**
   * io_zcrx_refill_slow(): moves free net_iovs into the pool's cache, up to PP_ALLOC_CACHE_REFILL,
   * attaching each (hold count up). Caller: zcrxAllocNetmems when the ring gave nothing.
   */
  refillFromFreelist(pool: PoolView): void {
    const area = this.area;
    while (area.freeCount > 0 && pool.cacheCount < PP_ALLOC_CACHE_REFILL) {
      const idx = area.freelist[--area.freeCount];
      const ref = ((area.base + idx) << 1) | 1;
      netmemSetPagePool(pool, ref);
      this.#syncForDevice(pool, area.base + idx);
      netmemPlaceInCache(pool, ref);
      this.c.freelistRefills++;
    }
  }

  /**
   * io_zcrx_return_niov(): the last reference to a net_iov dropped outside its pool's refill. A
   * copy-fallback net_iov (no pool) goes back to the freelist; one attached to a pool is handed
   * to that pool as an unrefed put (it recycles it or releases it to releaseNetmem).
   */
  returnNiov(ref: NetmemRef): void {
    const d = ref >>> 1;
    const ppId = nm.pp[d];
    if (ppId === 0) {
      this.area.pushFree(d - this.area.base);
      this.c.toFreelist++;
      return;
    }
    const owner = poolsById.get(ppId);
    if (owner === undefined)
      throw new PagePoolError("EFAULT", `zcrx: net_iov ${ref} is attached to pool ${ppId}, which is gone`);
    this.c.toOwnerPool++;
    owner.putUnrefedNetmem(ref, -1, false);
  }

  /** io_zcrx_sync_for_device(): one net_iov-sized sync at the net_iov's DMA address + pool offset. */
  #syncForDevice(pool: PoolView, d: number): void {
    const dev = pool.dev;
    if (dev.needSync) dev.syncForDevice(nm.dma[d] + pool.offset, this.area.niovSize);
  }

  /** io_pp_zc_release_netmem()'s work: detach and push to the freelist. */
  releaseToFreelist(ref: NetmemRef): void {
    const idx = this.area.indexOf(ref);
    if (idx < 0)
      throw new PagePoolError(
        "EFAULT",
        `zcrx: releaseNetmem got netmem ${ref}, not a net_iov of this ifq's area`,
      );
    this.area.pushFree(idx);
  }

  // ------------------------------------------------------------------ receive

  /**
   * io_zcrx_recv_frag(): the stack delivers `len` bytes at `off` in `ref` to the user. A net_iov
   * of this ifq's pool is posted zero-copy: a completion with off = (off + idx * 4096) | area_id << 48,
   * then one more pp reference (so it cannot recycle while the user reads it) and user_refs++.
   * A host page goes through the copy fallback. Returns `len` (or the bytes copied), or
   * ZCRX_ENOSPC when the completion ring is full (nothing taken: the caller still owns its
   * reference), ZCRX_ENOMEM when a copy found no free net_iov, ZCRX_ENODEV after shutdown.
   * Throws EFAULT for a net_iov that is not from a pool of this ifq (a driver bug; the kernel
   * returns -EFAULT), EINVAL for a range outside the buffer.
   */
  recvFrag(ref: NetmemRef, off: number, len: number): number {
    if (this.state !== "live") return ZCRX_ENODEV;
    if (!(ref & 1)) {
      if (ref <= 0 || !Number.isInteger(ref))
        throw new PagePoolError("EINVAL", `zcrx: recvFrag got invalid netmem ${ref}`);
      const bytes = PAGE_SIZE << this.pages.orderOf(ref); // throws for a page not from this allocator
      checkRange(off, len, bytes);
      return this.copyChunk(this.pages.memory, this.pages.offsetOf(ref) + off, len);
    }
    checkRange(off, len, this.area.niovSize);
    const area = this.area;
    const idx = area.indexOf(ref);
    const d = ref >>> 1;
    const pool = idx < 0 ? undefined : poolsById.get(nm.pp[d]);
    if (pool === undefined || pool.mpPriv !== this || pool.mpOps?.name !== "zcrx")
      throw new PagePoolError(
        "EFAULT",
        `zcrx: recvFrag got netmem ${ref}, not a net_iov of a zcrx pool of this ifq`,
      );
    if (nm.loc[d] !== LOC_INFLIGHT)
      throw new PagePoolError(
        "EINVAL",
        `zcrx: recvFrag got net_iov ${ref} that is not in flight (it is in the ${LOC_NAMES[nm.loc[d]]})`,
      );
    if (!this.#postCqe(idx, off, len)) return ZCRX_ENOSPC;
    // Prevent recycling while the user reads it; taken before the user reference, as the kernel.
    pool.refNetmem(ref);
    area.userRefs[idx]++;
    return len;
  }

  /**
   * io_zcrx_copy_chunk(): copies `len` bytes from `src[srcOff..]` into free net_iovs, one per
   * 4 KiB, each posted as a completion with pp_ref 1 and no pool (LOC_USER). Returns the bytes
   * copied, or (when nothing was copied) ZCRX_ENOMEM / ZCRX_ENOSPC. Used for page fragments and
   * the skb linear part.
   */
  copyChunk(src: Uint8Array, srcOff: number, len: number): number {
    if (this.state !== "live") return ZCRX_ENODEV;
    if (
      !Number.isInteger(srcOff) ||
      !Number.isInteger(len) ||
      srcOff < 0 ||
      len <= 0 ||
      srcOff + len > src.length
    )
      throw new PagePoolError(
        "EINVAL",
        `zcrx: copy of [${srcOff}, +${len}) is outside the source (${src.length} bytes)`,
      );
    const area = this.area;
    const dst = area.bytes;
    let copied = 0;
    let ret = 0;
    while (len > 0) {
      const idx = area.popFree();
      if (idx < 0) {
        this.c.copyNoMem++;
        ret = ZCRX_ENOMEM;
        break;
      }
      const d = area.base + idx;
      nm.ppRef[d] = 1; // page_pool_fragment_netmem(niov, 1) with niov->pp still NULL
      nm.loc[d] = LOC_USER;
      const n = Math.min(len, this.area.niovSize);
      // A byte loop, not dst.set(src.subarray(...)): subarray would allocate a view per chunk.
      const o = idx * this.area.niovSize;
      for (let i = 0; i < n; i++) dst[o + i] = src[srcOff + i];
      if (!this.#postCqe(idx, 0, n)) {
        area.pushFree(idx);
        ret = ZCRX_ENOSPC;
        break;
      }
      area.userRefs[idx]++;
      this.c.copyChunks++;
      this.c.copyBytes += n;
      srcOff += n;
      len -= n;
      copied += n;
    }
    return copied > 0 ? copied : ret;
  }

  /** io_zcrx_queue_cqe(): off = (fragOff + idx << niov_shift) | area_id << 48, res = len, F_MORE. */
  #postCqe(idx: number, fragOff: number, len: number): boolean {
    const off = idx * this.area.niovSize + fragOff; // < 2^48: exact
    const hi = Math.floor(off / 2 ** 32) | (this.area.id << AREA_SHIFT_HI);
    if (!this.cq.post(off >>> 0, hi >>> 0, len, IORING_CQE_F_MORE)) {
      this.c.cqFull++;
      return false;
    }
    this.c.cqPosted++;
    return true;
  }

  // ------------------------------------------------------------------ teardown

  /**
   * io_zcrx_scrub(): takes back every buffer the user still holds: for each net_iov with
   * user_refs > 0, takes all of them at once and drops that many pp references; a net_iov whose
   * last reference that was goes back to its pool or the freelist. Returns the net_iovs touched.
   */
  scrub(): number {
    const area = this.area;
    let touched = 0;
    for (let i = 0; i < area.numNiovs; i++) {
      const nr = area.userRefs[i];
      if (nr === 0) continue;
      area.userRefs[i] = 0; // atomic_xchg(uref, 0) in the kernel
      touched++;
      this.c.scrubbedNiovs++;
      this.c.scrubbedRefs += nr;
      const ref = area.niov(i);
      if (unrefNetmem(ref, nr) === 0) this.returnNiov(ref);
    }
    return touched;
  }

  /**
   * io_close_queue(): unbinds the provider from the rx queue (the queue restarts; its driver
   * re-creates its pool without the provider). Pools created while bound keep working until they
   * drain. Idempotent.
   */
  closeQueue(): void {
    const netdev = this.netdev;
    this.netdev = null;
    if (!this.bound) return;
    this.bound = false;
    if (netdev?.registered && netdev.rxQueue(this.queueIdx).mpParams.priv === this)
      netdev.unbindRxQueue(this.queueIdx, this);
  }

  /**
   * io_shutdown_zcrx_ifqs() for this ifq: scrub, then close the queue. Afterwards receives return
   * ZCRX_ENODEV and the completion ring is marked closed for a user thread. Idempotent.
   */
  shutdown(): void {
    if (this.state !== "live") return;
    this.state = "shutdown";
    this.scrub();
    this.closeQueue();
    this.cq.close();
  }

  /**
   * io_zcrx_ifq_free(): once every pool that used the ifq is destroyed, shuts the ifq down (if
   * not yet) and frees the area. Every net_iov is then on the freelist.
   *
   * Model departure: the kernel's ring exit work shuts the ifqs down, then waits for the ctx
   * references the pools hold, then frees; nothing fails. A model call cannot wait, so free()
   * refuses with EBUSY while a pool still lives, and refuses before doing anything: a refused
   * free leaves the ifq exactly as it was (still live and bound if it was). Call shutdown()
   * first, as the exit work does, to scrub and close the queue so the driver drops its pool.
   */
  free(): void {
    if (this.state === "freed") return;
    if (this.livePools > 0)
      throw new PagePoolError(
        "EBUSY",
        `zcrx: ${this.livePools} page pool(s) still use this ifq; shut it down and destroy them first`,
      );
    this.shutdown();
    this.area.unmap(this.dev);
    this.area.dispose();
    this.state = "freed";
  }

  // ------------------------------------------------------------------ user side and introspection

  /** A structured-cloneable description of the shared memory, for `new ZcrxUser(desc)` in any thread. */
  userDescriptor(): ZcrxUserDescriptor {
    return {
      rqSab: this.rq.sab,
      rqEntries: this.rq.entries,
      cqSab: this.cq.sab,
      cqEntries: this.cq.entries,
      offsets: { ...RING_OFFSETS },
      areaSab: this.area.sab,
      areaSize: this.area.size,
      areaId: this.area.id,
      niovShift: this.area.niovShift,
      rqAreaToken: BigInt(this.area.id) << 48n,
    };
  }

  /**
   * Conservation check over the area: every net_iov is in exactly one place (the freelist, a
   * pool, or with the user as a copy), the freelist has no duplicates, user references are only
   * held on buffers that can carry them.
   */
  audit(): ZcrxAuditReport {
    const problems: string[] = [];
    const area = this.area;
    const onFree = new Uint8Array(area.numNiovs);
    for (let k = 0; k < area.freeCount; k++) {
      const i = area.freelist[k];
      if (i >= area.numNiovs) problems.push(`freelist slot ${k} holds out-of-range index ${i}`);
      else if (onFree[i]) problems.push(`net_iov ${i} is on the freelist twice`);
      else onFree[i] = 1;
    }
    let free = 0;
    let inPools = 0;
    let userCopies = 0;
    let userRefs = 0;
    for (let i = 0; i < area.numNiovs; i++) {
      const d = area.base + i;
      const u = area.userRefs[i];
      userRefs += u;
      if (u < 0) problems.push(`net_iov ${i} has user_refs ${u}`);
      if (onFree[i]) {
        free++;
        if (nm.pp[d] !== 0 || nm.loc[d] !== LOC_FREE || u !== 0)
          problems.push(
            `net_iov ${i} is on the freelist but pp ${nm.pp[d]}, ${LOC_NAMES[nm.loc[d]]}, user_refs ${u}`,
          );
      } else if (nm.pp[d] !== 0) {
        inPools++;
        if (!poolsById.has(nm.pp[d]))
          problems.push(`net_iov ${i} is attached to pool ${nm.pp[d]}, which is gone`);
        if (u > 0 && (nm.loc[d] !== LOC_INFLIGHT || u >= nm.ppRef[d] + 1))
          problems.push(
            `net_iov ${i}: user holds ${u} but it is ${LOC_NAMES[nm.loc[d]]} with pp_ref_count ${nm.ppRef[d]}`,
          );
      } else {
        userCopies++;
        if (nm.loc[d] !== LOC_USER || u !== 1 || nm.ppRef[d] !== 1)
          problems.push(
            `net_iov ${i} is neither free nor in a pool: ${LOC_NAMES[nm.loc[d]]}, user_refs ${u}, pp_ref_count ${nm.ppRef[d]}`,
          );
      }
    }
    return { ok: problems.length === 0, problems, free, inPools, userCopies, userRefs };
  }
}

function checkRange(off: number, len: number, size: number): void {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len <= 0 || off + len > size)
    throw new PagePoolError("EINVAL", `zcrx: fragment [${off}, +${len}) is outside the ${size}-byte buffer`);
}
