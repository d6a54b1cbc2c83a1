import { describe, expect, test } from "bun:test";
import { RX_BYTES_PER_POLL, scenario } from "./e2e-napi.bench.ts";
import { type BenchDef, unpackGen } from "./lib/harness.ts";

/** Runs a case's bench function `n` times the way mitata would (param producers, then bench). */
function drive(def: BenchDef, n: number): void {
  const { bench, producers } = unpackGen(def.gen);
  for (let i = 0; i < n; i++) bench(...producers.map((p) => p()));
}

describe("e2e: large rx buffers (4 KiB against 32 KiB)", async () => {
  const defs = await scenario.setup({ mode: "quick", variant: "ops-table", seed: 7 });
  const byId = new Map(defs.map((d) => [d.id, d]));

  test("both lengths are measured per KiB received, on their own report paths", () => {
    for (const [id, path] of [
      ["e2e-rx4k", "e2e:rx-4k"],
      ["e2e-rx32k", "e2e:rx-32k"],
    ]) {
      const d = byId.get(id);
      expect(d?.path).toBe(path);
      expect(d?.ops).toBe(RX_BYTES_PER_POLL / 1024);
    }
  });

  test("32 KiB buffers take 8x fewer allocations and returns per MiB; the pool balances after each", () => {
    const small = byId.get("e2e-rx4k") as BenchDef;
    const large = byId.get("e2e-rx32k") as BenchDef;
    drive(small, 500);
    drive(large, 500);
    // after() runs more polls, gives every held buffer back and throws if the audit fails
    const s = small.after?.() ?? {};
    const l = large.after?.() ?? {};
    expect(s.rxBufLen).toBe(4096);
    expect(l.rxBufLen).toBe(32768);
    expect(s.allocsPerMiB).toBe(256);
    expect(l.allocsPerMiB).toBe(32);
    // the user keeps 1 MiB in flight whatever the length, so in the steady state returns match
    expect(s.returnsPerMiB).toBe(256);
    expect(l.returnsPerMiB).toBe(32);
    // steady state: the ring feeds the cache, the page allocator is not reached again
    expect(s.slowPerMiB).toBe(0);
    expect(l.slowPerMiB).toBe(0);
  });
});
