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
import { do_not_optimize } from "mitata";
import type { BenchDef } from "./lib/harness.ts";
import { ServingChild } from "./lib/proc.ts";
import { Server } from "./lib/serve.ts";
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
  const def = (id: string, bench: (k: number) => unknown): BenchDef => ({
    id,
    path: id,
    degree: 0,
    ops: 64,
    label: id,
    gen: function* () {
      yield { 0: () => 64, bench };
    },
  });
  const cal = async (d: BenchDef) => {
    const server = new Server(new Map([[d.id, d]]));
    // The quick mode's short calibration, where a cold no-op used to read slower than real work.
    const r = (await server.handle({ op: "prepare", keys: [d.id], calibrateMs: 2, burstMs: 0.2 })) as {
      cal: Record<string, { optimisedOut: boolean }>;
    };
    return r.cal[d.id].optimisedOut;
  };

  test("a bench the JIT can eliminate is flagged; a 64-iteration loop is not", async () => {
    expect(await cal(def("empty", () => {}))).toBe(true);
    const loop = (k: number) => {
      let s = 0;
      for (let i = 0; i < k; i++) s = (s + i) | 0;
      return do_not_optimize(s);
    };
    for (let r = 0; r < 3; r++) expect(await cal(def(`loop-${r}`, loop))).toBe(false);
  }, 30_000);
});
