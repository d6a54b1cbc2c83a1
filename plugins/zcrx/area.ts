/**
 * io_zcrx_area: the user memory one ifq receives into. Its bytes live in a SharedArrayBuffer so a
 * user thread (a Worker) reads them in place; each 4 KiB is one net_iov (type NET_IOV_IOURING,
 * readable). Besides the net_iovs the area holds, as the kernel's does, a per-net_iov user
 * reference count and the freelist of net_iovs no pool holds.
 */
import { PagePoolError } from "../../core/errors.ts";
import {
  createNetIovArea,
  LOC_FREE,
  NET_IOV,
  NET_IOV_IOURING,
  type NetIovArea,
  type NetmemRef,
  nm,
} from "../../core/netmem.ts";
import type { DmaDevice } from "../../core/page-alloc.ts";
import { niovSetDmaAddr } from "../../core/provider.ts";
import { ZCRX_MAX_NIOVS, ZCRX_NIOV_SHIFT, ZCRX_NIOV_SIZE } from "./uapi.ts";

/**
 * Model only: IOVAs for zcrx areas. The kernel maps the pinned user pages with dma_map_sgtable and
 * gets whatever the IOMMU gives; here each area gets its own 4 GiB-aligned window far above the
 * page allocator's physical addresses, so a zcrx DMA address is recognisable in a dump.
 */
const ZCRX_IOVA_BASE = 2 ** 44;
let nextIovaWindow = 0;

export class ZcrxArea {
  /** area_id: the top 16 bits of every `off` the user sees and returns. */
  readonly id: number;
  readonly numNiovs: number;
  readonly size: number;
  readonly sab: SharedArrayBuffer;
  /** The area's bytes: net_iov i is bytes [i * 4096, (i + 1) * 4096). */
  readonly bytes: Uint8Array;
  readonly nia: NetIovArea;
  /** Descriptor of net_iov 0 (its ref is `(base << 1) | NET_IOV`). */
  readonly base: number;
  /**
   * user_refs: how many completions for each net_iov the user holds. The kernel's are atomic_t
   * because refill (softirq), receive (task) and scrub can run on different CPUs; in the model all
   * kernel-side code runs on one thread (the user thread only touches the rings and the bytes),
   * so a plain Int32Array is exact.
   */
  readonly userRefs: Int32Array;
  /** The freelist stack of net_iov indices (area->freelist / free_count). */
  readonly freelist: Uint32Array;
  freeCount: number;
  isMapped = false;
  readonly iovaBase: number;

  /** log2 of one net_iov's size (ifq->niov_shift). */
  readonly niovShift: number;
  readonly niovSize: number;

  constructor(numNiovs: number, areaId: number, owner: unknown, niovShift: number = ZCRX_NIOV_SHIFT) {
    if (!Number.isInteger(numNiovs) || numNiovs <= 0)
      throw new PagePoolError("EINVAL", `zcrx: area must hold at least one net_iov, got ${numNiovs}`);
    if (numNiovs > ZCRX_MAX_NIOVS)
      throw new PagePoolError(
        "E2BIG",
        `zcrx: area of ${numNiovs} net_iovs is above the model's limit of ${ZCRX_MAX_NIOVS} (${(ZCRX_MAX_NIOVS * ZCRX_NIOV_SIZE) >> 20} MiB of 4 KiB net_iovs)`,
      );
    if (!Number.isInteger(areaId) || areaId < 0 || areaId > 0xffff)
      throw new PagePoolError("EINVAL", `zcrx: area id must be a u16, got ${areaId}`);
    this.id = areaId;
    this.numNiovs = numNiovs;
    this.niovShift = niovShift;
    this.niovSize = 1 << niovShift;
    this.size = numNiovs * this.niovSize;
    this.sab = new SharedArrayBuffer(this.size);
    this.bytes = new Uint8Array(this.sab);
    this.userRefs = new Int32Array(numNiovs);
    this.freelist = new Uint32Array(numNiovs);
    // io_zcrx_create_area(): freelist[i] = i, so the first pops hand out the highest indices.
    for (let i = 0; i < numNiovs; i++) this.freelist[i] = i;
    this.freeCount = numNiovs;
    this.nia = createNetIovArea(numNiovs, { type: NET_IOV_IOURING, readable: true, owner });
    this.base = this.nia.base;
    this.iovaBase = ZCRX_IOVA_BASE + nextIovaWindow++ * 2 ** 32;
  }

  /** Ref of net_iov `idx`. */
  niov(idx: number): NetmemRef {
    return ((this.base + idx) << 1) | NET_IOV;
  }

  /** Index of `ref` in this area, or -1 (a page, another area's net_iov, garbage). */
  indexOf(ref: NetmemRef): number {
    if (!(ref & NET_IOV)) return -1;
    const i = (ref >>> 1) - this.base;
    return i >= 0 && i < this.numNiovs ? i : -1;
  }

  /** __io_zcrx_get_free_niov(): pops a free index, or -1 when the freelist is empty. */
  popFree(): number {
    return this.freeCount > 0 ? this.freelist[--this.freeCount] : -1;
  }

  /**
   * io_zcrx_return_niov_freelist(): pushes net_iov `idx` back and marks it free. The overflow
   * check stands for the kernel's implicit invariant (a net_iov is freed once): it catches a
   * double free in the model instead of corrupting the stack.
   */
  pushFree(idx: number): void {
    if (this.freeCount >= this.numNiovs)
      throw new PagePoolError("EFAULT", `zcrx area ${this.id}: freelist overflow returning net_iov ${idx}`);
    const d = this.base + idx;
    nm.pp[d] = 0;
    nm.ppRef[d] = 0;
    nm.loc[d] = LOC_FREE;
    this.freelist[this.freeCount++] = idx;
  }

  /**
   * io_zcrx_map_area(): maps the whole area for `dev` once (dma_map_sgtable is one call) and gives
   * every net_iov its DMA address. Returns false on a mapping failure (dev.failNextMaps).
   */
  map(dev: DmaDevice): boolean {
    if (this.isMapped) return true;
    // One map call for the whole area; its address is the model's IOVA window, not physAddr.
    if (dev.mapPage(this.niov(0)) === 0) return false;
    for (let i = 0; i < this.numNiovs; i++) niovSetDmaAddr(this.niov(i), this.iovaBase + i * this.niovSize);
    this.isMapped = true;
    return true;
  }

  /** io_zcrx_unmap_area(): clears every DMA address, one unmap call. */
  unmap(dev: DmaDevice): void {
    if (!this.isMapped) return;
    this.isMapped = false;
    for (let i = 0; i < this.numNiovs; i++) niovSetDmaAddr(this.niov(i), 0);
    dev.unmapPage(this.niov(0));
  }

  /** Gives the descriptors back (NetIovArea.dispose throws EBUSY if a pool still holds one). */
  dispose(): void {
    this.nia.dispose();
  }
}
