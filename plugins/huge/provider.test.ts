import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PagePoolError } from "../../core/errors.ts";
import { NetDevice, napiRun, onCpu } from "../../core/netdev.ts";
import { NET_IOV_OTHER, type NetmemRef, netIovArea, nm } from "../../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../../core/page-alloc.ts";
import {
  DEFER_TIME_MS,
  PagePool,
  type PagePoolParams,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
  poolsById,
} from "../../core/page-pool.ts";
import { mpStaticKey } from "../../core/provider.ts";
import { ManualTimers } from "../../core/timers.ts";
import { fixtureTarget, runConformance, runReadmeExample } from "../conformance.case.ts";
import { runStackModel, stackOpArb } from "../stack-model.ts";
import { hugeFixture } from "./fixture.ts";
import { HUGE_FOLIO_ORDER, HugeProvider, hugeOps } from "./index.ts";

const FLAGS = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM;
const FOLIO_PAGES = 1 << HUGE_FOLIO_ORDER;

for (const chunkSize of [2048, 4096])
  runConformance(
    fixtureTarget(
      hugeFixture,
      { chunkSize, maxFolios: 2 },
      { name: `huge (${chunkSize}-byte chunks)`, poolParams: { maxLen: chunkSize } },
    ),
  );

// Large rx buffers: 32 KiB chunks are order-3 netmems of the driver's pool (the queue's rx-buf-len).
runConformance(
  fixtureTarget(
    hugeFixture,
    { chunkSize: 32768, maxFolios: 2 },
    { name: "huge (32 KiB chunks, large rx buffers)", poolParams: { order: 3, maxLen: 32768 } },
  ),
);

describe("huge: large rx buffers", () => {
  test("a 32 KiB chunk needs an order-3 pool; the fixture sets the queue's rx-buf-len", () => {
    const allocator = new PageAllocator({ pages: 1024 });
    const dev = new DmaDevice(allocator);
    const netdev = new NetDevice({ rxQueues: 1, dev });
    const inst = hugeFixture.bind(
      { netdev, queueIdx: 0, dev, pages: allocator },
      { chunkSize: 32768, maxFolios: 1 },
    );
    expect(netdev.rxQueue(0).rxBufLen).toBe(32768);
    const mk = (order: number) =>
      PagePool.create({ flags: FLAGS, order, maxLen: 32768, netdev, queueIdx: 0, dev });
    expect(() => mk(0)).toThrow(/E2BIG.*order must be 3/);
    const pool = mk(3);
    expect(pool.netmemSize).toBe(32768);
    const ref = pool.allocNetmem();
    expect(ref & 1).toBe(1);
    pool.recycleDirect(ref);
    pool.destroy();
    inst.unbind();
    inst.dispose();
    allocator.dispose();
  });
});

function world(opts: { chunkSize?: number; maxFolios?: number; pages?: number } = {}) {
  const allocator = new PageAllocator({ pages: opts.pages ?? 1024 });
  const dev = new DmaDevice(allocator);
  const netdev = new NetDevice({ rxQueues: 1, dev });
  const p = new HugeProvider({ dev, chunkSize: opts.chunkSize ?? 4096, maxFolios: opts.maxFolios ?? 2 });
  const rxq = netdev.bindRxQueue(0, hugeOps, p);
  const timers = new ManualTimers();
  const params = (extra: Partial<PagePoolParams> = {}): PagePoolParams => ({
    flags: FLAGS,
    maxLen: p.chunkSize,
    netdev,
    queueIdx: 0,
    napi: rxq.napi,
    timers,
    ...extra,
  });
  const create = (extra: Partial<PagePoolParams> = {}) => PagePool.create(params(extra));
  const alloc = (pool: PagePool, n: number): NetmemRef[] =>
    napiRun(rxq.napi, () => {
      const out: NetmemRef[] = [];
      for (let i = 0; i < n; i++) {
        const r = pool.allocNetmem();
        if (r === 0) break;
        out.push(r);
      }
      return out;
    });
  const close = () => {
    netdev.unbindRxQueue(0);
    p.dispose();
    expect(allocator.freePages).toBe(allocator.numPages);
    allocator.checkInvariants();
    allocator.dispose();
  };
  return { allocator, dev, netdev, p, rxq, timers, params, create, alloc, close };
}

describe("huge", () => {
  test("options are validated", () => {
    const dev = new DmaDevice(new PageAllocator({ pages: 16 }));
    for (const chunkSize of [0, 1024, 2047, 3000, 8192, Number.NaN, "2048"])
      expect(() => new HugeProvider({ dev, chunkSize: chunkSize as number })).toThrow(/EINVAL/);
    for (const maxFolios of [0, -1, 1.5, 1025, "2"])
      expect(() => new HugeProvider({ dev, maxFolios: maxFolios as number })).toThrow(/EINVAL/);
    expect(() => new HugeProvider({} as { dev: DmaDevice })).toThrow(/EINVAL/);
    expect(new HugeProvider({ dev, chunkSize: 2048 }).chunksPerFolio).toBe(1024);
    expect(new HugeProvider({ dev }).chunksPerFolio).toBe(512);
    dev.pages.dispose();
  });

  test("README example runs and prints what it says", async () => {
    const { logged, expected } = await runReadmeExample(`${import.meta.dir}/README.md`);
    expect(expected.length).toBeGreaterThan(2);
    expect(logged).toEqual(expected);
  });

  test("init refuses order > 0 (E2BIG), another device, and a maxLen past the chunk, leaving nothing", () => {
    const w = world({ chunkSize: 2048 });
    const other = new DmaDevice(w.allocator, { name: "other" });
    const key = mpStaticKey.count;
    const n = poolsById.size;
    const cases: Array<[Partial<PagePoolParams>, string]> = [
      [{ order: 1 }, "E2BIG"],
      [{ dev: other }, "EINVAL"],
      [{ maxLen: 4096 }, "EINVAL"],
      [{ maxLen: 2000, offset: 64 }, "EINVAL"],
    ];
    for (const [extra, code] of cases) {
      let err: unknown;
      try {
        w.create(extra);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PagePoolError);
      expect((err as PagePoolError).code).toBe(code as PagePoolError["code"]);
    }
    expect([mpStaticKey.count, poolsById.size, w.rxq.pools.size, w.p.inits, w.p.pools]).toEqual([
      key,
      n,
      0,
      0,
      0,
    ]);
    const ok = w.create({ maxLen: 1984, offset: 64 });
    ok.destroy();
    w.close();
  });

  test("a folio is one readable NET_IOV_OTHER area, mapped once, chunks in address order", () => {
    const w = world({ chunkSize: 2048 });
    const pool = w.create();
    const [first, second] = w.alloc(pool, 2);
    expect(w.p.liveFolios).toBe(1);
    expect(w.allocator.numPages - w.allocator.freePages).toBe(FOLIO_PAGES);
    expect(w.dev.maps).toBe(1);
    const area = netIovArea(first)!;
    expect(area.type).toBe(NET_IOV_OTHER);
    expect(area.readable).toBe(true);
    expect(area.numNiovs).toBe(1024);
    expect([area.indexOf(first), area.indexOf(second)]).toEqual([0, 1]);
    expect(nm.dma[second >>> 1] - nm.dma[first >>> 1]).toBe(2048);
    expect(nm.dma[first >>> 1]).toBe(w.p.folioDma[0]);
    // One bulk call: 64 chunks, one returned, 63 in the cache.
    expect(pool.holdCount).toBe(64);
    expect(pool.cacheCount).toBe(62);
    expect(w.p.chunksOut).toBe(64);
    expect(w.p.slotOf(first)).toBe(0);
    for (const r of [first, second]) pool.putNetmem(r, -1, false);
    pool.destroy();
    expect(w.p.liveFolios).toBe(0);
    expect(area.disposed).toBe(true);
    expect(w.dev.unmaps).toBe(1);
    w.close();
  });

  test("with 2 KiB chunks the pool carves frags inside one chunk ; netlink counts a page per buffer in flight", () => {
    const w = world({ chunkSize: 2048 });
    const pool = w.create({ maxLen: 1024 });
    expect(pool.netmemSize).toBe(2048);
    const a = napiRun(w.rxq.napi, () => pool.allocFragNetmem(1024));
    const offA = pool.outOffset;
    const b = napiRun(w.rxq.napi, () => pool.allocFragNetmem(1024));
    const offB = pool.outOffset;
    const c = napiRun(w.rxq.napi, () => pool.allocFragNetmem(1024)); // no room left in the chunk
    expect([a === b, offA, offB]).toEqual([true, 0, 1024]);
    expect(c).not.toBe(a);
    expect(pool.outOffset).toBe(0);
    // Whole-buffer allocations above half a chunk, as page_pool_alloc_netmem does for pages.
    const d = napiRun(w.rxq.napi, () => pool.allocNetmemSized(1500));
    expect(pool.outSize).toBe(2048);
    // netlink sizes inflight-mem as PAGE_SIZE << order, whatever the provider's chunk size.
    expect(pool.describe().inflightMem).toBe(pool.inflight * 4096);
    for (const r of [a, b, c, d]) pool.putFullNetmem(r, false);
    pool.destroy();
    w.close();
  });

  test("the folio goes back only when its last chunk is free", () => {
    const w = world({ chunkSize: 4096, maxFolios: 2 });
    const pool = w.create({ poolSize: 4096 });
    const refs = w.alloc(pool, 512 + 1); // all of folio 0, one of folio 1
    expect(refs.length).toBe(513);
    expect(w.p.liveFolios).toBe(2);
    const folio0 = refs.filter((r) => w.p.slotOf(r) === 0);
    expect(folio0.length).toBe(512);
    const free0 = w.allocator.freePages;
    // Destroy with everything out, then return all of folio 0 but one chunk: folio 0 stays.
    pool.destroy();
    const rest = refs.filter((r) => w.p.slotOf(r) !== 0);
    for (const r of folio0.slice(1)) pool.putNetmem(r, -1, false);
    w.timers.advance(DEFER_TIME_MS);
    expect(w.p.folioFree[0]).toBe(511);
    expect(w.p.liveFolios).toBe(2);
    expect(w.allocator.freePages).toBe(free0);
    // Its last chunk: the folio goes back to the page allocator, area disposed.
    const area0 = netIovArea(folio0[0])!;
    pool.putNetmem(folio0[0], -1, false);
    w.timers.advance(DEFER_TIME_MS);
    expect(area0.disposed).toBe(true);
    expect(w.p.liveFolios).toBe(1);
    expect(w.allocator.freePages).toBe(free0 + FOLIO_PAGES);
    for (const r of rest) pool.putNetmem(r, -1, false);
    w.timers.advance(DEFER_TIME_MS);
    expect(pool.state).toBe("freed");
    expect([w.p.liveFolios, w.p.folioAllocs, w.p.folioFrees]).toEqual([0, 2, 2]);
    w.close();
  });

  test("maxFolios and a fragmented page allocator both fail cleanly", () => {
    const w = world({ chunkSize: 4096, maxFolios: 1 });
    const pool = w.create();
    const refs = w.alloc(pool, 600);
    expect(refs.length).toBe(512);
    expect(new Set(refs).size).toBe(512);
    expect(w.p.allocFailures).toBe(1);
    for (const r of refs) napiRun(w.rxq.napi, () => pool.recycleDirect(r));
    pool.destroy();
    w.close();
    // A page allocator with no free 2 MiB block: one page taken from each half.
    const v = world({ pages: 1024 });
    const a = v.allocator.allocPages(0);
    const mid = v.allocator.allocPages(8); // 1 page + 256 pages leave no free order-9 block in half 0
    const b = v.allocator.allocPages(9); // the other half
    expect(a && mid && b).toBeTruthy();
    const pool2 = v.create();
    expect(v.alloc(pool2, 1)).toEqual([]);
    expect(v.p.allocFailures).toBe(1);
    expect(v.p.liveFolios).toBe(0);
    pool2.destroy();
    for (const r of [a, mid, b]) v.allocator.putPage(r);
    v.close();
  });

  test("memory accessors read and write a chunk's bytes, bounds-checked", () => {
    const w = world({ chunkSize: 2048 });
    const pool = w.create();
    const [x, y] = w.alloc(pool, 2);
    w.p.write(x, 2040, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    w.p.write(y, 0, new Uint8Array([9]));
    const got = new Uint8Array(9);
    w.p.read(x, 2040, got, 8);
    expect([...got]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0]);
    // Adjacent chunks are adjacent bytes of the folio.
    expect(w.p.chunkOffset(y) - w.p.chunkOffset(x)).toBe(2048);
    expect(w.p.memory[w.p.chunkOffset(x) + 2047]).toBe(8);
    expect(w.p.memory[w.p.chunkOffset(x) + 2048]).toBe(9);
    const view = w.p.chunkBytes(x);
    expect(view.length).toBe(2048);
    expect(view[2041]).toBe(2);
    for (const [off, len] of [
      [2041, 8],
      [-1, 1],
      [0, 2049],
      [1.5, 1],
    ])
      expect(() => w.p.read(x, off, new Uint8Array(4096), len)).toThrow(/EINVAL/);
    expect(() => w.p.read(x, 0, new Uint8Array(2), 3)).toThrow(/EINVAL/);
    expect(() => w.p.write(x, 2047, new Uint8Array(2))).toThrow(/EINVAL/);
    // Not one of this provider's chunks: a host page, a forged ref, another provider's chunk.
    const page = w.allocator.allocPages(0);
    const other = new HugeProvider({ dev: w.dev });
    for (const r of [page, 0, 0x7ffffff1]) expect(() => w.p.chunkBytes(r)).toThrow(/EINVAL/);
    expect(other.slotOf(x)).toBe(-1);
    expect(() => other.chunkOffset(x)).toThrow(/EINVAL/);
    w.allocator.putPage(page);
    for (const r of [x, y]) pool.putNetmem(r, -1, false);
    pool.destroy();
    w.close();
  });

  test("nlFill and dispose", () => {
    const w = world({ chunkSize: 2048, maxFolios: 3 });
    const pool = w.create();
    const refs = w.alloc(pool, 3);
    expect(pool.describe().huge).toEqual({
      chunkSize: 2048,
      folioOrder: 9,
      maxFolios: 3,
      liveFolios: 1,
      chunksOut: 64,
      folioAllocs: 1,
      folioFrees: 0,
      allocFailures: 0,
    });
    expect(() => w.p.dispose()).toThrow(/EBUSY/);
    for (const r of refs) onCpu(1, () => pool.putNetmem(r, -1, false));
    pool.destroy();
    w.close();
    expect(w.p.disposed).toBe(true);
  });
});

// ---------------------------------------------------------------- adversarial property test

const opArb = stackOpArb({ maxAlloc: 80, fragWeight: 2 });

describe("huge: adversarial property", () => {
  test("random interleavings keep the audit, chunk ownership and folio accounting exact", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2048, 4096),
        fc.integer({ min: 1, max: 2 }),
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        (chunkSize, maxFolios, ops) => {
          // Two folios' worth of pages.
          const allocator = new PageAllocator({ pages: 2 * FOLIO_PAGES });
          const dev = new DmaDevice(allocator);
          const netdev = new NetDevice({ rxQueues: 1, dev });
          const p = new HugeProvider({ dev, chunkSize, maxFolios });
          const rxq = netdev.bindRxQueue(0, hugeOps, p);
          runStackModel(
            { allocator, netdev, rxq },
            {
              // Small rings so ring_full (and release to the provider mid-run) happens too.
              poolParams: { maxLen: chunkSize, poolSize: 64 },
              checkHandOut(r) {
                if (p.slotOf(r) < 0) throw new Error(`netmem ${r} is not a chunk of the provider`);
              },
              allocFailed(pool) {
                // Only when every chunk of every allowed folio is with some pool.
                if (p.chunksOut !== maxFolios * p.chunksPerFolio || pool.cacheCount !== 0)
                  throw new Error(`allocation failed with ${p.availableChunks} chunks available`);
              },
              check(label, held) {
                if (p.chunksOut !== held)
                  throw new Error(`${label}: ${p.chunksOut} chunks out, pools hold ${held}`);
                let out2 = 0;
                for (let s = 0; s < maxFolios; s++) {
                  if (p.folioRef[s] === 0) continue;
                  const free = p.folioFree[s];
                  // A live folio always has a chunk out: an all-free folio must have gone back.
                  if (free < 0) throw new Error(`${label}: folio ${s} free count ${free}`);
                  if (free >= p.chunksPerFolio) throw new Error(`${label}: folio ${s} all free but kept`);
                  let o = 0;
                  for (let i = 0; i < p.chunksPerFolio; i++) o += p.chunkOut[s * p.chunksPerFolio + i];
                  if (o !== p.chunksPerFolio - free)
                    throw new Error(`${label}: folio ${s} out bytes ${o}, free ${free}`);
                  out2 += o;
                }
                if (out2 !== held)
                  throw new Error(`${label}: chunk bytes say ${out2} out, pools hold ${held}`);
                const lent = allocator.numPages - allocator.freePages;
                if (lent !== p.liveFolios * FOLIO_PAGES)
                  throw new Error(`${label}: allocator lent ${lent} pages, ${p.liveFolios} folios live`);
              },
              busy: () => p.pools > 0 || p.chunksOut > 0,
              afterTeardown() {
                if (p.chunksOut !== 0 || p.liveFolios !== 0)
                  throw new Error(`after teardown: ${p.chunksOut} chunks out, ${p.liveFolios} folios live`);
              },
              dispose: () => p.dispose(),
            },
            ops,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});
