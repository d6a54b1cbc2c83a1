/**
 * The host page allocator: a buddy allocator (orders 0..MAX_PAGE_ORDER) over an ArrayBuffer
 * that stands for physical memory, split into NUMA nodes. Pages are readable: `bytes(ref)` and
 * `offsetOf(ref)` give their memory. Failure is a clean 0 ref, never an exception, because the
 * pool's slow path calls this per packet batch.
 */
import { PagePoolError } from "./errors.ts";
import {
  type NetmemRef,
  nm,
  PAGE_SHIFT,
  PAGE_SIZE,
  releaseDescriptors,
  reserveDescriptors,
} from "./netmem.ts";

/** enum dma_data_direction, as a pool declares it. */
export type DmaDir = "bidirectional" | "to-device" | "from-device" | "none";

export const MAX_PAGE_ORDER = 10;
/** NUMA_NO_NODE: use the current CPU's node (node 0 in the model). */
export const NUMA_NO_NODE = -1;

export interface PageAllocatorOptions {
  /** Number of 4 KiB pages; a multiple of 2^MAX_PAGE_ORDER per node is not required. Default 16384 (64 MiB). */
  pages?: number;
  /** NUMA nodes; pages are split evenly between them. Default 1. */
  nodes?: number;
  /**
   * The emergency reserve, in pages: an allocation that leaves fewer than this many pages free
   * dips into the reserves and its page is marked pfmemalloc (page_is_pfmemalloc), which the page
   * pool must not recycle. Default 0 (no page is ever pfmemalloc).
   */
  reservePages?: number;
}

let nextAllocatorId = 1;
/** Live allocators by id (a page's nm.owner): put_page() on any page finds its allocator. */
const allocators = new Map<number, PageAllocator>();

/** The allocator a page belongs to (page_to_pfn's zone, in effect), or undefined. */
export function pageAllocatorOf(ref: NetmemRef): PageAllocator | undefined {
  if (ref & 1 || ref <= 0) return undefined;
  const a = allocators.get(nm.owner[ref >>> 1]);
  return a?.owns(ref) ? a : undefined;
}

export class PageAllocator {
  readonly id: number;
  readonly numPages: number;
  readonly nodes: number;
  /** First netmem descriptor; page `pfn` has ref `(base + pfn) << 1`. */
  readonly base: number;
  /** The "physical memory": page `pfn` is bytes [pfn*4096, (pfn+1)*4096). */
  readonly memory: Uint8Array;
  /** Physical address of pfn 0 (so DMA addresses are never 0). */
  readonly physBase = 0x1_0000_0000;

  // Buddy state, indexed by pfn. freeOrder[pfn] = order when pfn heads a free block, else -1.
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #freeOrder: Int8Array;
  /** Order a head page was allocated at (for put_page freeing the compound page). */
  readonly #allocOrder: Int8Array;
  readonly reservePages: number;
  /** Free-list heads: [node * (MAX_PAGE_ORDER+1) + order], -1 when empty. */
  readonly #heads: Int32Array;
  readonly #zoneStart: Int32Array;
  readonly #zoneEnd: Int32Array;
  #freeCount = 0;
  #disposed = false;

  constructor(opts: PageAllocatorOptions = {}) {
    const pages = opts.pages ?? 16384;
    const nodes = opts.nodes ?? 1;
    if (!Number.isInteger(pages) || pages < 1 || pages > 1 << 22)
      throw new PagePoolError("EINVAL", `pages must be an integer in [1, 4194304], got ${pages}`);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64 || nodes > pages)
      throw new PagePoolError("EINVAL", `nodes must be an integer in [1, min(64, pages)], got ${nodes}`);
    this.id = nextAllocatorId++;
    this.numPages = pages;
    this.nodes = nodes;
    this.memory = new Uint8Array(new ArrayBuffer(pages * PAGE_SIZE));
    this.base = reserveDescriptors(pages);
    this.#next = new Int32Array(pages).fill(-1);
    this.#prev = new Int32Array(pages).fill(-1);
    this.#freeOrder = new Int8Array(pages).fill(-1);
    this.#allocOrder = new Int8Array(pages).fill(-1);
    const reserve = opts.reservePages ?? 0;
    if (!Number.isInteger(reserve) || reserve < 0 || reserve > pages)
      throw new PagePoolError("EINVAL", `reservePages must be an integer in [0, ${pages}], got ${reserve}`);
    this.reservePages = reserve;
    this.#heads = new Int32Array(nodes * (MAX_PAGE_ORDER + 1)).fill(-1);
    this.#zoneStart = new Int32Array(nodes);
    this.#zoneEnd = new Int32Array(nodes);
    for (let n = 0; n < nodes; n++) {
      const start = Math.floor((n * pages) / nodes);
      const end = Math.floor(((n + 1) * pages) / nodes);
      this.#zoneStart[n] = start;
      this.#zoneEnd[n] = end;
      // Carve the zone into the largest naturally aligned blocks (relative to the zone start).
      let p = start;
      while (p < end) {
        let o = MAX_PAGE_ORDER;
        while (o > 0 && ((p - start) % (1 << o) !== 0 || p + (1 << o) > end)) o--;
        this.#push(n, o, p);
        p += 1 << o;
      }
    }
    for (let pfn = 0; pfn < pages; pfn++) nm.owner[this.base + pfn] = this.id;
    for (let pfn = 0; pfn < pages; pfn++) nm.idx[this.base + pfn] = pfn;
    this.#freeCount = pages;
    allocators.set(this.id, this);
  }

  /** Pages currently free. */
  get freePages(): number {
    return this.#freeCount;
  }

  /** NUMA node of a page. */
  pageNid(ref: NetmemRef): number {
    const pfn = (ref >>> 1) - this.base;
    for (let n = 0; n < this.nodes; n++) if (pfn < this.#zoneEnd[n]) return n;
    return this.nodes - 1;
  }

  /** Whether `ref` is a page of this allocator. */
  owns(ref: NetmemRef): boolean {
    if (ref & 1 || ref === 0) return false;
    const pfn = (ref >>> 1) - this.base;
    return pfn >= 0 && pfn < this.numPages;
  }

  /**
   * alloc_pages_node(): one block of 2^order pages, refcount 1, from `nid` (falling back to the
   * other nodes as the kernel's zonelist does). Returns 0 when nothing fits.
   */
  allocPages(order: number, nid: number = NUMA_NO_NODE): NetmemRef {
    if (order < 0 || order > MAX_PAGE_ORDER) return 0;
    const first = nid < 0 || nid >= this.nodes ? 0 : nid;
    for (let i = 0; i < this.nodes; i++) {
      const node = (first + i) % this.nodes;
      const pfn = this.#allocFromNode(node, order);
      if (pfn >= 0) {
        this.#allocOrder[pfn] = order;
        nm.pageRef[this.base + pfn] = 1;
        this.#freeCount -= 1 << order;
        nm.pfmem[this.base + pfn] = this.#freeCount < this.reservePages ? 1 : 0;
        return (this.base + pfn) << 1;
      }
    }
    return 0;
  }

  /**
   * alloc_pages_bulk_node(): up to `n` order-0 pages into `out[off..]`. Returns how many it
   * placed (possibly 0). Never throws.
   */
  allocPagesBulk(nid: number, n: number, out: Int32Array | number[], off = 0): number {
    let i = 0;
    for (; i < n; i++) {
      const ref = this.allocPages(0, nid);
      if (ref === 0) break;
      out[off + i] = ref;
    }
    return i;
  }

  /** page_is_pfmemalloc(): the page came from the emergency reserves. */
  isPfmemalloc(ref: NetmemRef): boolean {
    return nm.pfmem[ref >>> 1] === 1;
  }

  /** Test hook: marks a live page as allocated from the reserves. */
  markPfmemalloc(ref: NetmemRef): void {
    this.#check(ref);
    nm.pfmem[ref >>> 1] = 1;
  }

  /** get_page(). */
  getPage(ref: NetmemRef): void {
    this.#check(ref);
    nm.pageRef[ref >>> 1]++;
  }

  /** put_page(): drops a reference and frees the (compound) page when it was the last. */
  putPage(ref: NetmemRef): void {
    this.#check(ref);
    const d = ref >>> 1;
    const c = --nm.pageRef[d];
    if (c > 0) return;
    if (c < 0) {
      nm.pageRef[d] = 0;
      throw new PagePoolError("EFAULT", `put_page on a free page (ref ${ref}): refcount underflow`);
    }
    const pfn = d - this.base;
    const order = this.#allocOrder[pfn];
    this.#allocOrder[pfn] = -1;
    this.#freeCount += 1 << order;
    this.#freeBlock(pfn, order);
  }

  /** Order a live head page was allocated at. */
  orderOf(ref: NetmemRef): number {
    this.#check(ref);
    return this.#allocOrder[(ref >>> 1) - this.base];
  }

  /** Byte offset of a page in `memory`. */
  offsetOf(ref: NetmemRef): number {
    return ((ref >>> 1) - this.base) << PAGE_SHIFT;
  }

  /** Physical address of a page (what an identity-mapped DMA address would be). */
  physAddr(ref: NetmemRef): number {
    return this.physBase + this.offsetOf(ref);
  }

  /** A view of a live page's bytes (`PAGE_SIZE << order`). Control path: allocates a view. */
  bytes(ref: NetmemRef): Uint8Array {
    this.#check(ref);
    const pfn = (ref >>> 1) - this.base;
    const order = this.#allocOrder[pfn];
    if (order < 0) throw new PagePoolError("EFAULT", `page ref ${ref} is not allocated`);
    return this.memory.subarray(pfn << PAGE_SHIFT, (pfn + (1 << order)) << PAGE_SHIFT);
  }

  /** Frees the whole allocator. Caller guarantees no page is still in use anywhere. */
  dispose(): void {
    if (this.#disposed) return;
    if (this.#freeCount !== this.numPages)
      throw new PagePoolError(
        "EBUSY",
        `page allocator ${this.id}: ${this.numPages - this.#freeCount} pages still allocated`,
      );
    this.#disposed = true;
    allocators.delete(this.id);
    releaseDescriptors(this.base, this.numPages);
  }

  /** Checks the buddy invariants (tests): free lists consistent, counts add up, no overlap. */
  checkInvariants(): void {
    let free = 0;
    const seen = new Uint8Array(this.numPages);
    for (let n = 0; n < this.nodes; n++) {
      for (let o = 0; o <= MAX_PAGE_ORDER; o++) {
        for (let p = this.#heads[n * (MAX_PAGE_ORDER + 1) + o]; p >= 0; p = this.#next[p]) {
          if (this.#freeOrder[p] !== o)
            throw new Error(`buddy: pfn ${p} on order-${o} list has order ${this.#freeOrder[p]}`);
          if (p < this.#zoneStart[n] || p + (1 << o) > this.#zoneEnd[n])
            throw new Error(`buddy: block ${p} leaves node ${n}`);
          for (let q = p; q < p + (1 << o); q++) {
            if (seen[q]) throw new Error(`buddy: pfn ${q} free twice`);
            if (this.#allocOrder[q] >= 0) throw new Error(`buddy: pfn ${q} both free and allocated`);
            seen[q] = 1;
          }
          free += 1 << o;
        }
      }
    }
    if (free !== this.#freeCount)
      throw new Error(`buddy: free lists hold ${free}, counter says ${this.#freeCount}`);
  }

  #check(ref: NetmemRef): void {
    if (!this.owns(ref))
      throw new PagePoolError("EFAULT", `ref ${ref} is not a page of allocator ${this.id}`);
  }

  #allocFromNode(node: number, order: number): number {
    const H = MAX_PAGE_ORDER + 1;
    let o = order;
    while (o <= MAX_PAGE_ORDER && this.#heads[node * H + o] < 0) o++;
    if (o > MAX_PAGE_ORDER) return -1;
    const pfn = this.#heads[node * H + o];
    this.#unlink(node, o, pfn);
    // Split, giving the upper halves back.
    while (o > order) {
      o--;
      this.#push(node, o, pfn + (1 << o));
    }
    return pfn;
  }

  #freeBlock(pfn: number, order: number): void {
    let node = 0;
    while (pfn >= this.#zoneEnd[node]) node++;
    const start = this.#zoneStart[node];
    const end = this.#zoneEnd[node];
    while (order < MAX_PAGE_ORDER) {
      const buddy = start + ((pfn - start) ^ (1 << order));
      if (buddy < start || buddy + (1 << order) > end || this.#freeOrder[buddy] !== order) break;
      this.#unlink(node, order, buddy);
      pfn = Math.min(pfn, buddy);
      order++;
    }
    this.#push(node, order, pfn);
  }

  #push(node: number, order: number, pfn: number): void {
    const h = node * (MAX_PAGE_ORDER + 1) + order;
    const head = this.#heads[h];
    this.#next[pfn] = head;
    this.#prev[pfn] = -1;
    if (head >= 0) this.#prev[head] = pfn;
    this.#heads[h] = pfn;
    this.#freeOrder[pfn] = order;
  }

  #unlink(node: number, order: number, pfn: number): void {
    const h = node * (MAX_PAGE_ORDER + 1) + order;
    const n = this.#next[pfn];
    const p = this.#prev[pfn];
    if (p >= 0) this.#next[p] = n;
    else this.#heads[h] = n;
    if (n >= 0) this.#prev[n] = p;
    this.#next[pfn] = -1;
    this.#prev[pfn] = -1;
    this.#freeOrder[pfn] = -1;
  }
}

/**
 * A device that maps memory for DMA (struct device). Mapping a page gives it an IOVA; the model
 * counts maps, unmaps and synced bytes so tests and reports can see the DMA work the pool does.
 * `failNextMaps` injects dma_map failures (the pool skips such pages, as the kernel does).
 */
export class DmaDevice {
  readonly name: string;
  readonly pages: PageAllocator;
  /** dma_get_cache_alignment(): 1 on x86-64 (no ARCH_DMA_MINALIGN); set 64/128 to model arm64. */
  readonly cacheAlignment: number;
  /** dma_dev_need_sync(): false models a coherent device where sync is a no-op. */
  readonly needSync: boolean;
  maps = 0;
  unmaps = 0;
  syncForDeviceBytes = 0;
  syncForDeviceCalls = 0;
  failNextMaps = 0;

  constructor(
    pages: PageAllocator,
    opts: { name?: string; cacheAlignment?: number; needSync?: boolean } = {},
  ) {
    this.pages = pages;
    this.name = opts.name ?? "dev0";
    this.cacheAlignment = opts.cacheAlignment ?? 1;
    this.needSync = opts.needSync ?? true;
    if (
      !Number.isInteger(this.cacheAlignment) ||
      this.cacheAlignment < 1 ||
      (this.cacheAlignment & (this.cacheAlignment - 1)) !== 0
    )
      throw new PagePoolError("EINVAL", `cacheAlignment must be a power of two, got ${opts.cacheAlignment}`);
  }

  /** dma_map_page_attrs(): returns the IOVA, or 0 on failure. */
  mapPage(ref: NetmemRef): number {
    if (this.failNextMaps > 0) {
      this.failNextMaps--;
      return 0;
    }
    this.maps++;
    return this.pages.physAddr(ref);
  }

  unmapPage(_ref: NetmemRef): void {
    this.unmaps++;
  }

  syncForDevice(_dmaAddr: number, len: number): void {
    this.syncForDeviceCalls++;
    this.syncForDeviceBytes += len;
  }
}

let defaultDev: DmaDevice | undefined;
/** The host's default page allocator and DMA device, made on first use (64 MiB). */
export function defaultDmaDevice(): DmaDevice {
  if (!defaultDev) defaultDev = new DmaDevice(new PageAllocator(), { name: "default" });
  return defaultDev;
}
