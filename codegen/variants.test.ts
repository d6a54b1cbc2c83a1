/**
 * Every dispatcher variant, each in its own process (JIT feedback and module state never shared):
 * - the conformance suite (and every provider's own tests) under each variant, over all plugins;
 * - the differential test: one seeded workload over several providers (basic plus scaffolded ones,
 *   in a temporary copy of the repo) run under each variant must yield identical refs and stats.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { VARIANTS } from "./emit.ts";
import { generate, REPO_ROOT } from "./generate.ts";
import { scaffoldProvider } from "./new-provider.ts";
import { makeRepoCopy, runBun } from "./repo-copy.ts";

// These tests spawn Bun processes (codegen, bun test, the workload); bunfig's [test] timeout is
// not applied by Bun 1.4.4, so set it here. No test asserts on wall-clock time.
setDefaultTimeout(300_000);

describe("conformance under every dispatcher variant", () => {
  for (const v of VARIANTS) {
    test(`bun test --conditions=${v} plugins`, () => {
      const r = runBun(
        REPO_ROOT,
        ["test", `--conditions=${v}`, "./plugins", "./codegen/linked-variant.test.ts"],
        {
          PAGEPOOL_EXPECT_VARIANT: v,
        },
      );
      const summary = r.err.split("\n").filter((l) => /^ \d+ (pass|fail)$|^\(fail\)/.test(l));
      // On failure show which tests failed, or where a hung run (killed: code -1) stopped.
      const tail = r.code === 0 ? "" : r.err.slice(-2000);
      expect({ variant: v, code: r.code, summary, tail }).toMatchObject({ variant: v, code: 0 });
      expect(r.err).toMatch(/\n 0 fail\n/);
      expect(r.err).toContain("conformance: basic");
    });
  }
});

describe("differential: one seeded workload, identical under every variant", () => {
  const copy = makeRepoCopy(["basic"]);
  afterAll(() => copy.dispose());

  test("basic + three scaffolded providers + the page allocator, 4 seeds x 3000 steps", async () => {
    for (const name of ["demo-a", "demo-b", "demo-c"])
      await scaffoldProvider({ root: copy.root, name, regenerate: false });
    const g = await generate({ root: copy.root, write: true });
    expect(g.problems).toEqual([]);
    const outs = VARIANTS.map((v) => {
      const r = runBun(copy.root, [
        `--conditions=${v}`,
        "codegen/differential-workload.ts",
        "11",
        "22",
        "33",
        "44",
      ]);
      expect({ variant: v, code: r.code, err: r.err }).toEqual({ variant: v, code: 0, err: "" });
      return JSON.parse(r.out) as Array<Record<string, unknown>>;
    });
    // Each process really linked its own variant...
    expect(outs.map((o) => o[0].variant)).toEqual([...VARIANTS]);
    // ...over several providers, and the workload reached their slow paths and released to them.
    const first = outs[0][0] as {
      providers: string[];
      counters: Array<{ allocs: number; releases: number } | null>;
    };
    expect(first.providers).toEqual(["basic", "demo-a", "demo-b", "demo-c", "(page allocator)"]);
    for (const p of first.counters.slice(0, 4)) expect(p!.allocs).toBeGreaterThan(0);
    for (const run of outs[0] as Array<{ freePages: number; numPages: number; pools: unknown[] }>) {
      expect(run.freePages).toBe(run.numPages); // everything came back
      expect(run.pools.length).toBeGreaterThan(5);
    }
    const strip = (o: Array<Record<string, unknown>>) => o.map(({ variant: _, ...rest }) => rest);
    expect(strip(outs[1])).toEqual(strip(outs[0]));
    expect(strip(outs[2])).toEqual(strip(outs[0]));
  });
});
