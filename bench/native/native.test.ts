/**
 * The native leg: the generated C matches codegen, the harness's differential check passes for the
 * plain build and refuses a deliberately broken variant, the C sequence is the JS one, and the leg
 * reports every variant at every degree with intervals. Without a C compiler the compiler tests
 * are skipped (reason printed); the "no compiler" path itself is always tested.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import * as vl from "vega-lite";
import {
  emitNative,
  NATIVE_DEGREES,
  NATIVE_OUT_DIR,
  nativeProfile,
  nativeProviders,
} from "../../codegen/emit-native.ts";
import { generate, REPO_ROOT } from "../../codegen/generate.ts";
import { interleaving, SEQ_LEN } from "../lib/rng.ts";
import { buildFlavour, compilerVersion, FLAVOUR_NAMES, linkOrder } from "./build.ts";
import { nativeChartSpec } from "./chart.ts";
import { parseHarness, runNativeLeg } from "./leg.ts";

setDefaultTimeout(300_000);

const CC = compilerVersion();
const NO_CC = CC === null ? `no C compiler (\`${process.env.PAGEPOOL_CC || "cc"} --version\` failed)` : "";
if (NO_CC) console.log(`bench/native/native.test.ts: compiler tests skipped: ${NO_CC}`);

function run(bin: string, args: string[]) {
  const p = Bun.spawnSync([bin, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

const fnv = (b: Uint8Array) => {
  let h = 0xcbf29ce484222325n;
  for (const x of b) h = ((h ^ BigInt(x)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
};

describe("generated C", () => {
  test("codegen writes the committed bench/native/generated, one branch per provider, icall-pgo by profile", async () => {
    const r = await generate({ root: REPO_ROOT });
    const dir = join(REPO_ROOT, NATIVE_OUT_DIR);
    const mine = [...r.files.keys()].filter((p) => p.startsWith(dir));
    expect(mine.length).toBe(7);
    for (const p of mine) expect({ p, text: readFileSync(p, "utf8") }).toEqual({ p, text: r.files.get(p)! });
    const ps = nativeProviders(r.model.providers);
    expect(ps.length).toBe(16);
    expect(ps.slice(0, r.model.providers.length).map((p) => [p.name, p.kind])).toEqual(
      r.model.providers.map((p) => [p.name, p.kind]),
    );
    const chain = r.files.get(join(dir, "dispatch-if-chain.generated.c"))!;
    for (const p of ps)
      expect(chain).toContain(`if (k == ${p.kind}) return ${p.c}_alloc_netmems(pool, gfp);`);
    // The icall-pgo variant's first candidate is the provider the harness's sequence calls most.
    const counts = nativeProfile(ps).counts;
    const top = ps.reduce((a, b) => (counts[b.name].allocNetmems! > counts[a.name].allocNetmems! ? b : a));
    const pgo = r.files.get(join(dir, "dispatch-icall-pgo.generated.c"))!;
    expect(pgo.indexOf(`f == ${top.c}_alloc_netmems`)).toBeGreaterThan(0);
    expect(pgo.match(/if \(__builtin_expect\(f == mp_\w+_alloc_netmems, 1\)\)/g)!.length).toBe(2);
    // Emission is deterministic.
    const again = emitNative(r.model.providers, {
      root: REPO_ROOT,
      pluginsDirs: ["plugins"],
      icall: { n: 2, order: [] },
    });
    expect(again.get(join(dir, "providers.generated.c"))).toBe(
      r.files.get(join(dir, "providers.generated.c")),
    );
  });
});

test("the native set: registered providers first, floor providers up to 16, none beyond a larger set", () => {
  const fake = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ name: `p-${i + 1}`, kind: i + 1 })) as unknown as Parameters<
      typeof nativeProviders
    >[0];
  const three = nativeProviders(fake(3));
  expect(three.map((p) => [p.name, p.kind, p.synthetic])).toEqual([
    ["p-1", 1, false],
    ["p-2", 2, false],
    ["p-3", 3, false],
    ...Array.from({ length: 13 }, (_, i) => [`floor-${String(i + 4).padStart(2, "0")}`, i + 4, true]),
  ]);
  expect(three.map((p) => p.c)).toContain("mp_floor_04");
  expect(nativeProviders(fake(20)).map((p) => p.synthetic)).toEqual(new Array(20).fill(false));
});

describe("layouts", () => {
  test("layout 0 links in the natural order; any other layout is another permutation of the same objects", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 2, maxLength: 12 }), fc.nat(50), (xs, k) => {
        const o = linkOrder(xs, k);
        expect([...o].sort()).toEqual([...xs].sort());
        if (k === 0) expect(o).toEqual(xs);
        else expect(o).not.toEqual(xs);
      }),
    );
  });
});

describe("native harness", () => {
  test("without a compiler the leg is skipped with one line, never an error", async () => {
    const old = process.env.PAGEPOOL_CC;
    process.env.PAGEPOOL_CC = "/nonexistent";
    const logs: string[] = [];
    try {
      const r = await runNativeLeg({ quick: true, budgetMs: 1000, seed: 1, log: (l) => logs.push(l) });
      expect(r.skipped).toContain("no C compiler");
      expect(r.comparisons).toEqual([]);
      expect(logs).toEqual([r.skipped!]);
    } finally {
      if (old === undefined) delete process.env.PAGEPOOL_CC;
      else process.env.PAGEPOOL_CC = old;
    }
  });

  test.skipIf(CC === null)(
    "plain build: the differential check passes; the C sequence is the JS one",
    async () => {
      const b = await buildFlavour("plain");
      expect(b.error).toBeUndefined();
      const r = run(b.bin!, ["--check", "--seed", "7"]);
      expect(r).toMatchObject({ code: 0, err: "" });
      expect(r.out).toContain("check ok variants 5 providers 16");
      for (const d of [1, 2, 9, 16]) {
        const s = run(b.bin!, ["--seq-hash", String(d)]);
        expect(s.out.trim()).toBe(`seq ${d} ${fnv(interleaving(d, 42).subarray(0, SEQ_LEN))}`);
      }
      // A short timing run: one combo line per (path, degree, non-baseline variant), every burst > 0.
      const t = run(b.bin!, ["--pairs", "3", "--degrees", "1,2"]);
      expect(t.code).toBe(0);
      const h = parseHarness(t.out);
      expect(h.combos.length).toBe((2 + 3) * 4);
      for (const c of h.combos) {
        expect(c.base.length).toBe(3);
        expect(Math.min(...c.base, ...c.vari)).toBeGreaterThan(0);
      }
    },
  );

  test.skipIf(CC === null)(
    "a deliberately broken variant (-DPP_BREAK_IF_CHAIN) is refused: exit 3, nothing timed",
    async () => {
      const b = await buildFlavour("plain", ["-DPP_BREAK_IF_CHAIN"]);
      expect(b.error).toBeUndefined();
      for (const args of [["--check"], ["--pairs", "3"]]) {
        const r = run(b.bin!, args);
        expect(r.code).toBe(3);
        expect(r.err).toContain("REFUSED variant if-chain: disagrees with ops-table");
        expect(r.err).not.toContain("REFUSED variant icall-pgo");
        expect(r.out).not.toContain("combo ");
      }
    },
  );

  test.skipIf(CC === null)(
    "the leg: every variant at every degree, per flavour that builds, with intervals",
    async () => {
      const r = await runNativeLeg({ quick: true, launches: 2, budgetMs: 60_000, seed: 3, log: () => {} });
      expect(r.skipped).toBeUndefined();
      const flavours = Object.keys(r.meta.flavours);
      expect(flavours).toContain("plain");
      for (const f of flavours) expect(FLAVOUR_NAMES).toContain(f);
      expect(r.meta.ccVersion).toBe(CC!);
      expect(r.headlines.length).toBe(flavours.length);
      for (const f of flavours)
        for (const v of ["if-chain", "icall-wrapper", "icall-pgo", "ops-table#2"]) {
          for (const d of NATIVE_DEGREES) {
            const c = r.comparisons.find(
              (x) => x.flavour === f && x.path === "dispatch-floor" && x.degree === d && x.variant === v,
            );
            expect(c).toBeDefined();
            expect(c!.aa).toBe(v === "ops-table#2");
            expect(c!.ratio.launches).toBe(3); // the leg runs at least 3
            expect(c!.ratio.lo).toBeLessThanOrEqual(c!.ratio.estimate);
            expect(c!.ratio.hi).toBeGreaterThanOrEqual(c!.ratio.estimate);
          }
          for (const p of ["page_pool01_fast_path", "page_pool02_ptr_ring", "page_pool03_slow"])
            expect(r.comparisons.some((x) => x.flavour === f && x.path === p && x.variant === v)).toBe(true);
        }
      const spec = nativeChartSpec(r.figures);
      expect(spec).not.toBeNull();
      expect(() => vl.compile(spec as unknown as vl.TopLevelSpec)).not.toThrow();
    },
  );
});
