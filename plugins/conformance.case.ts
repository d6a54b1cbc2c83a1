/**
 * The shared conformance suite every memory provider runs (the Hono `common.case.test.ts` shape).
 *
 * A provider's test calls `runConformance(target)` in a few lines; the suite defines its own
 * `describe`/`test` blocks with bun:test. It imports the core normally, so it exercises whichever
 * dispatcher `#dispatch` resolves to (`bun test --conditions=<variant>` picks a generated one);
 * never import a specific dispatcher here.
 *
 * Every test builds a fresh world (a small page allocator, a DMA device, a two-queue net device,
 * manual timers), asks the target for fresh provider state over it, binds the provider to the
 * queue (unless `setup` already did), runs, and then checks that after the provider's teardown
 * every page is back with the page allocator and that the allocator is consistent. The audit
 * (`pool.audit()`) runs after every step. The file name does not match bun's test globs
 * (`*.test.ts`), so it only runs through a provider's test.
 *
 * A provider's test normally builds its target from its fixture (`fixtureTarget(fixture, options)`):
 * the suite then stands the provider up exactly as the bench and the simulator do.
 *
 * Stable API (other providers' tests depend on it): `runConformance`, `fixtureTarget`, `ConformanceTarget`,
 * `ConformanceEnv`, `ConformanceInstance`, `CONFORMANCE_TESTS`, and `runReadmeExample` (runs a
 * README's example block and compares its console.log output with its `// → …` comments).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { cpu, LOOPBACK_IFINDEX, NetDevice, napiRun, onCpu, type RxQueue } from "../core/netdev.ts";
import { type NetmemRef, nm, PAGE_SIZE } from "../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../core/page-alloc.ts";
import { PagePool } from "../core/page-pool.ts";
import { pagePoolDump, pagePoolGet } from "../core/pool-netlink.ts";
import { type MemoryProviderOps, mpStaticKey } from "../core/provider.ts";
import { S_CACHE_FULL, S_CACHED, S_EMPTY, S_FAST, S_REFILL, S_RING, S_RING_FULL } from "../core/stats.ts";
import { expectCode } from "../core/testing.ts";
import { ManualTimers } from "../core/timers.ts";
import {
  DEFER_TIME_MS,
  type PagePoolParams,
  PP_ALLOC_CACHE_REFILL,
  PP_ALLOC_CACHE_SIZE,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../core/types.ts";
import { type FixtureInstance, type ProviderFixture, resolveOptions } from "./fixture.ts";

/** What the suite hands `setup`: a fresh world per test. */
export interface ConformanceEnv {
  /** The DMA device pools map for; `dev.pages === allocator`. */
  dev: DmaDevice;
  /** A two-queue device over `dev`; the provider is bound to `queueIdx`. */
  netdev: NetDevice;
  queueIdx: number;
  /** The host page allocator (`target.pages` pages, default 2048 = 8 MiB, so four order-9 folios). */
  allocator: PageAllocator;
  /** The timers every pool of the test uses (deferred destroy). */
  timers: ManualTimers;
}

/** Fresh provider state, as `setup` returns it. */
export interface ConformanceInstance {
  /** The provider state bound to the queue (becomes `pool.mpPriv`). */
  priv: unknown;
  /**
   * How many netmems the provider can hand out in total, from fresh (for the exhaustion cases).
   * Keep it small (a few thousand at most): several cases allocate it all more than once. One
   * case has two live pools take a netmem each: a provider that fills the cache in bulk needs a
   * capacity above one bulk (PP_ALLOC_CACHE_REFILL = 64) for that.
   */
  capacity: number;
  /**
   * Frees everything the provider owns (areas, folios, bindings, …). Called once at the end of
   * every test after all pools are freed, also after the suite unbound the queue itself (the
   * unbind case): it must then not expect the queue to be bound. After it returns every page of
   * `env.allocator` must be free.
   */
  teardown(): void;
  /**
   * Optional: how many netmems the provider could hand out right now. When given, the suite
   * checks it equals `capacity` whenever no pool holds any of the provider's memory.
   */
  available?(): number;
  /** Optional: the provider's own count of init and destroy calls (checked exactly when given). */
  lifecycle?(): { inits: number; destroys: number };
  /**
   * Optional: unbinds the provider from the queue the way its user-facing API does (e.g. a
   * devmem binding's unbind). Default: `env.netdev.unbindRxQueue(env.queueIdx)`.
   */
  unbind?(): void;
}

export interface ConformanceTarget {
  /** Provider name (the describe block's title; should equal `ops.name`). */
  name: string;
  /** The provider's frozen, registered ops table. */
  ops: MemoryProviderOps;
  /**
   * Fresh provider state over the given world. May bind the provider to `env.queueIdx` itself
   * (through its own API); otherwise the suite binds `ops` with `priv`.
   */
  setup(env: ConformanceEnv): ConformanceInstance;
  /** Extra pool params (e.g. `order`, `maxLen`); the suite's flags/netdev/queue/napi/timers apply otherwise. */
  poolParams?: Partial<PagePoolParams>;
  /** Pages in the test's page allocator (default 2048). */
  pages?: number;
  /** Cases the provider cannot meet, by name (see CONFORMANCE_TESTS), each with its reason. */
  skip?: Array<{ reason: string; tests: string[] }>;
}

/** The case names, for `skip`. */
export const CONFORMANCE_TESTS = [
  "init once per pool, destroy once when the pool is freed",
  "allocates until exhaustion, fails cleanly, then has the same capacity again",
  "netmems released by a freed pool go back to the provider",
  "recycles through the alloc cache inside NAPI without reaching the provider",
  "recycles through the ring from outside NAPI, then refills from it",
  "deferred destroy completes once in-flight netmems come back",
  "describe() carries the provider's nlFill attributes",
  "refuses a pool without DMA_MAP|DMA_SYNC_DEV with EOPNOTSUPP and leaves nothing behind",
  "unbind leaves existing pools working until they drain",
  "refuses double and foreign puts without losing anything",
  "a destroyed pool refuses to allocate and loses nothing",
  "netdev unregister: the pools are destroyed first, listed on loopback, freed when their buffers return",
  "netlink: the pool dump fills the provider's attributes with no queue; queue-get shows them on the queue",
] as const;
export type ConformanceTestName = (typeof CONFORMANCE_TESTS)[number];

const PROVIDER_FLAGS = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM;
/** The "remote" CPU that returns netmems from process context (never the pool's NAPI). */
const REMOTE_CPU = 1;

/**
 * One test's world plus bookkeeping: which netmems are out (handed out and not yet returned),
 * so a netmem handed out twice is caught at the second hand-out.
 */
class World {
  readonly env: ConformanceEnv;
  readonly rxq: RxQueue;
  readonly inst: ConformanceInstance;
  readonly pools: PagePool[] = [];
  readonly out = new Map<NetmemRef, PagePool>();
  readonly logs: string[] = [];
  readonly staticKeyBefore: number;
  #done = false;
  #tornDown = false;

  constructor(readonly target: ConformanceTarget) {
    this.staticKeyBefore = mpStaticKey.count;
    const allocator = new PageAllocator({ pages: target.pages ?? 2048 });
    const dev = new DmaDevice(allocator, { name: `conf-${target.name}` });
    const netdev = new NetDevice({ rxQueues: 2, dev });
    // Queue 1, not 0, so a provider that ignores the queue index shows up.
    this.env = { dev, netdev, queueIdx: 1, allocator, timers: new ManualTimers() };
    this.rxq = netdev.rxQueue(1);
    this.inst = target.setup(this.env);
    if (!Number.isInteger(this.inst.capacity) || this.inst.capacity < 1)
      throw new Error(`${target.name}: setup() must report a positive integer capacity`);
    if (this.rxq.mpParams.ops !== target.ops) netdev.bindRxQueue(1, target.ops, this.inst.priv);
  }

  get capacity(): number {
    return this.inst.capacity;
  }

  /** A pool for the bound queue, as a driver creates it (NAPI = the queue's). */
  create(extra: Partial<PagePoolParams> = {}): PagePool {
    const pool = PagePool.create(this.params(extra));
    this.pools.push(pool);
    return pool;
  }

  params(extra: Partial<PagePoolParams> = {}): PagePoolParams {
    return {
      flags: PROVIDER_FLAGS,
      dmaDir: "from-device",
      maxLen: PAGE_SIZE,
      netdev: this.env.netdev,
      queueIdx: this.env.queueIdx,
      napi: this.rxq.napi,
      timers: this.env.timers,
      log: (m) => this.logs.push(m),
      ...this.target.poolParams,
      ...extra,
    };
  }

  /** pool.allocNetmem() in the queue's NAPI context; records the netmem as out. */
  alloc(pool: PagePool): NetmemRef {
    const ref = napiRun(this.rxq.napi, () => pool.allocNetmem());
    if (ref !== 0) {
      const holder = this.out.get(ref);
      if (holder) throw new Error(`netmem ${ref} handed out twice (already out from pool ${holder.id})`);
      if (nm.pp[ref >>> 1] !== pool.id)
        throw new Error(`netmem ${ref} handed out by pool ${pool.id} but attached to ${nm.pp[ref >>> 1]}`);
      if (nm.ppRef[ref >>> 1] !== 1)
        throw new Error(`netmem ${ref} handed out with pp_ref_count ${nm.ppRef[ref >>> 1]}`);
      this.out.set(ref, pool);
    }
    return ref;
  }

  allocN(pool: PagePool, n: number): NetmemRef[] {
    const refs: NetmemRef[] = [];
    for (let i = 0; i < n; i++) {
      const ref = this.alloc(pool);
      if (ref === 0) throw new Error(`allocation ${i + 1} of ${n} failed (capacity ${this.capacity})`);
      refs.push(ref);
    }
    return refs;
  }

  /** recycleDirect() in the pool's NAPI context. */
  recycle(pool: PagePool, ref: NetmemRef): void {
    this.#forget(pool, ref);
    napiRun(this.rxq.napi, () => pool.recycleDirect(ref));
  }

  /** putNetmem(allowDirect = false) from another CPU in process context: the ring path. */
  putRemote(pool: PagePool, ref: NetmemRef): void {
    this.#forget(pool, ref);
    onCpu(REMOTE_CPU, () => pool.putNetmem(ref, -1, false));
  }

  #forget(pool: PagePool, ref: NetmemRef): void {
    if (this.out.get(ref) !== pool)
      throw new Error(`test bug: netmem ${ref} is not out from pool ${pool.id}`);
    this.out.delete(ref);
  }

  /** The audit of every pool of the test that is not yet freed. */
  audit(label: string): void {
    for (const pool of this.pools) {
      if (pool.state === "freed") continue;
      const r = pool.audit();
      if (!r.ok) throw new Error(`audit of pool ${pool.id} after ${label}: ${r.problems.join("; ")}`);
    }
  }

  /** Returns everything still out (remotely), destroys live pools and lets deferred ones finish. */
  drain(): void {
    for (const [ref, pool] of [...this.out]) this.putRemote(pool, ref);
    for (const pool of this.pools) if (pool.state === "live") pool.destroy();
    this.env.timers.advance(DEFER_TIME_MS);
  }

  /** End of test: every pool freed, provider torn down, every page back, allocator disposed. */
  finish(): void {
    this.drain();
    for (const pool of this.pools) expect(pool.state).toBe("freed");
    expect(this.rxq.pools.size).toBe(0);
    expect(mpStaticKey.count).toBe(this.staticKeyBefore);
    if (this.inst.available) expect(this.inst.available()).toBe(this.capacity);
    this.#tornDown = true;
    this.inst.teardown();
    const a = this.env.allocator;
    expect(a.numPages - a.freePages).toBe(0);
    a.checkInvariants();
    a.dispose();
    this.#done = true;
  }

  /** Best-effort cleanup after a failed test, so the next test starts clean. */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    try {
      this.drain();
    } catch {}
    if (!this.#tornDown) {
      this.#tornDown = true;
      try {
        this.inst.teardown();
      } catch {}
    }
    // The core's static key is global: put it back so later tests see the state they expect.
    mpStaticKey.count = this.staticKeyBefore;
    cpu.inSoftirq = false;
    cpu.id = 0;
  }
}

type Case = (w: World) => void;

const CASES: Record<ConformanceTestName, Case> = {
  "init once per pool, destroy once when the pool is freed"(w) {
    const lc = w.inst.lifecycle;
    const base = lc?.() ?? { inits: 0, destroys: 0 };
    const key = mpStaticKey.count;
    // A queue restart creates the new pool before the old one goes: two pools overlap.
    const a = w.create();
    expect(a.mpOps).toBe(w.target.ops);
    expect(a.mpPriv).toBe(w.inst.priv);
    expect(mpStaticKey.count).toBe(key + 1);
    const b = w.create();
    expect(mpStaticKey.count).toBe(key + 2);
    expect(w.rxq.pools.has(a) && w.rxq.pools.has(b)).toBe(true);
    if (lc) expect(lc()).toEqual({ inits: base.inits + 2, destroys: base.destroys });
    const ra = w.allocN(a, 1);
    w.audit("pool a allocated");
    w.recycle(a, ra[0]);
    a.destroy();
    expect(a.state).toBe("freed");
    expect(mpStaticKey.count).toBe(key + 1);
    expect(w.rxq.pools.has(a)).toBe(false);
    if (lc) expect(lc()).toEqual({ inits: base.inits + 2, destroys: base.destroys + 1 });
    // a gave everything back (its cache too), so b can allocate even from a bulk-filling provider.
    w.allocN(b, 1);
    w.audit("pool b allocated");
    // b has one netmem out: its destroy is deferred, and the provider's destroy waits for it.
    b.destroy();
    expect(b.state).toBe("detached");
    if (lc) expect(lc().destroys).toBe(base.destroys + 1);
    w.drain();
    expect(b.state).toBe("freed");
    expect(mpStaticKey.count).toBe(key);
    if (lc) expect(lc()).toEqual({ inits: base.inits + 2, destroys: base.destroys + 2 });
    w.env.timers.advance(10 * DEFER_TIME_MS);
    if (lc) expect(lc().destroys).toBe(base.destroys + 2);
    // A destroy beyond the user count is the kernel's refcount_t underflow WARN: nothing happens.
    b.destroy();
    expect(b.extraDestroys).toBe(1);
    if (lc) expect(lc()).toEqual({ inits: base.inits + 2, destroys: base.destroys + 2 });
  },

  "allocates until exhaustion, fails cleanly, then has the same capacity again"(w) {
    const cap = w.capacity;
    const pool = w.create();
    const refs = w.allocN(pool, cap);
    w.audit("allocating the whole capacity");
    // Ring never had anything: each call was a cache hit (fast) or an empty refill (empty).
    expect(w.alloc(pool)).toBe(0);
    expect(w.alloc(pool)).toBe(0);
    expect(pool.st[S_FAST] + pool.st[S_EMPTY]).toBe(cap + 2);
    expect(pool.st[S_REFILL]).toBe(0);
    let r = pool.audit();
    expect([r.inflight, r.cache, r.ring]).toEqual([cap, 0, 0]);
    expect(pool.inflight).toBe(cap);
    // Everything back through recycleDirect: cache, then ring, then the provider; exact counts.
    for (const ref of refs) w.recycle(pool, ref);
    w.audit("returning the whole capacity");
    const cached = Math.min(cap, PP_ALLOC_CACHE_SIZE);
    const toRing = Math.min(cap - cached, pool.ring.size);
    expect(pool.st[S_CACHED]).toBe(cached);
    expect(pool.st[S_CACHE_FULL]).toBe(cap - cached);
    expect(pool.st[S_RING]).toBe(toRing);
    expect(pool.st[S_RING_FULL]).toBe(cap - cached - toRing);
    r = pool.audit();
    expect([r.inflight, r.cache, r.ring]).toEqual([0, cached, toRing]);
    // And back: the same capacity is there again, nothing handed out twice.
    w.allocN(pool, cap);
    w.audit("allocating the whole capacity again");
    expect(w.alloc(pool)).toBe(0);
    expect(pool.inflight).toBe(cap);
    w.drain();
    expect(pool.state).toBe("freed");
  },

  "netmems released by a freed pool go back to the provider"(w) {
    const cap = w.capacity;
    const pool = w.create();
    const refs = w.allocN(pool, Math.max(1, cap >> 1));
    for (const ref of refs) w.putRemote(pool, ref);
    w.audit("returning to the ring");
    pool.destroy();
    // Nothing in flight: destroy frees the pool at once and every netmem went back.
    expect(pool.state).toBe("freed");
    expect(pool.holdCount).toBe(pool.releaseCount);
    for (const ref of refs) expect(nm.pp[ref >>> 1]).toBe(0);
    if (w.inst.available) expect(w.inst.available()).toBe(cap);
    // A new pool has the whole capacity.
    const again = w.create();
    w.allocN(again, cap);
    expect(w.alloc(again)).toBe(0);
    w.audit("new pool, whole capacity");
  },

  "recycles through the alloc cache inside NAPI without reaching the provider"(w) {
    const pool = w.create();
    const k = Math.min(w.capacity, 32);
    const refs = w.allocN(pool, k);
    const hold = pool.holdCount;
    const st = Float64Array.from(pool.st);
    const cacheBefore = pool.cacheCount;
    for (const ref of refs) w.recycle(pool, ref);
    w.audit("recycleDirect");
    expect(pool.st[S_CACHED] - st[S_CACHED]).toBe(k);
    expect(pool.st[S_RING] - st[S_RING]).toBe(0);
    expect(pool.cacheCount).toBe(cacheBefore + k);
    // LIFO: the last netmem recycled is the first handed out, all from the cache (fast).
    const again = w.allocN(pool, k);
    expect(again).toEqual([...refs].reverse());
    expect(pool.st[S_FAST] - st[S_FAST]).toBe(k);
    expect(pool.holdCount).toBe(hold);
    // A non-direct put from the pool's own NAPI is still napi-local: it goes to the cache too.
    const cached = pool.st[S_CACHED];
    const ref = again.pop()!;
    w.out.delete(ref);
    napiRun(w.rxq.napi, () => pool.putNetmem(ref, -1, false));
    expect(pool.st[S_CACHED]).toBe(cached + 1);
    w.audit("napi-local put");
  },

  "recycles through the ring from outside NAPI, then refills from it"(w) {
    const pool = w.create();
    const k = Math.min(w.capacity, 100);
    const refs = w.allocN(pool, k);
    const st = Float64Array.from(pool.st);
    for (const ref of refs) w.putRemote(pool, ref);
    w.audit("remote puts");
    expect(pool.st[S_RING] - st[S_RING]).toBe(k);
    expect(pool.st[S_CACHED] - st[S_CACHED]).toBe(0);
    expect(pool.ring.count()).toBe(k);
    // Drain what the provider may have bulk-placed in the cache so the next alloc refills.
    w.allocN(pool, pool.cacheCount);
    const hold = pool.holdCount;
    const refill = pool.st[S_REFILL];
    const ref = w.alloc(pool);
    expect(refs).toContain(ref);
    const batch = Math.min(k, PP_ALLOC_CACHE_REFILL);
    expect(pool.st[S_REFILL]).toBe(refill + 1);
    expect(pool.cacheCount).toBe(batch - 1);
    expect(pool.ring.count()).toBe(k - batch);
    expect(pool.holdCount).toBe(hold);
    w.audit("refill");
    // The rest of the ring comes back without reaching the provider either.
    w.allocN(pool, k - 1);
    expect(pool.holdCount).toBe(hold);
    w.audit("ring drained");
  },

  "deferred destroy completes once in-flight netmems come back"(w) {
    const lc = w.inst.lifecycle;
    const base = lc?.() ?? { inits: 0, destroys: 0 };
    const t = w.env.timers;
    const pool = w.create();
    const refs = w.allocN(pool, Math.min(w.capacity, 8));
    pool.destroy();
    expect(pool.state).toBe("detached");
    expect(pool.inflight).toBe(refs.length);
    expect(t.pending).toBe(1);
    expect(pool.describe().detachTime).toBeDefined();
    w.audit("destroy with netmems in flight");
    t.advance(DEFER_TIME_MS);
    expect(pool.state).toBe("detached");
    if (lc) expect(lc().destroys).toBe(base.destroys);
    const half = refs.length >> 1;
    for (let i = 0; i < half; i++) w.putRemote(pool, refs[i]);
    w.audit("half returned");
    t.advance(DEFER_TIME_MS);
    expect(pool.state).toBe("detached");
    expect(pool.inflight).toBe(refs.length - half);
    for (let i = half; i < refs.length; i++) w.putRemote(pool, refs[i]);
    t.advance(DEFER_TIME_MS);
    expect(pool.state).toBe("freed");
    expect(t.pending).toBe(0);
    expect(w.rxq.pools.has(pool)).toBe(false);
    if (lc) expect(lc().destroys).toBe(base.destroys + 1);
    t.advance(5 * DEFER_TIME_MS);
    if (lc) expect(lc().destroys).toBe(base.destroys + 1);
    if (w.inst.available) expect(w.inst.available()).toBe(w.capacity);
  },

  "describe() carries the provider's nlFill attributes"(w) {
    const pool = w.create();
    w.allocN(pool, 1);
    const d = pool.describe();
    expect(d.id).toBe(pool.id);
    expect(d.ifindex).toBe(w.env.netdev.ifindex);
    expect(d.napiId).toBe(w.rxq.napi.id);
    // inflight is hold - release: a provider that bulk-fills the cache counts those too.
    expect(d.inflight).toBe(pool.inflight);
    expect(d.inflight).toBeGreaterThanOrEqual(1);
    expect(d.inflightMem).toBe(pool.inflight * (PAGE_SIZE << pool.order)); // the kernel's refsz
    expect(d.detachTime).toBeUndefined();
    const fill = w.target.ops.nlFill;
    if (fill) {
      const attrs = fill(w.inst.priv, null); // the pool dump passes no queue
      expect(Object.keys(attrs).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(attrs)) expect(d[k]).toEqual(v);
      // Netlink attributes: plain data that survives serialisation.
      expect(JSON.parse(JSON.stringify(attrs))).toEqual(attrs);
    }
    w.audit("describe");
  },

  "refuses a pool without DMA_MAP|DMA_SYNC_DEV with EOPNOTSUPP and leaves nothing behind"(w) {
    const lc = w.inst.lifecycle;
    const before = lc?.();
    const key = mpStaticKey.count;
    for (const flags of [PP_FLAG_ALLOW_UNREADABLE_NETMEM, PP_FLAG_ALLOW_UNREADABLE_NETMEM | PP_FLAG_DMA_MAP])
      expectCode(() => PagePool.create(w.params({ flags })), "EOPNOTSUPP");
    expect(mpStaticKey.count).toBe(key);
    expect(w.rxq.pools.size).toBe(0);
    if (lc) expect(lc()).toEqual(before!);
    // Without ALLOW_UNREADABLE_NETMEM a pool on the same queue does not take the provider.
    const plain = w.create({ flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV });
    expect(plain.mpOps).toBeNull();
    expect(plain.mpKind).toBe(0);
    expect(mpStaticKey.count).toBe(key);
    if (lc) expect(lc()).toEqual(before!);
  },

  "unbind leaves existing pools working until they drain"(w) {
    const lc = w.inst.lifecycle;
    const base = lc?.() ?? { inits: 0, destroys: 0 };
    const pool = w.create();
    const k = Math.max(1, Math.min(w.capacity - 1, 8));
    const refs = w.allocN(pool, k);
    if (w.inst.unbind) w.inst.unbind();
    else w.env.netdev.unbindRxQueue(w.env.queueIdx);
    expect(w.rxq.mpParams.ops).toBeNull();
    // The pool keeps its provider (copied at creation) and keeps working.
    expect(pool.mpOps).toBe(w.target.ops);
    for (const ref of refs.splice(0, k >> 1)) w.recycle(pool, ref);
    for (const ref of refs) w.putRemote(pool, ref);
    w.audit("returns after unbind");
    w.allocN(pool, Math.min(w.capacity, k + 1));
    w.audit("allocations after unbind");
    // A pool created now gets no provider.
    const fresh = w.create();
    expect(fresh.mpOps).toBeNull();
    expect(fresh.mpKind).toBe(0);
    w.allocN(fresh, 1);
    w.audit("providerless pool on the unbound queue");
    w.drain();
    expect(pool.state).toBe("freed");
    if (lc) expect(lc()).toEqual({ inits: base.inits + 1, destroys: base.destroys + 1 });
  },

  "refuses double and foreign puts without losing anything"(w) {
    const a = w.create();
    const b = w.create();
    const [ra] = w.allocN(a, 1);
    const [rb] = w.allocN(b, 1);
    const st = Float64Array.from(a.st);
    // Foreign: b's netmem put to a.
    expectCode(() => napiRun(w.rxq.napi, () => a.recycleDirect(rb)), "EINVAL");
    expectCode(() => a.putNetmem(0, -1, false), "EINVAL");
    expectCode(() => a.putNetmem(-2, -1, false), "EINVAL");
    w.recycle(a, ra);
    // Double: ra is in a's cache now.
    expectCode(() => napiRun(w.rxq.napi, () => a.recycleDirect(ra)), "EINVAL");
    expectCode(() => onCpu(REMOTE_CPU, () => a.putNetmem(ra, -1, false)), "EINVAL");
    expect(a.st[S_CACHED] - st[S_CACHED]).toBe(1);
    expect(a.st[S_RING] - st[S_RING]).toBe(0);
    w.audit("refused puts");
    expect(a.audit().cache).toBeGreaterThanOrEqual(1);
    expect(b.audit().inflight).toBe(1);
  },

  "a destroyed pool refuses to allocate and loses nothing"(w) {
    const pool = w.create();
    const [held] = w.allocN(pool, 1);
    pool.destroy();
    expect(pool.state).toBe("detached");
    const inflight = pool.inflight; // the held netmem (destroy gave the cached ones back)
    expect(inflight).toBe(1);
    // The kernel has no check (a driver bug); the model refuses and takes nothing.
    expectCode(() => w.alloc(pool), "EINVAL");
    expectCode(() => napiRun(w.rxq.napi, () => pool.allocFragNetmem(64)), "EINVAL");
    expect(pool.inflight).toBe(inflight);
    w.audit("allocation refused");
    w.putRemote(pool, held);
    w.env.timers.advance(DEFER_TIME_MS);
    expect(pool.state).toBe("freed");
  },

  "netdev unregister: the pools are destroyed first, listed on loopback, freed when their buffers return"(w) {
    const live = w.create();
    const busy = w.create();
    const [held] = w.allocN(busy, 1);
    for (const r of w.allocN(live, 1)) w.recycle(live, r);
    w.env.netdev.unregister();
    // dev_close() first: the driver's pools are destroyed; nothing of the device stays live.
    expect(live.state).toBe("freed");
    expect(busy.state).toBe("detached");
    expect(w.rxq.mpParams.ops).toBeNull(); // the provider was uninstalled
    // page_pool_unreg_netdev(): still listed, on loopback, so page-pool-get shows no ifindex.
    expect(busy.netdev?.ifindex).toBe(LOOPBACK_IFINDEX);
    const d = pagePoolGet(busy.id);
    expect(d.ifindex).toBeUndefined();
    expect(pagePoolDump().some((x) => x.id === busy.id)).toBe(true);
    expectCode(() => pagePoolGet(live.id), "ENOENT");
    // Visible pools get no "stalled pool shutdown" warning, however long they wait.
    w.env.timers.advance(3 * 60_000);
    expect(busy.stalledWarnings).toBe(0);
    expect(busy.state).toBe("detached");
    w.putRemote(busy, held);
    w.env.timers.advance(DEFER_TIME_MS);
    expect(busy.state).toBe("freed");
    expectCode(() => pagePoolGet(busy.id), "ENOENT");
  },

  "netlink: the pool dump fills the provider's attributes with no queue; queue-get shows them on the queue"(
    w,
  ) {
    const pool = w.create();
    w.allocN(pool, 1);
    const fill = w.target.ops.nlFill;
    const d = pagePoolGet(pool.id);
    expect(pagePoolDump().find((x) => x.id === pool.id)).toEqual(d);
    const q = w.env.netdev.queueGet(w.env.queueIdx);
    expect(q).toMatchObject({
      id: w.env.queueIdx,
      ifindex: w.env.netdev.ifindex,
      type: "rx",
      napiId: w.rxq.napi.id,
    });
    if (fill) {
      // The pool dump is nl_fill(priv, rsp, NULL); queue-get is nl_fill(priv, rsp, rxq).
      const base = {
        id: d.id,
        inflight: d.inflight,
        inflightMem: d.inflightMem,
        ifindex: d.ifindex,
        napiId: d.napiId,
      };
      expect(d).toEqual({ ...base, ...fill(w.inst.priv, null) });
      expect(q).toEqual({
        id: w.env.queueIdx,
        ifindex: w.env.netdev.ifindex,
        type: "rx",
        napiId: w.rxq.napi.id,
        ...fill(w.inst.priv, w.rxq),
      });
    }
    // The other queue has no provider: no provider attributes.
    const other = w.env.netdev.queueGet(1 - w.env.queueIdx);
    expect(Object.keys(other).sort()).toEqual(["id", "ifindex", "napiId", "type"]);
    expectCode(() => w.env.netdev.queueGet(5), "EINVAL");
  },
};

/**
 * The conformance target of `fixture` with `options` (resolved and validated by the fixture):
 * each test's setup binds it through the fixture to the suite's queue, unbinds it through the
 * fixture's unbind and tears down with its dispose, then runs `extra.afterDispose` (provider
 * specific checks that everything it owned is gone).
 */
export function fixtureTarget(
  fixture: ProviderFixture,
  options: Readonly<Record<string, unknown>> = {},
  extra: Pick<ConformanceTarget, "poolParams" | "pages" | "skip"> & {
    /** The describe block's title (default the fixture's name). */
    name?: string;
    afterDispose?(inst: FixtureInstance): void;
  } = {},
): ConformanceTarget {
  const opts = resolveOptions(fixture, options);
  return {
    name: extra.name ?? fixture.name,
    ops: fixture.ops,
    poolParams: extra.poolParams,
    pages: extra.pages,
    skip: extra.skip,
    setup(env) {
      const inst = fixture.bind(
        { netdev: env.netdev, queueIdx: env.queueIdx, dev: env.dev, pages: env.allocator },
        opts,
      );
      return {
        priv: inst.priv,
        capacity: inst.capacity,
        available: () => inst.available(),
        lifecycle: () => inst.lifecycle(),
        unbind: () => inst.unbind(),
        teardown() {
          inst.dispose();
          extra.afterDispose?.(inst);
        },
      };
    },
  };
}

/**
 * Defines the conformance suite for `target` as a bun:test describe block. Call at a test
 * file's top level.
 */
export function runConformance(target: ConformanceTarget): void {
  const skipped = new Map<string, string>();
  for (const s of target.skip ?? []) {
    if (!s.reason?.trim()) throw new Error(`${target.name}: a skipped conformance case needs a reason`);
    for (const t of s.tests) {
      if (!(CONFORMANCE_TESTS as readonly string[]).includes(t))
        throw new Error(`${target.name}: skip names an unknown conformance case "${t}"`);
      skipped.set(t, s.reason);
    }
  }
  describe(`conformance: ${target.name}`, () => {
    for (const name of CONFORMANCE_TESTS) {
      const reason = skipped.get(name);
      if (reason !== undefined) {
        test.skip(`${name} (skipped: ${reason})`, () => {});
        continue;
      }
      test(name, () => {
        const w = new World(target);
        try {
          CASES[name](w);
          w.audit("the case");
          w.finish();
        } finally {
          w.abandon();
        }
      });
    }
  });
}

/**
 * Runs the example of a provider's README, so the documented user-side API cannot rot.
 *
 * The example is the first fenced block whose info string is `ts example`. Its relative imports
 * are resolved against the README's folder (so it reads as it would in the repo), it runs as a
 * module, and every `console.log(...)` line that ends in a `// → text` comment must print exactly
 * `text` (arguments joined by a space; strings as is, everything else as JSON). Returns what was
 * logged and what the comments expect, for the caller to `expect(...).toEqual(...)`.
 */
export async function runReadmeExample(
  readmePath: string,
): Promise<{ logged: string[]; expected: string[] }> {
  const md = readFileSync(readmePath, "utf8");
  const m = /```ts example\n([\s\S]*?)```/.exec(md);
  if (!m) throw new Error(`${readmePath}: no \`\`\`ts example block`);
  const dir = dirname(resolve(readmePath));
  const code = m[1].replace(
    /from "(\.{1,2}\/[^"]+)"/g,
    (_, spec: string) => `from ${JSON.stringify(resolve(dir, spec))}`,
  );
  const expected: string[] = [];
  for (const line of code.split("\n")) {
    const e = /console\.log\(.*\/\/ → (.*)$/.exec(line);
    if (e) expected.push(e[1].trim());
  }
  const file = join(
    tmpdir(),
    `pagepool-readme-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.ts`,
  );
  writeFileSync(file, code);
  const logged: string[] = [];
  const saved = console.log;
  console.log = (...args: unknown[]) => {
    logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  };
  try {
    await import(file);
  } finally {
    console.log = saved;
    rmSync(file, { force: true });
  }
  return { logged, expected };
}
