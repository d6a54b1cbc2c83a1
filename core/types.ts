/**
 * The pool's constants, creation parameters and their validation: what the kernel keeps in
 * include/net/page_pool/types.h (and page_pool_init()'s checks). A leaf module: plugins read the
 * constants from here, never from page-pool.ts, so no plugin depends on the pool class.
 */
import { PagePoolError } from "./errors.ts";
import type { Napi, NetDevice } from "./netdev.ts";
import type { DmaDevice, DmaDir } from "./page-alloc.ts";
import type { Timers } from "./timers.ts";

// --- constants (include/net/page_pool/types.h, net/core/page_pool.c) ---
export const PP_ALLOC_CACHE_SIZE = 128;
export const PP_ALLOC_CACHE_REFILL = 64;
export const PP_RING_DEFAULT_SIZE = 1024;
export const PP_RING_MAX_SIZE = 16384;
export const PP_FLAG_DMA_MAP = 1 << 0;
export const PP_FLAG_DMA_SYNC_DEV = 1 << 1;
export const PP_FLAG_SYSTEM_POOL = 1 << 2;
export const PP_FLAG_ALLOW_UNREADABLE_NETMEM = 1 << 3;
export const PP_FLAG_ALL =
  PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_SYSTEM_POOL | PP_FLAG_ALLOW_UNREADABLE_NETMEM;
export const DEFER_TIME_MS = 1000;
export const DEFER_WARN_INTERVAL_MS = 60_000;
/**
 * BIAS_MAX is LONG_MAX >> 1 in the kernel. pp_ref_count lives in an Int32Array here, so the
 * model uses 2^30 - 1: still far above any real number of fragment users.
 */
export const BIAS_MAX = 0x3fff_ffff;
/** Chunk size of page_pool_put_netmem_bulk (XDP_BULK_QUEUE_SIZE). */
export const XDP_BULK_QUEUE_SIZE = 16;

/** The only gfp flag the model reads: the pool's paths are atomic (softirq) allocations. */
export const GFP_ATOMIC = 0x1;

export type { DmaDir };

const DMA_DIRS: readonly DmaDir[] = ["bidirectional", "to-device", "from-device", "none"];

export interface PagePoolParams {
  // fast group
  order?: number;
  /** ptr_ring size: 0 means the default 1024; otherwise min(poolSize, 16384). */
  poolSize?: number;
  nid?: number;
  /** The DMA device (pages are mapped for it). Default: the netdev's, else the host default. */
  dev?: DmaDevice;
  /** The NAPI instance that is the pool's sole consumer; puts from it may recycle directly. */
  napi?: Napi | null;
  /**
   * DMA direction. Default "bidirectional": the kernel's params are a zeroed struct and
   * DMA_BIDIRECTIONAL is 0 in enum dma_data_direction. Drivers set from-device for receive.
   */
  dmaDir?: DmaDir;
  /** Bytes the device may write; the upper bound of sync-for-device. */
  maxLen?: number;
  /** Offset of the DMA area in the page (sync-for-device starts there). */
  offset?: number;
  // slow group
  netdev?: NetDevice | null;
  /** The rx queue of `netdev` the pool serves. Default 0 (a zeroed params struct). */
  queueIdx?: number;
  flags?: number;
  /** Model only: timers for the deferred destroy (default real, unref'd timers). */
  timers?: Timers;
  /** Model only: where warnings go (default console.warn). */
  log?: (msg: string) => void;
}

/** One pool's netlink page-pool-get answer. */
export interface PagePoolDescription {
  id: number;
  ifindex?: number;
  napiId?: number;
  inflight: number;
  inflightMem: number;
  detachTime?: number;
  [providerAttr: string]: unknown;
}

/** The model-only conservation audit of one pool (pool-audit.ts). */
export interface AuditReport {
  ok: boolean;
  problems: string[];
  cache: number;
  ring: number;
  inflight: number;
  hold: number;
  release: number;
}

function intField(name: string, v: unknown, min: number, max: number): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new PagePoolError("EINVAL", `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
}

/**
 * The parameter checks of page_pool_init() that need no provider (plus the model's type checks
 * on untrusted input). Returns the DMA direction, defaulted. Throws EINVAL.
 */
export function validateParams(p: PagePoolParams): DmaDir {
  const flags = p.flags ?? 0;
  intField("flags", p.flags, 0, 0x7fff_ffff);
  if (flags & ~PP_FLAG_ALL)
    throw new PagePoolError("EINVAL", `flags: unknown flag bits 0x${(flags & ~PP_FLAG_ALL).toString(16)}`);
  intField("order", p.order, 0, 31);
  intField("poolSize", p.poolSize, 0, 0x7fff_ffff);
  intField("maxLen", p.maxLen, 0, 0x7fff_ffff);
  intField("offset", p.offset, 0, 0x7fff_ffff);
  intField("nid", p.nid, -1, 63);
  if (p.queueIdx !== undefined) intField("queueIdx", p.queueIdx, 0, 1023);
  const dmaDir = p.dmaDir ?? "bidirectional"; // DMA_BIDIRECTIONAL = 0: a zeroed params struct
  if (!DMA_DIRS.includes(dmaDir))
    throw new PagePoolError("EINVAL", `dmaDir must be one of ${DMA_DIRS.join(", ")}; got ${String(dmaDir)}`);
  if (flags & PP_FLAG_DMA_MAP && dmaDir !== "from-device" && dmaDir !== "bidirectional")
    throw new PagePoolError(
      "EINVAL",
      `dmaDir must be from-device or bidirectional with PP_FLAG_DMA_MAP, got ${dmaDir}`,
    );
  if (flags & PP_FLAG_DMA_SYNC_DEV) {
    if (!(flags & PP_FLAG_DMA_MAP))
      throw new PagePoolError("EINVAL", "flags: PP_FLAG_DMA_SYNC_DEV requires PP_FLAG_DMA_MAP");
    if (!p.maxLen) throw new PagePoolError("EINVAL", "maxLen must be non-zero with PP_FLAG_DMA_SYNC_DEV");
  }
  // The kernel reads netdev->_rx[queue_idx] (queue_idx 0 when unset) and would oops without a
  // netdev; the model refuses instead.
  if (flags & PP_FLAG_ALLOW_UNREADABLE_NETMEM && !p.netdev)
    throw new PagePoolError("EINVAL", "netdev required with PP_FLAG_ALLOW_UNREADABLE_NETMEM");
  return dmaDir;
}
