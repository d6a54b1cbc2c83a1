/**
 * The adversarial property-test model for providers whose buffers come back through the stack
 * (plugins/huge, plugins/limited): random interleavings of allocations, frags, puts from the
 * pool's NAPI, from another CPU and direct, extra references, pool create/destroy, deferred
 * destroy ticks, double puts, foreign puts and early dispose, with the audit and the provider's
 * own accounting checked after every step and a full teardown at the end. Test support: import
 * it from *.test.ts only (it uses bun:test's expect).
 */
import { expect } from "bun:test";
import fc from "fast-check";
import { type NetDevice, napiRun, onCpu, type RxQueue } from "../core/netdev.ts";
import { type NetmemRef, PAGE_SIZE } from "../core/netmem.ts";
import type { PageAllocator } from "../core/page-alloc.ts";
import { PagePool } from "../core/page-pool.ts";
import { ManualTimers } from "../core/timers.ts";
import {
  DEFER_TIME_MS,
  type PagePoolParams,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../core/types.ts";

export type StackOp =
  | { t: "alloc"; p: number; n: number }
  | { t: "frag"; p: number; size: number }
  | { t: "putDirect" | "putRemote" | "putNapi" | "ref"; i: number }
  | { t: "create" }
  | { t: "destroy"; p: number }
  | { t: "advance" }
  | { t: "doublePut"; i: number }
  | { t: "foreignPut"; p: number; which: number }
  | { t: "dispose" };

type Weighted<T> = { weight: number; arbitrary: fc.Arbitrary<T> };

/** The op mix; `extra` adds a provider's own ops (run by StackModelSpec.runExtra). */
export function stackOpArb<X extends { t: string }>(
  opts: { maxAlloc: number; fragWeight: number },
  extra: Weighted<X>[] = [],
): fc.Arbitrary<StackOp | X> {
  const rec = <T>(weight: number, arbitrary: fc.Arbitrary<T>): Weighted<T> => ({ weight, arbitrary });
  const ops: Weighted<StackOp | X>[] = [
    rec(
      6,
      fc.record({
        t: fc.constant("alloc" as const),
        p: fc.nat(3),
        n: fc.integer({ min: 1, max: opts.maxAlloc }),
      }),
    ),
    rec(
      opts.fragWeight,
      fc.record({
        t: fc.constant("frag" as const),
        p: fc.nat(3),
        size: fc.integer({ min: 1, max: PAGE_SIZE }),
      }),
    ),
    rec(4, fc.record({ t: fc.constant("putDirect" as const), i: fc.nat() })),
    rec(4, fc.record({ t: fc.constant("putRemote" as const), i: fc.nat() })),
    rec(2, fc.record({ t: fc.constant("putNapi" as const), i: fc.nat() })),
    rec(1, fc.record({ t: fc.constant("ref" as const), i: fc.nat() })),
    rec(1, fc.record({ t: fc.constant("create" as const) })),
    rec(1, fc.record({ t: fc.constant("destroy" as const), p: fc.nat(3) })),
    rec(1, fc.record({ t: fc.constant("advance" as const) })),
    rec(1, fc.record({ t: fc.constant("doublePut" as const), i: fc.nat() })),
    rec(1, fc.record({ t: fc.constant("foreignPut" as const), p: fc.nat(3), which: fc.nat(3) })),
    rec(1, fc.record({ t: fc.constant("dispose" as const) })),
    ...extra,
  ];
  return fc.oneof(...ops);
}

/** One run's world: a fresh allocator (so a failing run cannot poison the shrinking ones). */
export interface StackWorld {
  allocator: PageAllocator;
  netdev: NetDevice;
  /** Queue 0 of `netdev`, already bound to the provider under test. */
  rxq: RxQueue;
}

/** What the model needs to know of the provider under test. */
export interface StackModelSpec<X> {
  /** Pool params beyond the provider flags, the queue and the timers (maxLen, poolSize). */
  poolParams: Partial<PagePoolParams>;
  /** Throws when `ref` (just handed out) is not the provider's memory. */
  checkHandOut?(ref: NetmemRef): void;
  /** A snapshot taken before each allocation, passed to allocFailed. */
  beforeAlloc?(): number;
  /** allocNetmem returned 0: throws unless the provider is really out of memory. */
  allocFailed(pool: PagePool, before: number): void;
  /** The provider's accounting after each step; `held` is what the live pools have out or cached. */
  check(label: string, held: number): void;
  /** True while the provider must refuse to be disposed (EBUSY). */
  busy(): boolean;
  /** After the teardown: nothing may still be charged to the provider. */
  afterTeardown(): void;
  dispose(): void;
  runExtra?(op: X): void;
}

const FLAGS = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM;

/** Runs `ops` against the world and checks everything after every step, then tears down. */
export function runStackModel<X extends { t: string }>(
  w: StackWorld,
  spec: StackModelSpec<X>,
  ops: readonly (StackOp | X)[],
): void {
  const { allocator, netdev, rxq } = w;
  const timers = new ManualTimers();
  const pools: PagePool[] = [];
  /** Holders per netmem handed out (an extra refNetmem or a frag user adds one). */
  const out = new Map<NetmemRef, { pool: PagePool; n: number }>();
  const returned: NetmemRef[] = [];
  const create = () =>
    pools.push(
      PagePool.create({ flags: FLAGS, netdev, queueIdx: 0, napi: rxq.napi, timers, ...spec.poolParams }),
    );
  const live = () => pools.filter((x) => x.state === "live");
  const isFragPage = (r: NetmemRef) => pools.some((x) => x.fragPage === r);
  const handOut = (pool: PagePool, r: NetmemRef, frag: boolean, prevFrag: NetmemRef) => {
    spec.checkHandOut?.(r);
    const o = out.get(r);
    if (o) {
      // Only a frag of the pool's current frag page may be handed out again.
      if (!frag || r !== prevFrag || o.pool !== pool) throw new Error(`netmem ${r} handed out twice`);
      o.n++;
    } else {
      if (!frag && isFragPage(r)) throw new Error(`netmem ${r} is a frag page and was handed out whole`);
      out.set(r, { pool, n: 1 });
    }
  };
  const pick = (i: number) => {
    if (out.size === 0) return undefined;
    const k = i % out.size;
    let j = 0;
    for (const [r, o] of out) if (j++ === k) return { r, o };
    return undefined;
  };
  const drop = (r: NetmemRef) => {
    const o = out.get(r)!;
    if (--o.n === 0) {
      out.delete(r);
      returned.push(r);
      if (returned.length > 16) returned.shift();
    }
  };
  const check = (label: string) => {
    let held = 0;
    for (const pool of pools) {
      if (pool.state === "freed") continue;
      const a = pool.audit();
      if (!a.ok) throw new Error(`${label}: ${a.problems.join("; ")}`);
      held += pool.inflight;
    }
    spec.check(label, held);
  };
  const livePool = (p: number) => live()[p % Math.max(1, live().length)];

  create();
  for (const op of ops) {
    const o = op as StackOp;
    switch (o.t) {
      case "alloc": {
        const pool = livePool(o.p);
        if (!pool) break;
        napiRun(rxq.napi, () => {
          for (let i = 0; i < o.n; i++) {
            const before = spec.beforeAlloc?.() ?? 0;
            const r = pool.allocNetmem();
            if (r === 0) {
              spec.allocFailed(pool, before);
              break;
            }
            handOut(pool, r, false, 0);
          }
        });
        break;
      }
      case "frag": {
        const pool = livePool(o.p);
        if (!pool) break;
        const prev = pool.fragPage;
        if (o.size > pool.netmemSize) {
          // Larger than one buffer: refused, and nothing changes (the kernel WARNs and returns 0).
          expect(() => napiRun(rxq.napi, () => pool.allocFragNetmem(o.size))).toThrow(/EINVAL/);
          expect(pool.fragPage).toBe(prev);
          break;
        }
        const r = napiRun(rxq.napi, () => pool.allocFragNetmem(o.size));
        if (r !== 0) handOut(pool, r, true, prev);
        break;
      }
      case "putDirect":
      case "putNapi":
      case "putRemote": {
        const e = pick(o.i);
        if (!e) break;
        drop(e.r);
        // recycleDirect is only legal from the live pool's own NAPI; after destroy a driver puts normally.
        if (o.t === "putDirect" && e.o.pool.state === "live")
          napiRun(rxq.napi, () => e.o.pool.recycleDirect(e.r));
        else if (o.t === "putNapi") napiRun(rxq.napi, () => e.o.pool.putNetmem(e.r, -1, false));
        else onCpu(1, () => e.o.pool.putNetmem(e.r, -1, false));
        break;
      }
      case "ref": {
        const e = pick(o.i);
        if (!e) break;
        e.o.pool.refNetmem(e.r);
        e.o.n++;
        break;
      }
      case "create":
        if (live().length < 2) create();
        break;
      case "destroy":
        livePool(o.p)?.destroy();
        break;
      case "advance":
        timers.advance(DEFER_TIME_MS);
        break;
      case "doublePut": {
        // A netmem the user already gave back (and nobody got since): the core refuses it.
        const r = returned[o.i % Math.max(1, returned.length)];
        if (r === undefined || out.has(r) || isFragPage(r)) break;
        for (const pool of pools) {
          if (pool.state === "freed") continue;
          expect(() => onCpu(1, () => pool.putNetmem(r, -1, false))).toThrow(/EINVAL/);
        }
        break;
      }
      case "foreignPut": {
        const pool = pools[o.p % pools.length];
        if (pool.state === "freed") break;
        const other = [...out].find(([, x]) => x.pool !== pool)?.[0];
        // None, negative, out of the tables (page and net_iov tag), another pool's netmem.
        const r = [0, -1, 0x7ffffffe, other ?? 0x7ffffffd][o.which];
        expect(() => onCpu(1, () => pool.putNetmem(r, -1, false))).toThrow(/EINVAL/);
        break;
      }
      case "dispose":
        // Ends only an idle provider: while a pool exists it must refuse and change nothing.
        if (spec.busy()) expect(() => spec.dispose()).toThrow(/EBUSY/);
        break;
      default:
        spec.runExtra?.(op as X);
    }
    check(op.t);
  }
  // Teardown: everything still out comes back, pools go, the provider ends, pages are home.
  for (const [r, o] of [...out]) for (let k = 0; k < o.n; k++) onCpu(1, () => o.pool.putNetmem(r, -1, false));
  out.clear();
  for (const pool of live()) pool.destroy();
  timers.advance(DEFER_TIME_MS);
  check("teardown");
  for (const pool of pools) if (pool.state !== "freed") throw new Error(`pool ${pool.id} not freed`);
  spec.afterTeardown();
  netdev.unbindRxQueue(0);
  spec.dispose();
  if (allocator.freePages !== allocator.numPages)
    throw new Error(`${allocator.numPages - allocator.freePages} pages not returned`);
  allocator.checkInvariants();
  allocator.dispose();
}
