/**
 * End to end: a NAPI receive loop. Each iteration is one poll with a budget of 64 packets from the
 * seeded size mix (sim/rng.ts's PACKET_MIX: 64 / 576 / 1500 bytes, 7:4:1): the driver allocates
 * a buffer sized for the packet (page frags for small packets, a whole page when it would not fit twice), the "NIC"
 * writes the first bytes, 10% are dropped by XDP inside the poll (recycled directly), and the rest
 * are handed to a user who keeps a window of 256 buffers in flight and returns the older ones
 * from process context (through the ptr_ring). Reported per packet.
 *
 * After the measurement it reports JavaScript heap growth per million packets (target ~0: the pool
 * allocates no per-packet objects; refs are integers and metadata lives in typed arrays), two ways:
 *   heapBytesPerMillionPackets: the allocation rate. Polls run in chunks of 64 (4096 packets)
 *     with the allocation reader read around each chunk and no GC forced; chunks during which a
 *     collection ran (the reading went down) are left out. Per-packet garbage shows here.
 *   retainedBytesPerMillionPackets: live heap after a full GC, before and after: leaks show here.
 */
import { do_not_optimize } from "mitata";
import { NetDevice, napiRun } from "../core/netdev.ts";
import { PAGE_SHIFT } from "../core/netmem.ts";
import { GFP_ATOMIC, PagePool, PP_FLAG_DMA_MAP, PP_FLAG_DMA_SYNC_DEV } from "../core/page-pool.ts";
import { flatStats } from "../core/stats.ts";
import {
  allocationReader,
  assertAudited,
  type BenchDef,
  fullGc,
  heapUsed,
  type MitataGen,
  type Scenario,
} from "./lib/harness.ts";
import { mulberry32, packetSizes, SEQ_LEN } from "./lib/rng.ts";
import { makeHost, plainPool } from "./lib/world.ts";

export const BUDGET = 64;
/** Buffers the user holds before returning the oldest (a socket receive queue's worth). */
const WINDOW = 256;
const HELD_CAP = 1024; // power of two > WINDOW + BUDGET
const MASK = SEQ_LEN - 1;

export const scenario: Scenario = {
  name: "e2e-napi",
  title: "End to end: NAPI poll (budget 64), packet mix, XDP drops, user returns",
  async setup(ctx) {
    const allocated = await allocationReader();
    const dev = makeHost(8192);
    const pool = plainPool(dev, PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV, 4096);
    const napi = pool.napi!;
    const mem = dev.pages.memory;
    const pages = dev.pages;
    const sizes = packetSizes(ctx.seed);
    // XDP verdicts precomputed: 1 = drop inside the poll.
    const rand = mulberry32(ctx.seed ^ 0x5eed);
    const drop = new Uint8Array(SEQ_LEN);
    for (let i = 0; i < SEQ_LEN; i++) drop[i] = rand() < 0.1 ? 1 : 0;

    // The user's receive queue: refs and sizes in a typed-array ring (no per-packet objects).
    const heldRef = new Int32Array(HELD_CAP);
    const heldLen = new Int32Array(HELD_CAP);
    let head = 0; // next to return
    let tail = 0; // next free slot
    let cursor = 0;
    let failed = 0;
    let packets = 0;

    // One NAPI poll: runs in softirq on the pool's NAPI (puts from here may recycle directly).
    const poll = () => {
      let s = 0;
      for (let i = 0; i < BUDGET; i++) {
        const j = (cursor + i) & MASK;
        const size = sizes[j];
        const ref = pool.allocNetmemSized(size, GFP_ATOMIC);
        if (ref === 0) {
          failed++;
          continue;
        }
        mem[pages.offsetOf(ref) + pool.outOffset] = size; // the NIC writes the packet
        s = (s + ref) | 0;
        if (drop[j] === 1) {
          pool.putNetmem(ref, size, true); // XDP_DROP: straight back to the cache
        } else {
          heldRef[tail] = ref;
          heldLen[tail] = size;
          tail = (tail + 1) & (HELD_CAP - 1);
        }
      }
      cursor = (cursor + BUDGET) & MASK;
      packets += BUDGET;
      return s;
    };
    // The user, in process context: returns everything beyond its window (ring path).
    const userReturn = () => {
      while (((tail - head) & (HELD_CAP - 1)) > WINDOW) {
        pool.putNetmem(heldRef[head], heldLen[head], false);
        head = (head + 1) & (HELD_CAP - 1);
      }
    };
    const iteration = (c: number) => {
      const s = napiRun(napi, poll);
      userReturn();
      return s + c;
    };
    return [
      ...[4096, 32768].map((bufLen) => largeRxCase(ctx.mode, bufLen)),
      {
        id: "e2e",
        path: "e2e",
        degree: 0,
        ops: BUDGET,
        label: "NAPI receive loop, per packet",
        gen: iterationGen(iteration),
        after: () => {
          const polls = ctx.mode === "quick" ? 2048 : 16384;
          const CHUNK = 64; // polls per allocation-rate reading
          for (let i = 0; i < 256; i++) iteration(i); // settle feedback and the pool's working set
          fullGc();
          fullGc(); // twice: the first may only queue finalisation of the measurement's garbage
          const h0 = heapUsed();
          let grown = 0;
          let counted = 0;
          for (let done = 0; done < polls; done += CHUNK) {
            const a0 = allocated();
            for (let i = 0; i < CHUNK; i++) iteration(i);
            const a1 = allocated();
            if (a1 >= a0) {
              grown += a1 - a0;
              counted += CHUNK * BUDGET;
            }
          }
          fullGc();
          fullGc();
          const h1 = heapUsed();
          const n = polls * BUDGET;
          // Return what the user still holds, then the pool must balance.
          while (head !== tail) {
            pool.putNetmem(heldRef[head], heldLen[head], false);
            head = (head + 1) & (HELD_CAP - 1);
          }
          assertAudited(pool, "e2e");
          if (failed > 0) throw new Error(`e2e: ${failed} allocations failed`);
          const st = flatStats(pool.st);
          return {
            heapBytesPerMillionPackets: counted ? Math.round((grown / counted) * 1e6) : Number.NaN,
            heapPackets: counted,
            retainedBytesPerMillionPackets: Math.round(((h1 - h0) / n) * 1e6),
            packets,
            fast: st.fast,
            slow: st.slow,
            refill: st.refill,
            cached: st.cached,
            ring: st.ring,
            ringFull: st.ringFull,
            releasedRefcnt: st.releasedRefcnt,
          };
        },
      },
    ];
  },
};

/** mitata's generator over one loop iteration, its argument a computed parameter cycling 0..255. */
function iterationGen(iteration: (c: number) => number): MitataGen {
  let c = 0;
  const nextC = () => (c = (c + 1) & 0xff);
  return function* () {
    yield {
      0: nextC,
      bench(k: number) {
        return do_not_optimize(iteration(k));
      },
    };
  };
}

/** Bytes one poll of the large-buffer loop receives: 64 buffers of 4 KiB, 8 of 32 KiB. */
export const RX_BYTES_PER_POLL = 256 * 1024;
/** Bytes the large-buffer loop's user keeps in flight (its socket receive queue), whatever the buffer size. */
const RX_WINDOW_BYTES = 1024 * 1024;

/**
 * Large rx buffers (netdev, January 2026, "providers with large rx buffer"): a bulk TCP stream
 * under header split, payload written into rx buffers of `bufLen` bytes (4 KiB: order-0 pages;
 * 32 KiB: an order-3 pool, what a provider's rx-buf-len gives the queue), the user holding 1 MiB
 * and returning the older buffers from process context (the ring path). Reported per KiB received,
 * so the two lengths compare directly, with buffers allocated and returned per MiB beside it.
 *
 * Model: only the pool's per-buffer work is here (alloc, refill, recycle, the NIC's first write);
 * the per-byte and per-packet work a kernel also does (DMA, checksums, the stack, the copy or the
 * zcrx CQE) is not, so the model's ratio is the bound the buffer count alone allows, not the
 * series' CPU figure (~30% less CPU at 200 Gbit/s).
 */
function largeRxCase(mode: string, bufLen: number): BenchDef {
  const order = Math.log2(bufLen) - PAGE_SHIFT;
  const perPoll = RX_BYTES_PER_POLL / bufLen;
  const window = RX_WINDOW_BYTES / bufLen;
  const cap = 1024; // power of two > window + perPoll
  const dev = makeHost(16384);
  const netdev = new NetDevice({ rxQueues: 1, dev });
  // The ring holds what the user returns between polls; 256 entries is a real driver's size.
  const pool = PagePool.create({
    netdev,
    queueIdx: 0,
    napi: netdev.rxQueue(0).napi,
    flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV,
    order,
    maxLen: bufLen,
    poolSize: 256,
  });
  const napi = pool.napi!;
  const mem = dev.pages.memory;
  const pages = dev.pages;
  const held = new Int32Array(cap);
  let head = 0;
  let tail = 0;
  let failed = 0;
  let bytes = 0;
  let allocs = 0;
  let returns = 0;
  const poll = () => {
    let s = 0;
    for (let i = 0; i < perPoll; i++) {
      const ref = pool.allocNetmem(GFP_ATOMIC);
      if (ref === 0) {
        failed++;
        continue;
      }
      mem[pages.offsetOf(ref) + pool.offset] = i; // the NIC writes the payload
      s = (s + ref) | 0;
      held[tail] = ref;
      tail = (tail + 1) & (cap - 1);
    }
    allocs += perPoll;
    bytes += RX_BYTES_PER_POLL;
    return s;
  };
  const iteration = (c: number) => {
    const s = napiRun(napi, poll);
    while (((tail - head) & (cap - 1)) > window) {
      pool.putNetmem(held[head], bufLen, false); // the user, in process context
      head = (head + 1) & (cap - 1);
      returns++;
    }
    return s + c;
  };
  const kib = bufLen >> 10;
  return {
    id: `e2e-rx${kib}k`,
    path: `e2e:rx-${kib}k`,
    degree: 0,
    ops: RX_BYTES_PER_POLL >> 10,
    label: `large rx buffers: ${kib} KiB buffers, per KiB received`,
    gen: iterationGen(iteration),
    after: () => {
      const polls = mode === "quick" ? 256 : 2048;
      const b0 = bytes;
      const a0 = allocs;
      const r0 = returns;
      const st0 = flatStats(pool.st);
      for (let i = 0; i < polls; i++) iteration(i);
      const st1 = flatStats(pool.st);
      const mib = (bytes - b0) / (1024 * 1024);
      while (head !== tail) {
        pool.putNetmem(held[head], bufLen, false);
        head = (head + 1) & (cap - 1);
      }
      assertAudited(pool, `e2e-rx${kib}k`);
      if (failed > 0) throw new Error(`e2e-rx${kib}k: ${failed} allocations failed`);
      return {
        rxBufLen: bufLen,
        allocsPerMiB: (allocs - a0) / mib,
        returnsPerMiB: (returns - r0) / mib,
        slowPerMiB: (st1.slow + st1.slowHighOrder - st0.slow - st0.slowHighOrder) / mib,
        refillPerMiB: (st1.refill - st0.refill) / mib,
      };
    },
  };
}
