/**
 * netmem_ref and per-netmem metadata (include/net/netmem.h).
 *
 * A `NetmemRef` is a small positive integer: `(descriptor << 1) | tag`. Tag bit 0 set means a
 * net_iov (provider memory, possibly unreadable), clear means a host page. 0 is "no netmem".
 * Metadata lives in struct-of-arrays typed arrays indexed by descriptor, so the hot paths never
 * allocate: the kernel's `struct page`/`struct net_iov` fields that page_pool reads
 * (pp, pp_ref_count, dma_addr, owner) sit at the same index for both kinds, which is how the
 * kernel's field readers work on either kind by clearing the low bit.
 *
 * Descriptors are handed out in ranges: a page allocator reserves one per page, a net_iov area
 * one per net_iov. Ranges are returned on dispose so long test runs do not grow the tables.
 */
import { PagePoolError } from "./errors.ts";

export type NetmemRef = number;

export const NET_IOV = 0x1;
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** Where a netmem is, from the point of view of the pool that holds it (for the audit). */
export const LOC_FREE = 0; // with its owner: the page allocator or the provider's freelist
export const LOC_CACHE = 1; // in a pool's alloc cache
export const LOC_RING = 2; // in a pool's ptr_ring
export const LOC_INFLIGHT = 3; // handed out by a pool: driver, stack, or user
export const LOC_USER = 4; // handed to a user by a provider outside any pool (e.g. zcrx copy fallback)
export const LOC_NAMES = ["free", "cache", "ring", "inflight", "user"] as const;

/** net_iov types (enum net_iov_type). */
export const NET_IOV_DMABUF = 1;
export const NET_IOV_IOURING = 2;
export const NET_IOV_OTHER = 3;

interface Tables {
  /** Owning page_pool id, 0 when none (netmem->pp). */
  pp: Int32Array;
  /** pp_ref_count. */
  ppRef: Int32Array;
  /** DMA address, 0 when unmapped. */
  dma: Float64Array;
  /** The page's id in its pool's DMA index (netmem_get_dma_index, 6.15+), 0 when not tracked. */
  dmaIdx: Int32Array;
  /** Owner id: the page allocator's id for a page, the net_iov area's id for a net_iov. */
  owner: Int32Array;
  /** Index within the owner: page frame number, or net_iov index in its area. */
  idx: Int32Array;
  /** Page refcount (page->_refcount); net_iov always reads as 1 (netmem_ref_count). */
  pageRef: Int32Array;
  /** LOC_* for the audit. */
  loc: Uint8Array;
  /** 1 when the descriptor is a net_iov, 0 for a page: a ref's tag bit must match it. */
  iov: Uint8Array;
  /**
   * page->pfmemalloc (page_is_pfmemalloc): 1 when the page came from the emergency reserves. Kept
   * here, set by the page allocator, so the put path reads one typed array instead of calling
   * into the allocator (that call pushed V8's inlining of putNetmem over its budget: +25%).
   */
  pfmem: Uint8Array;
}

const INITIAL = 1 << 12;

/** The metadata tables. Replaced wholesale on growth: always read through `nm.field[i]`. */
export const nm: Tables = {
  pp: new Int32Array(INITIAL),
  ppRef: new Int32Array(INITIAL),
  dma: new Float64Array(INITIAL),
  dmaIdx: new Int32Array(INITIAL),
  owner: new Int32Array(INITIAL),
  idx: new Int32Array(INITIAL),
  pageRef: new Int32Array(INITIAL),
  loc: new Uint8Array(INITIAL),
  iov: new Uint8Array(INITIAL),
  pfmem: new Uint8Array(INITIAL),
};

// Descriptor 0 is never used, so ref 0 stays "none". Free ranges kept sorted by base.
let highWater = 1;
const freeRanges: Array<{ base: number; n: number }> = [];

function grow(min: number): void {
  let cap = nm.pp.length;
  while (cap < min) cap *= 2;
  if (cap > 1 << 30) throw new PagePoolError("ENOMEM", "netmem descriptor space exhausted");
  const g = <T extends Int32Array | Float64Array | Uint8Array>(a: T, mk: (n: number) => T): T => {
    const b = mk(cap);
    b.set(a);
    return b;
  };
  nm.pp = g(nm.pp, (n) => new Int32Array(n));
  nm.ppRef = g(nm.ppRef, (n) => new Int32Array(n));
  nm.dma = g(nm.dma, (n) => new Float64Array(n));
  nm.dmaIdx = g(nm.dmaIdx, (n) => new Int32Array(n));
  nm.owner = g(nm.owner, (n) => new Int32Array(n));
  nm.idx = g(nm.idx, (n) => new Int32Array(n));
  nm.pageRef = g(nm.pageRef, (n) => new Int32Array(n));
  nm.loc = g(nm.loc, (n) => new Uint8Array(n));
  nm.iov = g(nm.iov, (n) => new Uint8Array(n));
  nm.pfmem = g(nm.pfmem, (n) => new Uint8Array(n));
}

/** Reserves `n` consecutive descriptors (control path). Their metadata starts zeroed. */
export function reserveDescriptors(n: number): number {
  if (!Number.isInteger(n) || n <= 0)
    throw new PagePoolError("EINVAL", `descriptor count must be > 0, got ${n}`);
  for (let i = 0; i < freeRanges.length; i++) {
    const r = freeRanges[i];
    if (r.n >= n) {
      const base = r.base;
      r.base += n;
      r.n -= n;
      if (r.n === 0) freeRanges.splice(i, 1);
      clearRange(base, n);
      return base;
    }
  }
  const base = highWater;
  if (base + n > nm.pp.length) grow(base + n);
  highWater += n;
  clearRange(base, n);
  return base;
}

/** Returns a range from reserveDescriptors; the caller guarantees no ref into it is still live. */
export function releaseDescriptors(base: number, n: number): void {
  clearRange(base, n);
  let i = 0;
  while (i < freeRanges.length && freeRanges[i].base < base) i++;
  freeRanges.splice(i, 0, { base, n });
  // Coalesce neighbours so the space does not fragment over long runs.
  for (let j = freeRanges.length - 1; j > 0; j--) {
    const a = freeRanges[j - 1];
    const b = freeRanges[j];
    if (a.base + a.n === b.base) {
      a.n += b.n;
      freeRanges.splice(j, 1);
    }
  }
  const last = freeRanges[freeRanges.length - 1];
  if (last && last.base + last.n === highWater) {
    highWater = last.base;
    freeRanges.pop();
  }
}

function clearRange(base: number, n: number): void {
  nm.pp.fill(0, base, base + n);
  nm.ppRef.fill(0, base, base + n);
  nm.dma.fill(0, base, base + n);
  nm.dmaIdx.fill(0, base, base + n);
  nm.owner.fill(0, base, base + n);
  nm.idx.fill(0, base, base + n);
  nm.pageRef.fill(0, base, base + n);
  nm.loc.fill(LOC_FREE, base, base + n);
  nm.iov.fill(0, base, base + n);
  nm.pfmem.fill(0, base, base + n);
}

/** Highest descriptor ever handed out + 1 (for audits that scan the tables). */
export function descriptorLimit(): number {
  return highWater;
}

// --- conversions and field readers (netmem.h) ---
// Tiny on purpose: both engines inline them, so hot paths use them instead of `ref >>> 1`.

/** netmem_is_net_iov(). */
export function netmemIsNetIov(ref: NetmemRef): boolean {
  return (ref & NET_IOV) !== 0;
}
/** Descriptor index of a ref, either kind (the kernel's "clear the LSB and read"). */
export function netmemDesc(ref: NetmemRef): number {
  return ref >>> 1;
}
export function netIovToNetmem(desc: number): NetmemRef {
  return (desc << 1) | NET_IOV;
}

/** netmem_ref_count(): a net_iov always reads 1. */
export function netmemRefCount(ref: NetmemRef): number {
  return ref & NET_IOV ? 1 : nm.pageRef[ref >>> 1];
}
/** The id of the pool a netmem is attached to (netmem->pp), 0 when none. */
export function netmemPpId(ref: NetmemRef): number {
  return nm.pp[ref >>> 1];
}
export function netmemPpRefCount(ref: NetmemRef): number {
  return nm.ppRef[ref >>> 1];
}
/** page_pool_get_dma_addr_netmem(). */
export function netmemDmaAddr(ref: NetmemRef): number {
  return nm.dma[ref >>> 1];
}
export function netmemLoc(ref: NetmemRef): number {
  return nm.loc[ref >>> 1];
}

/**
 * page_pool_unref_netmem(): drops `nr` pp references and returns what is left; 0 means the
 * caller dropped the last one (the count is then reset to 1, as the kernel does, so every
 * netmem in the cache or ring reads 1).
 */
export function unrefNetmem(ref: NetmemRef, nr: number): number {
  const d = ref >>> 1;
  const left = nm.ppRef[d] - nr;
  if (left === 0) {
    nm.ppRef[d] = 1;
    return 0;
  }
  // The message is built out of line so this stays small enough to inline into every put.
  // Model departure: the kernel WARNs here (WARN_ON(ret < 0)) and carries on with the negative
  // count. The model throws instead and leaves the count as it was, so the caller's extra put
  // is reported where it happens rather than corrupting the pool later.
  if (left < 0) unrefUnderflow(ref, nr);
  nm.ppRef[d] = left;
  return left;
}

function unrefUnderflow(ref: NetmemRef, nr: number): never {
  throw new PagePoolError("EFAULT", `netmem ${ref}: pp_ref_count underflow (${nm.ppRef[ref >>> 1]} - ${nr})`);
}

// --- net_iov areas (struct net_iov_area) ---

/** A run of net_iovs owned by one provider object (a dma-buf chunk, a zcrx area, a folio…). */
export class NetIovArea {
  readonly id: number;
  /** First descriptor; net_iov i has ref `netIovToNetmem(base + i)`. */
  readonly base: number;
  readonly numNiovs: number;
  readonly type: number;
  /** Whether the CPU may read the memory (false for device memory: netmem_address() is NULL). */
  readonly readable: boolean;
  /** The provider's object that owns this area (binding, zcrx area, folio…). */
  readonly owner: unknown;
  #disposed = false;

  constructor(id: number, base: number, numNiovs: number, type: number, readable: boolean, owner: unknown) {
    this.id = id;
    this.base = base;
    this.numNiovs = numNiovs;
    this.type = type;
    this.readable = readable;
    this.owner = owner;
  }

  /** Ref of net_iov `i` (0 <= i < numNiovs). */
  niov(i: number): NetmemRef {
    return ((this.base + i) << 1) | NET_IOV;
  }
  /** net_iov_idx(): index of a ref that belongs to this area, or -1. */
  indexOf(ref: NetmemRef): number {
    if (!(ref & NET_IOV)) return -1;
    const i = (ref >>> 1) - this.base;
    return i >= 0 && i < this.numNiovs ? i : -1;
  }
  get disposed(): boolean {
    return this.#disposed;
  }
  /** Gives the descriptors back. Caller guarantees no net_iov of the area is held by any pool. */
  dispose(): void {
    if (this.#disposed) return;
    for (let i = 0; i < this.numNiovs; i++) {
      if (nm.pp[this.base + i] !== 0)
        throw new PagePoolError(
          "EBUSY",
          `net_iov area ${this.id}: net_iov ${i} still held by pool ${nm.pp[this.base + i]}`,
        );
    }
    this.#disposed = true;
    areas.delete(this.id);
    releaseDescriptors(this.base, this.numNiovs);
  }
}

const areas = new Map<number, NetIovArea>();
let nextAreaId = 1;

/** Creates an area of `numNiovs` net_iovs (control path; providers call this at bind/register time). */
export function createNetIovArea(
  numNiovs: number,
  opts: { type: number; readable: boolean; owner: unknown },
): NetIovArea {
  if (!Number.isInteger(numNiovs) || numNiovs <= 0)
    throw new PagePoolError("EINVAL", `net_iov area size must be a positive integer, got ${numNiovs}`);
  const base = reserveDescriptors(numNiovs);
  const id = nextAreaId++;
  const area = new NetIovArea(id, base, numNiovs, opts.type, opts.readable, opts.owner);
  for (let i = 0; i < numNiovs; i++) {
    nm.owner[base + i] = id;
    nm.iov[base + i] = 1;
    nm.idx[base + i] = i;
  }
  areas.set(id, area);
  return area;
}

/** The area a net_iov belongs to (net_iov_owner), or undefined for a page or a stale ref. */
export function netIovArea(ref: NetmemRef): NetIovArea | undefined {
  if (!(ref & NET_IOV)) return undefined;
  return areas.get(nm.owner[ref >>> 1]);
}
