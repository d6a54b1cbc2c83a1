/**
 * net_devmem_dmabuf_binding (net/core/devmem.c): a dma-buf attached to a net device and bound to
 * one or more of its rx queues, with a chunk allocator (the kernel's gen_pool) that hands out one
 * 4 KiB net_iov at a time.
 *
 * Lifetime, as in the kernel: the binding is reference counted. The netlink user holds one
 * reference (dropped at unbind, i.e. when the netlink socket closes), every page pool created for
 * a bound queue holds one (taken in the provider's init, dropped in its destroy). The last put
 * frees the chunks, the net_iov area and the dma-buf reference. So after unbind, pools created
 * while the queue was bound keep allocating and recycling until they are destroyed and drain.
 */
import { PagePoolError } from "../../core/errors.ts";
import type { NetDevice, RxQueue } from "../../core/netdev.ts";
import {
  createNetIovArea,
  LOC_FREE,
  LOC_NAMES,
  NET_IOV,
  NET_IOV_DMABUF,
  type NetIovArea,
  type NetmemRef,
  nm,
  PAGE_SHIFT,
} from "../../core/netmem.ts";
import { poolsById } from "../../core/pool-table.ts";
import { type MpRxQueue, niovSetDmaAddr } from "../../core/provider.ts";
import type { DmaBuf } from "./dmabuf.ts";
import { FirstFitBitmap } from "./first-fit.ts";

/** net_devmem_dmabuf_bindings: live (not yet unbound) bindings by id (XA_FLAGS_ALLOC1). */
const bindings = new Map<number, DevmemBinding>();
/** xa_limit_32b. */
const BINDING_ID_MAX = 0xffff_ffff;
/** xa_alloc_cyclic's `next`: ids go up and wrap to 1, skipping ids still in use. */
let idAllocNext = 1;

function allocBindingId(): number {
  const start = idAllocNext;
  let id = start;
  while (bindings.has(id)) {
    id = id >= BINDING_ID_MAX ? 1 : id + 1;
    // The kernel returns -EBUSY when the id space is full.
    if (id === start) throw new PagePoolError("EBUSY", "devmem: no free binding id");
  }
  idAllocNext = id >= BINDING_ID_MAX ? 1 : id + 1;
  return id;
}

/** Test hook: where the cyclic binding-id allocator continues (to exercise the wrap). */
export function setNextBindingId(next: number): void {
  if (!Number.isInteger(next) || next < 1 || next > BINDING_ID_MAX)
    throw new PagePoolError("EINVAL", `binding id must be in [1, ${BINDING_ID_MAX}], got ${next}`);
  idAllocNext = next;
}

/** net_devmem_lookup_dmabuf(): a binding that is still bound, by id. */
export function devmemBindingById(id: number): DevmemBinding | undefined {
  return bindings.get(id);
}

export type BindingState = "bound" | "unbound" | "freed";

export interface BindingAudit {
  ok: boolean;
  problems: string[];
  /** net_iovs free in the chunk pool. */
  free: number;
  /** net_iovs handed to pools (attached to one). */
  allocated: number;
  refcount: number;
}

export class DevmemBinding {
  readonly id: number;
  readonly netdev: NetDevice;
  readonly dmabuf: DmaBuf;
  /**
   * All the binding's net_iovs, one per 4 KiB of the dma-buf, in dma-buf (virtual) order.
   * Model: one net_iov_area for the whole binding; the kernel has one per sg entry (chunk
   * owner). The sg chunks are kept as index ranges (chunkStart) so the DMA addresses are the
   * same, and net_iov i sits at virtual offset i << PAGE_SHIFT either way.
   */
  readonly area: NetIovArea;
  readonly numNiovs: number;
  /** The gen_pool: first fit, one bit per net_iov. */
  readonly chunkPool: FirstFitBitmap;
  /** First net_iov index of each sg chunk. */
  readonly chunkStart: Int32Array;
  /** bound_rxqs. */
  readonly boundRxqs = new Set<RxQueue>();

  /** xa_erase(&binding->bound_rxqs, ...): the queue's device is going away (uninstall). */
  forgetRxQueue(rxq: MpRxQueue): void {
    for (const q of this.boundRxqs) if (q === rxq) this.boundRxqs.delete(q);
  }
  state: BindingState = "bound";
  /** Counters for nlFill, the simulator and tests. */
  allocs = 0;
  allocFails = 0;
  frees = 0;
  /** Pools that took a reference (provider init) and gave it back (provider destroy). */
  poolInits = 0;
  poolDestroys = 0;
  /** Kernel WARNs that the model turns into records instead of a crash. */
  readonly warnings: string[] = [];
  /** True when the last put found net_iovs still out (the kernel then leaks the gen_pool). */
  leaked = false;
  #refs = 1;
  readonly #log: (msg: string) => void;

  /** Use bindDmabufRx() (or DevmemNetlink.bindRx) to create one. */
  constructor(netdev: NetDevice, dmabuf: DmaBuf, log?: (msg: string) => void) {
    this.netdev = netdev;
    this.dmabuf = dmabuf;
    this.#log = log ?? ((m) => console.warn(m));
    this.numNiovs = dmabuf.size >>> PAGE_SHIFT;
    this.area = createNetIovArea(this.numNiovs, {
      type: NET_IOV_DMABUF,
      readable: dmabuf.cpuReadable,
      owner: this,
    });
    this.chunkPool = new FirstFitBitmap(this.numNiovs, `devmem binding chunk pool`);
    const nChunks = dmabuf.sgLen.length;
    this.chunkStart = new Int32Array(nChunks);
    let idx = 0;
    for (let c = 0; c < nChunks; c++) {
      this.chunkStart[c] = idx;
      const n = dmabuf.sgLen[c] / 2 ** PAGE_SHIFT;
      // page_pool_set_dma_addr_netmem(): each net_iov's DMA address is preset at bind time.
      for (let i = 0; i < n; i++)
        niovSetDmaAddr(this.area.niov(idx + i), dmabuf.sgDma[c] + i * 2 ** PAGE_SHIFT);
      idx += n;
    }
    try {
      this.id = allocBindingId();
    } catch (e) {
      this.area.dispose();
      throw e;
    }
    bindings.set(this.id, this);
  }

  get refcount(): number {
    return this.#refs;
  }

  /** net_devmem_dmabuf_binding_get(). */
  get(): void {
    if (this.#refs === 0) throw new PagePoolError("EFAULT", `devmem binding ${this.id}: get after free`);
    this.#refs++;
  }

  /** net_devmem_dmabuf_binding_put(): the last reference frees the binding. */
  put(): void {
    if (this.#refs === 0) throw new PagePoolError("EFAULT", `devmem binding ${this.id}: put after free`);
    if (--this.#refs === 0) this.#free();
  }

  /** Index of a net_iov in this binding (net_iov_idx), or -1 when it is not one of ours. */
  niovIndex(ref: NetmemRef): number {
    return this.area.indexOf(ref);
  }

  /** net_iov_virtual_addr(): the net_iov's byte offset in the dma-buf (what cmsgs report). */
  virtualAddr(ref: NetmemRef): number {
    return ((ref >>> 1) - this.area.base) * 2 ** PAGE_SHIFT;
  }

  /**
   * net_devmem_alloc_dmabuf(): one free net_iov (first fit), detached, or 0 when the chunk pool
   * is exhausted. Hot path of the provider's allocNetmems: no allocation.
   */
  allocNiov(): NetmemRef {
    const i = this.chunkPool.alloc();
    if (i < 0) {
      this.allocFails++;
      return 0;
    }
    this.allocs++;
    const d = this.area.base + i;
    nm.pp[d] = 0;
    nm.ppRef[d] = 0;
    return (d << 1) | NET_IOV;
  }

  /** net_devmem_free_dmabuf(): back to the chunk pool. The caller detached it from its pool. */
  freeNiov(ref: NetmemRef): void {
    const i = this.area.indexOf(ref);
    // WARN_ON(!gen_pool_has_addr()) in the kernel.
    if (i < 0)
      throw new PagePoolError(
        "EFAULT",
        `devmem binding ${this.id}: netmem ${ref} is not one of its net_iovs`,
      );
    this.chunkPool.free(i);
    this.frees++;
  }

  /**
   * net_devmem_unbind_dmabuf(): closes every bound rx queue (a restart without the provider),
   * forgets the id, and drops the user's reference. Pools that still hold net_iovs keep the
   * binding alive until they drain. In the kernel this runs when the netlink socket that bound
   * the dma-buf is closed (there is no unbind command).
   */
  unbind(): void {
    if (this.state !== "bound") throw new PagePoolError("ENOENT", `devmem binding ${this.id} is not bound`);
    for (const rxq of this.boundRxqs) {
      // A queue of an unregistered device was already uninstalled (and dropped from the set).
      if (rxq.mpParams.priv === this) rxq.netdev.unbindRxQueue(rxq.index, this);
    }
    this.boundRxqs.clear();
    bindings.delete(this.id);
    this.state = "unbound";
    this.put();
  }

  /**
   * Conservation check over the binding's net_iovs: each is either free in the chunk pool (and
   * attached to no pool) or allocated (and attached to a live pool of this binding).
   */
  audit(): BindingAudit {
    const problems: string[] = [];
    let free = 0;
    let allocated = 0;
    if (this.state !== "freed" || this.leaked) {
      const base = this.area.base;
      for (let i = 0; i < this.numNiovs; i++) {
        const d = base + i;
        const pp = nm.pp[d];
        if (this.chunkPool.isFree(i)) {
          free++;
          if (pp !== 0) problems.push(`net_iov ${i} is free in the chunk pool but attached to pool ${pp}`);
          else if (nm.loc[d] !== LOC_FREE)
            problems.push(`net_iov ${i} is free in the chunk pool but marked ${LOC_NAMES[nm.loc[d]]}`);
        } else {
          allocated++;
          if (pp === 0)
            problems.push(`net_iov ${i} is allocated from the chunk pool but attached to no pool (lost)`);
          else if (poolsById.get(pp)?.mpPriv !== this)
            problems.push(`net_iov ${i} is attached to pool ${pp}, which is not a live pool of this binding`);
        }
      }
      if (free !== this.chunkPool.avail)
        problems.push(`chunk pool reports ${this.chunkPool.avail} free, bitmap has ${free}`);
    }
    if (this.#refs < 0) problems.push(`refcount is negative (${this.#refs})`);
    return { ok: problems.length === 0, problems, free, allocated, refcount: this.#refs };
  }

  /** __net_devmem_dmabuf_binding_free(). */
  #free(): void {
    this.state = "freed";
    if (bindings.get(this.id) === this) bindings.delete(this.id);
    if (this.chunkPool.avail !== this.chunkPool.size) {
      // The kernel WARNs and skips gen_pool_destroy: the chunks (and net_iovs) leak.
      const msg = `devmem binding ${this.id}: can't destroy genpool. size=${this.chunkPool.size}, avail=${this.chunkPool.avail}`;
      this.warnings.push(msg);
      this.#log(msg);
      this.leaked = true;
    } else {
      this.area.dispose();
    }
    // dma_buf_unmap_attachment + dma_buf_detach + dma_buf_put.
    this.dmabuf.put();
  }
}
