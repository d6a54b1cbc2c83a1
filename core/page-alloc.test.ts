import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { nm, PAGE_SIZE } from "./netmem.ts";
import { MAX_PAGE_ORDER, PageAllocator } from "./page-alloc.ts";
import { PtrRing } from "./ptr-ring.ts";

describe("buddy allocator", () => {
  test("splits on allocation and merges back on free", () => {
    const a = new PageAllocator({ pages: 1024 });
    const r0 = a.allocPages(0);
    const r1 = a.allocPages(0);
    expect(a.offsetOf(r1) - a.offsetOf(r0)).toBe(PAGE_SIZE); // buddies of the split block
    expect(a.freePages).toBe(1022);
    a.checkInvariants();
    a.putPage(r0);
    a.putPage(r1);
    a.checkInvariants();
    // Everything merged back: the whole memory is one order-10 block again.
    const big = a.allocPages(MAX_PAGE_ORDER);
    expect(big).toBeGreaterThan(0);
    expect(a.freePages).toBe(0);
    a.putPage(big);
    a.dispose();
  });

  test("failure is a clean 0; bulk allocation stops at what is there", () => {
    const a = new PageAllocator({ pages: 8 });
    expect(a.allocPages(4)).toBe(0);
    expect(a.allocPages(11)).toBe(0);
    const out = new Int32Array(64);
    expect(a.allocPagesBulk(-1, 64, out)).toBe(8);
    expect(a.allocPages(0)).toBe(0);
    expect(a.allocPagesBulk(-1, 64, out)).toBe(0);
  });

  test("refcounts: get/put, underflow is refused", () => {
    const a = new PageAllocator({ pages: 4 });
    const r = a.allocPages(0);
    a.getPage(r);
    a.putPage(r);
    expect(a.freePages).toBe(3);
    a.putPage(r);
    expect(a.freePages).toBe(4);
    expect(() => a.putPage(r)).toThrow(/refcount underflow/);
    expect(() => a.putPage(r | 1)).toThrow(/not a page/);
  });

  test("pages are readable memory", () => {
    const a = new PageAllocator({ pages: 4 });
    const r = a.allocPages(1);
    const b = a.bytes(r);
    expect(b.length).toBe(2 * PAGE_SIZE);
    b[5] = 42;
    expect(a.memory[a.offsetOf(r) + 5]).toBe(42);
    expect(a.physAddr(r)).toBeGreaterThan(0);
  });

  test("NUMA nodes: allocation prefers the node asked for and falls back", () => {
    const a = new PageAllocator({ pages: 8, nodes: 2 });
    const refs = [];
    for (let i = 0; i < 4; i++) refs.push(a.allocPages(0, 1));
    expect(refs.every((r) => a.pageNid(r) === 1)).toBe(true);
    expect(a.pageNid(a.allocPages(0, 1))).toBe(0);
  });

  test("bad sizes are refused with EINVAL", () => {
    expect(() => new PageAllocator({ pages: 0 })).toThrow(/EINVAL/);
    expect(() => new PageAllocator({ pages: 4, nodes: 5 })).toThrow(/EINVAL/);
  });

  test("property: random alloc/free keeps the buddy invariants and loses nothing", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(-1)), { minLength: 1, maxLength: 100 }),
        fc.integer({ min: 1, max: 3 }),
        (ops, nodes) => {
          const a = new PageAllocator({ pages: 96, nodes });
          const live: number[] = [];
          for (const op of ops) {
            if (op < 0) {
              if (live.length) a.putPage(live.splice(live.length >> 1, 1)[0]);
            } else {
              const r = a.allocPages(op);
              if (r) {
                expect(nm.pageRef[r >>> 1]).toBe(1);
                live.push(r);
              }
            }
            a.checkInvariants();
          }
          for (const r of live) a.putPage(r);
          a.checkInvariants();
          expect(a.freePages).toBe(96);
          a.dispose();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("ptr_ring", () => {
  test("FIFO; consumed slots are cleared lazily in batches of 16, so the producer can see 'full'", () => {
    const r = new PtrRing(64);
    expect(r.batch).toBe(16);
    for (let i = 1; i <= 64; i++) expect(r.produce(i * 2)).toBe(true);
    expect(r.produce(999 * 2)).toBe(false);
    expect(r.consume()).toBe(2);
    expect(r.count()).toBe(63);
    // The consumed slot is not cleared yet: the ring still looks full to the producer.
    expect(r.produce(1000)).toBe(false);
    for (let i = 2; i <= 16; i++) expect(r.consume()).toBe(i * 2);
    // A batch of 16 was consumed: those slots are cleared together.
    for (let i = 0; i < 16; i++) expect(r.produce(2000 + i * 2)).toBe(true);
    expect(r.produce(3000)).toBe(false);
    expect(r.count()).toBe(64);
  });

  test("small rings use a batch of 1", () => {
    const r = new PtrRing(16);
    expect(r.batch).toBe(1);
    for (let i = 1; i <= 16; i++) r.produce(i * 2);
    r.consume();
    expect(r.produce(100)).toBe(true);
  });

  test("property: behaves as a bounded FIFO (modulo lazy clearing)", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 300 }), fc.constantFrom(4, 32, 64), (ops, size) => {
        const r = new PtrRing(size);
        const model: number[] = [];
        let next = 2;
        for (const produce of ops) {
          if (produce) {
            const ok = r.produce(next);
            if (ok) model.push(next);
            else expect(model.length).toBeGreaterThan(size - r.batch - 1);
            next += 2;
          } else {
            expect(r.consume()).toBe(model.shift() ?? 0);
          }
          expect(r.count()).toBe(model.length);
          expect(r.isEmpty()).toBe(model.length === 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
