/**
 * The simulator on every provider, inline user (deterministic): runs end with every buffer home,
 * teardown under load defers pools and runs each provider's destroy exactly once, a quota provider
 * at its limit makes the driver drop (and count) packets without leaking, and a provider whose
 * init throws leaves nothing half-built. The accounting itself is tested too: an injected
 * duplicate hand-out is caught, and the ledger matches a model under fast-check.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { UsageError } from "../cli/args.ts";
import { PagePoolError } from "../core/errors.ts";
import type { PagePool } from "../core/page-pool.ts";
import { poolsById } from "../core/page-pool.ts";
import { mpStaticKey } from "../core/provider.ts";
import { basicFixture } from "../plugins/basic/fixture.ts";
import { BasicProvider, basicOps } from "../plugins/basic/provider.ts";
import { fixtureBackend, registerBackend } from "./backends/index.ts";
import { StackBackend } from "./backends/stack.ts";
import { Ledger } from "./ledger.ts";
import { parseSimArgs } from "./main.ts";
import { runSim, type SimResult, Simulation } from "./sim.ts";

function expectClean(r: SimResult): void {
  expect(r.audit.problems).toEqual([]);
  expect(r.audit.ok).toBe(true);
  expect(r.lost).toBe(0);
  expect(r.duplicated).toBe(0);
  expect(r.corrupt).toBe(0);
  expect(r.offered).toBe(r.received + r.dropped);
  for (const p of r.pools) expect(p.state).toBe("freed");
  for (const g of r.generations) expect(g.shortfall).toBe(0);
}

const PROVIDERS = ["none", "basic", "limited", "huge", "zcrx", "devmem"];

describe("sim: every provider, inline user", () => {
  for (const name of PROVIDERS) {
    test(`${name}: 20,000 packets, returned at once, everything home`, async () => {
      const r = await runSim({ providers: [name], packets: 20_000, seed: 7 });
      expectClean(r);
      expect(r.received).toBe(20_000);
      expect(r.dropped).toBe(0);
      // The provider's own pool did the work and recycled: most allocations hit the cache.
      const main = r.pools.find((p) => p.provider === name && p.hold > 0)!;
      expect(main.stats.fast).toBeGreaterThan(main.stats.slow);
      for (const g of r.generations) {
        expect(g.user.received).toBeGreaterThan(0);
        expect(g.user.received).toBe(g.user.returned + g.user.heldAtClose);
      }
    });
  }

  test("the same seed gives the same stats (inline runs are deterministic)", async () => {
    const opts = { providers: ["none", "zcrx", "devmem"], packets: 30_000, seed: 42, policy: { delay: 100 } };
    const a = await runSim(opts);
    const b = await runSim(opts);
    expect(a.pools.map((p) => p.stats)).toEqual(b.pools.map((p) => p.stats));
    expect(a.queues).toEqual(b.queues);
    const c = await runSim({ ...opts, seed: 43 });
    expect(c.queues.map((q) => q.bytes)).not.toEqual(a.queues.map((q) => q.bytes));
  });

  test("fixed-size packets larger than a host buffer span two fragments", async () => {
    const r = await runSim({ providers: ["none"], packets: 5_000, size: { kind: "fixed", size: 4096 } });
    expectClean(r);
    // 4096-byte packets in 2 KiB fragments: two per packet.
    expect(r.generations[0].user.received).toBe(10_000);
  });
});

describe("sim: teardown under load", () => {
  for (const name of PROVIDERS) {
    test(`${name}: pools defer while the user holds buffers, destroy runs once, nothing lost`, async () => {
      const r = await runSim({
        providers: [name],
        packets: 40_000,
        teardownAt: 20_000,
        policy: { delay: 200 },
        seed: 3,
      });
      expectClean(r);
      expect(r.generations.length).toBe(2);
      for (const g of r.generations) {
        // The user held buffers when its generation was torn down.
        expect(g.user.heldAtClose).toBeGreaterThan(0);
        if (name !== "none") expect(g.lifecycle).toEqual({ inits: 1, destroys: 1 });
      }
      // The pools that carried traffic were destroyed with buffers in flight: they deferred and
      // were freed at a later retry, not at destroy().
      const busy = r.pools.filter((p) => p.hold > 0);
      expect(busy.length).toBe(2);
      for (const p of busy) {
        expect(p.auditAtTeardown?.ok).toBe(true);
        expect(p.describeAtTeardown!.inflight).toBeGreaterThan(0);
        expect(p.destroyRetries).toBeGreaterThanOrEqual(1);
      }
      if (name === "zcrx")
        for (const g of r.generations)
          expect((g.counters as { scrubbedRefs: number }).scrubbedRefs).toBeGreaterThan(0);
      if (name === "devmem")
        for (const g of r.generations) {
          const c = g.counters as { socket: { tokensFreedOnClose: number }; binding: { state: string } };
          expect(c.socket.tokensFreedOnClose).toBeGreaterThan(0);
          expect(c.binding.state).toBe("freed");
        }
    });
  }

  test("a user that never returns: zcrx scrub and devmem close take everything back", async () => {
    const r = await runSim({ providers: ["zcrx", "devmem"], packets: 20_000, policy: { delay: "never" } });
    expectClean(r);
    // 4096 net_iovs each: once they are all with the user, the NIC has nothing to receive into.
    for (const q of r.queues) expect(q.droppedNoBuffer).toBeGreaterThan(0);
    const [z, d] = r.generations;
    expect(z.user.returned).toBe(0);
    expect((z.counters as { scrubbedRefs: number }).scrubbedRefs).toBe(z.user.received);
    expect((d.counters as { socket: { tokensFreedOnClose: number } }).socket.tokensFreedOnClose).toBe(
      d.user.received,
    );
  });
});

describe("sim: faults", () => {
  test("limited at its quota: allocations fail cleanly, the NIC drops and counts, nothing leaks", async () => {
    const r = await runSim({
      providers: ["limited"],
      packets: 20_000,
      policy: { delay: 500 },
      // 64 pages of quota for a 256-descriptor rx ring and a user that holds 500 packets.
      opts: { "limited.quotaBytes": String(64 * 4096) },
    });
    expectClean(r);
    const q = r.queues[0];
    expect(q.droppedNoBuffer).toBeGreaterThan(0);
    expect(q.allocFailures).toBeGreaterThan(0);
    expect(r.dropped).toBe(q.droppedNoBuffer);
    const c = r.generations[0].counters as { quotaFailures: number; peakBytes: number; usedBytes: number };
    expect(c.quotaFailures).toBeGreaterThan(0);
    expect(c.peakBytes).toBe(64 * 4096);
    expect(c.usedBytes).toBe(0);
  });

  test("a provider whose init throws: the bind fails with its error and nothing half-built remains", async () => {
    const err = new PagePoolError("ENOMEM", "basic: refusing this pool (test)");
    // basic's fixture, but its bind hands the queue a provider whose init refuses every pool.
    registerBackend("basic-failinit", (env) =>
      fixtureBackend(
        {
          ...basicFixture,
          name: "basic-failinit",
          bind({ netdev, queueIdx }) {
            netdev.bindRxQueue(queueIdx, basicOps, new BasicProvider({ failInit: err }));
            throw new Error("unreachable: the bind above must throw the init's error");
          },
        },
        env,
      ),
    );
    const keyBefore = mpStaticKey.count;
    const poolsBefore = poolsById.size;
    const sim = new Simulation({ providers: ["basic-failinit"], packets: 1000 });
    let caught: unknown;
    try {
      await sim.run();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(err);
    expect((caught as PagePoolError).code).toBe("ENOMEM");
    const rxq = sim.netdev.rxQueue(0);
    expect(rxq.mpParams.ops).toBeNull();
    expect(rxq.pools.size).toBe(0);
    expect(sim.pools.length).toBe(0);
    expect(poolsById.size).toBe(poolsBefore);
    expect(mpStaticKey.count).toBe(keyBefore);
    expect(sim.pages.freePages).toBe(sim.pages.numPages);
    sim.dispose();
  });

  test("the accounting is real: a pool that hands out a buffer still in use is caught", async () => {
    // A provider-less queue whose user side, once, pushes a buffer it still holds back into the
    // pool's alloc cache behind the pool's back (a double hand-out bug).
    registerBackend("none-dup", async (env) => {
      let n = 0;
      const be = new StackBackend("none-dup", env, { bufLen: 4096, frags: false, readable: true }, null);
      const deliver = be.deliver.bind(be);
      be.deliver = (pool: PagePool, ref: number, off: number, len: number, seq: number) => {
        if (++n === 1000) pool.cache[pool.cacheCount++] = ref;
        return deliver(pool, ref, off, len, seq);
      };
      return be;
    });
    const sim = new Simulation({
      providers: ["none-dup"],
      packets: 5000,
      policy: { delay: 300 },
      pages: 1024,
    });
    let r: SimResult | undefined;
    try {
      r = await sim.run();
    } catch (e) {
      // The core may also catch the resulting double put; the ledger must have seen it first.
      expect(e).toBeInstanceOf(PagePoolError);
    }
    expect(sim.ledger.duplicated).toBeGreaterThan(0);
    if (r) expect(r.duplicated).toBeGreaterThan(0);
  });
});

describe("sim: a leak is reported", () => {
  test("a buffer the user side drops on the floor is lost, and the run says so", async () => {
    registerBackend("none-leak", async (env) => {
      let n = 0;
      const be = new StackBackend("none-leak", env, { bufLen: 2048, frags: true, readable: true }, null);
      const deliver = be.deliver.bind(be);
      // Fragment 500 is accepted and then forgotten: an skb leaked by the stack.
      be.deliver = (pool: PagePool, ref: number, off: number, len: number, seq: number) =>
        ++n === 500 ? true : deliver(pool, ref, off, len, seq);
      return be;
    });
    const r = await runSim({ providers: ["none-leak"], packets: 3000, pages: 1024 });
    expect(r.lost).toBeGreaterThanOrEqual(1);
    expect(r.audit.ok).toBe(false);
    expect(r.audit.problems.join("\n")).toContain("not freed");
  });
});

describe("sim: bad options", () => {
  test("refused with EINVAL / ENOENT", async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ providers: [] }, "EINVAL"],
      [{ packets: -1 }, "EINVAL"],
      [{ packets: 1.5 }, "EINVAL"],
      [{ budget: 0 }, "EINVAL"],
      [{ rxRing: 0 }, "EINVAL"],
      [{ user: "thread" }, "EINVAL"],
      [{ policy: { delay: -3 } }, "EINVAL"],
    ];
    for (const [o, code] of bad) expect(() => new Simulation(o)).toThrow(code);
    await expect(runSim({ providers: ["nope"], packets: 10 })).rejects.toThrow("ENOENT");
    await expect(runSim({ providers: ["basic"], user: "worker", packets: 10 })).rejects.toThrow("EOPNOTSUPP");
    await expect(
      runSim({ providers: ["limited"], packets: 10, opts: { "limited.quotaBytes": "12" } }),
    ).rejects.toThrow("EINVAL");
    // Unknown keys name the key and list the valid ones; an unknown provider part is refused too.
    await expect(
      runSim({ providers: ["limited"], packets: 10, opts: { "limited.quota": "1" } }),
    ).rejects.toThrow('limited: unknown option "quota" (valid: quotaBytes, bulk, bufLen)');
    expect(() => new Simulation({ opts: { "limted.quotaBytes": "4096" } })).toThrow('no provider "limted"');
  });
});

describe("sim: invariants under fast-check", () => {
  test("any small run on any mix of providers ends with everything home", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...PROVIDERS), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.oneof(fc.constant<"never">("never"), fc.integer({ min: 0, max: 400 })),
        fc.integer({ min: 0, max: 3000 }),
        fc.oneof(fc.constant("mix"), fc.integer({ min: 1, max: 4096 })),
        fc.integer({ min: 8, max: 300 }),
        async (providers, packets, seed, delay, teardownAt, size, rxRing) => {
          const r = await runSim({
            providers,
            packets,
            seed,
            policy: { delay },
            teardownAt,
            size: size === "mix" ? { kind: "mix" } : { kind: "fixed", size },
            rxRing,
            opts: {
              "zcrx.areaPages": "512",
              "devmem.pages": "512",
              "limited.quotaBytes": String(128 * 4096),
            },
          });
          expectClean(r);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("the ledger agrees with a model of who holds what", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 40 })), { maxLength: 300 }),
        (ops) => {
          const l = new Ledger();
          const model = new Map<number, number>();
          let dup = 0;
          let unheld = 0;
          for (const [take, d] of ops) {
            const ref = d << 1;
            const h = model.get(d) ?? 0;
            if (take) {
              if (h > 0) dup++;
              model.set(d, h + 1);
              l.take(ref, 0, 4096);
            } else {
              if (h === 0) unheld++;
              else model.set(d, h - 1);
              l.drop(ref);
            }
          }
          expect(l.duplicated).toBe(dup);
          expect(l.unheldReturns).toBe(unheld);
          let out = 0;
          for (const v of model.values()) out += v;
          expect(l.outstanding).toBe(out);
          expect(l.stillHeld()).toBe([...model.values()].filter((v) => v > 0).length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("overlapping fragments of one page are duplicates, adjacent ones are not", () => {
    const l = new Ledger();
    l.take(10 << 1, 0, 2048);
    l.take(10 << 1, 2048, 2048);
    expect(l.duplicated).toBe(0);
    l.take(10 << 1, 1024, 2048);
    expect(l.duplicated).toBe(1);
  });
});

describe("sim: the command line is untrusted input", () => {
  test("parseSimArgs accepts the documented flags and refuses anything else with a UsageError", () => {
    const c = parseSimArgs([
      "--provider",
      "zcrx",
      "--provider=devmem",
      "--packets",
      "10",
      "--return-after",
      "never",
      "--size",
      "1500",
      "--opt",
      "zcrx.areaPages=64",
      "--json",
    ])!;
    expect(parseSimArgs(["--packets", "1", "-h"])).toBeNull();
    expect(c.opts.providers).toEqual(["zcrx", "devmem"]);
    expect(c.opts.packets).toBe(10);
    expect(c.opts.policy).toEqual({ delay: "never" });
    expect(c.opts.size).toEqual({ kind: "fixed", size: 1500 });
    expect(c.opts.opts).toEqual({ "zcrx.areaPages": "64" });
    expect(c.json).toBe("-");
    expect(c.format).toBe("json");
    const flags = [
      "--provider",
      "--packets",
      "--seed",
      "--user",
      "--return-after",
      "--size",
      "--teardown-at",
      "--opt",
      "--json",
      "--dispatch",
      "--rx-ring",
      "--pages",
      "--format",
      "--interval",
    ];
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.constantFrom(...flags), fc.string(), fc.integer().map(String), fc.constant("-1")),
          {
            maxLength: 8,
          },
        ),
        (argv) => {
          try {
            parseSimArgs(argv);
          } catch (e) {
            expect(e).toBeInstanceOf(UsageError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
