/**
 * The user-facing side of devmem TCP: a socket-like receiver (net/ipv4/tcp.c tcp_recvmsg_dmabuf,
 * net/core/sock.c sock_devmem_dontneed), in the 6.12 "autorelease" model.
 *
 * - The driver delivers fragments (netmem, offset, size) to the socket's receive queue; each
 *   queued fragment carries one pp reference (the skb's).
 * - recvmsg() reports each devmem fragment as a cmsg record {fragOffset, fragSize, fragToken,
 *   dmabufId} (SO_DEVMEM_DMABUF) and takes one pp reference per token; when a fragment is fully
 *   read, the skb's reference is dropped. Linear data (the skb head) is copied into the caller's
 *   data buffer and reported as SO_DEVMEM_LINEAR with only its size.
 * - dontneed() (SO_DEVMEM_DONTNEED) gives tokens back: each known token drops its pp reference.
 * - close() frees every token still held and drops every queued fragment.
 *
 * Hot paths (deliver, recvmsg, dontneed) allocate nothing per fragment: the receive queue and the
 * token table are typed arrays, and recvmsg fills a caller-owned DevmemCmsgBuffer.
 */
import { PagePoolError } from "../../core/errors.ts";
import { LOC_INFLIGHT, NET_IOV, type NetmemRef, netIovArea, nm, PAGE_SIZE } from "../../core/netmem.ts";
import { poolsById } from "../../core/pool-table.ts";
import { DevmemBinding } from "./binding.ts";
import { FirstFitBitmap } from "./first-fit.ts";
import { devmemOps } from "./provider.ts";

/** asm-generic/socket.h. */
export const SO_DEVMEM_DONTNEED = 97;
export const SO_DEVMEM_LINEAR = 98;
export const SO_DEVMEM_DMABUF = 99;
/** Ranges (struct dmabuf_token) accepted per SO_DEVMEM_DONTNEED call; more is EINVAL. */
export const MAX_DONTNEED_TOKENS = 128;
/** Tokens inspected per SO_DEVMEM_DONTNEED call (net: fix SO_DEVMEM_DONTNEED looping too long). */
export const MAX_DONTNEED_FRAGS = 1024;
/** xa_limit_31b: the largest token. */
export const TOKEN_MAX = 0x7fff_ffff;

/**
 * The control buffer (msg_control) and data buffer (msg_iov) of one recvmsg, as typed arrays the
 * caller owns and reuses. Record i is the cmsg of type `type[i]` (SO_DEVMEM_DMABUF or
 * SO_DEVMEM_LINEAR). Linear bytes are appended to `data` in order; their record carries only the
 * size (frag_offset 0), as in the kernel.
 */
export class DevmemCmsgBuffer {
  readonly capacity: number;
  readonly type: Uint8Array;
  /** Byte offset of the fragment in the dma-buf (dmabuf_cmsg.frag_offset, u64). */
  readonly fragOffset: Float64Array;
  readonly fragSize: Uint32Array;
  readonly fragToken: Uint32Array;
  readonly dmabufId: Uint32Array;
  /** Records filled by the last recvmsg. */
  count = 0;
  readonly data: Uint8Array;
  /** Bytes of `data` filled by the last recvmsg. */
  dataLen = 0;

  /** `capacity` cmsgs fit in the control buffer; `dataBytes` bytes of linear data fit in `data`. */
  constructor(capacity: number, dataBytes = 4096) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 1 << 20)
      throw new PagePoolError("EINVAL", `cmsg capacity must be an integer in [0, 2^20], got ${capacity}`);
    if (!Number.isInteger(dataBytes) || dataBytes < 0 || dataBytes > 1 << 30)
      throw new PagePoolError("EINVAL", `data buffer size must be an integer in [0, 2^30], got ${dataBytes}`);
    this.capacity = capacity;
    this.type = new Uint8Array(capacity);
    this.fragOffset = new Float64Array(capacity);
    this.fragSize = new Uint32Array(capacity);
    this.fragToken = new Uint32Array(capacity);
    this.dmabufId = new Uint32Array(capacity);
    this.data = new Uint8Array(dataBytes);
  }

  /** Record i as an object (control path and tests; the hot path reads the arrays). */
  record(i: number): {
    type: number;
    fragOffset: number;
    fragSize: number;
    fragToken: number;
    dmabufId: number;
  } {
    if (!(i >= 0 && i < this.count))
      throw new PagePoolError("EINVAL", `cmsg ${i} out of range [0, ${this.count})`);
    return {
      type: this.type[i],
      fragOffset: this.fragOffset[i],
      fragSize: this.fragSize[i],
      fragToken: this.fragToken[i],
      dmabufId: this.dmabufId[i],
    };
  }

  /** The tokens of the last recvmsg's SO_DEVMEM_DMABUF records, as (start, 1) dontneed ranges. */
  tokenRanges(): Uint32Array {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.type[i] === SO_DEVMEM_DMABUF) n++;
    const out = new Uint32Array(n * 2);
    let j = 0;
    for (let i = 0; i < this.count; i++)
      if (this.type[i] === SO_DEVMEM_DMABUF) {
        out[j++] = this.fragToken[i];
        out[j++] = 1;
      }
    return out;
  }
}

/**
 * Coalesces tokens into sorted (start, count) ranges for dontneed (what a careful user does to
 * stay under MAX_DONTNEED_TOKENS ranges). Duplicates are kept once.
 */
export function tokensToRanges(tokens: ArrayLike<number>, n: number = tokens.length): Uint32Array {
  const sorted = Uint32Array.from({ length: n }, (_, i) => tokens[i]).sort();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = sorted[i];
    const last = out.length - 2;
    if (last >= 0 && out[last] + out[last + 1] === t) out[last + 1]++;
    else if (last >= 0 && out[last] + out[last + 1] > t)
      continue; // duplicate
    else out.push(t, 1);
  }
  return Uint32Array.from(out);
}

/**
 * Splits (start, count) ranges into dontneed calls the kernel will process whole: each at most
 * MAX_DONTNEED_TOKENS ranges and MAX_DONTNEED_FRAGS token slots (a long range is cut). A user
 * who sends the result call by call frees every held token in the ranges.
 */
export function splitDontneed(ranges: Uint32Array): Uint32Array[] {
  const calls: Uint32Array[] = [];
  let cur: number[] = [];
  let slots = 0;
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    let start = ranges[i];
    let count = ranges[i + 1];
    while (count > 0) {
      if (cur.length === 2 * MAX_DONTNEED_TOKENS || slots === MAX_DONTNEED_FRAGS) {
        calls.push(Uint32Array.from(cur));
        cur = [];
        slots = 0;
      }
      const take = Math.min(count, MAX_DONTNEED_FRAGS - slots);
      cur.push(start, take);
      slots += take;
      start = (start + take) >>> 0;
      count -= take;
    }
  }
  if (cur.length > 0) calls.push(Uint32Array.from(cur));
  return calls;
}

export interface DevmemSocketStats {
  /** Fragments the driver queued. */
  delivered: number;
  /** Fragments dropped because the socket was closed (the skb is freed). */
  droppedClosed: number;
  /** SO_DEVMEM_DMABUF cmsgs handed out (tokens allocated). */
  tokensIssued: number;
  /** Tokens freed by dontneed. */
  tokensFreed: number;
  /** Tokens freed by close. */
  tokensFreedOnClose: number;
  /** dontneed calls, and token slots they inspected that held no token (silently skipped). */
  dontneedCalls: number;
  unknownSkipped: number;
  /** dontneed calls that stopped at MAX_DONTNEED_FRAGS. */
  fragLimitHits: number;
  /** Bytes reported through DMABUF cmsgs and copied as linear data. */
  devmemBytes: number;
  linearBytes: number;
}

let nextSocketId = 1;

/** A TCP socket receiving devmem skbs (the part of it devmem TCP touches). */
export class DevmemSocket {
  readonly id: number;
  #closed = false;
  // Receive queue: a ring of fragments, struct-of-arrays. ref 0 = a linear segment.
  #qRef = new Int32Array(64);
  #qOff = new Int32Array(64);
  #qLen = new Int32Array(64);
  #qLinear: (Uint8Array | undefined)[] = new Array(64);
  #qHead = 0;
  #qCount = 0;
  /** sk_user_frags: token -> netmem (0 = none). Token 0 is never used (XA_FLAGS_ALLOC1). */
  #tokRef = new Int32Array(64);
  #tokIds = new FirstFitBitmap(64, "devmem socket tokens");
  #tokensOut = 0;
  // Last binding seen, so recvmsg finds a fragment's binding without a map lookup.
  #lastBinding: DevmemBinding | null = null;
  readonly stats: DevmemSocketStats = {
    delivered: 0,
    droppedClosed: 0,
    tokensIssued: 0,
    tokensFreed: 0,
    tokensFreedOnClose: 0,
    dontneedCalls: 0,
    unknownSkipped: 0,
    fragLimitHits: 0,
    devmemBytes: 0,
    linearBytes: 0,
  };

  constructor() {
    this.id = nextSocketId++;
    this.#tokIds.take(0);
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** Tokens the user holds (sk_user_frags entries). */
  get tokensOutstanding(): number {
    return this.#tokensOut;
  }
  /** Fragments queued and not yet fully read. */
  get queued(): number {
    return this.#qCount;
  }
  /** The netmem a token stands for, 0 when the token is not held. */
  tokenNetmem(token: number): NetmemRef {
    return token > 0 && token < this.#tokRef.length ? this.#tokRef[token] : 0;
  }
  /** Every token held, ascending (control path). */
  heldTokens(): number[] {
    const out: number[] = [];
    for (let t = 1; t < this.#tokRef.length; t++) if (this.#tokRef[t] !== 0) out.push(t);
    return out;
  }
  /** How many references this socket holds on `ref` (its tokens plus its queued fragments). */
  refsHeld(ref: NetmemRef): number {
    let n = 0;
    for (let t = 1; t < this.#tokRef.length; t++) if (this.#tokRef[t] === ref) n++;
    const cap = this.#qRef.length;
    for (let i = 0; i < this.#qCount; i++) if (this.#qRef[(this.#qHead + i) & (cap - 1)] === ref) n++;
    return n;
  }

  // ------------------------------------------------------------------ driver side

  /**
   * The driver (NAPI) delivers a devmem fragment: `size` bytes at `offset` in net_iov `ref`.
   * The socket takes over one pp reference the caller holds (the skb's frag reference). After
   * close the fragment is dropped at once (the skb is freed, its reference put back).
   */
  deliver(ref: NetmemRef, offset: number, size: number): void {
    const d = ref >>> 1;
    if (!Number.isInteger(ref) || !(ref & NET_IOV) || ref <= 0 || d >= nm.pp.length)
      throw new PagePoolError(
        "ENODEV",
        `deliver: netmem ${ref} is not a net_iov (devmem sockets take only dma-buf frags)`,
      );
    const pool = poolsById.get(nm.pp[d]);
    if (!pool || nm.loc[d] !== LOC_INFLIGHT || nm.ppRef[d] < 1)
      throw new PagePoolError("EINVAL", `deliver: net_iov ${ref} is not in flight from a pool`);
    if (pool.mpOps !== devmemOps)
      throw new PagePoolError(
        "ENODEV",
        `deliver: net_iov ${ref} is not devmem (provider ${pool.mpOps?.name ?? "none"})`,
      );
    if (
      !(
        Number.isInteger(offset) &&
        Number.isInteger(size) &&
        offset >= 0 &&
        size > 0 &&
        offset + size <= PAGE_SIZE
      )
    )
      throw new PagePoolError(
        "EINVAL",
        `deliver: fragment [${offset}, ${offset + size}) must be non-empty and inside one ${PAGE_SIZE}-byte net_iov`,
      );
    if (this.#closed) {
      this.stats.droppedClosed++;
      pool.putNetmem(ref, -1, false);
      return;
    }
    const i = this.#qPush();
    this.#qRef[i] = ref;
    this.#qOff[i] = offset;
    this.#qLen[i] = size;
    this.stats.delivered++;
  }

  /** The driver delivers linear (readable, copied) data: the skb head. The bytes are copied. */
  deliverLinear(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0)
      throw new PagePoolError("EINVAL", "deliverLinear: need a non-empty Uint8Array");
    if (this.#closed) {
      this.stats.droppedClosed++;
      return;
    }
    const i = this.#qPush();
    this.#qRef[i] = 0;
    this.#qOff[i] = 0;
    this.#qLen[i] = bytes.length;
    this.#qLinear[i] = bytes.slice();
    this.stats.delivered++;
  }

  // ------------------------------------------------------------------ user side

  /**
   * recvmsg(MSG_SOCK_DEVMEM): reads up to `maxBytes` from the receive queue into `out` (which is
   * reset). Each devmem fragment read, whole or in part, becomes one SO_DEVMEM_DMABUF record with
   * a new token holding one pp reference; linear data is copied into `out.data`. Stops when the
   * queue, `maxBytes`, the control buffer or the data buffer runs out. Returns the bytes read
   * (0: nothing queued, the kernel's EAGAIN for a non-blocking read). A control buffer with no
   * room for the first cmsg is an error (the kernel's -ETOOSMALL, here ENOSPC).
   */
  recvmsg(out: DevmemCmsgBuffer, maxBytes: number = Number.MAX_SAFE_INTEGER): number {
    if (this.#closed) throw new PagePoolError("EBADF", `recvmsg: socket ${this.id} is closed`);
    if (!Number.isInteger(maxBytes) || maxBytes < 0)
      throw new PagePoolError("EINVAL", `recvmsg: maxBytes must be an integer >= 0, got ${maxBytes}`);
    out.count = 0;
    out.dataLen = 0;
    let sent = 0;
    const cap = this.#qRef.length;
    while (this.#qCount > 0 && sent < maxBytes) {
      const i = this.#qHead;
      const ref = this.#qRef[i];
      const off = this.#qOff[i];
      const len = this.#qLen[i];
      let copy = Math.min(len, maxBytes - sent);
      if (ref === 0) {
        // Linear data: copied to the user's buffer, reported by size only.
        copy = Math.min(copy, out.data.length - out.dataLen);
        if (copy === 0 || out.count >= out.capacity) {
          if (sent === 0)
            throw new PagePoolError(
              "ENOSPC",
              "recvmsg: no room in the data or control buffer for linear data",
            );
          break;
        }
        const src = this.#qLinear[i]!;
        out.data.set(src.subarray(off, off + copy), out.dataLen);
        out.dataLen += copy;
        const r = out.count++;
        out.type[r] = SO_DEVMEM_LINEAR;
        out.fragOffset[r] = 0;
        out.fragSize[r] = copy;
        out.fragToken[r] = 0;
        out.dmabufId[r] = 0;
        this.stats.linearBytes += copy;
      } else {
        if (out.count >= out.capacity) {
          if (sent === 0)
            throw new PagePoolError(
              "ENOSPC",
              "recvmsg: control buffer has no room for a cmsg (the kernel's ETOOSMALL)",
            );
          break;
        }
        const binding = this.#bindingOf(ref);
        const token = this.#allocToken(ref);
        nm.ppRef[ref >>> 1]++; // the token's pp reference (atomic_long_inc(&niov->pp_ref_count))
        const r = out.count++;
        out.type[r] = SO_DEVMEM_DMABUF;
        out.fragOffset[r] = binding.virtualAddr(ref) + off;
        out.fragSize[r] = copy;
        out.fragToken[r] = token;
        out.dmabufId[r] = binding.id;
        this.stats.devmemBytes += copy;
      }
      sent += copy;
      if (copy === len) {
        // Fully read: the skb frag is freed, dropping its pp reference (the token holds its own).
        this.#qHead = (i + 1) & (cap - 1);
        this.#qCount--;
        this.#qLinear[i] = undefined;
        if (ref !== 0) this.#putRef(ref);
      } else {
        this.#qOff[i] = off + copy;
        this.#qLen[i] = len - copy;
      }
    }
    return sent;
  }

  /**
   * setsockopt(SO_DEVMEM_DONTNEED): see devmemDontneed(). Returns the number of frags freed.
   */
  dontneed(ranges: Uint32Array, nRanges?: number): number {
    return devmemDontneed(this, ranges, nRanges);
  }

  /**
   * close(): frees every token still held and drops every queued fragment (their pp references
   * go back to the pools). Further recvmsg/dontneed calls fail with EBADF; fragments delivered
   * later are dropped.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const tok = this.#tokRef;
    for (let t = 1; t < tok.length; t++) {
      const ref = tok[t];
      if (ref === 0) continue;
      tok[t] = 0;
      this.#tokIds.free(t);
      this.#tokensOut--;
      this.stats.tokensFreedOnClose++;
      this.#putRef(ref);
    }
    const cap = this.#qRef.length;
    while (this.#qCount > 0) {
      const i = this.#qHead;
      const ref = this.#qRef[i];
      this.#qLinear[i] = undefined;
      this.#qHead = (i + 1) & (cap - 1);
      this.#qCount--;
      if (ref !== 0) this.#putRef(ref);
    }
  }

  /** Internal to devmemDontneed: erase a token, returning its netmem or 0 (__xa_erase). */
  eraseToken(token: number): NetmemRef {
    if (!(token > 0 && token < this.#tokRef.length)) return 0;
    const ref = this.#tokRef[token];
    if (ref === 0) return 0;
    this.#tokRef[token] = 0;
    this.#tokIds.free(token);
    this.#tokensOut--;
    return ref;
  }

  /** Internal: napi_pp_put_page() on a netmem this socket held a reference on. */
  putRef(ref: NetmemRef): void {
    this.#putRef(ref);
  }

  #putRef(ref: NetmemRef): void {
    const pool = poolsById.get(nm.pp[ref >>> 1]);
    // Cannot happen while the reference is held: a pool is freed only when nothing is in flight.
    if (!pool) throw new PagePoolError("EFAULT", `devmem socket ${this.id}: netmem ${ref} has no pool`);
    // page_pool_put_full_netmem(pp, netmem, false): process context; the pool still recycles
    // straight into its cache when the caller runs on the pool's NAPI CPU (napi-local).
    pool.putNetmem(ref, -1, false);
  }

  #bindingOf(ref: NetmemRef): DevmemBinding {
    const b = this.#lastBinding;
    if (b !== null && b.niovIndex(ref) >= 0) return b;
    const owner = netIovArea(ref)?.owner;
    // tcp_recvmsg_dmabuf checks net_is_devmem_iov(): ENODEV otherwise.
    if (!(owner instanceof DevmemBinding))
      throw new PagePoolError("ENODEV", `recvmsg: netmem ${ref} is not a dma-buf net_iov`);
    this.#lastBinding = owner;
    return owner;
  }

  #allocToken(ref: NetmemRef): number {
    let t = this.#tokIds.alloc();
    if (t < 0) {
      const size = this.#tokIds.size;
      if (size > TOKEN_MAX)
        throw new PagePoolError("ENOSPC", "recvmsg: token space exhausted (xa_limit_31b)");
      const next = Math.min(size * 2, TOKEN_MAX + 1);
      this.#tokIds.grow(next);
      const tr = new Int32Array(next);
      tr.set(this.#tokRef);
      this.#tokRef = tr;
      t = this.#tokIds.alloc();
    }
    this.#tokRef[t] = ref;
    this.#tokensOut++;
    this.stats.tokensIssued++;
    return t;
  }

  #qPush(): number {
    let cap = this.#qRef.length;
    if (this.#qCount === cap) {
      // Grow (a power of two), unrolling the ring so head is 0.
      const n = cap * 2;
      const r = new Int32Array(n);
      const o = new Int32Array(n);
      const l = new Int32Array(n);
      const lin: (Uint8Array | undefined)[] = new Array(n);
      for (let k = 0; k < this.#qCount; k++) {
        const j = (this.#qHead + k) & (cap - 1);
        r[k] = this.#qRef[j];
        o[k] = this.#qOff[j];
        l[k] = this.#qLen[j];
        lin[k] = this.#qLinear[j];
      }
      this.#qRef = r;
      this.#qOff = o;
      this.#qLen = l;
      this.#qLinear = lin;
      this.#qHead = 0;
      cap = n;
    }
    const i = (this.#qHead + this.#qCount) & (cap - 1);
    this.#qCount++;
    return i;
  }
}

/**
 * SO_DEVMEM_DONTNEED, as a plain function of (socket, Uint32Array of (token_start, token_count)
 * pairs) so a worker's message can feed it directly. The kernel's rules:
 * - a closed socket: EBADF, whatever the arguments (checked first, as the kernel does);
 * - an odd array length (optlen not a multiple of 8) or more than MAX_DONTNEED_TOKENS (128)
 *   ranges: EINVAL, nothing freed;
 * - tokens are inspected in order; after MAX_DONTNEED_FRAGS (1024) inspected token slots the call
 *   stops and returns the partial count (the kernel counts slots inspected, not frags freed, so
 *   a huge range of unknown tokens cannot make it loop for long);
 * - an unknown or already-freed token is skipped silently;
 * - each freed token drops one pp reference (page_pool_put_full_netmem, allow_direct false; the
 *   pool may still recycle directly when napi-local).
 * Returns the number of frags freed. `nRanges` defaults to ranges.length / 2.
 */
export function devmemDontneed(sock: DevmemSocket, ranges: Uint32Array, nRanges?: number): number {
  // Errno precedence as in the kernel: a closed fd fails the fd lookup (EBADF) before setsockopt
  // runs, and sock_devmem_dontneed() itself returns EBADF for a non-TCP socket before it looks
  // at optlen (EINVAL) or copies the tokens in (EFAULT).
  if (sock.closed) throw new PagePoolError("EBADF", `dontneed: socket ${sock.id} is closed`);
  if (!(ranges instanceof Uint32Array))
    throw new PagePoolError("EINVAL", "dontneed: token ranges must be a Uint32Array of (start, count) pairs");
  if (nRanges === undefined) {
    if (ranges.length % 2 !== 0)
      throw new PagePoolError(
        "EINVAL",
        `dontneed: ${ranges.length} u32s is not a whole number of (start, count) pairs`,
      );
    nRanges = ranges.length / 2;
  } else if (!Number.isInteger(nRanges) || nRanges < 0 || nRanges * 2 > ranges.length) {
    throw new PagePoolError("EINVAL", `dontneed: nRanges ${nRanges} does not fit ${ranges.length} u32s`);
  }
  if (nRanges > MAX_DONTNEED_TOKENS)
    throw new PagePoolError(
      "EINVAL",
      `dontneed: ${nRanges} token ranges, at most ${MAX_DONTNEED_TOKENS} allowed`,
    );
  sock.stats.dontneedCalls++;
  let freed = 0;
  let inspected = 0;
  // The kernel batches puts 16 at a time to drop the xarray lock around them; single-threaded
  // here, so each is put at once (same order, same result).
  outer: for (let i = 0; i < nRanges; i++) {
    const start = ranges[2 * i];
    const count = ranges[2 * i + 1];
    for (let j = 0; j < count; j++) {
      if (++inspected > MAX_DONTNEED_FRAGS) {
        sock.stats.fragLimitHits++;
        break outer;
      }
      // token_start + j is u32 arithmetic in the kernel.
      const ref = sock.eraseToken((start + j) >>> 0);
      if (ref === 0) {
        sock.stats.unknownSkipped++;
        continue;
      }
      sock.putRef(ref);
      freed++;
    }
  }
  sock.stats.tokensFreed += freed;
  return freed;
}

/**
 * A net_iov's bytes, read by the CPU through its dma-buf mapping: `len` bytes at `offset` inside
 * the net_iov into `dst`. Device memory has no CPU address: EFAULT. (In the kernel every devmem
 * frag is unreadable to the stack, skb_frags_readable() false; only the user can read a udmabuf,
 * through its own mmap. This helper is that mmap read, addressed by net_iov.)
 */
export function devmemReadNetmem(
  ref: NetmemRef,
  offset: number,
  len: number,
  dst: Uint8Array,
  dstOff = 0,
): number {
  const owner = netIovArea(ref)?.owner;
  if (!(owner instanceof DevmemBinding))
    throw new PagePoolError("EINVAL", `netmem ${ref} is not a devmem net_iov`);
  if (
    !(
      Number.isInteger(offset) &&
      Number.isInteger(len) &&
      offset >= 0 &&
      len >= 0 &&
      offset + len <= PAGE_SIZE
    )
  )
    throw new PagePoolError(
      "EINVAL",
      `read [${offset}, ${offset + len}) is outside the ${PAGE_SIZE}-byte net_iov`,
    );
  return owner.dmabuf.read(owner.virtualAddr(ref) + offset, len, dst, dstOff);
}

/** The NIC DMAs `src` into net_iov `ref` at `offset` (any memory kind): what a driver's rx does. */
export function devmemDeviceWrite(ref: NetmemRef, offset: number, src: Uint8Array): void {
  const owner = netIovArea(ref)?.owner;
  if (!(owner instanceof DevmemBinding))
    throw new PagePoolError("EINVAL", `netmem ${ref} is not a devmem net_iov`);
  if (!(Number.isInteger(offset) && offset >= 0 && offset + src.length <= PAGE_SIZE))
    throw new PagePoolError(
      "EINVAL",
      `write [${offset}, ${offset + src.length}) is outside the ${PAGE_SIZE}-byte net_iov`,
    );
  owner.dmabuf.deviceWrite(owner.virtualAddr(ref) + offset, src);
}
