/**
 * ptr_ring (include/linux/ptr_ring.h) as the page_pool uses it: a fixed array where a non-zero
 * slot means "full". The consumer clears consumed slots lazily, in batches of 16 (two cache
 * lines of pointers on x86-64), so a producer can see a slot as still full for a while after it
 * was consumed: a real source of `ring_full` that a plain counter ring would hide.
 *
 * Locking is not modelled: the caller is the pool, which is single-threaded in this model
 * (the kernel's producer and consumer spinlocks keep their sides exclusive the same way).
 */
import type { NetmemRef } from "./netmem.ts";

const SMP_CACHE_BYTES = 64;
const PTR_SIZE = 8;

export class PtrRing {
  readonly size: number;
  readonly queue: Int32Array;
  readonly batch: number;
  producer = 0;
  consumerHead = 0;
  consumerTail = 0;

  constructor(size: number) {
    this.size = size;
    this.queue = new Int32Array(size);
    let batch = (SMP_CACHE_BYTES * 2) / PTR_SIZE;
    if (batch > size / 2 || batch === 0) batch = 1;
    this.batch = batch;
  }

  /** __ptr_ring_produce(): false when the slot at the producer is still occupied (full). */
  produce(ref: NetmemRef): boolean {
    const q = this.queue;
    if (this.size === 0 || q[this.producer] !== 0) return false;
    q[this.producer++] = ref;
    if (this.producer >= this.size) this.producer = 0;
    return true;
  }

  /** __ptr_ring_empty(). */
  isEmpty(): boolean {
    return this.size === 0 || this.queue[this.consumerHead] === 0;
  }

  /** __ptr_ring_consume(): the oldest entry, or 0 when empty. */
  consume(): NetmemRef {
    if (this.size === 0) return 0;
    const q = this.queue;
    const ref = q[this.consumerHead];
    if (ref === 0) return 0;
    // __ptr_ring_discard_one: clear consumed slots in batches.
    let consumerHead = this.consumerHead;
    let head = consumerHead++;
    if (consumerHead - this.consumerTail >= this.batch || consumerHead >= this.size) {
      while (head >= this.consumerTail) q[head--] = 0;
      this.consumerTail = consumerHead;
    }
    if (consumerHead >= this.size) {
      consumerHead = 0;
      this.consumerTail = 0;
    }
    this.consumerHead = consumerHead;
    return ref;
  }

  /** Entries waiting to be consumed (control path: audit, describe). */
  count(): number {
    if (this.size === 0 || this.queue[this.consumerHead] === 0) return 0;
    const n = (this.producer - this.consumerHead + this.size) % this.size;
    return n === 0 ? this.size : n;
  }

  /** Calls `fn` for each waiting entry, oldest first (control path). */
  forEach(fn: (ref: NetmemRef) => void): void {
    const n = this.count();
    for (let i = 0; i < n; i++) fn(this.queue[(this.consumerHead + i) % this.size]);
  }
}
