import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { NetDevice, napiRun, onCpu } from "../../core/netdev.ts";
import { LOC_USER, type NetmemRef, nm, PAGE_SIZE } from "../../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../../core/page-alloc.ts";
import {
  DEFER_TIME_MS,
  PagePool,
  type PagePoolParams,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../../core/page-pool.ts";
import { expectCode } from "../../core/testing.ts";
import { ManualTimers } from "../../core/timers.ts";
import { fixtureTarget, runConformance } from "../conformance.case.ts";
import { zcrxExample } from "./example.ts";
import { zcrxFixture } from "./fixture.ts";
import {
  IO_RQ_MAX_ENTRIES,
  IORING_CQE_F_MORE,
  registerZcrxIfq,
  rqEntriesFor,
  ZCRX_ENODEV,
  ZCRX_ENOMEM,
  ZCRX_ENOSPC,
  type ZcrxIfq,
  type ZcrxIfqOptions,
  ZcrxUser,
  zcrxOps,
} from "./index.ts";
import type { ZcrxWorkerResult, ZcrxWorkerStart } from "./user-worker.ts";

const FLAGS = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM;

/** A driver's pool for queue 0 of `netdev` (bound to zcrx): receive, so DMA from the device. */
function zcrxPool(netdev: NetDevice, extra: Partial<PagePoolParams> = {}): PagePool {
  return PagePool.create({
    flags: FLAGS,
    dmaDir: "from-device",
    maxLen: PAGE_SIZE,
    netdev,
    queueIdx: 0,
    ...extra,
  });
}

runConformance(
  fixtureTarget(
    zcrxFixture,
    { areaPages: 256, rqEntries: 256, cqEntries: 512 },
    {
      pages: 64,
      afterDispose(inst) {
        if (inst.user.kind !== "zcrx") throw new Error("zcrx's fixture must hand out its ifq");
        expect(inst.user.ifq.audit()).toMatchObject({ ok: true, free: inst.capacity });
      },
    },
  ),
);

// Large rx buffers: the same suite with 32 KiB net_iovs (the driver's pool is order 3).
runConformance(
  fixtureTarget(
    zcrxFixture,
    { areaPages: 1024, rqEntries: 256, cqEntries: 512, rxBufLen: 32768 },
    {
      name: "zcrx (32 KiB rx buffers)",
      pages: 64,
      poolParams: { order: 3, maxLen: 32768 },
      afterDispose(inst) {
        if (inst.user.kind !== "zcrx") throw new Error("zcrx's fixture must hand out its ifq");
        expect(inst.user.ifq.audit()).toMatchObject({ ok: true, free: inst.capacity });
      },
    },
  ),
);

describe("zcrx: large rx buffers (rx_buf_len)", () => {
  test("a 32 KiB ifq: 32 KiB net_iovs, the queue's rx-buf-len set, an order-3 pool, offsets in 32 KiB steps", () => {
    const allocator = new PageAllocator({ pages: 64 });
    const netdev = new NetDevice({ rxQueues: 1, dev: new DmaDevice(allocator) });
    const ifq = registerZcrxIfq(netdev, {
      queueIdx: 0,
      areaSize: 16 * 32768,
      rqEntries: 64,
      rxBufLen: 32768,
    });
    expect(ifq.area.numNiovs).toBe(16);
    expect(netdev.rxQueue(0).rxBufLen).toBe(32768);
    const napi = netdev.rxQueue(0).napi;
    const mk = (order: number) =>
      PagePool.create({
        flags: FLAGS,
        dmaDir: "from-device",
        order,
        maxLen: 32768,
        netdev,
        queueIdx: 0,
        napi,
      });
    expectCode(() => mk(0), "EINVAL"); // the order must match the net_iov size
    const pool = mk(3);
    expect(pool.netmemSize).toBe(32768);
    const ref = napiRun(napi, () => pool.allocNetmem());
    const idx = ifq.area.indexOf(ref);
    ifq.recvFrag(ref, 20000, 12000); // a GRO'd frag well past 4 KiB
    napiRun(napi, () => pool.recycleDirect(ref));
    const user = new ZcrxUser(ifq.userDescriptor());
    expect(user.readCompletion()).toBe(true);
    expect([user.off, user.len]).toEqual([idx * 32768 + 20000, 12000]);
    expect(user.returnBuffer()).toBe(true);
    ifq.shutdown(); // scrub takes back what the user holds (its return is still in the ring)
    pool.destroy();
    expect(pool.state).toBe("freed");
    ifq.free();
    expect(netdev.rxQueue(0).rxBufLen).toBe(4096); // unbound: the driver's default again
  });

  test("rxBufLen must be a power of two in [4096, 65536]; a driver without support refuses it", () => {
    const netdev = new NetDevice({
      rxQueues: 1,
      dev: new DmaDevice(new PageAllocator({ pages: 64 })),
    });
    for (const bad of [2048, 12288, 131072])
      expectCode(() => registerZcrxIfq(netdev, { queueIdx: 0, areaSize: 1 << 20, rxBufLen: bad }), "EINVAL");
    const old = new NetDevice({
      rxQueues: 1,
      maxRxBufLen: 4096,
      dev: new DmaDevice(new PageAllocator({ pages: 64 })),
    });
    expectCode(() => registerZcrxIfq(old, { queueIdx: 0, areaSize: 1 << 20, rxBufLen: 16384 }), "EOPNOTSUPP");
    expect(old.rxQueue(0).mpParams.ops).toBeNull();
    registerZcrxIfq(old, { queueIdx: 0, areaSize: 1 << 16 }).free(); // 4 KiB is always fine
  });
});

/** A net device with one zcrx queue, its pool as a driver makes it, and a user in this thread. */
class Rig {
  readonly allocator = new PageAllocator({ pages: 32 });
  readonly dev = new DmaDevice(this.allocator);
  readonly netdev = new NetDevice({ rxQueues: 1, dev: this.dev });
  readonly timers = new ManualTimers();
  readonly ifq: ZcrxIfq;
  readonly user: ZcrxUser;
  pool: PagePool;
  readonly oldPools: PagePool[] = [];

  constructor(opts: Partial<ZcrxIfqOptions> = {}) {
    this.ifq = registerZcrxIfq(this.netdev, {
      queueIdx: 0,
      areaSize: 16 * PAGE_SIZE,
      rqEntries: 64,
      ...opts,
    });
    this.pool = this.create();
    this.user = new ZcrxUser(this.ifq.userDescriptor());
  }

  get napi() {
    return this.netdev.rxQueue(0).napi;
  }

  create(extra: Partial<PagePoolParams> = {}): PagePool {
    return PagePool.create({
      flags: FLAGS,
      dmaDir: "from-device",
      maxLen: PAGE_SIZE,
      netdev: this.netdev,
      queueIdx: 0,
      napi: this.napi,
      timers: this.timers,
      log: () => {},
      ...extra,
    });
  }

  alloc(): NetmemRef {
    return napiRun(this.napi, () => this.pool.allocNetmem());
  }

  /**
   * One packet as a driver and the stack handle it: the NIC writes `len` bytes (a pattern from
   * `seed`) at `off` in a fresh buffer, the stack hands the fragment to zcrx, then frees its skb
   * (the driver's pp reference). Returns the recvFrag result, or 0 when the pool had nothing.
   */
  rx(len: number, seed = 1, off = 0): number {
    const ref = this.alloc();
    if (ref === 0) return 0;
    const at = this.ifq.area.indexOf(ref) * PAGE_SIZE + off;
    for (let i = 0; i < len; i++) this.ifq.area.bytes[at + i] = (seed + i) & 0xff;
    const r = this.ifq.recvFrag(ref, off, len);
    napiRun(this.napi, () => this.pool.recycleDirect(ref));
    return r;
  }

  recycle(ref: NetmemRef): void {
    napiRun(this.napi, () => this.pool.recycleDirect(ref));
  }

  /**
   * Makes one allocation reach the provider (which drains the refill ring first): takes the cache
   * out, allocates once, then recycles everything taken. Returns what the provider handed out (0
   * when it had nothing).
   */
  kick(): NetmemRef {
    const taken: NetmemRef[] = [];
    while (this.pool.cacheCount > 0 || !this.pool.ring.isEmpty()) taken.push(this.alloc());
    const ref = this.alloc();
    if (ref !== 0) taken.push(ref);
    for (const t of taken) this.recycle(t);
    return ref;
  }

  check(): void {
    for (const p of [this.pool, ...this.oldPools]) {
      if (p.state === "freed") continue;
      const a = p.audit();
      if (!a.ok) throw new Error(`pool ${p.id}: ${a.problems.join("; ")}`);
    }
    const z = this.ifq.audit();
    if (!z.ok) throw new Error(`ifq: ${z.problems.join("; ")}`);
  }

  /** Destroys every pool, lets deferred ones finish, frees the ifq: every net_iov must be free. */
  teardown(): void {
    this.ifq.shutdown();
    for (const p of [this.pool, ...this.oldPools]) if (p.state === "live") p.destroy();
    this.timers.advance(DEFER_TIME_MS);
    for (const p of [this.pool, ...this.oldPools]) expect(p.state).toBe("freed");
    const a = this.ifq.audit();
    expect(a).toMatchObject({
      ok: true,
      free: this.ifq.area.numNiovs,
      inPools: 0,
      userCopies: 0,
      userRefs: 0,
    });
    this.ifq.free();
    this.allocator.dispose();
  }
}

describe("zcrx: registration and ring sizes", () => {
  test("rq_entries: rounded up to a power of two, at most 32768, EINVAL above unless clamped", () => {
    expect([1, 2, 3, 5, 100, 4096, 4097, IO_RQ_MAX_ENTRIES].map((n) => rqEntriesFor(n))).toEqual([
      1, 2, 4, 8, 128, 4096, 8192, 32768,
    ]);
    expectCode(() => rqEntriesFor(IO_RQ_MAX_ENTRIES + 1), "EINVAL");
    expect(rqEntriesFor(IO_RQ_MAX_ENTRIES + 1, true)).toBe(IO_RQ_MAX_ENTRIES);
    expect(rqEntriesFor(1e9, true)).toBe(IO_RQ_MAX_ENTRIES);
    for (const bad of [0, -1, 1.5, Number.NaN, "8", null]) expectCode(() => rqEntriesFor(bad), "EINVAL");
  });

  test("a refused registration leaves the queue unbound and nothing allocated", () => {
    const netdev = new NetDevice({ rxQueues: 1 });
    expectCode(() => registerZcrxIfq(netdev, { queueIdx: 0, rqEntries: 40000 }), "EINVAL");
    expectCode(() => registerZcrxIfq(netdev, { queueIdx: 0, areaSize: 4095 }), "EINVAL");
    expectCode(() => registerZcrxIfq(netdev, { queueIdx: 3 }), "ERANGE");
    expectCode(
      () => registerZcrxIfq(netdev, { queueIdx: 0, areaId: 0x10000, areaSize: PAGE_SIZE }),
      "EINVAL",
    );
    expect(netdev.rxQueue(0).mpParams.ops).toBeNull();
    const ifq = registerZcrxIfq(netdev, {
      queueIdx: 0,
      areaSize: 4 * PAGE_SIZE,
      rqEntries: 40000,
      clamp: true,
    });
    expect(ifq.rq.entries).toBe(32768);
    expect(netdev.rxQueue(0).mpParams.priv).toBe(ifq);
    // The queue is taken: a second ifq is refused and frees its area.
    expectCode(() => registerZcrxIfq(netdev, { queueIdx: 0, areaSize: PAGE_SIZE }), "EEXIST");
    ifq.free();
    expect(netdev.rxQueue(0).mpParams.ops).toBeNull();
  });

  test("a free refused with EBUSY leaves the ifq as it was: live, bound, user buffers held", () => {
    const r = new Rig();
    expect(r.rx(100)).toBeGreaterThan(0);
    const held = r.ifq.audit().userRefs;
    expect(held).toBe(1);
    expectCode(() => r.ifq.free(), "EBUSY");
    expect(r.ifq.state).toBe("live");
    expect(r.ifq.bound).toBe(true);
    expect(r.netdev.rxQueue(0).mpParams.priv).toBe(r.ifq);
    expect(r.ifq.audit()).toMatchObject({ ok: true, userRefs: held });
    expect(r.ifq.c.scrubbedNiovs).toBe(0);
    expect(r.rx(50)).toBeGreaterThan(0); // still receives
    r.teardown();
  });

  test("init refuses what the kernel refuses", () => {
    const r = new Rig();
    expectCode(() => r.create({ order: 1 }), "EINVAL");
    expectCode(() => r.create({ dmaDir: "bidirectional" }), "EOPNOTSUPP");
    const other = new DmaDevice(r.allocator, { name: "other" });
    expectCode(() => r.create({ dev: other }), "EINVAL");
    expect(r.ifq.inits).toBe(1);
    expect(r.ifq.livePools).toBe(1);
    r.teardown();
  });

  test("a failed DMA mapping of the area refuses the pool with ENOMEM", () => {
    const allocator = new PageAllocator({ pages: 8 });
    const dev = new DmaDevice(allocator);
    const netdev = new NetDevice({ rxQueues: 1, dev });
    const ifq = registerZcrxIfq(netdev, { queueIdx: 0, areaSize: 4 * PAGE_SIZE });
    dev.failNextMaps = 1;
    expectCode(() => zcrxPool(netdev), "ENOMEM");
    expect(ifq.livePools).toBe(0);
    expect(ifq.area.isMapped).toBe(false);
    const pool = zcrxPool(netdev);
    expect(ifq.area.isMapped).toBe(true);
    expect(nm.dma[ifq.area.base + 3]).toBe(ifq.area.iovaBase + 3 * PAGE_SIZE);
    pool.destroy();
    ifq.free();
  });

  test("nlFill is the empty io-uring nest; unregistering the device uninstalls and unmaps", () => {
    const r = new Rig();
    expect(r.pool.describe().ioUring).toEqual({});
    expect(zcrxOps.nlFill(r.ifq, r.netdev.rxQueue(0))).toEqual({ ioUring: {} });
    r.netdev.unregister();
    expect(r.ifq.uninstalls).toBe(1);
    expect(r.ifq.netdev).toBeNull();
    expect(r.ifq.area.isMapped).toBe(false);
    expect(nm.dma[r.ifq.area.base]).toBe(0);
    r.teardown();
  });
});

describe("zcrx: receive, refill ring, user references", () => {
  test("a completion carries off | area_id << 48; the user reads the bytes and returns the buffer", () => {
    const r = new Rig({ areaId: 5 });
    expect(r.rx(1000, 7, 96)).toBe(1000);
    r.check();
    const u = r.user;
    expect(u.readCompletion()).toBe(true);
    expect(u.areaId).toBe(5);
    expect(u.offHi >>> 16).toBe(5);
    expect(u.off % PAGE_SIZE).toBe(96);
    const idx = (u.off - 96) / PAGE_SIZE;
    expect(u.len).toBe(1000);
    expect(u.flags).toBe(IORING_CQE_F_MORE);
    expect(Array.from(u.data().subarray(0, 4))).toEqual([7, 8, 9, 10]);
    expect(r.ifq.area.userRefs[idx]).toBe(1);
    expect(nm.ppRef[r.ifq.area.base + idx]).toBe(1); // the stack's ref is gone, the user's remains
    expect(u.readCompletion()).toBe(false);
    // Held by the user: the pool hands out every other buffer but not this one.
    const out = new Set<number>();
    for (let ref = r.alloc(); ref !== 0; ref = r.alloc()) out.add(ref);
    expect(out.size).toBe(r.ifq.area.numNiovs - 1);
    expect(out.has(r.ifq.area.niov(idx))).toBe(false);
    for (const ref of out) r.recycle(ref);
    expect(u.returnBuffer()).toBe(true);
    expect(r.kick()).toBe(r.ifq.area.niov(idx));
    expect(r.ifq.c.rqRecycled).toBe(1);
    expect(r.ifq.area.userRefs[idx]).toBe(0);
    expect(Atomics.load(r.ifq.rq.u32, 0)).toBe(1); // head published
    r.check();
    r.teardown();
  });

  test("every bad refill entry is skipped and counted; the valid one still comes back", () => {
    const r = new Rig({ areaId: 2 });
    const u = r.user;
    expect(r.rx(100)).toBe(100);
    expect(u.readCompletion()).toBe(true);
    const { offLo, offHi } = u;
    const tok = 2 << 16;
    const n = r.ifq.area.numNiovs;
    const heldIdx = (offHi & 0xffff) * 2 ** 20 + (offLo >>> 12);
    const forgedIdx = heldIdx === 0 ? 1 : 0; // never received by the user
    expect(u.returnRaw(offLo, offHi, 100, 1)).toBe(true); // non-zero pad
    expect(u.returnRaw(offLo, (offHi & 0xffff) | (3 << 16), 100, 0)).toBe(true); // wrong area
    expect(u.returnRaw(n * PAGE_SIZE, tok, 100, 0)).toBe(true); // index just past the area
    expect(u.returnRaw(0, tok | 0xffff, 100, 0)).toBe(true); // offset far beyond the area
    expect(u.returnRaw(forgedIdx * PAGE_SIZE, tok, 100, 0)).toBe(true); // forged: not held
    expect(u.returnBuffer()).toBe(true); // the valid return
    expect(u.returnBuffer()).toBe(true); // doubled
    const got = r.kick();
    const c = r.ifq.c;
    expect([c.rqConsumed, c.rqBadPad, c.rqBadArea, c.rqBadIndex, c.rqNotHeld, c.rqRecycled]).toEqual([
      7, 1, 1, 2, 2, 1,
    ]);
    expect(got).toBe(r.ifq.area.niov(heldIdx));
    expect(r.ifq.area.userRefs[heldIdx]).toBe(0);
    expect(r.ifq.area.userRefs[forgedIdx]).toBe(0);
    r.check();
    r.teardown();
  });

  test("a garbage tail makes the kernel consume at most the ring size of stale entries, safely", () => {
    const r = new Rig({ rqEntries: 8 });
    expect(r.rx(10)).toBe(10);
    expect(r.user.readCompletion()).toBe(true);
    // The user (buggy) stores a tail far behind the kernel's head: the distance wraps to ~2^32.
    Atomics.store(r.ifq.rq.u32, 1, 0xffff_fff0);
    expect(r.ifq.rq.available()).toBe(8);
    r.kick();
    // All eight slots are zero: area 0, index 0. Only if the user holds net_iov 0 does the first
    // count as its return (the kernel cannot tell); the other seven are not held.
    const heldZero = r.user.off === 0;
    expect(r.ifq.c.rqConsumed).toBe(8);
    expect(r.ifq.c.rqNotHeld).toBe(heldZero ? 7 : 8);
    r.check();
    r.teardown(); // scrub takes back the buffer if the user still holds it
    expect(r.ifq.c.scrubbedRefs).toBe(heldZero ? 0 : 1);
  });

  test("a return before the stack drops its reference is not the last: the stack's put recycles", () => {
    const r = new Rig();
    const ref = r.alloc();
    const idx = r.ifq.area.indexOf(ref);
    expect(r.ifq.recvFrag(ref, 0, 64)).toBe(64);
    expect(nm.ppRef[ref >>> 1]).toBe(2);
    expect(r.user.readCompletion()).toBe(true);
    expect(r.user.returnBuffer()).toBe(true);
    // The ring entry is valid but the stack still holds the buffer; the freelist is empty.
    expect(r.kick()).toBe(0);
    expect(r.ifq.c.rqNotLastRef).toBe(1);
    expect(r.ifq.area.userRefs[idx]).toBe(0);
    expect(nm.ppRef[ref >>> 1]).toBe(1);
    r.check();
    r.recycle(ref); // the skb is freed now: last reference, back in the cache
    expect(r.pool.cache[r.pool.cacheCount - 1]).toBe(ref);
    r.check();
    r.teardown();
  });

  test("two fragments of one buffer: two user references, two returns", () => {
    const r = new Rig();
    const ref = r.alloc();
    const idx = r.ifq.area.indexOf(ref);
    expect(r.ifq.recvFrag(ref, 0, 1000)).toBe(1000);
    expect(r.ifq.recvFrag(ref, 1000, 500)).toBe(500);
    napiRun(r.napi, () => r.pool.recycleDirect(ref));
    expect(r.ifq.area.userRefs[idx]).toBe(2);
    expect(nm.ppRef[ref >>> 1]).toBe(2);
    expect(r.user.readCompletion() && r.user.off).toBe(idx * PAGE_SIZE);
    expect(r.user.returnBuffer()).toBe(true);
    expect(r.user.readCompletion() && r.user.off).toBe(idx * PAGE_SIZE + 1000);
    r.kick();
    expect(r.ifq.c.rqNotLastRef).toBe(1);
    expect(r.user.returnBuffer()).toBe(true);
    expect(r.kick()).toBe(ref);
    expect(r.ifq.c.rqRecycled).toBe(1);
    r.check();
    r.teardown();
  });

  test("a full refill ring is reported, not dropped, and the return succeeds once the kernel drains it", () => {
    const r = new Rig({ rqEntries: 4 });
    for (let i = 0; i < 6; i++) expect(r.rx(10, i)).toBe(10);
    const held: Array<[number, number, number]> = [];
    while (r.user.readCompletion()) held.push([r.user.offLo, r.user.offHi, r.user.len]);
    expect(held.length).toBe(6);
    let ok = 0;
    for (const [lo, hi, len] of held) if (r.user.returnRaw(lo, hi, len, 0)) ok++;
    expect(ok).toBe(4);
    expect(r.user.rqFull).toBe(2);
    expect(r.user.rqSpace()).toBe(0);
    // NAPI drains the ring: cache empty → provider → refill consumes the 4 entries.
    r.kick();
    expect(r.ifq.c.rqRecycled).toBe(4);
    expect(r.user.rqSpace()).toBe(4);
    for (const [lo, hi, len] of held.slice(4)) expect(r.user.returnRaw(lo, hi, len, 0)).toBe(true);
    r.kick();
    expect(r.ifq.c.rqRecycled).toBe(6);
    expect(r.ifq.audit().userRefs).toBe(0);
    r.check();
    r.teardown();
  });

  test("a full completion ring is reported to the caller and nothing is taken", () => {
    const r = new Rig({ cqEntries: 2 });
    expect(r.rx(10)).toBe(10);
    expect(r.rx(10)).toBe(10);
    const ref = r.alloc();
    const idx = r.ifq.area.indexOf(ref);
    expect(r.ifq.recvFrag(ref, 0, 10)).toBe(ZCRX_ENOSPC);
    expect(r.ifq.c.cqFull).toBe(1);
    expect(nm.ppRef[ref >>> 1]).toBe(1);
    expect(r.ifq.area.userRefs[idx]).toBe(0);
    r.check();
    expect(r.user.readCompletion()).toBe(true); // room for one again
    expect(r.ifq.recvFrag(ref, 0, 10)).toBe(10);
    napiRun(r.napi, () => r.pool.recycleDirect(ref));
    r.check();
    r.teardown();
  });

  test("recvFrag refuses a netmem that is not from a zcrx pool of this ifq", () => {
    const r = new Rig();
    const r2 = new Rig();
    const foreign = r2.alloc();
    expectCode(() => r.ifq.recvFrag(foreign, 0, 10), "EFAULT");
    expectCode(() => r.ifq.recvFrag(r.ifq.area.niov(0), 0, 10), "EFAULT"); // on the freelist
    const ref = r.alloc();
    expectCode(() => r.ifq.recvFrag(ref, 4000, 100), "EINVAL");
    expectCode(() => r.ifq.recvFrag(ref, 0, 0), "EINVAL");
    expectCode(() => r.ifq.recvFrag(3, 0, 10), "EFAULT");
    expectCode(() => r.ifq.recvFrag(-2, 0, 10), "EINVAL");
    r.check();
    napiRun(r.napi, () => r.pool.recycleDirect(ref));
    napiRun(r2.napi, () => r2.pool.recycleDirect(foreign));
    r.teardown();
    r2.teardown();
  });

  test("a buffer of an older pool returned through the ring goes back to that pool", () => {
    const r = new Rig();
    expect(r.rx(10)).toBe(10);
    expect(r.user.readCompletion()).toBe(true);
    // Queue restart: the driver makes a new pool and destroys the old one, which waits for the user.
    const old = r.pool;
    r.oldPools.push(old);
    r.pool = r.create();
    old.destroy();
    expect(old.state).toBe("detached");
    expect(old.inflight).toBe(1);
    expect(r.user.returnBuffer()).toBe(true);
    const ref = r.alloc(); // new pool: ring entry → not ours → old pool's ring; then freelist
    expect(r.ifq.c.toOwnerPool).toBe(1);
    r.timers.advance(DEFER_TIME_MS);
    expect(old.state).toBe("freed");
    r.check();
    napiRun(r.napi, () => r.pool.recycleDirect(ref));
    r.teardown();
  });
});

describe("zcrx: copy fallback and scrub", () => {
  test("a page fragment is copied into a free net_iov with no pool, and returns to the freelist", () => {
    const r = new Rig();
    const page = r.allocator.allocPages(0, -1);
    const at = r.allocator.offsetOf(page);
    for (let i = 0; i < PAGE_SIZE; i++) r.allocator.memory[at + i] = (i * 3) & 0xff;
    expect(r.ifq.recvFrag(page, 100, 2000)).toBe(2000);
    r.allocator.putPage(page);
    expect(r.user.readCompletion()).toBe(true);
    const idx = r.user.off / PAGE_SIZE;
    expect(Number.isInteger(idx)).toBe(true);
    const d = r.ifq.area.base + idx;
    expect([nm.pp[d], nm.ppRef[d], nm.loc[d], r.ifq.area.userRefs[idx]]).toEqual([0, 1, LOC_USER, 1]);
    expect(Array.from(r.user.data().subarray(0, 3))).toEqual([300 & 0xff, 303 & 0xff, 306 & 0xff]);
    expect(r.user.len).toBe(2000);
    r.check();
    expect(r.user.returnBuffer()).toBe(true);
    r.kick();
    expect(r.ifq.c.toFreelist).toBe(1);
    expect(r.ifq.area.userRefs[idx]).toBe(0);
    // Back on the freelist, from where the pool's slow refill took it: attached to the pool now.
    expect(nm.pp[d]).toBe(r.pool.id);
    r.check();
    r.teardown();
  });

  test("a long copy spans net_iovs; an empty freelist is ENOMEM", () => {
    const r = new Rig();
    const src = new Uint8Array(10000).map((_, i) => i & 0xff);
    expect(r.ifq.copyChunk(src, 0, 10000)).toBe(10000);
    expect(r.ifq.c.copyChunks).toBe(3);
    const lens: number[] = [];
    while (r.user.readCompletion()) lens.push(r.user.len);
    expect(lens).toEqual([4096, 4096, 10000 - 8192]);
    // The pool takes the whole freelist: nothing left to copy into.
    const refs: number[] = [];
    for (let ref = r.alloc(); ref !== 0; ref = r.alloc()) refs.push(ref);
    expect(r.ifq.copyChunk(src, 0, 10)).toBe(ZCRX_ENOMEM);
    expect(r.ifq.c.copyNoMem).toBe(1);
    expectCode(() => r.ifq.copyChunk(src, 9000, 2000), "EINVAL");
    r.check();
    for (const ref of refs) r.recycle(ref);
    r.teardown(); // scrub takes back the three copies the user still holds
  });

  test("scrub takes back everything the user holds; returns after teardown are ignored", () => {
    const r = new Rig({ areaSize: 128 * PAGE_SIZE });
    for (let i = 0; i < 5; i++) expect(r.rx(100, i)).toBe(100);
    // Two fragments on one buffer, and one the stack still holds.
    const ref = r.alloc();
    r.ifq.recvFrag(ref, 0, 10);
    r.ifq.recvFrag(ref, 10, 10);
    const copySrc = new Uint8Array(5000);
    expect(r.ifq.copyChunk(copySrc, 0, 5000)).toBe(5000);
    const held: Array<[number, number]> = [];
    while (r.user.readCompletion()) held.push([r.user.offLo, r.user.offHi]);
    expect(held.length).toBe(9);
    expect(r.ifq.audit().userRefs).toBe(9);
    r.ifq.shutdown();
    expect(r.ifq.c.scrubbedRefs).toBe(9);
    expect(r.ifq.c.scrubbedNiovs).toBe(8);
    expect(r.ifq.audit()).toMatchObject({ ok: true, userRefs: 0, userCopies: 0 });
    expect(r.netdev.rxQueue(0).mpParams.ops).toBeNull();
    expect(r.user.closed()).toBe(true);
    expect(r.ifq.recvFrag(ref, 0, 10)).toBe(ZCRX_ENODEV);
    // The stack's buffer is still in flight until the driver puts it.
    expect(nm.ppRef[ref >>> 1]).toBe(1);
    napiRun(r.napi, () => r.pool.recycleDirect(ref));
    // The user, late, returns everything: all skipped as not held.
    for (const [lo, hi] of held) r.user.returnRaw(lo, hi, 0, 0);
    r.kick();
    expect(r.ifq.c.rqNotHeld).toBe(9);
    r.check();
    r.teardown();
  });
});

describe("zcrx: a Worker thread as the user", () => {
  test("100,000 buffers through the shared rings while this thread runs NAPI; every one accounted for", async () => {
    const N = 100_000;
    const allocator = new PageAllocator({ pages: 8 });
    const dev = new DmaDevice(allocator);
    const netdev = new NetDevice({ rxQueues: 1, dev });
    const ifq = registerZcrxIfq(netdev, {
      queueIdx: 0,
      areaSize: 256 * PAGE_SIZE,
      rqEntries: 128,
      cqEntries: 128,
    });
    const napi = netdev.rxQueue(0).napi;
    const pool = zcrxPool(netdev, { napi });
    const worker = new Worker(new URL("./user-worker.ts", import.meta.url).href);
    const done = new Promise<ZcrxWorkerResult>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<ZcrxWorkerResult>) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
    });
    worker.postMessage({ desc: ifq.userDescriptor(), expect: N, hold: 8 } satisfies ZcrxWorkerStart);

    const bytes = ifq.area.bytes;
    const c = ifq.c;
    const validReturns = () => c.rqConsumed - c.rqBadPad - c.rqBadArea - c.rqBadIndex - c.rqNotHeld;
    // Deadlock guard, not a timing assertion: a stopped worker must fail the test, not hang it.
    let idle = 0;
    let lastProgress = -1;
    const stall = (wait: () => unknown) => {
      const progress = c.rqConsumed + c.cqPosted;
      if (progress !== lastProgress) idle = 0;
      lastProgress = progress;
      if (++idle > 20_000) throw new Error(`no progress: posted ${c.cqPosted}, returned ${validReturns()}`);
      wait();
    };
    let sent = 0;
    napiRun(napi, () => {
      let pending = 0; // a buffer whose completion could not be posted yet (it waits in the socket)
      while (sent < N) {
        let ref = pending;
        const len = 64 + (sent % 1400);
        if (ref === 0) {
          ref = pool.allocNetmem();
          if (ref === 0) {
            stall(() => ifq.rq.waitForEntries(1));
            continue;
          }
          const idx = ifq.area.indexOf(ref);
          if (ifq.area.userRefs[idx] !== 0)
            throw new Error(`net_iov ${idx} handed out while the user holds it`);
          // The NIC writes the packet: its sequence number first.
          const o = idx * PAGE_SIZE;
          bytes[o] = sent & 0xff;
          bytes[o + 1] = (sent >>> 8) & 0xff;
          bytes[o + 2] = (sent >>> 16) & 0xff;
          bytes[o + 3] = (sent >>> 24) & 0xff;
        }
        const r = ifq.recvFrag(ref, 0, len);
        if (r === ZCRX_ENOSPC) {
          pending = ref;
          stall(() => ifq.cq.waitForSpace(1));
          continue;
        }
        if (r !== len) throw new Error(`recvFrag returned ${r}`);
        pending = 0;
        pool.recycleDirect(ref); // the stack frees its skb
        sent++;
      }
      // Everything is posted; keep NAPI allocating until every buffer came back through the ring.
      while (validReturns() < N) {
        const taken: number[] = [];
        while (pool.cacheCount > 0 || !pool.ring.isEmpty()) taken.push(pool.allocNetmem());
        const ref = pool.allocNetmem(); // reaches the provider: drains the refill ring
        if (ref !== 0) taken.push(ref);
        for (const t of taken) pool.recycleDirect(t);
        if (validReturns() < N) stall(() => ifq.rq.waitForEntries(1));
      }
    });
    ifq.shutdown(); // closes the completion ring: the worker finishes and reports
    const res = await done;
    worker.terminate();
    expect(res.received).toBe(N);
    expect(res.distinct).toBe(N);
    expect(res.duplicates + res.outOfRange).toBe(0);
    expect(res.returned).toBe(N);
    expect(res.heldAtClose).toBe(0);
    expect(c.cqPosted).toBe(N);
    expect(c.rqBadPad + c.rqBadArea + c.rqBadIndex + c.rqNotHeld).toBe(0);
    expect(validReturns()).toBe(N);
    expect(c.scrubbedRefs).toBe(0);
    expect(pool.audit().ok).toBe(true);
    const z = ifq.audit();
    expect(z).toMatchObject({ ok: true, userRefs: 0, userCopies: 0 });
    pool.destroy();
    expect(pool.state).toBe("freed");
    expect(ifq.area.freeCount).toBe(ifq.area.numNiovs);
    ifq.free();
    allocator.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// Adversarial property test: a hostile or buggy user interleaved with normal traffic.

type Cmd =
  | { k: "rx"; len: number; keep: boolean }
  | { k: "copy"; len: number }
  | { k: "putDriver"; i: number; remote: boolean }
  | { k: "read"; n: number }
  | { k: "return"; i: number }
  | { k: "double"; i: number }
  | { k: "forged"; idx: number }
  | { k: "pad"; idx: number; pad: number }
  | { k: "badArea"; area: number; idx: number }
  | { k: "oob"; idx: number }
  | { k: "napi"; n: number; direct: boolean }
  | { k: "restart" }
  | { k: "tick" }
  | { k: "teardown" };

const NIOVS = 12;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      k: fc.constant("rx" as const),
      len: fc.integer({ min: 1, max: PAGE_SIZE }),
      keep: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("copy" as const),
      len: fc.integer({ min: 1, max: 3 * PAGE_SIZE }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant("putDriver" as const), i: fc.nat(), remote: fc.boolean() }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("read" as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant("return" as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("double" as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("forged" as const), idx: fc.nat({ max: NIOVS - 1 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("pad" as const),
      idx: fc.nat({ max: NIOVS - 1 }),
      pad: fc.integer({ min: 1, max: 0xffff_ffff }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("badArea" as const),
      area: fc.nat({ max: 0xffff }),
      idx: fc.nat({ max: NIOVS - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("oob" as const),
      idx: fc.integer({ min: NIOVS, max: 2 ** 36 - 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("napi" as const),
      n: fc.integer({ min: 1, max: 20 }),
      direct: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("restart" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("tick" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("teardown" as const) }) },
);

/** Runs one adversarial sequence; throws on the first broken invariant. */
function runSequence(areaId: number, cmds: Cmd[]): void {
  const allocator = new PageAllocator({ pages: 4 });
  const dev = new DmaDevice(allocator);
  const netdev = new NetDevice({ rxQueues: 1, dev });
  const timers = new ManualTimers();
  const ifq = registerZcrxIfq(netdev, {
    queueIdx: 0,
    areaSize: NIOVS * PAGE_SIZE,
    areaId,
    rqEntries: 8,
    cqEntries: 8,
  });
  const napi = netdev.rxQueue(0).napi;
  const mkPool = () =>
    PagePool.create({
      flags: FLAGS,
      dmaDir: "from-device",
      maxLen: PAGE_SIZE,
      netdev,
      queueIdx: 0,
      napi,
      timers,
      log: () => {},
    });
  const pools = [mkPool()];
  let pool: PagePool | null = pools[0];
  const user = new ZcrxUser(ifq.userDescriptor());
  const page = allocator.allocPages(0, -1);
  const area = ifq.area;
  const tok = (areaId << 16) >>> 0;
  /** Buffers the driver/stack holds: ref → its pool. */
  const driverOut = new Map<NetmemRef, PagePool>();
  /** Completions the user read and holds: [offLo, offHi, len]. */
  const held: Array<[number, number, number]> = [];
  const returned: Array<[number, number, number]> = [];
  let tornDown = false;

  const fail = (msg: string): never => {
    throw new Error(msg);
  };
  const audit = (label: string) => {
    for (const p of pools) {
      if (p.state === "freed") continue;
      const a = p.audit();
      if (!a.ok) fail(`${label}: pool ${p.id}: ${a.problems.join("; ")}`);
    }
    const z = ifq.audit();
    if (!z.ok) fail(`${label}: ifq: ${z.problems.join("; ")}`);
  };
  const alloc = (p: PagePool): NetmemRef => {
    const ref = napiRun(napi, () => p.allocNetmem());
    if (ref === 0) return 0;
    const idx = area.indexOf(ref);
    if (idx < 0) fail(`pool handed out ${ref}, not a net_iov of the area`);
    if (driverOut.has(ref)) fail(`net_iov ${idx} handed out twice`);
    if (area.userRefs[idx] !== 0) fail(`net_iov ${idx} handed out while the user holds it`);
    return ref;
  };
  const put = (p: PagePool, ref: NetmemRef, remote: boolean) => {
    if (remote) onCpu(1, () => p.putNetmem(ref, -1, false));
    else napiRun(napi, () => p.recycleDirect(ref));
  };
  /** NAPI activity that reaches the provider, so it drains the refill ring. */
  const kick = (p: PagePool) => {
    const taken: NetmemRef[] = [];
    while (p.cacheCount > 0 || !p.ring.isEmpty()) taken.push(alloc(p));
    const ref = alloc(p);
    if (ref !== 0) taken.push(ref);
    for (const t of taken) put(p, t, false);
  };
  const ret = (lo: number, hi: number, len: number, pad: number): boolean => {
    if (user.returnRaw(lo, hi, len, pad)) return true;
    if (pool && pool.state === "live") {
      kick(pool);
      return user.returnRaw(lo, hi, len, pad);
    }
    return false; // full and nobody drains it after teardown: reported, not written
  };
  const teardown = () => {
    tornDown = true;
    ifq.shutdown();
    if (pool?.state === "live") pool.destroy();
    pool = null;
  };

  for (const cmd of cmds) {
    switch (cmd.k) {
      case "rx": {
        if (!pool) break;
        const ref = alloc(pool);
        if (ref === 0) break;
        const r = ifq.recvFrag(ref, 0, cmd.len);
        if (r !== cmd.len && r !== ZCRX_ENOSPC) fail(`recvFrag returned ${r}`);
        if (cmd.keep) driverOut.set(ref, pool);
        else put(pool, ref, false);
        break;
      }
      case "copy": {
        const r = ifq.recvFrag(page, 0, Math.min(cmd.len, PAGE_SIZE));
        if (tornDown ? r !== ZCRX_ENODEV : !(r > 0 || r === ZCRX_ENOMEM || r === ZCRX_ENOSPC))
          fail(`copy returned ${r}`);
        break;
      }
      case "putDriver": {
        if (driverOut.size === 0) break;
        const ref = [...driverOut.keys()][cmd.i % driverOut.size];
        const p = driverOut.get(ref)!;
        driverOut.delete(ref);
        put(p, ref, cmd.remote || p.state !== "live");
        break;
      }
      case "read":
        for (let i = 0; i < cmd.n && user.readCompletion(); i++)
          held.push([user.offLo, user.offHi, user.len]);
        break;
      case "return": {
        if (held.length === 0) break;
        const [e] = held.splice(cmd.i % held.length, 1);
        const entry: [number, number, number] = [e[0], (e[1] & 0xffff) | tok, e[2]];
        if (ret(entry[0], entry[1], entry[2], 0)) returned.push(entry);
        else held.push(e); // full: the user keeps it and tries again later
        break;
      }
      case "double": {
        if (returned.length === 0) break;
        const e = returned[cmd.i % returned.length];
        ret(e[0], e[1], e[2], 0);
        break;
      }
      case "forged":
        ret(cmd.idx * PAGE_SIZE, tok, 0, 0);
        break;
      case "pad":
        ret(cmd.idx * PAGE_SIZE, tok, 0, cmd.pad);
        break;
      case "badArea":
        if (cmd.area !== areaId) ret(cmd.idx * PAGE_SIZE, (cmd.area << 16) >>> 0, 0, 0);
        break;
      case "oob":
        ret((cmd.idx * PAGE_SIZE) >>> 0, (Math.floor((cmd.idx * PAGE_SIZE) / 2 ** 32) | tok) >>> 0, 0, 0);
        break;
      case "napi": {
        if (!pool) break;
        const got: NetmemRef[] = [];
        for (let i = 0; i < cmd.n; i++) {
          const ref = alloc(pool);
          if (ref === 0) break;
          got.push(ref);
        }
        for (const ref of got) put(pool, ref, !cmd.direct);
        break;
      }
      case "restart":
        if (!pool) break;
        pool.destroy();
        pool = mkPool();
        pools.push(pool);
        break;
      case "tick":
        timers.advance(DEFER_TIME_MS);
        break;
      case "teardown":
        if (!tornDown) teardown();
        break;
    }
    audit(cmd.k);
  }

  // The user reads and returns everything; the driver frees its skbs; NAPI drains the ring.
  while (user.readCompletion()) held.push([user.offLo, user.offHi, user.len]);
  for (const [ref, p] of driverOut) put(p, ref, p.state !== "live");
  driverOut.clear();
  if (!tornDown && pool) {
    for (const e of held)
      if (!ret(e[0], (e[1] & 0xffff) | tok, e[2], 0)) fail("refill ring stuck while NAPI drains it");
    held.length = 0;
    while (ifq.rq.available() > 0) kick(pool);
    timers.advance(DEFER_TIME_MS);
    audit("all returned");
    // Every valid buffer came back: the user holds nothing, old pools are gone, and the live
    // pool hands out the whole area, each net_iov once.
    const z = ifq.audit();
    if (z.userRefs !== 0 || z.userCopies !== 0) fail(`after every return the user still holds ${z.userRefs}`);
    for (const p of pools) if (p !== pool && p.state !== "freed") fail(`old pool ${p.id} is ${p.state}`);
    const all = new Set<NetmemRef>();
    for (let ref = alloc(pool); ref !== 0; ref = alloc(pool)) all.add(ref);
    if (all.size !== NIOVS) fail(`the pool hands out ${all.size} of ${NIOVS} buffers: some were lost`);
    for (const ref of all) put(pool, ref, false);
    audit("whole area handed out and back");
    teardown();
  } else {
    // Returns after teardown: written (or reported full), never consumed, never harmful.
    for (const e of held) ret(e[0], (e[1] & 0xffff) | tok, e[2], 0);
  }
  timers.advance(DEFER_TIME_MS);
  for (const p of pools) if (p.state !== "freed") fail(`pool ${p.id} is still ${p.state} after teardown`);
  const z = ifq.audit();
  if (!z.ok || z.free !== NIOVS)
    fail(`after teardown ${z.free} of ${NIOVS} net_iovs are free: ${z.problems.join("; ")}`);
  ifq.free();
  allocator.putPage(page);
  allocator.dispose();
}

describe("zcrx: adversarial user (property)", () => {
  test("forged, doubled, out-of-range, padded and late returns never break conservation", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(0), fc.nat({ max: 0xffff })),
        fc.array(cmdArb, { minLength: 10, maxLength: 80 }),
        (areaId, cmds) => {
          runSequence(areaId, cmds);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("zcrx: README", () => {
  test("the README's example runs and is the code in example.ts", async () => {
    expect(zcrxExample()).toEqual(["hello"]);
    const src = await Bun.file(new URL("./example.ts", import.meta.url)).text();
    const readme = await Bun.file(new URL("./README.md", import.meta.url)).text();
    const body = src.slice(src.indexOf("// EXAMPLE-BEGIN\n") + 17, src.indexOf("  // EXAMPLE-END"));
    const dedented = body
      .split("\n")
      .map((l) => l.replace(/^ {2}/, ""))
      .join("\n")
      .trim();
    expect(dedented.length).toBeGreaterThan(200);
    expect(readme).toContain(dedented);
  });
});
