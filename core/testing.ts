/**
 * Test helpers shared by core and plugin tests (imported only from *.test.ts and test cases;
 * uses bun:test's expect).
 */
import { expect } from "bun:test";
import { PagePoolError } from "./errors.ts";
import { DmaDevice, PageAllocator } from "./page-alloc.ts";
import { PagePool } from "./page-pool.ts";
import { ManualTimers } from "./timers.ts";
import type { AuditReport, PagePoolParams } from "./types.ts";

/** Runs `fn`, which must throw a PagePoolError with `code`; returns the error. */
export function expectCode(fn: () => unknown, code: PagePoolError["code"]): PagePoolError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PagePoolError);
  expect((err as PagePoolError).code).toBe(code);
  return err as PagePoolError;
}

/** The pool's audit must hold (problems listed first, so a failure names them). */
export function expectAudit(pool: { audit(): AuditReport }): AuditReport {
  const a = pool.audit();
  expect(a.problems).toEqual([]);
  expect(a.ok).toBe(true);
  return a;
}

/** A DMA device over its own page allocator (no other test's pages in the way). */
export function mkDev(pages = 1024, nodes = 1): DmaDevice {
  return new DmaDevice(new PageAllocator({ pages, nodes }));
}

/** A pool on `dev` with manual timers and captured warnings. */
export function mkPool(params: PagePoolParams = {}, dev = mkDev()) {
  const timers = new ManualTimers();
  const logs: string[] = [];
  const pool = PagePool.create({ dev, timers, log: (m) => logs.push(m), ...params });
  return { pool, dev, timers, logs };
}
