/**
 * A Worker entry that is a zcrx user: it reads completions, checks each buffer's payload, and
 * returns every buffer through the refill ring, until the kernel side shuts the ifq down. The
 * main thread keeps running NAPI (allocation, receive, refill) meanwhile: a real single-producer
 * single-consumer ring pair across threads.
 *
 *   const w = new Worker(new URL("./user-worker.ts", import.meta.url).href);
 *   w.postMessage({ desc: ifq.userDescriptor(), expect: n } satisfies ZcrxWorkerStart);
 *   w.onmessage = (e) => { const result: ZcrxWorkerResult = e.data; … };
 *
 * Payload convention (so the user can prove nothing was lost, duplicated or corrupted): the
 * sender writes a sequence number in [0, expect) as a little-endian u32 at the start of each
 * buffer's data; the worker marks each seen once.
 */
import type { ZcrxUserDescriptor } from "./uapi.ts";
import { ZcrxUser } from "./user.ts";

export interface ZcrxWorkerStart {
  desc: ZcrxUserDescriptor;
  /** How many sequence numbers to expect (0: do not check payloads). */
  expect: number;
  /** Hold up to this many buffers before returning the oldest (default 0: return at once). */
  hold?: number;
}

export interface ZcrxWorkerResult {
  received: number;
  /** Buffers returned through the refill ring. */
  returned: number;
  /** Times the refill ring was full (each retried until it had room). */
  rqFull: number;
  bytes: number;
  /** Distinct sequence numbers seen, and the bad ones (duplicate, out of range, short buffer). */
  distinct: number;
  duplicates: number;
  outOfRange: number;
  /** Buffers still held when the ifq closed (scrub takes them back). */
  heldAtClose: number;
}

/** The user loop, callable in any thread (the Worker below runs it; a test may call it inline). */
export function runZcrxUser(start: ZcrxWorkerStart): ZcrxWorkerResult {
  const user = new ZcrxUser(start.desc);
  const n = start.expect;
  const seen = new Uint8Array(n);
  const hold = start.hold ?? 0;
  // Buffers not yet returned, as (offLo, offHi, len) in a FIFO of typed arrays (no object per
  // buffer). The user can hold at most every net_iov of the area, so that bounds the FIFO.
  const cap = Math.max(1, start.desc.areaSize >>> 12);
  const hLo = new Uint32Array(cap);
  const hHi = new Uint32Array(cap);
  const hLen = new Uint32Array(cap);
  let hHead = 0;
  let hCount = 0;
  const r: ZcrxWorkerResult = {
    received: 0,
    returned: 0,
    rqFull: 0,
    bytes: 0,
    distinct: 0,
    duplicates: 0,
    outOfRange: 0,
    heldAtClose: 0,
  };
  const area = user.area;
  /** Returns held buffers (oldest first) until `keep` remain or the refill ring is full. */
  const giveBack = (keep: number): void => {
    while (hCount > keep) {
      if (!user.returnRaw(hLo[hHead], hHi[hHead], hLen[hHead], 0)) return; // full: reported, kept, retried later
      hHead = (hHead + 1) % cap;
      hCount--;
    }
  };
  for (;;) {
    giveBack(hold);
    if (!user.readCompletion()) {
      if (user.closed() && user.pending() === 0) break;
      // Idle: hand back everything held, then sleep until there is work.
      giveBack(0);
      if (hCount > 0) user.waitRqSpace(1);
      else user.waitCompletion(5);
      continue;
    }
    r.bytes += user.len;
    if (n > 0) {
      const o = user.off;
      const seq =
        user.len < 4 ? -1 : (area[o] | (area[o + 1] << 8) | (area[o + 2] << 16) | (area[o + 3] << 24)) >>> 0;
      if (seq < 0 || seq >= n) r.outOfRange++;
      else if (seen[seq]) r.duplicates++;
      else {
        seen[seq] = 1;
        r.distinct++;
      }
    }
    if (hCount === cap) {
      // Cannot happen with a correct kernel side (the user never holds more than the area).
      r.outOfRange++;
      continue;
    }
    // returnBuffer()'s encoding: the area token in the top bits of off.
    const t = (hHead + hCount) % cap;
    hLo[t] = user.offLo;
    hHi[t] = (user.offHi & 0xffff) | (user.areaId << 16);
    hLen[t] = user.len;
    hCount++;
  }
  r.heldAtClose = hCount;
  r.received = user.received;
  r.returned = user.returned;
  r.rqFull = user.rqFull;
  return r;
}

declare const self: Worker;
// Only when loaded as a Worker (importing runZcrxUser from the main thread must not install this).
if (typeof Bun !== "undefined" && !Bun.isMainThread) {
  self.onmessage = (e: MessageEvent<ZcrxWorkerStart>) => {
    self.postMessage(runZcrxUser(e.data));
  };
}
