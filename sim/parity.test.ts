import { describe, expect, test } from "bun:test";
import { PagePoolError } from "../core/errors.ts";
import { skbStats } from "../core/skb.ts";
import { xdpStats } from "../core/xdp.ts";
import { parseSimArgs } from "./main.ts";
import { parseXdpMix, runSim, Simulation } from "./sim.ts";

describe("sim: the skb return path", () => {
  test("every buffer the stack user returns goes back through kfree_skb -> napi_pp_put_page", async () => {
    const before = skbStats.ppPuts;
    const r = await runSim({ providers: ["none"], packets: 20_000, seed: 3, policy: { delay: 50 } });
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.audit.ok).toBe(true);
    const returned = r.generations.reduce((s, g) => s + g.user.returned, 0);
    expect(returned).toBeGreaterThan(0);
    expect(skbStats.ppPuts - before).toBe(returned);
  });
});

describe("sim: GRO and a packet tap on the stack path", () => {
  test("a two-buffer packet is one GRO'd skb; tap clones release nothing; everything comes home", async () => {
    const before = { ...skbStats };
    const r = await runSim({
      providers: ["none"],
      packets: 6400,
      size: { kind: "fixed", size: 4000 },
      policy: { delay: 100 },
    });
    expect(r.lost).toBe(0);
    expect(r.audit.problems).toEqual([]);
    const extra = r.generations[0].user.extra as { groMerged: number; tapClones: number };
    expect(extra.groMerged).toBe(6400); // the second 2 KiB buffer of every packet
    expect(extra.tapClones).toBe(100); // one skb in 64
    expect(skbStats.groMerged - before.groMerged).toBeGreaterThanOrEqual(6400);
    expect(skbStats.clonesFreed - before.clonesFreed).toBeGreaterThanOrEqual(100);
    // Every buffer came back, the held ones when the socket closed.
    expect(r.generations[0].user.returned).toBe(r.generations[0].user.received);
    expect(r.generations[0].user.received).toBe(12800);
  });
});

describe("sim: --xdp", () => {
  test("drop:10,tx:5,redirect:5: the verdicts split as asked, the audit holds, nothing is lost", async () => {
    const bulk = xdpStats.bulkFrames;
    const r = await runSim({
      providers: ["none", "none"],
      packets: 100_000,
      seed: 5,
      size: { kind: "fixed", size: 1500 },
      xdp: { drop: 10, tx: 5, redirect: 5 },
    });
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.audit.problems).toEqual([]);
    for (const q of r.queues) {
      const x = q.xdp;
      if (!x) throw new Error("no xdp report");
      const n = x.drop + x.tx + x.redirect + x.pass;
      expect(n).toBe(q.received);
      expect(Math.abs(x.drop / n - 0.1)).toBeLessThan(0.01);
      expect(Math.abs(x.tx / n - 0.05)).toBeLessThan(0.01);
      expect(Math.abs(x.redirect / n - 0.05)).toBeLessThan(0.01);
      // Every TX and redirect frame came back through xdp_frame_bulk at TX completion.
      expect(x.bulkReturned).toBe(x.tx + x.redirect);
    }
    expect(xdpStats.bulkFrames - bulk).toBe(r.queues.reduce((s, q) => s + (q.xdp?.bulkReturned ?? 0), 0));
    // Redirect completions run on another CPU: the pool's ring sees them.
    for (const p of r.pools.filter((p) => p.hold > 0)) expect(p.stats.ring).toBeGreaterThan(0);
    expect(r.config.xdp).toBe("drop:10,tx:5,redirect:5");
  });

  test("a teardown under load with frames in flight still brings everything home", async () => {
    const r = await runSim({
      providers: ["none"],
      packets: 30_000,
      teardownAt: 15_000,
      policy: { delay: 200 },
      xdp: { drop: 30, tx: 20, redirect: 20 },
    });
    expect(r.lost).toBe(0);
    expect(r.audit.problems).toEqual([]);
    expect(r.pools.every((p) => p.state === "freed")).toBe(true);
  });

  test("XDP and a memory provider on one device: EEXIST, as __net_mp_open_rxq refuses", async () => {
    let err: unknown;
    try {
      await runSim({ providers: ["zcrx"], packets: 10, xdp: { drop: 1, tx: 0, redirect: 0 } });
    } catch (e) {
      err = e;
    }
    expect((err as PagePoolError).code).toBe("EEXIST");
    expect(() => parseSimArgs(["--provider", "zcrx", "--xdp", "drop:10"])).toThrow(/--xdp/);
  });

  test("the verdict mix parses drop:N,tx:N,redirect:N and refuses anything else", () => {
    expect(parseXdpMix("drop:10,tx:5,redirect:5")).toEqual({ drop: 10, tx: 5, redirect: 5 });
    expect(parseXdpMix("tx:100")).toEqual({ drop: 0, tx: 100, redirect: 0 });
    for (const bad of ["", "drop", "drop:x", "pass:5", "drop:60,tx:50", "drop:1,drop:2", "drop:-1"])
      expect(() => parseXdpMix(bad)).toThrow(PagePoolError);
    expect(parseSimArgs(["--xdp", "drop:10,tx:5,redirect:5"])?.opts.xdp).toEqual({
      drop: 10,
      tx: 5,
      redirect: 5,
    });
  });
});

describe("sim: large rx buffers (--rx-buf-len)", () => {
  test("zcrx with 64 KiB GRO'd packets: 32 KiB buffers need an eighth of the allocations and returns per MB", async () => {
    const run = (rxBufLen: number) =>
      runSim({
        providers: ["zcrx"],
        packets: 4000,
        size: { kind: "fixed", size: 65536 },
        opts: { "zcrx.rxBufLen": String(rxBufLen) },
      });
    const small = await run(4096);
    const large = await run(32768);
    for (const r of [small, large]) {
      expect(r.lost).toBe(0);
      expect(r.audit.problems).toEqual([]);
    }
    expect(small.queues[0].rxBufLen).toBe(4096);
    expect(large.queues[0].rxBufLen).toBe(32768);
    expect(small.queues[0].returnsPerMB).toBe(256);
    expect(large.queues[0].returnsPerMB).toBe(32);
    expect(small.queues[0].allocsPerMB / large.queues[0].allocsPerMB).toBeGreaterThan(7.5);
    // The pool of a 32 KiB queue is order 3 (one netmem per buffer).
    expect(large.pools[0].stats.slowHighOrder + large.pools[0].stats.slow).toBe(0); // the provider fills it
  });

  test("--rx-buf-len sets the option of the providers that take one, and is refused without such a provider", () => {
    expect(parseSimArgs(["--provider", "zcrx", "--rx-buf-len", "32768"])?.opts.opts).toEqual({
      "zcrx.rxBufLen": "32768",
    });
    expect(() => parseSimArgs(["--provider", "none", "--rx-buf-len", "32768"])).toThrow(/--rx-buf-len/);
    expect(() => parseSimArgs(["--provider", "zcrx", "--rx-buf-len", "1000"])).toThrow(/--rx-buf-len/);
  });
});

describe("sim: the DMA index at teardown", () => {
  test("a teardown with buffers in flight: scrub unmaps them, their returns do not unmap again", async () => {
    const sim = new Simulation({
      providers: ["none"],
      packets: 20_000,
      teardownAt: 10_000,
      policy: { delay: 300 },
    });
    const r = await sim.run();
    expect(r.lost).toBe(0);
    expect(r.audit.problems).toEqual([]); // includes: maps == unmaps on the device
    const scrubbed = sim.pools.reduce((s, e) => s + e.pool.dmaScrubUnmaps, 0);
    expect(scrubbed).toBeGreaterThan(0);
    expect(sim.dev.maps).toBe(sim.dev.unmaps);
    sim.dispose();
  });
});
