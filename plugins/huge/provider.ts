/**
 * huge: order-9 folios (2 MiB "huge pages") from the host page allocator, carved into small
 * net_iov chunks (2 KiB or 4 KiB; or 16-64 KiB large rx buffers). Pavel Begunkov's point on netdev: the host wants big
 * contiguous allocations (fewer, cheaper to map, kinder to the IOMMU/TLB), the NIC wants small
 * buffers; a provider can give both.
 *
 * Each folio is one net_iov area (NET_IOV_OTHER, readable), one net_iov per chunk, mapped for DMA
 * once as a whole (each chunk's dma address = folio dma + index * chunkSize). A chunk is handed
 * out only when free; a folio goes back to the page allocator (unmapped, its area disposed) only
 * when every one of its chunks is free again, which happens at the release of its last chunk.
 *
 * State lives in typed arrays indexed by folio slot (at most `maxFolios`): the folio's head
 * page, its free count and a stack of its free chunk indices, plus one "out" byte per chunk so a
 * chunk released twice is caught. allocNetmems fills the pool's cache in bulk, like the kernel's
 * page slow path and zcrx (one dispatch per NAPI budget), preferring the folio already in use so
 * folios empty out and can be returned.
 */
import { PagePoolError } from "../../core/errors.ts";
import {
  createNetIovArea,
  NET_IOV_OTHER,
  type NetIovArea,
  type NetmemRef,
  netIovArea,
  nm,
  PAGE_SIZE,
} from "../../core/netmem.ts";
import type { DmaDevice } from "../../core/page-alloc.ts";
import {
  type MemoryProviderOps,
  type MpRxQueue,
  netmemClearPagePool,
  netmemPlaceInCache,
  netmemSetPagePool,
  niovSetDmaAddr,
  type PoolView,
  providerSetNetmemSize,
} from "../../core/provider.ts";
import { PP_ALLOC_CACHE_REFILL, PP_ALLOC_CACHE_SIZE } from "../../core/types.ts";

/** Folio order: 2^9 pages = 2 MiB (a PMD-sized huge page on x86-64). */
export const HUGE_FOLIO_ORDER = 9;
export const HUGE_FOLIO_SIZE = PAGE_SIZE << HUGE_FOLIO_ORDER;
/**
 * Chunk sizes: 2 or 4 KiB (small buffers carved from the folio), or 16, 32 or 64 KiB: large rx
 * buffers (net-next, Jan 2026), which the provider sets as its queue's rx buffer length; the
 * driver's pool then has the matching order (one chunk is one order-2/3/4 netmem).
 */
export const HUGE_CHUNK_SIZES = [2048, 4096, 16384, 32768, 65536] as const;

export interface HugeOptions {
  /** The device the folios are mapped for; it must be the device of the pools using them. */
  dev: DmaDevice;
  /** Chunk size in bytes: one of HUGE_CHUNK_SIZES (default 4096). */
  chunkSize?: number;
  /** Most folios held at once (default 8 = 16 MiB); bounds the provider's memory. */
  maxFolios?: number;
}

/** What a folio's net_iov area points back to (NetIovArea.owner). */
export interface HugeFolioTag {
  readonly provider: HugeProvider;
  readonly slot: number;
}

/** The provider state (pool.mpPriv). */
export class HugeProvider {
  readonly dev: DmaDevice;
  readonly chunkSize: number;
  readonly chunksPerFolio: number;
  readonly maxFolios: number;
  /** Head page ref of the folio in each slot, 0 when the slot is empty. */
  readonly folioRef: Int32Array;
  /** DMA address of each folio. */
  readonly folioDma: Float64Array;
  /** Free chunks of each folio (also the top of its free stack). */
  readonly folioFree: Int32Array;
  /** Free chunk indices, a stack per slot at [slot * chunksPerFolio, …). */
  readonly freeStack: Int32Array;
  /** 1 while chunk (slot * chunksPerFolio + i) is out (with a pool), for double-release checks. */
  readonly chunkOut: Uint8Array;
  readonly areas: (NetIovArea | null)[];
  readonly #tags: HugeFolioTag[];
  /** Slot allocations come from first, while it has free chunks. */
  #current = -1;
  liveFolios = 0;
  /** Chunks out with pools (cache, ring or in flight). */
  chunksOut = 0;
  // counters (nlFill, tests)
  folioAllocs = 0;
  folioFrees = 0;
  allocFailures = 0;
  inits = 0;
  destroys = 0;
  pools = 0;
  #disposed = false;

  constructor(opts: HugeOptions) {
    if (typeof opts !== "object" || opts === null || !opts.dev)
      throw new PagePoolError("EINVAL", "huge: options { dev } required");
    const chunkSize = opts.chunkSize ?? 4096;
    if (!(HUGE_CHUNK_SIZES as readonly number[]).includes(chunkSize))
      throw new PagePoolError(
        "EINVAL",
        `huge: chunkSize must be ${HUGE_CHUNK_SIZES.join(" or ")}, got ${String(chunkSize)}`,
      );
    const maxFolios = opts.maxFolios ?? 8;
    if (typeof maxFolios !== "number" || !Number.isInteger(maxFolios) || maxFolios < 1 || maxFolios > 1024)
      throw new PagePoolError(
        "EINVAL",
        `huge: maxFolios must be an integer in [1, 1024], got ${String(maxFolios)}`,
      );
    this.dev = opts.dev;
    this.chunkSize = chunkSize;
    this.chunksPerFolio = HUGE_FOLIO_SIZE / chunkSize;
    this.maxFolios = maxFolios;
    this.folioRef = new Int32Array(maxFolios);
    this.folioDma = new Float64Array(maxFolios);
    this.folioFree = new Int32Array(maxFolios);
    this.freeStack = new Int32Array(maxFolios * this.chunksPerFolio);
    this.chunkOut = new Uint8Array(maxFolios * this.chunksPerFolio);
    this.areas = new Array(maxFolios).fill(null);
    this.#tags = Array.from({ length: maxFolios }, (_, slot) => ({ provider: this, slot }));
  }

  /** Chunks that could be handed out now without a new folio, plus those of folios not yet allocated. */
  get availableChunks(): number {
    return (this.maxFolios - this.liveFolios) * this.chunksPerFolio + this.#freeInLive();
  }

  #freeInLive(): number {
    let n = 0;
    for (let s = 0; s < this.maxFolios; s++) if (this.folioRef[s] !== 0) n += this.folioFree[s];
    return n;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  // --- memory accessors (the chunk's bytes are ordinary host memory) ---

  /** Byte offset of a chunk in `memory` (no allocation: for hot readers). */
  chunkOffset(ref: NetmemRef): number {
    const slot = this.#slotOf(ref, "chunkOffset");
    const i = nm.idx[ref >>> 1];
    return this.dev.pages.offsetOf(this.folioRef[slot]) + i * this.chunkSize;
  }

  /** The host memory chunks live in (the page allocator's). */
  get memory(): Uint8Array {
    return this.dev.pages.memory;
  }

  /** A view of a chunk's `chunkSize` bytes (control path: allocates a view). */
  chunkBytes(ref: NetmemRef): Uint8Array {
    const off = this.chunkOffset(ref);
    return this.dev.pages.memory.subarray(off, off + this.chunkSize);
  }

  /** Copies `len` bytes of a chunk from `offset` into `dst` (bounds-checked). Returns len. */
  read(ref: NetmemRef, offset: number, dst: Uint8Array, len: number = dst.length): number {
    this.#checkRange(offset, len, dst.length);
    const off = this.chunkOffset(ref) + offset;
    dst.set(this.dev.pages.memory.subarray(off, off + len));
    return len;
  }

  /** Copies `src` into a chunk at `offset` (what the NIC's DMA write does; bounds-checked). */
  write(ref: NetmemRef, offset: number, src: Uint8Array): number {
    this.#checkRange(offset, src.length, src.length);
    this.dev.pages.memory.set(src, this.chunkOffset(ref) + offset);
    return src.length;
  }

  #checkRange(offset: number, len: number, bufLen: number): void {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(len) ||
      offset < 0 ||
      len < 0 ||
      len > bufLen ||
      offset + len > this.chunkSize
    )
      throw new PagePoolError(
        "EINVAL",
        `huge: range [${offset}, +${len}) outside the ${this.chunkSize}-byte chunk (or the buffer)`,
      );
  }

  #slotOf(ref: NetmemRef, what: string): number {
    const area = netIovArea(ref);
    const tag = area?.owner as HugeFolioTag | undefined;
    if (!area || tag?.provider !== this || this.areas[tag.slot] !== area)
      throw new PagePoolError("EINVAL", `huge ${what}: netmem ${ref} is not a chunk of this provider`);
    return tag.slot;
  }

  /** The folio slot a chunk belongs to, or -1 (for tests and tools). */
  slotOf(ref: NetmemRef): number {
    const tag = netIovArea(ref)?.owner as HugeFolioTag | undefined;
    return tag?.provider === this && this.areas[tag.slot]?.indexOf(ref) !== -1 ? tag.slot : -1;
  }

  // --- folios (slow path / control path) ---

  /** A folio with a free chunk: the current one, another live one, else a new one; -1 if none. */
  pickSlot(pool: PoolView): number {
    const cur = this.#current;
    if (cur >= 0 && this.folioRef[cur] !== 0 && this.folioFree[cur] > 0) return cur;
    let empty = -1;
    for (let s = 0; s < this.maxFolios; s++) {
      if (this.folioRef[s] !== 0) {
        if (this.folioFree[s] > 0) return (this.#current = s);
      } else if (empty < 0) empty = s;
    }
    if (empty < 0 || this.#disposed) return -1;
    return this.#newFolio(pool, empty) ? (this.#current = empty) : -1;
  }

  #newFolio(pool: PoolView, slot: number): boolean {
    const pages = this.dev.pages;
    const head = pages.allocPages(HUGE_FOLIO_ORDER, pool.nid);
    if (head === 0) return false;
    const dma = this.dev.mapPage(head);
    if (dma === 0) {
      pages.putPage(head);
      return false;
    }
    const cpf = this.chunksPerFolio;
    const area = createNetIovArea(cpf, { type: NET_IOV_OTHER, readable: true, owner: this.#tags[slot] });
    const base = slot * cpf;
    // Stack with chunk 0 on top, so a folio is handed out in address order.
    for (let i = 0; i < cpf; i++) {
      this.freeStack[base + i] = cpf - 1 - i;
      this.chunkOut[base + i] = 0;
      niovSetDmaAddr(area.niov(i), dma + i * this.chunkSize);
    }
    this.folioRef[slot] = head;
    this.folioDma[slot] = dma;
    this.folioFree[slot] = cpf;
    this.areas[slot] = area;
    this.liveFolios++;
    this.folioAllocs++;
    return true;
  }

  /** Returns a folio whose chunks are all free: area disposed, unmapped, pages freed. */
  freeFolio(slot: number): void {
    const head = this.folioRef[slot];
    this.areas[slot]?.dispose();
    this.areas[slot] = null;
    this.dev.unmapPage(head);
    this.dev.pages.putPage(head);
    this.folioRef[slot] = 0;
    this.folioDma[slot] = 0;
    this.folioFree[slot] = 0;
    this.liveFolios--;
    this.folioFrees++;
    if (this.#current === slot) this.#current = -1;
  }

  /** Ends the provider (after unbinding it). Refuses while pools still hold its chunks. */
  dispose(): void {
    if (this.#disposed) return;
    if (this.chunksOut !== 0 || this.pools !== 0)
      throw new PagePoolError(
        "EBUSY",
        `huge: ${this.chunksOut} chunk(s) still held by ${this.pools} pool(s); destroy them and let them drain first`,
      );
    for (let s = 0; s < this.maxFolios; s++) if (this.folioRef[s] !== 0) this.freeFolio(s);
    this.#disposed = true;
  }
}

function priv(pool: PoolView): HugeProvider {
  return pool.mpPriv as HugeProvider;
}

/**
 * Slow path: up to PP_ALLOC_CACHE_REFILL free chunks, one returned and the rest placed in the
 * (empty) cache. Chunks come from one folio at a time; a new folio is taken only when no live
 * folio has a free chunk.
 */
export function hugeAllocNetmems(pool: PoolView, _gfp: number): NetmemRef {
  const p = priv(pool);
  const cpf = p.chunksPerFolio;
  const want = Math.min(PP_ALLOC_CACHE_REFILL, PP_ALLOC_CACHE_SIZE - pool.cacheCount + 1);
  let first: NetmemRef = 0;
  let got = 0;
  while (got < want) {
    const slot = p.pickSlot(pool);
    if (slot < 0) break;
    const area = p.areas[slot]!;
    const base = slot * cpf;
    const top = p.folioFree[slot];
    const n = Math.min(want - got, top);
    p.folioFree[slot] = top - n;
    // freeStack[top - 1] is the next chunk by address. It is the one returned; the others go
    // into the LIFO cache deepest-first, so the pool hands the folio out in address order.
    for (let j = top - n; j < top; j++) {
      const i = p.freeStack[base + j];
      p.chunkOut[base + i] = 1;
      const ref = area.niov(i);
      netmemSetPagePool(pool, ref);
      if (first === 0 && j === top - 1) first = ref;
      else netmemPlaceInCache(pool, ref);
    }
    p.chunksOut += n;
    got += n;
  }
  if (first === 0) p.allocFailures++;
  return first;
}

/** Takes a chunk back; the folio goes back to the page allocator when it was its last one out. */
export function hugeReleaseNetmem(pool: PoolView, netmem: NetmemRef): boolean {
  const p = priv(pool);
  const area = netIovArea(netmem);
  const tag = area?.owner as HugeFolioTag | undefined;
  if (!area || tag?.provider !== p || p.areas[tag.slot] !== area)
    throw new PagePoolError("EFAULT", `huge: released netmem ${netmem} is not one of this provider's chunks`);
  const slot = tag.slot;
  const i = area.indexOf(netmem);
  const cpf = p.chunksPerFolio;
  if (p.chunkOut[slot * cpf + i] === 0)
    throw new PagePoolError("EFAULT", `huge: chunk ${i} of folio ${slot} released but it is not out`);
  p.chunkOut[slot * cpf + i] = 0;
  p.chunksOut--;
  netmemClearPagePool(netmem);
  p.freeStack[slot * cpf + p.folioFree[slot]++] = i;
  if (p.folioFree[slot] === cpf) p.freeFolio(slot);
  return false; // the provider keeps it (the core must not put_page a net_iov)
}

export function hugeInit(pool: PoolView): void {
  const p = priv(pool);
  if (!(p instanceof HugeProvider))
    throw new PagePoolError("EINVAL", "huge: queue bound without a HugeProvider state");
  if (p.disposed) throw new PagePoolError("ENODEV", "huge: provider was disposed");
  // As devmem and zcrx: a net_iov is one buffer. Small chunks need an order-0 pool; a large
  // chunk (the queue's rx buffer length) is one netmem of the matching order, as zcrx's niov_shift.
  const order = p.chunkSize > PAGE_SIZE ? Math.log2(p.chunkSize / PAGE_SIZE) : 0;
  if (pool.order !== order)
    throw new PagePoolError(
      "E2BIG",
      `huge: pool order must be ${order} for ${p.chunkSize}-byte chunks, got ${pool.order}`,
    );
  if (pool.dev !== p.dev)
    throw new PagePoolError(
      "EINVAL",
      `huge: folios are mapped for ${p.dev.name}, pool is for ${pool.dev.name}`,
    );
  // The device writes up to maxLen bytes at offset: that must stay inside one chunk.
  if (pool.offset + pool.maxLen > p.chunkSize)
    throw new PagePoolError(
      "EINVAL",
      `huge: offset ${pool.offset} + maxLen ${pool.maxLen} exceeds the ${p.chunkSize}-byte chunk`,
    );
  // A 2 KiB chunk is the pool's whole buffer: frags and inflightMem must not assume 4 KiB.
  providerSetNetmemSize(pool, p.chunkSize);
  p.inits++;
  p.pools++;
}

export function hugeDestroy(pool: PoolView): void {
  const p = priv(pool);
  p.destroys++;
  p.pools--;
}

export function hugeNlFill(priv: unknown, _rxq: MpRxQueue | null): Record<string, unknown> {
  const p = priv as HugeProvider;
  return {
    huge: {
      chunkSize: p.chunkSize,
      folioOrder: HUGE_FOLIO_ORDER,
      maxFolios: p.maxFolios,
      liveFolios: p.liveFolios,
      chunksOut: p.chunksOut,
      folioAllocs: p.folioAllocs,
      folioFrees: p.folioFrees,
      allocFailures: p.allocFailures,
    },
  };
}

export const hugeOps = Object.freeze({
  name: "huge",
  allocNetmems: hugeAllocNetmems,
  releaseNetmem: hugeReleaseNetmem,
  init: hugeInit,
  destroy: hugeDestroy,
  nlFill: hugeNlFill,
}) satisfies MemoryProviderOps;
