/**
 * The differential workload: one seeded random sequence of pool operations (alloc, frag alloc,
 * put in and out of NAPI, recycleDirect, extra refs, destroy with buffers in flight and
 * re-create) over one pool per registered provider plus a provider-less pool. Prints one JSON
 * line: the linked dispatcher variant, every ref handed out in order, and each pool's stats, hold
 * and release counts and provider counters. Run once per variant, each in its own process
 * (`bun --conditions=<variant> codegen/differential-workload.ts <seed>...`); every variant must
 * print the same thing but the variant name (codegen/differential.test.ts).
 *
 * Every registered provider takes part, stood up by its fixture (plugins/<name>/fixture.ts, its
 * `small` options); a registered provider without a fixture makes the workload fail.
 */
import { DISPATCH_VARIANT, PROVIDER_NAMES } from "#dispatch";
import { fixtureFor } from "../core/generated/fixtures.generated.ts";
import { type Napi, NetDevice, napiRun } from "../core/netdev.ts";
import { PAGE_SIZE } from "../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../core/page-alloc.ts";
import {
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../core/page-pool.ts";
import { ManualTimers } from "../core/timers.ts";
import { type FixtureInstance, type ProviderFixture, resolveOptions } from "../plugins/fixture.ts";
import { Rng } from "../sim/rng.ts";

interface Participant {
  name: string;
  fixture: ProviderFixture | null;
}

function participants(): Participant[] {
  const out: Participant[] = PROVIDER_NAMES.map((name) => ({ name, fixture: fixtureFor(name) }));
  out.push({ name: "(page allocator)", fixture: null });
  return out;
}

interface Slot {
  p: Participant;
  napi: Napi;
  queueIdx: number;
  pool: PagePool;
  inst: FixtureInstance | null;
  out: number[];
}

export async function runWorkload(seed: number, steps: number): Promise<Record<string, unknown>> {
  const parts = participants();
  const rng = new Rng(seed);
  const pick = (n: number) => rng.nextU32() % n;
  const allocator = new PageAllocator({ pages: 4096 });
  const dev = new DmaDevice(allocator);
  const netdev = new NetDevice({ rxQueues: parts.length, dev });
  const timers = new ManualTimers();
  const log: string[] = [];
  const refs: number[] = [];
  const finished: Record<string, unknown>[] = [];
  const orphans: { pool: PagePool; ref: number }[] = [];

  const create = (p: Participant, queueIdx: number): PagePool => {
    const rxq = netdev.rxQueue(queueIdx);
    const flags = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | (p.fixture ? PP_FLAG_ALLOW_UNREADABLE_NETMEM : 0);
    return PagePool.create({
      flags,
      dmaDir: "from-device",
      maxLen: PAGE_SIZE,
      netdev,
      queueIdx,
      napi: rxq.napi,
      timers,
      log: (m) => log.push(m),
      poolSize: 256,
    });
  };
  const slots: Slot[] = parts.map((p, queueIdx) => {
    const f = p.fixture;
    const inst = f
      ? f.bind({ netdev, queueIdx, dev, pages: allocator }, resolveOptions(f, f.small ?? {}))
      : null;
    const pool = create(p, queueIdx);
    return { p, napi: netdev.rxQueue(queueIdx).napi, queueIdx, pool, inst, out: [] };
  });
  const record = (s: Slot) =>
    finished.push({
      provider: s.p.name,
      id: s.pool.id,
      stats: Array.from(s.pool.st),
      hold: s.pool.holdCount,
      release: s.pool.releaseCount,
      syncBytes: s.pool.dmaSyncBytes,
      state: s.pool.state,
    });

  for (let i = 0; i < steps; i++) {
    const s = slots[pick(slots.length)];
    const op = pick(20);
    const pool = s.pool;
    if (op < 7) {
      const ref = napiRun(s.napi, () => pool.allocNetmem());
      refs.push(ref);
      if (ref !== 0) s.out.push(ref);
    } else if (op < 9) {
      const size = 64 + pick(2048);
      const ref = napiRun(s.napi, () => pool.allocFragNetmem(size));
      refs.push(ref, pool.outOffset);
      if (ref !== 0) s.out.push(ref);
    } else if (op < 16 && s.out.length > 0) {
      const j = pick(s.out.length);
      const ref = s.out[j];
      s.out[j] = s.out[s.out.length - 1];
      s.out.pop();
      const how = pick(3);
      const sync = pick(2) === 0 ? -1 : pick(PAGE_SIZE);
      if (how === 0) napiRun(s.napi, () => pool.recycleDirect(ref));
      else if (how === 1) napiRun(s.napi, () => pool.putNetmem(ref, sync, true));
      else pool.putNetmem(ref, sync, false);
    } else if (op < 18 && s.out.length > 0) {
      const ref = s.out[pick(s.out.length)];
      pool.refNetmem(ref);
      s.out.push(ref);
    } else if (op === 18 && orphans.length > 0) {
      const o = orphans.pop()!;
      o.pool.putNetmem(o.ref, -1, false);
      timers.advance(1000);
    } else if (op === 19 && pick(8) === 0) {
      // Destroy with buffers possibly in flight (deferred), then a fresh pool on the same queue.
      const audit = pool.audit();
      if (!audit.ok) throw new Error(`audit failed: ${audit.problems.join("; ")}`);
      for (const ref of s.out) orphans.push({ pool, ref });
      s.out = [];
      pool.destroy();
      record(s);
      s.pool = create(s.p, s.queueIdx);
    }
  }
  // Drain: everything back, every pool destroyed, the deferred ones retried until freed.
  for (const s of slots) {
    const audit = s.pool.audit();
    if (!audit.ok) throw new Error(`audit failed: ${audit.problems.join("; ")}`);
    for (const ref of s.out) s.pool.putNetmem(ref, -1, false);
    s.out = [];
    s.pool.destroy();
  }
  for (const o of orphans.splice(0)) o.pool.putNetmem(o.ref, -1, false);
  timers.advance(10_000);
  for (const s of slots) record(s);
  for (const s of slots) s.inst?.unbind();
  const counters = slots.map((s) => s.inst?.counters() ?? null);
  for (const s of slots) s.inst?.dispose();
  const result = {
    variant: DISPATCH_VARIANT,
    seed,
    providers: parts.map((p) => p.name),
    refs,
    pools: finished,
    counters,
    dev: { maps: dev.maps, unmaps: dev.unmaps },
    freePages: allocator.freePages,
    numPages: allocator.numPages,
    log,
  };
  allocator.dispose();
  return result;
}

if (import.meta.main) {
  const seeds = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const stepsArg = process.argv.find((a) => a.startsWith("--steps="));
  const steps = stepsArg ? Number(stepsArg.slice(8)) : 3000;
  const results = [];
  for (const s of seeds.length ? seeds : ["1"]) results.push(await runWorkload(Number(s), steps));
  console.log(JSON.stringify(results));
}
