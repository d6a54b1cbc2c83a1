/**
 * The user's side of zcrx, as liburing's examples/zcrx.c does it: read a completion, find the
 * bytes at `area + (off & ~AREA_MASK)`, and hand the buffer back through the refill ring with
 * `rqe.off = (off & ~AREA_MASK) | area_token`, `rqe.len = res`, then store-release the tail.
 *
 * Built from a plain ZcrxUserDescriptor (SharedArrayBuffers and numbers), so it works the same in
 * the thread that runs the pool or in a Worker. It is the refill ring's only producer and the
 * completion ring's only consumer: one ZcrxUser per ifq at a time.
 *
 * Unlike the liburing example, which drops a buffer when the refill ring is full (it stays with
 * the user until scrub), `returnBuffer` reports a full ring (returns false and counts it) so the
 * caller can retry after the kernel side consumed some entries.
 *
 * Hot loop allocates nothing: the last completion is exposed through fields, and `data()` (which
 * makes a view) is a convenience for tests and examples.
 */
import { PagePoolError } from "../../core/errors.ts";
import {
  AREA_SHIFT_HI,
  CQ_CLOSED_W,
  CQE_FLAGS,
  CQE_OFF_HI,
  CQE_OFF_LO,
  CQE_RES,
  ENTRIES_W,
  HEAD_W,
  OFF_HI_MASK,
  RING_ENTRIES_OFF,
  RING_HEAD_OFF,
  RING_TAIL_OFF,
  RQE_LEN,
  RQE_OFF_HI,
  RQE_OFF_LO,
  RQE_PAD,
  ringBytes,
  TAIL_W,
  type ZcrxUserDescriptor,
} from "./uapi.ts";

function isPow2(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export class ZcrxUser {
  /** The whole area: the buffer of the last completion is `area[off, off + len)`. */
  readonly area: Uint8Array;
  readonly areaId: number;
  /** rq_area_token's hi word (area_id << 16), or-ed into every returned `off`. */
  readonly #tokenHi: number;
  readonly #rq: Uint32Array;
  readonly #rqI32: Int32Array;
  readonly #rqMask: number;
  readonly rqEntries: number;
  /** The user's private refill tail (rq_ring.rq_tail in the example). */
  #rqTail = 0;
  readonly #cq: Uint32Array;
  readonly #cqI32: Int32Array;
  readonly #cqMask: number;
  readonly cqEntries: number;
  #cqHead = 0;

  // The last completion read (valid after readCompletion() returned true).
  /** Byte offset of the data in the area (the low 48 bits of the completion's off). */
  off = 0;
  /** Bytes received (cqe->res). */
  len = 0;
  flags = 0;
  /** The raw words of the completion's `off`, area id included. */
  offLo = 0;
  offHi = 0;

  /** Completions read. */
  received = 0;
  /** Buffers handed back through the refill ring. */
  returned = 0;
  /** Returns refused because the refill ring was full (reported, never dropped silently). */
  rqFull = 0;

  constructor(desc: ZcrxUserDescriptor) {
    const bad = (what: string): never => {
      throw new PagePoolError("EINVAL", `ZcrxUser: ${what}`);
    };
    if (typeof desc !== "object" || desc === null) bad("descriptor must be an object");
    if (!(desc.rqSab instanceof SharedArrayBuffer) || !(desc.cqSab instanceof SharedArrayBuffer))
      bad("rqSab and cqSab must be SharedArrayBuffers");
    if (!(desc.areaSab instanceof SharedArrayBuffer)) bad("areaSab must be a SharedArrayBuffer");
    if (!isPow2(desc.rqEntries) || !isPow2(desc.cqEntries)) bad("ring sizes must be powers of two");
    if (desc.rqSab.byteLength < ringBytes(desc.rqEntries)) bad("rqSab is smaller than its ring");
    if (desc.cqSab.byteLength < ringBytes(desc.cqEntries)) bad("cqSab is smaller than its ring");
    const o = desc.offsets;
    if (!o || o.head !== RING_HEAD_OFF || o.tail !== RING_TAIL_OFF || o.rqes !== RING_ENTRIES_OFF)
      bad("ring offsets do not match this model's layout");
    if (!Number.isInteger(desc.areaId) || desc.areaId < 0 || desc.areaId > 0xffff)
      bad("areaId must be a u16");
    if (desc.areaSize !== desc.areaSab.byteLength) bad("areaSize does not match areaSab");
    if (desc.rqAreaToken !== BigInt(desc.areaId) << 48n) bad("rqAreaToken must be areaId << 48");
    this.area = new Uint8Array(desc.areaSab);
    this.areaId = desc.areaId;
    this.#tokenHi = (desc.areaId << AREA_SHIFT_HI) >>> 0;
    this.rqEntries = desc.rqEntries;
    this.#rqMask = desc.rqEntries - 1;
    this.#rq = new Uint32Array(desc.rqSab);
    this.#rqI32 = new Int32Array(desc.rqSab);
    this.cqEntries = desc.cqEntries;
    this.#cqMask = desc.cqEntries - 1;
    this.#cq = new Uint32Array(desc.cqSab);
    this.#cqI32 = new Int32Array(desc.cqSab);
    // Pick up where a previous user of the same rings stopped (the rings outlive a user object).
    this.#rqTail = Atomics.load(this.#rq, TAIL_W);
    this.#cqHead = Atomics.load(this.#cq, HEAD_W);
  }

  /** Completions waiting (load-acquire of the kernel's tail). */
  pending(): number {
    return (Atomics.load(this.#cq, TAIL_W) - this.#cqHead) >>> 0;
  }

  /**
   * Reads the next completion into `off/len/flags/offLo/offHi` and consumes it (store-release of
   * the head, so the kernel may reuse the slot). False when there is none.
   */
  readCompletion(): boolean {
    const cq = this.#cq;
    if (Atomics.load(cq, TAIL_W) === this.#cqHead) return false;
    const w = ENTRIES_W + ((this.#cqHead & this.#cqMask) << 2);
    const lo = cq[w + CQE_OFF_LO];
    const hi = cq[w + CQE_OFF_HI];
    this.offLo = lo;
    this.offHi = hi;
    this.off = (hi & OFF_HI_MASK) * 2 ** 32 + lo;
    this.len = cq[w + CQE_RES];
    this.flags = cq[w + CQE_FLAGS];
    this.#cqHead = (this.#cqHead + 1) >>> 0;
    Atomics.store(cq, HEAD_W, this.#cqHead);
    // Wake a kernel side waiting for room (CompletionRingKernel.waitForSpace).
    Atomics.notify(this.#cqI32, HEAD_W, 1);
    this.received++;
    return true;
  }

  /** A view of the last completion's bytes (allocates a view; the hot path reads `area` directly). */
  data(): Uint8Array {
    return this.area.subarray(this.off, this.off + this.len);
  }

  /**
   * Hands the last completion's buffer back: `rqe.off = (off & ~AREA_MASK) | area_token`,
   * `rqe.len = res`. False (and counted in rqFull) when the refill ring is full.
   */
  returnBuffer(): boolean {
    return this.returnRaw(this.offLo, (this.offHi & OFF_HI_MASK) | this.#tokenHi, this.len, 0);
  }

  /**
   * Writes any refill entry and publishes it: the building block of returnBuffer, and how a test
   * plays a buggy or hostile user (wrong area, bad index, non-zero pad, doubled returns). False
   * (counted in rqFull) when the ring is full: `tail - acquire(head) == entries`.
   */
  returnRaw(offLo: number, offHi: number, len: number, pad: number): boolean {
    const rq = this.#rq;
    if ((this.#rqTail - Atomics.load(rq, HEAD_W)) >>> 0 >= this.rqEntries) {
      this.rqFull++;
      return false;
    }
    const w = ENTRIES_W + ((this.#rqTail & this.#rqMask) << 2);
    rq[w + RQE_OFF_LO] = offLo;
    rq[w + RQE_OFF_HI] = offHi;
    rq[w + RQE_LEN] = len;
    rq[w + RQE_PAD] = pad;
    this.#rqTail = (this.#rqTail + 1) >>> 0;
    Atomics.store(rq, TAIL_W, this.#rqTail); // io_uring_smp_store_release(rq_ring.ktail, ++rq_tail)
    Atomics.notify(this.#rqI32, TAIL_W, 1);
    this.returned++;
    return true;
  }

  /** Free refill slots right now. */
  rqSpace(): number {
    return this.rqEntries - ((this.#rqTail - Atomics.load(this.#rq, HEAD_W)) >>> 0);
  }

  /**
   * Blocks until the kernel consumed refill entries (the ring has room), the ifq closes, or
   * `timeoutMs` passes. Returns rqSpace().
   */
  waitRqSpace(timeoutMs: number): number {
    const head = Atomics.load(this.#rq, HEAD_W);
    if ((this.#rqTail - head) >>> 0 >= this.rqEntries && !this.closed())
      Atomics.wait(this.#rqI32, HEAD_W, head | 0, timeoutMs);
    return this.rqSpace();
  }

  /** Whether the kernel side shut the ifq down (model only: see CQ_CLOSED_W). */
  closed(): boolean {
    return Atomics.load(this.#cq, CQ_CLOSED_W) !== 0;
  }

  /**
   * Blocks (Atomics.wait) until a completion is pending, the ifq closes, or `timeoutMs` passes.
   * For a Worker; a thread that must not block polls pending() instead. Returns pending().
   */
  waitCompletion(timeoutMs: number): number {
    const tail = Atomics.load(this.#cq, TAIL_W);
    if (tail === this.#cqHead && !this.closed()) Atomics.wait(this.#cqI32, TAIL_W, tail | 0, timeoutMs);
    return this.pending();
  }
}
