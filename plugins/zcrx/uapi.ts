/**
 * The io_uring zcrx user ABI as this model lays it out in shared memory (uapi io_uring.h /
 * io_uring/zcrx.h). Shared by the kernel side (ifq.ts) and the user side (user.ts), which may run
 * in a Worker: this module imports nothing that touches the pool, so a worker can load it cheaply.
 *
 * 64-bit fields (`off`) are stored as two little-endian 32-bit words, lo then hi, which is exactly
 * the memory image of a little-endian u64: a reader with a BigUint64Array or a DataView sees the
 * same value. The model keeps them as two words so the hot paths stay in 32-bit integer
 * arithmetic (no BigInt allocation per entry). The area id sits in the top 16 bits of the hi word
 * (IORING_ZCRX_AREA_SHIFT = 48 = 32 + 16).
 */

/** Area id position in `off` (IORING_ZCRX_AREA_SHIFT). */
export const IORING_ZCRX_AREA_SHIFT = 48;
/** The same, within the hi 32-bit word. */
export const AREA_SHIFT_HI = IORING_ZCRX_AREA_SHIFT - 32;
/** Low 16 bits of the hi word: the part of the byte offset above 4 GiB (~IORING_ZCRX_AREA_MASK). */
export const OFF_HI_MASK = 0xffff;
/** IO_RQ_MAX_ENTRIES: refill rings larger than this are refused (EINVAL) unless clamped. */
export const IO_RQ_MAX_ENTRIES = 32768;
/** Completion rings: the model bounds them like io_uring's IORING_MAX_CQ_ENTRIES. */
export const IO_CQ_MAX_ENTRIES = 1 << 20;
/** IORING_CQE_F_MORE: the multishot receive stays armed. Every zcrx completion carries it. */
export const IORING_CQE_F_MORE = 1 << 1;
/**
 * Default size of one net_iov in a zcrx area: PAGE_SIZE, as v6.15 has it. An ifq registered with
 * a larger rx buffer length (rx_buf_len, net-next Jan 2026) uses net_iovs of that size instead
 * (ifq->niov_shift), 16, 32 or 64 KiB.
 */
export const ZCRX_NIOV_SHIFT = 12;
export const ZCRX_NIOV_SIZE = 1 << ZCRX_NIOV_SHIFT;
/** The largest rx buffer (net_iov) length the model's zcrx serves: 64 KiB. */
export const ZCRX_MAX_NIOV_SHIFT = 16;
/** Largest area the model accepts, in net_iovs (1 GiB; liburing's example uses 256 MiB). */
export const ZCRX_MAX_NIOVS = 1 << 18;

/**
 * Ring header: `struct io_uring { u32 head; u32 tail; }` padded to L1_CACHE_BYTES, then the
 * entries (io_allocate_rbuf_ring). Offsets in bytes, as io_uring_zcrx_offsets reports them.
 */
export const RING_HEAD_OFF = 0;
export const RING_TAIL_OFF = 4;
export const RING_ENTRIES_OFF = 64;
/** Word indices of the same, for a Uint32Array over the ring's SharedArrayBuffer. */
export const HEAD_W = RING_HEAD_OFF >> 2;
export const TAIL_W = RING_TAIL_OFF >> 2;
export const ENTRIES_W = RING_ENTRIES_OFF >> 2;
/**
 * Model only: a word in the completion ring's header the kernel side sets when the ifq is shut
 * down, so a user thread knows no more completions will come (the kernel tells io_uring users by
 * ending the multishot request instead).
 */
export const CQ_CLOSED_W = 2;

/** `io_uring_zcrx_rqe { u64 off; u32 len; u32 __pad; }`: 16 bytes, 4 words. */
export const RQE_SIZE = 16;
export const RQE_OFF_LO = 0;
export const RQE_OFF_HI = 1;
export const RQE_LEN = 2;
export const RQE_PAD = 3;

/**
 * A completion, 16 bytes: `{ u64 off; u32 res; u32 flags; }`. The kernel's is the 32-byte CQE
 * (user_data, res, flags, then io_uring_zcrx_cqe { off, __pad }); the model keeps only the fields
 * zcrx gives meaning to, so four words per completion.
 */
export const CQE_OFF_LO = 0;
export const CQE_OFF_HI = 1;
export const CQE_RES = 2;
export const CQE_FLAGS = 3;

/** io_uring_zcrx_offsets: where head, tail and the entries are in a ring's shared memory. */
export interface ZcrxRingOffsets {
  head: number;
  tail: number;
  rqes: number;
}

export const RING_OFFSETS: ZcrxRingOffsets = Object.freeze({
  head: RING_HEAD_OFF,
  tail: RING_TAIL_OFF,
  rqes: RING_ENTRIES_OFF,
});

/** Bytes of shared memory a ring of `entries` needs (header + entries, 16 bytes each). */
export function ringBytes(entries: number): number {
  return RING_ENTRIES_OFF + entries * RQE_SIZE;
}

/**
 * Everything a user thread needs to drive an ifq: plain data and SharedArrayBuffers only, so it
 * survives structured cloning into a Worker (`worker.postMessage(desc)`).
 */
export interface ZcrxUserDescriptor {
  /** The refill ring: the user produces, the kernel (NAPI) consumes. */
  rqSab: SharedArrayBuffer;
  rqEntries: number;
  /** The completion ring: the kernel produces, the user consumes. */
  cqSab: SharedArrayBuffer;
  cqEntries: number;
  offsets: ZcrxRingOffsets;
  /** The area's bytes (the user memory the NIC writes into). */
  areaSab: SharedArrayBuffer;
  areaSize: number;
  areaId: number;
  /** log2 of the net_iov (rx buffer) size: `off >> niovShift` is the net_iov index. */
  niovShift: number;
  /** rq_area_token = area_id << 48, as the kernel hands it back at registration. */
  rqAreaToken: bigint;
}
