/**
 * The serving child's protocol, end to end over real pipes (bench/child.ts --serve, as the runner
 * starts it): ready line with the benches, warm-up, calibration with mitata's optimised-out
 * flag, one iteration count for every process, bursts that return a positive time, checks, a bad
 * command answered with an error line, and a mistyped flag refused before anything runs. Nothing
 * here asserts a timing.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ServingChild } from "./lib/proc.ts";
import { BENCH_DIR, ROOT } from "./lib/synthetic.ts";

const child = () =>
  new ServingChild(
    "test paths",
    [
      process.execPath,
      "--conditions=if-chain",
      join(BENCH_DIR, "child.ts"),
      "--serve",
      "--mode",
      "quick",
      "--scenarios",
      "paths",
      "--filter",
      "^paths/(fast|provider-slow:basic)$",
    ],
    { cwd: ROOT, env: { ...process.env } },
  );

describe("serving child", () => {
  test("ready, warm-up, calibrate, iters, bursts, checks, quit", async () => {
    const c = child();
    try {
      const ready = (await c.ready) as {
        variant: string;
        engine: string;
        benches: { key: string; path: string }[];
      };
      expect(ready.variant).toBe("if-chain");
      expect(ready.engine).toBe("bun");
      expect(ready.benches.map((b) => b.key)).toEqual(["paths/fast", "paths/provider-slow:basic"]);
      const keys = ready.benches.map((b) => b.key);
      expect(await c.request({ op: "warmup", keys, warmupMs: 5 })).toEqual({ warm: 2 });
      const cal = (await c.request({ op: "prepare", keys, calibrateMs: 1, burstMs: 0.5 })) as {
        cal: Record<string, { iters: number; optimisedOut: boolean }>;
      };
      for (const k of keys) {
        expect(cal.cal[k].iters).toBeGreaterThanOrEqual(1);
        expect(cal.cal[k].optimisedOut).toBe(false);
      }
      expect(await c.request({ op: "iters", iters: { "paths/fast": 7 } })).toEqual({ ok: true });
      const b = (await c.request({ op: "burst", key: "paths/fast" })) as { ns: number };
      expect(b.ns).toBeGreaterThan(0);
      await expect(c.request({ op: "burst", key: "paths/nope" })).rejects.toThrow(
        /burst before prepare: paths\/nope/,
      );
      await expect(c.request({ op: "iters", iters: { "paths/fast": 0 } })).rejects.toThrow(
        /positive integer/,
      );
      await expect(c.request({ op: "frobnicate" })).rejects.toThrow(/unknown op frobnicate/);
      const after = (await c.request({ op: "after", keys })) as {
        after: Record<string, { extra?: Record<string, number> }>;
      };
      expect(after.after["paths/fast"].extra?.inflight).toBe(0);
    } finally {
      await c.close();
    }
  }, 60_000);

  test("a mistyped flag is refused with exit 2 before any bench is set up", () => {
    const r = spawnSync(process.execPath, [join(BENCH_DIR, "child.ts"), "--serv"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown flag --serv; did you mean --serve?");
  });
});

describe("mitata's optimised-out rule in the serving child", () => {
  // A fresh process calibrating at --quick's 2 ms: the no-op used to be measured cold there
  // (45+ ns) and the 64-iteration loop baseline (~25 ns warm) read as "likely optimised out" in
  // about half of the processes. Real work must never be flagged.
  test("no baseline or path is flagged in fresh processes at quick calibration", async () => {
    for (let r = 0; r < 3; r++) {
      const c = new ServingChild(
        "test baselines",
        [
          process.execPath,
          join(BENCH_DIR, "child.ts"),
          "--serve",
          "--mode",
          "quick",
          "--scenarios",
          "baselines",
        ],
        { cwd: ROOT, env: { ...process.env } },
      );
      try {
        const ready = (await c.ready) as { benches: { key: string }[] };
        const keys = ready.benches.map((b) => b.key); // every bench calibrates, as in the runner
        await c.request({ op: "warmup", keys, warmupMs: 30 });
        const cal = (await c.request({ op: "prepare", keys, calibrateMs: 2, burstMs: 2 })) as {
          cal: Record<string, { optimisedOut: boolean }>;
        };
        for (const k of keys) expect([k, cal.cal[k].optimisedOut]).toEqual([k, false]);
      } finally {
        await c.close();
      }
    }
  }, 60_000);
});
