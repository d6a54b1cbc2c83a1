/**
 * The kernel's side of zcrx's two shared rings, over SharedArrayBuffers (uapi.ts has the layout).
 *
 * Memory ordering. The kernel pairs smp_store_release / smp_load_acquire on head and tail: the
 * producer writes an entry with plain stores, then store-releases the new tail; the consumer
 * load-acquires the tail, reads entries below it, then store-releases the new head so the
 * producer may reuse those slots. JavaScript's Atomics.load/store are sequentially consistent,
 * which is stronger than acquire/release and gives the same guarantee for the plain (non-atomic)
 * entry words around them (ECMAScript memory model: a SC store synchronises-with the SC load that
 * reads it). Each side keeps its own index privately (cached head or tail) and never trusts the
 * other side's word for anything but "how far may I go", clamped to the ring size, as the kernel
 * does: a user writing garbage into head or tail can waste entries but cannot make the kernel
 * read out of bounds.
 *
 * Indices are free-running u32 counters; `(a - b) >>> 0` is the distance across wrap-around.
 */
import { PagePoolError } from "../../core/errors.ts";
import {
  CQ_CLOSED_W,
  CQE_FLAGS,
  CQE_OFF_HI,
  CQE_OFF_LO,
  CQE_RES,
  ENTRIES_W,
  HEAD_W,
  IO_CQ_MAX_ENTRIES,
  IO_RQ_MAX_ENTRIES,
  ringBytes,
  TAIL_W,
} from "./uapi.ts";

function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * io_register_zcrx_ifq()'s rq_entries rule: 0 or a non-integer is EINVAL; above
 * IO_RQ_MAX_ENTRIES it is EINVAL unless `clamp` (IORING_SETUP_CLAMP), which caps it; the result is
 * rounded up to a power of two.
 */
export function rqEntriesFor(requested: unknown, clamp = false): number {
  if (typeof requested !== "number" || !Number.isInteger(requested) || requested <= 0)
    throw new PagePoolError(
      "EINVAL",
      `zcrx: rq_entries must be a positive integer, got ${String(requested)}`,
    );
  let n = requested;
  if (n > IO_RQ_MAX_ENTRIES) {
    if (!clamp)
      throw new PagePoolError(
        "EINVAL",
        `zcrx: rq_entries ${n} is above IO_RQ_MAX_ENTRIES (${IO_RQ_MAX_ENTRIES}); pass clamp to cap it`,
      );
    n = IO_RQ_MAX_ENTRIES;
  }
  return roundUpPow2(n);
}

/** Completion ring size: the same shape of rule, bounded by IO_CQ_MAX_ENTRIES (always EINVAL above). */
export function cqEntriesFor(requested: unknown): number {
  if (typeof requested !== "number" || !Number.isInteger(requested) || requested <= 0)
    throw new PagePoolError(
      "EINVAL",
      `zcrx: cq_entries must be a positive integer, got ${String(requested)}`,
    );
  if (requested > IO_CQ_MAX_ENTRIES)
    throw new PagePoolError("EINVAL", `zcrx: cq_entries ${requested} is above ${IO_CQ_MAX_ENTRIES}`);
  return roundUpPow2(requested);
}

/**
 * The refill queue as the kernel sees it: consumer side. Only the pool's NAPI context consumes
 * (io_zcrx_ring_refill holds rq_lock; here the single-threaded NAPI is the lock).
 */
export class RefillRingKernel {
  readonly sab: SharedArrayBuffer;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly entries: number;
  readonly mask: number;
  /** ifq->cached_rq_head: the kernel's private consumer index. */
  cachedHead = 0;

  constructor(entries: number) {
    this.entries = entries;
    this.mask = entries - 1;
    this.sab = new SharedArrayBuffer(ringBytes(entries));
    this.u32 = new Uint32Array(this.sab);
    this.i32 = new Int32Array(this.sab);
  }

  /**
   * Model only: blocks the calling thread until the user publishes a new tail or `timeoutMs`
   * passes (a NAPI loop with nothing to do while a Worker user holds every buffer). Returns available().
   */
  waitForEntries(timeoutMs: number): number {
    const tail = Atomics.load(this.u32, TAIL_W);
    if (tail === this.cachedHead) Atomics.wait(this.i32, TAIL_W, tail | 0, timeoutMs);
    return this.available();
  }

  /** io_zcrx_rqring_entries(): load-acquire the user's tail; at most `entries` are trusted. */
  available(): number {
    const n = (Atomics.load(this.u32, TAIL_W) - this.cachedHead) >>> 0;
    return Math.min(n, this.entries);
  }

  /** io_zcrx_get_rqe(): word index of the next entry; advances the private head. */
  nextEntryWord(): number {
    const w = ENTRIES_W + ((this.cachedHead & this.mask) << 2);
    this.cachedHead = (this.cachedHead + 1) >>> 0;
    return w;
  }

  /** smp_store_release(&rq_ring->head, cached_rq_head): hands the consumed slots back. */
  publishHead(): void {
    Atomics.store(this.u32, HEAD_W, this.cachedHead);
    // Wake a user thread blocked on a full refill ring (ZcrxUser.waitRqSpace).
    Atomics.notify(this.i32, HEAD_W, 1);
  }
}

/** The completion queue: producer side (the kernel posts, the user consumes). */
export class CompletionRingKernel {
  readonly sab: SharedArrayBuffer;
  readonly u32: Uint32Array;
  /** The same words as Int32Array: Atomics.notify/wait only take signed views. */
  readonly i32: Int32Array;
  readonly entries: number;
  readonly mask: number;
  /** The kernel's private producer index. */
  cachedTail = 0;

  constructor(entries: number) {
    this.entries = entries;
    this.mask = entries - 1;
    this.sab = new SharedArrayBuffer(ringBytes(entries));
    this.u32 = new Uint32Array(this.sab);
    this.i32 = new Int32Array(this.sab);
  }

  /** Entries the user has not consumed yet (its head is untrusted: clamped to the ring size). */
  pending(): number {
    const n = (this.cachedTail - Atomics.load(this.u32, HEAD_W)) >>> 0;
    return Math.min(n, this.entries);
  }

  /**
   * Posts one completion and store-releases the tail. Returns false, writing nothing, when the
   * ring is full (the kernel's io_defer_get_uncommited_cqe failing: -ENOSPC to the caller).
   */
  post(offLo: number, offHi: number, res: number, flags: number): boolean {
    const u32 = this.u32;
    if ((this.cachedTail - Atomics.load(u32, HEAD_W)) >>> 0 >= this.entries) return false;
    const w = ENTRIES_W + ((this.cachedTail & this.mask) << 2);
    u32[w + CQE_OFF_LO] = offLo;
    u32[w + CQE_OFF_HI] = offHi;
    u32[w + CQE_RES] = res;
    u32[w + CQE_FLAGS] = flags;
    this.cachedTail = (this.cachedTail + 1) >>> 0;
    Atomics.store(u32, TAIL_W, this.cachedTail);
    // Wake a user thread blocked in Atomics.wait on the tail (ZcrxUser.waitCompletion).
    Atomics.notify(this.i32, TAIL_W, 1);
    return true;
  }

  /**
   * Model only: blocks until the user consumed completions (the ring has room) or `timeoutMs`
   * passes. Returns the free slots.
   */
  waitForSpace(timeoutMs: number): number {
    const head = Atomics.load(this.u32, HEAD_W);
    if ((this.cachedTail - head) >>> 0 >= this.entries) Atomics.wait(this.i32, HEAD_W, head | 0, timeoutMs);
    return this.entries - this.pending();
  }

  /** Model only: tells a user thread no more completions will come (see CQ_CLOSED_W). */
  close(): void {
    Atomics.store(this.u32, CQ_CLOSED_W, 1);
    Atomics.notify(this.i32, TAIL_W);
  }
}
