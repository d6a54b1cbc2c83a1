/**
 * A first-fit index allocator over a bitmap (bit set = free), the shape of the kernel's
 * gen_pool_first_fit and of xa_alloc: both hand out the lowest free index. Used for the
 * binding's chunk pool (one bit per 4 KiB net_iov) and for a socket's token ids.
 *
 * alloc() scans from a hint (the lowest word that may hold a free bit), so a run of allocations
 * is amortised O(1); free() lowers the hint. No objects are allocated after construction (growth
 * excepted).
 */
import { PagePoolError } from "../../core/errors.ts";

export class FirstFitBitmap {
  #words: Uint32Array;
  #size: number;
  #avail: number;
  /** Lowest word index that may contain a free bit. */
  #hint = 0;
  readonly #what: string;

  /** `size` indices, all free (`allFree`) or all in use. `what` names the owner in errors. */
  constructor(size: number, what: string, allFree = true) {
    if (!Number.isInteger(size) || size < 0 || size > 0x7fff_ffff)
      throw new PagePoolError("EINVAL", `${what}: size must be an integer in [0, 2^31), got ${size}`);
    this.#what = what;
    this.#size = size;
    this.#words = new Uint32Array(Math.max(1, (size + 31) >>> 5));
    this.#avail = 0;
    if (allFree) this.#setFree(0, size);
  }

  get size(): number {
    return this.#size;
  }
  /** Free indices (gen_pool_avail in units). */
  get avail(): number {
    return this.#avail;
  }

  /** Lowest free index, now in use; -1 when none is free. */
  alloc(): number {
    const words = this.#words;
    const n = words.length;
    for (let w = this.#hint; w < n; w++) {
      const x = words[w];
      if (x !== 0) {
        const low = x & -x; // lowest set bit
        words[w] = x ^ low;
        this.#hint = w;
        this.#avail--;
        return (w << 5) + (31 - Math.clz32(low));
      }
    }
    this.#hint = n;
    return -1;
  }

  /** Gives index `i` back. Freeing a free index is a bug (the kernel's gen_pool BUG_ON). */
  free(i: number): void {
    if (!(i >= 0 && i < this.#size))
      throw new PagePoolError("EINVAL", `${this.#what}: index ${i} out of range [0, ${this.#size})`);
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    if (this.#words[w] & bit) throw new PagePoolError("EFAULT", `${this.#what}: index ${i} freed twice`);
    this.#words[w] |= bit;
    if (w < this.#hint) this.#hint = w;
    this.#avail++;
  }

  /** Marks a free index as used (control path: e.g. reserving token 0). */
  take(i: number): void {
    if (!this.isFree(i)) throw new PagePoolError("EFAULT", `${this.#what}: index ${i} is not free`);
    this.#words[i >>> 5] &= ~(1 << (i & 31));
    this.#avail--;
  }

  isFree(i: number): boolean {
    return i >= 0 && i < this.#size && (this.#words[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  /** Grows to `newSize` indices; the new ones are free. */
  grow(newSize: number): void {
    if (newSize <= this.#size) return;
    if (newSize > 0x7fff_ffff) throw new PagePoolError("ENOSPC", `${this.#what}: index space exhausted`);
    const need = (newSize + 31) >>> 5;
    if (need > this.#words.length) {
      const w = new Uint32Array(Math.max(need, this.#words.length * 2));
      w.set(this.#words);
      this.#words = w;
    }
    const old = this.#size;
    this.#size = newSize;
    this.#setFree(old, newSize);
    if (old >>> 5 < this.#hint) this.#hint = old >>> 5;
  }

  #setFree(from: number, to: number): void {
    for (let i = from; i < to; i++) this.#words[i >>> 5] |= 1 << (i & 31);
    this.#avail += to - from;
  }
}
