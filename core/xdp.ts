/**
 * The XDP side of page recycling (net/core/xdp.c): the memory model a driver registers for its
 * rx queue, and the return paths of the three verdicts that keep a page out of the stack.
 *
 * - xdp_rxq_info_reg_mem_model(MEM_TYPE_PAGE_POOL, pool) gives the model a cyclic mem id
 *   (1..0xfffe) and makes it a second user of the pool (page_pool_use_xdp_mem: user_cnt++ and a
 *   disconnect callback). xdp_rxq_info_unreg_mem_model() drops that user (page_pool_destroy), so
 *   the pool is torn down by whichever of the driver and the model lets go last; the disconnect
 *   runs when the pool is finally freed and retires the mem id.
 * - XDP_DROP: the driver recycles the buffer straight into the cache (xdp_return_buff with
 *   napi_direct, i.e. page_pool_put_full_netmem(.., true)), the reason the cache holds 128.
 * - XDP_TX and XDP_REDIRECT turn the buffer into an xdp_frame that is returned at TX completion:
 *   one at a time by xdp_return_frame (allow_direct false) or, as most drivers do, gathered in an
 *   xdp_frame_bulk of XDP_BULK_QUEUE_SIZE and flushed with page_pool_put_netmem_bulk, the real
 *   caller of the bulk put. A completion in the rx NAPI's own context (XDP_TX on the same
 *   queue) is napi-local and recycles into the cache; a redirect completed on another CPU goes
 *   through the ptr_ring.
 *
 * No per-packet objects: a frame is its netmem ref (the model's frames have no frags).
 */
import { PagePoolError } from "./errors.ts";
import type { NetDevice } from "./netdev.ts";
import { type NetmemRef, netmemDesc, nm } from "./netmem.ts";
import type { PagePool } from "./page-pool.ts";
import { poolsById } from "./pool-table.ts";
import { XDP_BULK_QUEUE_SIZE } from "./types.ts";

/**
 * page_pool_use_xdp_mem() (page_pool.c, called only by the memory model's registration): one more
 * user, so the driver's and the XDP memory model's page_pool_destroy() each drop one;
 * `disconnect` runs at the final free. Model only: a destroyed pool is refused (the kernel has
 * no check; registering one is a driver bug).
 */
export function useXdpMem(pool: PagePool, disconnect: (pool: PagePool) => void, memId: number): void {
  if (pool.state !== "live")
    throw new PagePoolError(
      "EINVAL",
      `useXdpMem: pool ${pool.id} is destroyed (${pool.state}); a driver bug`,
    );
  pool.userCnt++;
  pool.disconnect = disconnect;
  pool.xdpMemId = memId;
}

export const MEM_TYPE_PAGE_SHARED = 0;
export const MEM_TYPE_PAGE_ORDER0 = 1;
export const MEM_TYPE_PAGE_POOL = 2;
export const MEM_TYPE_XSK_BUFF_POOL = 3;
const MEM_TYPE_MAX = 4;
export const MEM_ID_MIN = 1;
export const MEM_ID_MAX = 0xfffe;

/** The rhashtable mem_id_ht: mem id → the page pool behind it, while registered. */
const memIds = new Map<number, PagePool>();
let memIdNext = MEM_ID_MIN;

function memIdCyclicGet(): number {
  for (let tries = 0; tries < MEM_ID_MAX; tries++) {
    const id = memIdNext;
    memIdNext = id + 1 >= MEM_ID_MAX ? MEM_ID_MIN : id + 1;
    if (!memIds.has(id)) return id;
  }
  throw new PagePoolError("ENOSPC", "xdp: no free memory-model id");
}

/** The pool registered under `memId` (__xdp_return's lookup), or undefined. */
export function xdpMemPool(memId: number): PagePool | undefined {
  return memIds.get(memId);
}

/** struct xdp_rxq_info: one rx queue's XDP registration and its memory model. */
export class XdpRxqInfo {
  registered = false;
  netdev: NetDevice | null = null;
  queueIndex = 0;
  napiId = 0;
  memType = 0;
  memId = 0;

  /** xdp_rxq_info_reg(). */
  reg(netdev: NetDevice, queueIndex: number, napiId: number): void {
    if (this.registered)
      throw new PagePoolError("EINVAL", "xdp_rxq_info_reg: already registered (driver bug)");
    this.registered = true;
    this.netdev = netdev;
    this.queueIndex = queueIndex;
    this.napiId = napiId;
  }

  /**
   * xdp_rxq_info_reg_mem_model(): EFAULT unless registered (the kernel WARNs: driver bug),
   * EOPNOTSUPP for an unknown type, EINVAL for MEM_TYPE_PAGE_POOL without a pool. For a page
   * pool: a mem id, and the pool gains a user whose disconnect retires the id.
   */
  regMemModel(type: number, pool: PagePool | null): void {
    if (!this.registered)
      throw new PagePoolError("EFAULT", "xdp_rxq_info_reg_mem_model: missing register, driver bug");
    if (!Number.isInteger(type) || type < 0 || type >= MEM_TYPE_MAX)
      throw new PagePoolError("EOPNOTSUPP", `xdp: unsupported memory type ${type}`);
    this.memType = type;
    if (pool === null) {
      if (type === MEM_TYPE_PAGE_POOL)
        throw new PagePoolError("EINVAL", "xdp: MEM_TYPE_PAGE_POOL needs a page pool");
      return;
    }
    const id = memIdCyclicGet();
    this.memId = id;
    memIds.set(id, pool);
    if (type === MEM_TYPE_PAGE_POOL) useXdpMem(pool, () => memIds.delete(id), id);
  }

  /** xdp_rxq_info_unreg_mem_model(): a page pool model drops its user (page_pool_destroy). */
  unregMemModel(): void {
    if (!this.registered)
      throw new PagePoolError("EFAULT", "xdp_rxq_info_unreg_mem_model: missing register, driver bug");
    const id = this.memId;
    const type = this.memType;
    this.memId = 0;
    this.memType = 0;
    if (id === 0) return;
    const pool = memIds.get(id);
    if (type === MEM_TYPE_PAGE_POOL && pool) pool.destroy();
    else memIds.delete(id);
  }

  /** xdp_rxq_info_unreg(): unregisters the memory model too. */
  unreg(): void {
    if (!this.registered) return;
    this.unregMemModel();
    this.registered = false;
    this.netdev = null;
  }
}

/** Counters of the XDP return paths (tests and the simulator read them). */
export const xdpStats = { dropDirect: 0, frameReturns: 0, bulkFlushes: 0, bulkFrames: 0 };

function poolOf(ref: NetmemRef): PagePool {
  const pool = poolsById.get(nm.pp[netmemDesc(ref)]) as PagePool | undefined;
  if (!pool) throw new PagePoolError("EINVAL", `xdp: netmem ${ref} is not a page-pool netmem`);
  return pool;
}

/**
 * XDP_DROP in the driver's NAPI poll: xdp_return_buff() with napi_direct, straight back into the
 * pool's alloc cache (page_pool_put_full_netmem(pool, nm, true)).
 */
export function xdpDropDirect(ref: NetmemRef): void {
  poolOf(ref).putFullNetmem(ref, true);
  xdpStats.dropDirect++;
}

/** xdp_return_frame(): one frame back, allow_direct false (napi-local may still recycle it). */
export function xdpReturnFrame(ref: NetmemRef): void {
  poolOf(ref).putFullNetmem(ref, false);
  xdpStats.frameReturns++;
}

/** xdp_return_frame_rx_napi(): the frame is returned from the rx NAPI that owns its pool. */
export function xdpReturnFrameRxNapi(ref: NetmemRef): void {
  poolOf(ref).putFullNetmem(ref, true);
  xdpStats.frameReturns++;
}

/**
 * struct xdp_frame_bulk: frames gathered at TX completion, flushed XDP_BULK_QUEUE_SIZE at a time
 * (xdp_return_frame_bulk / xdp_flush_frame_bulk). Reuse one per completion loop: no allocation.
 */
export class XdpFrameBulk {
  readonly q = new Int32Array(XDP_BULK_QUEUE_SIZE);
  count = 0;
  readonly #scratch = new Int32Array(XDP_BULK_QUEUE_SIZE);

  /** xdp_return_frame_bulk(): queues one page-pool frame, flushing first if the queue is full. */
  add(ref: NetmemRef): void {
    if (this.count === XDP_BULK_QUEUE_SIZE) this.flush();
    this.q[this.count++] = ref;
  }

  /**
   * xdp_flush_frame_bulk() → page_pool_put_netmem_bulk(q, count). The kernel's bulk put takes
   * netmems of several pools and serves them pool by pool in order of first appearance (the
   * others wait for the next round); the model's per-pool putNetmemBulk is called the same way.
   */
  flush(): void {
    let n = this.count;
    this.count = 0;
    if (n === 0) return;
    xdpStats.bulkFlushes++;
    xdpStats.bulkFrames += n;
    const q = this.q;
    const mine = this.#scratch;
    while (n > 0) {
      const pp = nm.pp[netmemDesc(q[0])];
      let k = 0;
      let foreign = 0;
      for (let i = 0; i < n; i++) {
        const ref = q[i];
        if (nm.pp[netmemDesc(ref)] === pp) mine[k++] = ref;
        else q[foreign++] = ref;
      }
      const pool = poolsById.get(pp) as PagePool | undefined;
      if (!pool) throw new PagePoolError("EINVAL", `xdp: frame ${mine[0]} is not a page-pool netmem`);
      pool.putNetmemBulk(mine, k);
      n = foreign;
    }
  }
}
