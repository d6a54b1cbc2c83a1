/**
 * Net devices, rx queues, NAPI contexts, and the core-managed binding of a memory provider to an
 * rx queue (netif_mp_open_rxq / netif_mp_close_rxq). A pool created for a queue takes the
 * provider from the queue, never from the driver's params: only providers that codegen found in
 * plugins/ (the generated registry) can be bound.
 */
import { providerKind } from "#dispatch";
import { PagePoolError } from "./errors.ts";
import { PAGE_SIZE } from "./netmem.ts";
import { type DmaDevice, defaultDmaDevice } from "./page-alloc.ts";
import type { MemoryProviderOps } from "./provider.ts";
import { NR_CPUS } from "./stats.ts";

// --- execution context: which CPU runs, and whether it is in softirq (NAPI) context ---

/**
 * The model's "current CPU". The model is single-threaded; a test or the simulator switches
 * context with napiRun()/onCpu() to say where the code below runs, which decides whether a put
 * may recycle straight into the cache (page_pool_napi_local).
 */
export const cpu = { id: 0, inSoftirq: false };

/** Runs `fn` as CPU `id` (0 <= id < NR_CPUS) in process context. */
export function onCpu<T>(id: number, fn: () => T): T {
  if (!Number.isInteger(id) || id < 0 || id >= NR_CPUS)
    throw new PagePoolError("EINVAL", `cpu id must be an integer in [0, ${NR_CPUS}), got ${id}`);
  const saved = cpu.id;
  const savedSoftirq = cpu.inSoftirq;
  cpu.id = id;
  cpu.inSoftirq = false;
  try {
    return fn();
  } finally {
    cpu.id = saved;
    cpu.inSoftirq = savedSoftirq;
  }
}

let nextNapiId = 1;

/** struct napi_struct: the softirq context a queue's pool is consumed from. */
export class Napi {
  readonly id: number;
  /** CPU currently running this NAPI's poll, or -1 (napi->list_owner). */
  listOwner = -1;
  constructor() {
    this.id = nextNapiId++;
  }
}

/** Runs `fn` as `napi`'s poll on the current CPU: in softirq, owning the NAPI. */
export function napiRun<T>(napi: Napi, fn: () => T): T {
  const savedSoftirq = cpu.inSoftirq;
  const savedOwner = napi.listOwner;
  cpu.inSoftirq = true;
  napi.listOwner = cpu.id;
  try {
    return fn();
  } finally {
    cpu.inSoftirq = savedSoftirq;
    napi.listOwner = savedOwner;
  }
}

// --- devices and queues ---

/** pp_memory_provider_params: what a pool created for the queue inherits. */
export interface MpParams {
  ops: MemoryProviderOps | null;
  priv: unknown;
  /**
   * pp_memory_provider_params.rx_page_size (net-next, Jan 2026, "providers with large rx
   * buffer"): the rx buffer length the provider wants for the queue, 0 for the driver's default.
   * Copied into the queue, so it survives queue restarts; the driver sizes its buffers from it.
   */
  rxPageSize?: number;
}

/** What a device and its queues need of the pools created for them (the pool class is one). */
export interface QueuePool {
  readonly id: number;
  readonly mpPriv: unknown;
  readonly state: "live" | "detached" | "freed";
  /** pool->slow.netdev: the device it is listed on; unregister moves it to loopback. */
  netdev: NetDevice | null;
  /** page_pool_destroy() (the driver's, at ndo_stop). */
  destroy(): void;
}

export class RxQueue {
  readonly netdev: NetDevice;
  readonly index: number;
  readonly napi: Napi;
  mpParams: MpParams = { ops: null, priv: null };
  /**
   * The queue's rx buffer length (qcfg rx_buf_len): what the bound provider asked for, else the
   * driver's default. A driver re-creating the queue's pool sizes its buffers (pool order) from it.
   */
  get rxBufLen(): number {
    return this.mpParams.rxPageSize || this.netdev.defaultRxBufLen;
  }
  /** Pools created for this queue that are not yet freed. */
  readonly pools = new Set<QueuePool>();
  /** How many times the queue was restarted (by a provider bind or unbind). */
  restarts = 0;
  /**
   * rxq->pool: the AF_XDP (xsk) buffer pool bound to this queue, or null. A queue in use by
   * AF_XDP cannot take a memory provider (EBUSY).
   */
  xskPool: unknown = null;
  constructor(netdev: NetDevice, index: number) {
    this.netdev = netdev;
    this.index = index;
    this.napi = new Napi();
  }
}

let nextIfindex = 2; // 1 is lo
export const LOOPBACK_IFINDEX = 1;

export interface NetDeviceOptions {
  name?: string;
  rxQueues?: number;
  dev?: DmaDevice;
  /** ethtool tcp-data-split; providers need header split (netif_mp_open_rxq refuses otherwise). */
  tcpDataSplit?: boolean;
  /** ethtool hds-thresh (dev->cfg->hds_thresh); providers need it 0. Default 0. */
  hdsThresh?: number;
  /**
   * Whether the driver implements the queue management ops (netdev_queue_mgmt_ops, which also
   * make the core take the instance lock, netdev_need_ops_lock). Without them no provider can be
   * bound: EOPNOTSUPP. Default true.
   */
  queueMgmtOps?: boolean;
  /**
   * Largest rx buffer length the driver supports (its queue config validation; bnxt: 64 KiB).
   * PAGE_SIZE means the driver has not opted in to provider-set buffer lengths (QCFG_RX_PAGE_SIZE):
   * a provider asking for another length is refused. Default 65536.
   */
  maxRxBufLen?: number;
}

export class NetDevice {
  readonly ifindex: number;
  readonly name: string;
  readonly dev: DmaDevice;
  readonly rxQueues: RxQueue[];
  tcpDataSplit: boolean;
  hdsThresh: number;
  readonly queueMgmtOps: boolean;
  /** dev_xdp_prog_count(): XDP programs attached to the device (a provider bind refuses them). */
  xdpProgCount = 0;
  registered = true;
  /** The driver's rx buffer length when no provider sets one. */
  readonly defaultRxBufLen = PAGE_SIZE;
  readonly maxRxBufLen: number;
  /**
   * Driver hook for a queue restart (netdev_rx_queue_restart): a driver re-creates the queue's
   * page pool here so the new pool picks up the new provider. Default: nothing.
   */
  onQueueRestart: ((rxq: RxQueue) => void) | null = null;
  /**
   * Driver hook for closing the device (ndo_stop, run by dev_close at unregister): a driver
   * destroys its queues' pools here. Default: nothing (the core then destroys what is left).
   */
  onStop: (() => void) | null = null;
  /**
   * netdev->page_pools: the pools listed on this device (created with it as their netdev, or
   * moved here because theirs was unregistered, for loopback). page-pool-get shows these.
   */
  readonly pagePools = new Set<QueuePool>();

  constructor(opts: NetDeviceOptions = {}, ifindex?: number) {
    const n = opts.rxQueues ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw new PagePoolError("EINVAL", `rxQueues must be an integer in [1, 1024], got ${opts.rxQueues}`);
    this.ifindex = ifindex ?? nextIfindex++;
    this.name = opts.name ?? `eth${this.ifindex - 2}`;
    this.dev = opts.dev ?? defaultDmaDevice();
    this.tcpDataSplit = opts.tcpDataSplit ?? true;
    this.hdsThresh = opts.hdsThresh ?? 0;
    this.queueMgmtOps = opts.queueMgmtOps ?? true;
    this.maxRxBufLen = opts.maxRxBufLen ?? 65536;
    this.rxQueues = Array.from({ length: n }, (_, i) => new RxQueue(this, i));
  }

  rxQueue(idx: number): RxQueue {
    if (!Number.isInteger(idx) || idx < 0 || idx >= this.rxQueues.length)
      throw new PagePoolError(
        "EINVAL",
        `${this.name}: rx queue ${idx} out of range [0, ${this.rxQueues.length})`,
      );
    return this.rxQueues[idx];
  }

  /**
   * __net_mp_open_rxq(): binds a provider to a queue and restarts it. The kernel's checks, in its
   * order: no queue management ops EOPNOTSUPP; queue index out of range ERANGE; tcp-data-split
   * off EINVAL; hds-thresh non-zero EINVAL; an XDP program attached EEXIST; the queue already
   * bound EEXIST; an AF_XDP socket on the queue EBUSY. Then the restart, which fails with ENODATA
   * when no pool of the restarted queue took the provider (page_pool_check_memory_provider: the
   * driver does not support providers). A failed restart leaves the queue without the provider.
   * Model additions: an unregistered device is ENODEV (the kernel's netlink lookup fails first),
   * and only registered providers (found by codegen in plugins/) can be bound, EFAULT otherwise.
   */
  bindRxQueue(queueIdx: number, ops: MemoryProviderOps, priv: unknown, rxPageSize = 0): RxQueue {
    if (!this.registered) throw new PagePoolError("ENODEV", `${this.name} is unregistered`);
    if (!this.queueMgmtOps)
      throw new PagePoolError("EOPNOTSUPP", `${this.name}: the driver has no queue management ops`);
    if (!Number.isInteger(queueIdx) || queueIdx < 0 || queueIdx >= this.rxQueues.length)
      throw new PagePoolError(
        "ERANGE",
        `${this.name}: rx queue index ${queueIdx} out of range [0, ${this.rxQueues.length})`,
      );
    const rxq = this.rxQueues[queueIdx];
    if (providerKind(ops) === 0)
      throw new PagePoolError(
        "EFAULT",
        `provider "${(ops as { name?: string })?.name}" is not a registered provider (only plugins/ found by codegen can be bound)`,
      );
    if (!this.tcpDataSplit) throw new PagePoolError("EINVAL", `${this.name}: tcp-data-split is disabled`);
    if (this.hdsThresh !== 0) throw new PagePoolError("EINVAL", `${this.name}: hds-thresh is not zero`);
    if (this.xdpProgCount > 0)
      throw new PagePoolError(
        "EEXIST",
        `${this.name}: unable to bind a memory provider to a device with an XDP program attached`,
      );
    if (rxq.mpParams.ops)
      throw new PagePoolError(
        "EEXIST",
        `${this.name} rx queue ${queueIdx}: designated queue already memory provider bound`,
      );
    if (rxq.xskPool !== null)
      throw new PagePoolError(
        "EBUSY",
        `${this.name} rx queue ${queueIdx}: designated queue already in use by AF_XDP`,
      );
    this.#checkRxPageSize(rxPageSize);
    rxq.mpParams = { ops, priv, rxPageSize };
    try {
      this.#restart(rxq);
      this.#checkMemoryProvider(rxq);
    } catch (e) {
      // A failed restart leaves the queue without the provider.
      rxq.mpParams = { ops: null, priv: null };
      // Model departure: the kernel checks the new queue memory before it swaps it in and frees
      // it on failure, so the old queue keeps running. The model's single driver hook has already
      // swapped, so after an ENODATA it restarts the queue once more without the provider.
      if ((e as PagePoolError).code === "ENODATA") this.#restart(rxq);
      throw e;
    }
    return rxq;
  }

  /**
   * The driver's queue config validation of a provider's rx buffer length (bnxt's
   * bnxt_queue_cfg_validate): a driver that did not opt in refuses any length but its default
   * (EOPNOTSUPP); a length that is not a power of two, or outside [PAGE_SIZE, max], is ERANGE.
   */
  #checkRxPageSize(len: number): void {
    if (len === 0 || len === this.defaultRxBufLen) return;
    if (this.maxRxBufLen <= this.defaultRxBufLen)
      throw new PagePoolError("EOPNOTSUPP", `${this.name}: the driver does not support changing rx-buf-len`);
    if (!Number.isInteger(len) || len <= 0 || (len & (len - 1)) !== 0)
      throw new PagePoolError("ERANGE", `${this.name}: rx-buf-len ${len} is not a power of 2`);
    if (len < this.defaultRxBufLen || len > this.maxRxBufLen)
      throw new PagePoolError(
        "ERANGE",
        `${this.name}: rx-buf-len ${len} out of range [${this.defaultRxBufLen}, ${this.maxRxBufLen}]`,
      );
  }

  /**
   * page_pool_check_memory_provider(): after the restart, some pool of the queue must have taken
   * the provider, else the driver ignores providers: ENODATA. Model departure: with no driver
   * hook (onQueueRestart null) the caller is the driver and creates the queue's pool after the
   * bind, so there is nothing to check yet.
   */
  #checkMemoryProvider(rxq: RxQueue): void {
    if (this.onQueueRestart === null) return;
    const priv = rxq.mpParams.priv;
    for (const pool of rxq.pools) if (pool.mpPriv === priv) return; // listed pools, as the kernel walks
    throw new PagePoolError(
      "ENODATA",
      `${this.name} rx queue ${rxq.index}: no page pool of the restarted queue took the memory provider (driver does not support it?)`,
    );
  }

  /**
   * netif_mp_close_rxq(): unbinds and restarts the queue. Pools created while bound keep their
   * provider (copied at creation) and work until they drain.
   */
  unbindRxQueue(queueIdx: number, priv?: unknown): void {
    const rxq = this.rxQueue(queueIdx);
    if (!rxq.mpParams.ops)
      throw new PagePoolError("ENOENT", `${this.name} rx queue ${queueIdx}: no memory provider bound`);
    if (priv !== undefined && rxq.mpParams.priv !== priv)
      throw new PagePoolError(
        "EINVAL",
        `${this.name} rx queue ${queueIdx}: bound to a different provider instance`,
      );
    rxq.mpParams = { ops: null, priv: null };
    if (this.registered) this.#restart(rxq);
  }

  /**
   * dev_xdp_install(): attaches an XDP program to the device. Refused with EBUSY, in the kernel's
   * order, when header split is enabled and the program cannot take multi-buffer frames
   * (`frags`: xdp.frags, prog->aux->xdp_has_frags), and when any rx queue has a memory provider
   * bound (dev_get_min_mp_channel_count). A refused attach changes nothing. An attached program
   * is counted (dev_xdp_prog_count), so a later provider bind is EEXIST.
   */
  attachXdp(prog: { frags: boolean }): void {
    if (!this.registered) throw new PagePoolError("ENODEV", `${this.name} is unregistered`);
    if (this.tcpDataSplit && !prog.frags)
      throw new PagePoolError("EBUSY", `${this.name}: unable to install XDP to device using tcp-data-split`);
    if (this.rxQueues.some((q) => q.mpParams.ops !== null))
      throw new PagePoolError("EBUSY", `${this.name}: unable to install XDP to device using memory provider`);
    this.xdpProgCount++;
  }

  /** Detaches the device's XDP program (a no-op without one, as installing a NULL program is). */
  detachXdp(): void {
    if (this.xdpProgCount > 0) this.xdpProgCount--;
  }

  /**
   * unregister_netdevice(), in the kernel's order: the device is closed first (dev_close: the
   * driver's ndo_stop destroys its pools; pools still holding buffers stay listed, detached);
   * then providers still bound get `uninstall` (dev_memory_provider_uninstall); then the
   * NETDEV_UNREGISTER notifier moves the device's listed pools to loopback
   * (page_pool_unreg_netdev): page-pool-get still shows them, without an ifindex, and they get
   * no "stalled pool shutdown" warning (only invisible pools do).
   *
   * Model: a device whose driver installed no onStop hook (tests acting as the driver) has its
   * still-live pools destroyed by the core here, as a driver's ndo_stop would; no pool of an
   * unregistered device is left live.
   */
  unregister(): void {
    if (!this.registered) return;
    // dev_close(): the driver stops its queues and destroys their pools.
    this.onStop?.();
    for (const pool of [...this.pagePools]) if (pool.state === "live") pool.destroy();
    this.registered = false;
    for (const rxq of this.rxQueues) {
      const { ops, priv } = rxq.mpParams;
      if (ops) {
        ops.uninstall?.(priv, rxq);
        rxq.mpParams = { ops: null, priv: null };
      }
    }
    // page_pool_unreg_netdev(): splice the listed pools onto loopback.
    if (this.ifindex === LOOPBACK_IFINDEX) return;
    const lo = loopbackDev();
    for (const pool of this.pagePools) {
      pool.netdev = lo;
      lo.pagePools.add(pool);
    }
    this.pagePools.clear();
  }

  /**
   * netdev queue-get for one rx queue (netdev_nl_queue_fill_one): id, ifindex, type, napi-id,
   * the bound provider's attributes (its nl_fill with this queue: `dmabuf`, `ioUring`), and an
   * empty `xsk` nest when an AF_XDP socket is on the queue. ENODEV once unregistered, EINVAL for
   * a queue out of range (netdev_nl_queue_validate).
   */
  queueGet(queueIdx: number): QueueDescription {
    if (!this.registered) throw new PagePoolError("ENODEV", `${this.name} is unregistered`);
    const rxq = this.rxQueue(queueIdx);
    const d: QueueDescription = { id: rxq.index, ifindex: this.ifindex, type: "rx", napiId: rxq.napi.id };
    const { ops, priv } = rxq.mpParams;
    // Control path: the provider's table is called directly (no dispatcher variant needed).
    const extra = ops?.nlFill?.(priv, rxq);
    if (extra) Object.assign(d, extra);
    if (rxq.xskPool !== null) d.xsk = {};
    return d;
  }

  /** netdev queue-get dump: every rx queue of the device. */
  queueGetDump(): QueueDescription[] {
    return this.rxQueues.map((q) => this.queueGet(q.index));
  }

  #restart(rxq: RxQueue): void {
    rxq.restarts++;
    this.onQueueRestart?.(rxq);
  }
}

/** One rx queue's netdev queue-get answer (netdev.yaml `queue`). */
export interface QueueDescription {
  id: number;
  ifindex: number;
  type: "rx";
  napiId: number;
  xsk?: Record<string, never>;
  [providerAttr: string]: unknown;
}

let lo: NetDevice | null = null;
/** The loopback device (ifindex 1): where a dead device's pools are listed (made on first use). */
export function loopbackDev(): NetDevice {
  lo ??= new NetDevice({ name: "lo", queueMgmtOps: false }, LOOPBACK_IFINDEX);
  return lo;
}
