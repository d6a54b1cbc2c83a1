import { describe, expect, test } from "bun:test";
import { captured } from "../cli/testing.ts";
import { abMain, measureAb } from "./ab.ts";
import { mulberry32 } from "./lib/rng.ts";

/**
 * A synthetic machine: each launch has its own speed (process-level effects, ±3%), each burst
 * drifts around it (±3%); commit b costs `effect` x a on the fast path, 1x on the slow one.
 */
function synthetic(effect: number, seed: number) {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  return async () => {
    const launch = { a: 1 + 0.03 * gauss(), b: 1 + 0.03 * gauss() };
    let drift = 1;
    return {
      burster: {
        burst: async (side: string, key: string) => {
          drift = Math.max(0.5, drift * (1 + 0.05 * gauss())); // the machine state both sides see
          const base = key === "fast" ? 10 : 40;
          const k = side === "b" && key === "fast" ? effect : 1;
          return base * k * drift * launch[side as "a" | "b"] * (1 + 0.03 * gauss());
        },
      },
      close: async () => {},
    };
  };
}

describe("bench ab: two commits, paired", () => {
  test("a real 10% slowdown of one path is called on it, and not on the other", async () => {
    const rows = await measureAb(synthetic(1.1, 3), { launches: 8, pairs: 40, seed: 1, warm: 1 });
    const fast = rows.find((x) => x.path === "fast")!;
    const slow = rows.find((x) => x.path === "slow")!;
    expect(fast.call).toBe("slower");
    expect(fast.ratio.lo).toBeLessThan(1.1);
    expect(fast.ratio.hi).toBeGreaterThan(1.1);
    expect(slow.call).toBe("≈");
    expect(slow.ratio.launches).toBe(8);
    expect(slow.ratio.pairs).toBe(8 * 40);
  });

  test("identical commits read ≈ on every path", async () => {
    for (const seed of [5, 6, 7]) {
      const rows = await measureAb(synthetic(1, seed), { launches: 6, pairs: 30, seed, warm: 1 });
      for (const r of rows) expect(r.call).toBe("≈");
    }
  });

  test("usage: two commits wanted, a bad one refused, exit 2; --help on stdout", async () => {
    const one = await captured(() => abMain(["HEAD"]));
    expect(one.value).toBe(2);
    expect(one.err).toContain("ab needs two commits, got 1");
    const bad = await captured(() => abMain(["HEAD", "no-such-rev-xyz", "--launches", "1"]));
    expect(bad.value).toBe(2);
    expect(bad.err).toContain('not a commit: "no-such-rev-xyz"');
    const typo = await captured(() => abMain(["HEAD", "HEAD", "--lanches", "1"]));
    expect(typo.value).toBe(2);
    const help = await captured(() => abMain(["--help"]));
    expect(help.value).toBe(0);
    expect(help.out).toContain("--launches");
  });

  test("end to end on this checkout: HEAD against HEAD in real child processes", async () => {
    const r = await captured(() =>
      abMain(["HEAD", "HEAD", "--launches", "2", "--pairs", "3", "--ops", "2000"]),
    );
    expect(r.value).toBe(0);
    expect(r.out).toMatch(/^ab on bun: b = HEAD against a = HEAD, 2 launches x 3 rounds/);
    expect(r.out).toMatch(/\n {2}fast +b \/ a \d\.\d{3} \(\d\.\d{3}–\d\.\d{3}\)/);
    expect(r.out).toMatch(/\n {2}slow +b \/ a \d\.\d{3} \(/);
    expect(r.err).toContain("launch 2/2");
  });
});
