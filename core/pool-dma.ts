/**
 * The pool's DMA index (v6.15+, struct page_pool::dma_mapped, an XA_FLAGS_ALLOC1 xarray): every
 * page the pool maps is registered under a small id that the page records (netmem_set_dma_index).
 * At destroy, page_pool_scrub() unmaps every page still registered, including pages in flight,
 * so the device loses access to memory the pool no longer manages; a page that comes back later
 * finds its entry gone (the xa_cmpxchg fails) and is not unmapped twice.
 *
 * Typed arrays, no per-page objects: `slots[id]` holds the ref (0 = empty), freed ids are reused
 * lowest-last from a stack (the xarray reuses the lowest free id; which id a page gets is not
 * observable, only that ids are unique among live entries).
 */
import { type NetmemRef, netmemDesc, nm } from "./netmem.ts";

export class DmaIndex {
  #slots = new Int32Array(64);
  #free = new Int32Array(64);
  #freeCount = 0;
  /** Highest id handed out so far (ids start at 1, as with XA_FLAGS_ALLOC1). */
  #hi = 0;
  /** Live entries. */
  count = 0;

  /** page_pool_register_dma_index(): tracks a freshly mapped page. */
  register(ref: NetmemRef): void {
    let id: number;
    if (this.#freeCount > 0) id = this.#free[--this.#freeCount];
    else {
      id = ++this.#hi;
      if (id >= this.#slots.length) {
        const bigger = new Int32Array(this.#slots.length * 2);
        bigger.set(this.#slots);
        this.#slots = bigger;
        const f = new Int32Array(bigger.length);
        f.set(this.#free);
        this.#free = f;
      }
    }
    this.#slots[id] = ref;
    nm.dmaIdx[netmemDesc(ref)] = id;
    this.count++;
  }

  /**
   * The xa_cmpxchg(id, page, NULL) of __page_pool_unmap_netmem_dma(): true when `ref` was still
   * tracked (the caller unmaps it), false when scrub already took it out (nothing to unmap).
   */
  take(ref: NetmemRef): boolean {
    const id = nm.dmaIdx[netmemDesc(ref)];
    if (id === 0 || this.#slots[id] !== ref) return false;
    this.#drop(id);
    return true;
  }

  /** Scrub: calls `unmap` for every tracked page and empties the index (no page reference needed). */
  drain(unmap: (ref: NetmemRef) => void): number {
    let n = 0;
    for (let id = 1; id <= this.#hi; id++) {
      const ref = this.#slots[id];
      if (ref === 0) continue;
      this.#drop(id);
      unmap(ref);
      n++;
    }
    return n;
  }

  #drop(id: number): void {
    this.#slots[id] = 0;
    this.#free[this.#freeCount++] = id;
    this.count--;
  }
}
