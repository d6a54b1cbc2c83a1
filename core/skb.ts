/**
 * The skb side of page recycling (net/core/skbuff.c, include/linux/skbuff_ref.h): how the pages
 * of a received packet come back to their page pool when the stack frees the skb.
 *
 * - A driver builds an skb over page-pool buffers (skbAddRxFrag, or a pool page as the head) and
 *   marks it for recycling (skb_mark_for_recycle: skb->pp_recycle = 1).
 * - When the last user of the skb's data frees it (skb_release_data), every frag is released by
 *   skb_page_unref(): for a pp_recycle skb, napi_pp_put_page() checks the page's pp_magic for
 *   PP_SIGNATURE and puts it to its pool (page_pool_put_full_netmem, allow_direct false; the pool
 *   may still recycle directly when napi-local). A page that is not a pool page is put_page()'d.
 * - skb_frag_ref() takes a page reference (get_page): the page's refcount is then above 1, so
 *   when its pool reference drops the pool cannot recycle it (released_refcnt) and the page is
 *   handed back to the page allocator, which frees it when the other holder puts it.
 * - A clone shares the data (shinfo->dataref): frags are released once, by the last of them.
 * - GRO merges a packet's frags into the held one only if both agree on pp_recycle
 *   (skb_gro_receive: -ETOOMANYREFS otherwise); the merged skb's stolen head goes with it.
 *
 * Model shape: skbs and their shared info come from a free list (skbuff_head_cache), so a long
 * run allocates no objects per packet. The pp_magic check is "the netmem is attached to a live
 * pool" (nm.pp): the model's PP_SIGNATURE.
 */
import { PagePoolError } from "./errors.ts";
import { type NetmemRef, netmemDesc, netmemIsNetIov, nm } from "./netmem.ts";
import { pageAllocatorOf } from "./page-alloc.ts";
import { poolsById } from "./pool-table.ts";

export const MAX_SKB_FRAGS = 17;
/** skb_gro_receive() refusals (negative errnos, as the kernel returns them). */
export const GRO_ETOOMANYREFS = -109;
export const GRO_E2BIG = -7;

/** struct skb_shared_info: the frags, shared by an skb and its clones. */
export class SkbShared {
  nrFrags = 0;
  readonly frags = new Int32Array(MAX_SKB_FRAGS);
  readonly fragOff = new Int32Array(MAX_SKB_FRAGS);
  readonly fragLen = new Int32Array(MAX_SKB_FRAGS);
  /** shinfo->dataref: skbs (original and clones) sharing this data. */
  dataref = 0;
}

/** struct sk_buff (the fields recycling reads). */
export class Skb {
  /** skb->pp_recycle: frags (and a page head) go back to their page pool on free. */
  ppRecycle = false;
  /** A page-pool page holding the linear part (build_skb over a pool frag), or 0. */
  head: NetmemRef = 0;
  headOff = 0;
  len = 0;
  cloned = false;
  shinfo: SkbShared = new SkbShared();
  /** Model: on the free list. */
  free = true;
}

/** Counters of what skb frees did (tests and the simulator read them). */
export const skbStats = { ppPuts: 0, pagePuts: 0, clonesFreed: 0, groMerged: 0, groRefused: 0 };

const freeSkbs: Skb[] = [];
const freeShared: SkbShared[] = [];

/** __alloc_skb / napi_build_skb: an empty skb (no frags, no head, not marked for recycling). */
export function allocSkb(): Skb {
  const skb = freeSkbs.pop() ?? new Skb();
  skb.free = false;
  skb.ppRecycle = false;
  skb.head = 0;
  skb.headOff = 0;
  skb.len = 0;
  skb.cloned = false;
  const sh = freeShared.pop() ?? new SkbShared();
  sh.nrFrags = 0;
  sh.dataref = 1;
  skb.shinfo = sh;
  return skb;
}

/** napi_build_skb() over a page-pool buffer: the page holds the head (linear part). */
export function buildSkb(ref: NetmemRef, off: number, len: number): Skb {
  if (netmemIsNetIov(ref))
    throw new PagePoolError("EINVAL", `build_skb: net_iov ${ref} has no CPU address for a head`);
  const skb = allocSkb();
  skb.head = ref;
  skb.headOff = off;
  skb.len = len;
  return skb;
}

/** skb_add_rx_frag_netmem(): appends a frag; the skb takes over the caller's reference. */
export function skbAddRxFrag(skb: Skb, ref: NetmemRef, off: number, len: number): void {
  checkLive(skb, "skb_add_rx_frag");
  const sh = skb.shinfo;
  if (sh.nrFrags >= MAX_SKB_FRAGS)
    throw new PagePoolError("E2BIG", `skb_add_rx_frag: already ${MAX_SKB_FRAGS} frags`);
  const i = sh.nrFrags++;
  sh.frags[i] = ref;
  sh.fragOff[i] = off;
  sh.fragLen[i] = len;
  skb.len += len;
}

/** skb_mark_for_recycle(): the driver's pages are page-pool pages. */
export function skbMarkForRecycle(skb: Skb): void {
  skb.ppRecycle = true;
}

/**
 * skb_frag_ref() (get_netmem): one more page reference on frag `i`. The page is then shared, so
 * its pool will not recycle it when the pool reference drops; the extra holder must put it with
 * putNetmemRef (put_page). Model departure: a net_iov frag is refused (the kernel takes a devmem
 * binding reference, or none for io_uring; the receive paths the model covers never share them).
 */
export function skbFragRef(skb: Skb, i: number): NetmemRef {
  checkLive(skb, "skb_frag_ref");
  if (!(i >= 0 && i < skb.shinfo.nrFrags)) throw new PagePoolError("EINVAL", `skb_frag_ref: no frag ${i}`);
  const ref = skb.shinfo.frags[i];
  if (netmemIsNetIov(ref)) throw new PagePoolError("EOPNOTSUPP", `skb_frag_ref on net_iov ${ref}`);
  pageOf(ref).getPage(ref);
  return ref;
}

/** put_netmem() of a page someone took with skbFragRef. */
export function putNetmemRef(ref: NetmemRef): void {
  if (netmemIsNetIov(ref)) throw new PagePoolError("EINVAL", `put_page on net_iov ${ref}`);
  pageOf(ref).putPage(ref);
}

/** skb_clone(): a second skb over the same data (dataref++); both are marked cloned. */
export function skbClone(skb: Skb): Skb {
  checkLive(skb, "skb_clone");
  const c = freeSkbs.pop() ?? new Skb();
  c.free = false;
  c.ppRecycle = skb.ppRecycle;
  c.head = skb.head;
  c.headOff = skb.headOff;
  c.len = skb.len;
  c.cloned = true;
  skb.cloned = true;
  c.shinfo = skb.shinfo;
  skb.shinfo.dataref++;
  return c;
}

/**
 * napi_pp_put_page(): if `ref` is a page-pool netmem (pp_magic == PP_SIGNATURE), puts it to its
 * pool (page_pool_put_full_netmem, allow_direct false) and returns true; false otherwise.
 */
export function napiPpPutPage(ref: NetmemRef): boolean {
  const pool = poolsById.get(nm.pp[netmemDesc(ref)]);
  if (pool === undefined) return false;
  pool.putFullNetmem(ref, false);
  skbStats.ppPuts++;
  return true;
}

/** skb_page_unref(): to the pool when the skb recycles and the page is a pool page, else put_page. */
function skbPageUnref(ref: NetmemRef, recycle: boolean): void {
  if (recycle && napiPpPutPage(ref)) return;
  skbStats.pagePuts++;
  putNetmemRef(ref);
}

/**
 * kfree_skb() / consume_skb() / napi_consume_skb(): frees the skb; the last skb sharing the data
 * (skb_release_data) releases every frag and the head through skb_page_unref / skb_pp_recycle.
 */
export function kfreeSkb(skb: Skb): void {
  checkLive(skb, "kfree_skb");
  const sh = skb.shinfo;
  if (--sh.dataref === 0) {
    const recycle = skb.ppRecycle;
    for (let i = 0; i < sh.nrFrags; i++) skbPageUnref(sh.frags[i], recycle);
    sh.nrFrags = 0;
    // skb_free_head(): skb_pp_recycle() for a pool page, else the page is freed.
    if (skb.head !== 0) skbPageUnref(skb.head, recycle);
    freeShared.push(sh);
  } else skbStats.clonesFreed++;
  skb.head = 0;
  skb.free = true;
  freeSkbs.push(skb);
}

/**
 * skb_gro_receive(p, skb): merges `skb` into the held GRO packet `p`: its head page (if any) and
 * its frags move to `p`, and `skb` is freed as a stolen head (NAPI_GRO_FREE_STOLEN_HEAD, nothing
 * released). Refused, leaving both untouched, when they disagree on pp_recycle (-ETOOMANYREFS:
 * pool and non-pool pages must not share an skb) or the frags would not fit (-E2BIG).
 * Model: `skb` must not be cloned (GRO only sees fresh skbs).
 */
export function skbGroReceive(p: Skb, skb: Skb): number {
  checkLive(p, "skb_gro_receive");
  checkLive(skb, "skb_gro_receive");
  if (p.ppRecycle !== skb.ppRecycle) {
    skbStats.groRefused++;
    return GRO_ETOOMANYREFS;
  }
  const sh = skb.shinfo;
  const add = sh.nrFrags + (skb.head !== 0 ? 1 : 0);
  if (p.shinfo.nrFrags + add > MAX_SKB_FRAGS) {
    skbStats.groRefused++;
    return GRO_E2BIG;
  }
  const len = skb.len;
  if (skb.head !== 0) {
    let headLen = len;
    for (let i = 0; i < sh.nrFrags; i++) headLen -= sh.fragLen[i];
    skbAddRxFrag(p, skb.head, skb.headOff, headLen);
  }
  for (let i = 0; i < sh.nrFrags; i++) skbAddRxFrag(p, sh.frags[i], sh.fragOff[i], sh.fragLen[i]);
  // The stolen head: the references now belong to p; free the skb without releasing them.
  sh.nrFrags = 0;
  skb.head = 0;
  kfreeSkb(skb);
  skbStats.groMerged++;
  return 0;
}

function checkLive(skb: Skb, what: string): void {
  if (skb.free) throw new PagePoolError("EINVAL", `${what}: skb already freed (use after free)`);
}

function pageOf(ref: NetmemRef) {
  const a = pageAllocatorOf(ref);
  if (!a) throw new PagePoolError("EINVAL", `netmem ${ref} is not a page of any allocator`);
  return a;
}
