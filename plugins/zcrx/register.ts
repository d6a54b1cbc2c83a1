/**
 * io_register_zcrx_ifq(): creates an ifq (area, refill ring, completion ring) and binds the zcrx
 * provider to one rx queue of a net device through the core (netif_mp_open_rxq). Pools the
 * driver then creates for that queue with PP_FLAG_ALLOW_UNREADABLE_NETMEM use the ifq.
 */
import { PagePoolError } from "../../core/errors.ts";
import type { NetDevice } from "../../core/netdev.ts";
import { ZcrxIfq } from "./ifq.ts";
import { zcrxOps } from "./provider.ts";
import { cqEntriesFor, rqEntriesFor } from "./ring.ts";
import { ZCRX_MAX_NIOV_SHIFT, ZCRX_NIOV_SHIFT } from "./uapi.ts";

export interface ZcrxIfqOptions {
  /** if_rxq: the rx queue to bind. */
  queueIdx: number;
  /** rq_entries: refill ring size; rounded up to a power of two, at most 32768 (EINVAL above unless clamp). Default 4096. */
  rqEntries?: number;
  /** IORING_SETUP_CLAMP: cap rqEntries at 32768 instead of refusing. */
  clamp?: boolean;
  /** Area length in bytes; a positive multiple of 4096 (the kernel's page alignment rule). Default 16 MiB. */
  areaSize?: number;
  /**
   * area_id, the top 16 bits of every `off`. The kernel supports one area per ifq and gives it
   * id 0; the model lets a test pick another u16 to exercise the area check. Default 0.
   */
  areaId?: number;
  /** Completion ring size (the io_uring CQ); rounded up to a power of two. Default 2 * rqEntries. */
  cqEntries?: number;
  /**
   * rx_buf_len (zcrx's large rx buffers, net-next Jan 2026): the size of each net_iov, a power of
   * two from 4096 to 65536. The provider passes it to the queue (rx_page_size), so the driver
   * posts buffers of this size and its pool has the matching order. Default 4096.
   */
  rxBufLen?: number;
}

/** Registers an ifq on `netdev` queue `opts.queueIdx`; unwinds (frees the area) if the bind fails. */
export function registerZcrxIfq(netdev: NetDevice, opts: ZcrxIfqOptions): ZcrxIfq {
  if (!netdev.registered) throw new PagePoolError("ENODEV", `zcrx: ${netdev.name} is unregistered`);
  const rqEntries = rqEntriesFor(opts.rqEntries ?? 4096, opts.clamp ?? false);
  const cqEntries = cqEntriesFor(opts.cqEntries ?? rqEntries * 2);
  const rxBufLen = opts.rxBufLen ?? 1 << ZCRX_NIOV_SHIFT;
  const niovShift = Math.log2(rxBufLen);
  if (!Number.isInteger(niovShift) || niovShift < ZCRX_NIOV_SHIFT || niovShift > ZCRX_MAX_NIOV_SHIFT)
    throw new PagePoolError(
      "EINVAL",
      `zcrx: rxBufLen must be a power of two in [${1 << ZCRX_NIOV_SHIFT}, ${1 << ZCRX_MAX_NIOV_SHIFT}], got ${opts.rxBufLen}`,
    );
  const areaSize = opts.areaSize ?? 16 << 20;
  if (!Number.isInteger(areaSize) || areaSize <= 0 || areaSize % rxBufLen !== 0)
    throw new PagePoolError(
      "EINVAL",
      `zcrx: areaSize must be a positive multiple of the rx buffer length ${rxBufLen}, got ${areaSize}`,
    );
  // net_mp_open_rxq() refuses a queue out of range with ERANGE; checked before anything is built.
  if (!Number.isInteger(opts.queueIdx) || opts.queueIdx < 0 || opts.queueIdx >= netdev.rxQueues.length)
    throw new PagePoolError(
      "ERANGE",
      `zcrx: rx queue index ${opts.queueIdx} out of range [0, ${netdev.rxQueues.length})`,
    );
  const ifq = new ZcrxIfq(netdev, opts.queueIdx, {
    numNiovs: areaSize / rxBufLen,
    niovShift,
    areaId: opts.areaId ?? 0,
    rqEntries,
    cqEntries,
  });
  try {
    // The default length is passed as 0: the queue keeps the driver's default.
    netdev.bindRxQueue(opts.queueIdx, zcrxOps, ifq, rxBufLen === 1 << ZCRX_NIOV_SHIFT ? 0 : rxBufLen);
  } catch (e) {
    ifq.area.dispose(); // err: io_zcrx_ifq_free()
    throw e;
  }
  ifq.bound = true;
  return ifq;
}
