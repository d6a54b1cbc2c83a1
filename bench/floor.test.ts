/**
 * The dispatch floor's providers (bench/templates/floor-provider.ts.hbs): the rendered text is a
 * plugin codegen accepts, each op honours the provider contract under any sequence of calls
 * (property test on a stand-in pool: the real pools can only bind providers registered in the
 * linked dispatchers), and a floor set built, linked and run as the runner does it dispatches
 * every allocation and every release exactly once (nothing timed).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { generate } from "../codegen/generate.ts";
import { LOC_FREE, LOC_INFLIGHT, type NetmemRef, nm } from "../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../core/page-alloc.ts";
import type { PagePool } from "../core/page-pool.ts";
import type { MemoryProviderOps } from "../core/provider.ts";
import { FLOOR_PAGES, FloorState } from "./lib/floor-state.ts";
import { interleaving, interleavingCounts, SEQ_LEN } from "./lib/rng.ts";
import {
  dispatchFile,
  emitSet,
  floorName,
  renderFloorProvider,
  SYNTH_DIR,
  writeFloorProviders,
} from "./lib/synthetic.ts";
import { bundle } from "./run.ts";

// Own dirs (not the runner's), so a bench run and this test do not step on each other.
const TEST_PLUGINS = join(SYNTH_DIR, `floor-test-plugins-${process.pid}`);
const TEST_OUT = `floor-test-${process.pid}`;
afterAll(() => {
  rmSync(TEST_PLUGINS, { recursive: true, force: true });
  rmSync(join(SYNTH_DIR, TEST_OUT), { recursive: true, force: true });
});

describe("floor provider template", () => {
  test("renders every op as an exported function of the provider's name and one frozen table", () => {
    const text = renderFloorProvider("floor-07");
    for (const op of ["AllocNetmems", "ReleaseNetmem", "Init", "Destroy", "NlFill"])
      expect(text).toContain(`export function floor07${op}(`);
    expect(text).toContain('export const floor07Ops = Object.freeze({\n  name: "floor-07",');
    expect(text).not.toContain("{{");
    expect(floorName(0)).toBe("floor-01");
    expect(floorName(15)).toBe("floor-16");
  });

  test("refuses a bad count or a dir the template's imports would not resolve from", () => {
    expect(() => writeFloorProviders(0)).toThrow(RangeError);
    expect(() => writeFloorProviders(2, "/tmp/elsewhere")).toThrow(/directly in/);
  });

  test("codegen accepts the rendered providers (contract and types)", async () => {
    const names = writeFloorProviders(3, TEST_PLUGINS);
    expect(names).toEqual(["floor-01", "floor-02", "floor-03"]);
    const r = await generate({
      pluginsDirs: [TEST_PLUGINS],
      outDir: join(SYNTH_DIR, TEST_OUT),
      write: false,
    });
    expect(r.problems).toEqual([]);
    expect(r.model.providers.map((p) => p.name)).toEqual(names);
  }, 60_000);
});

/** A stand-in for the fields of PagePool the provider and the helpers it calls use. */
function standIn(id: number) {
  const pages = new PageAllocator({ pages: 64 });
  const dev = new DmaDevice(pages, { name: "floor-test" });
  const priv = new FloorState();
  const pool = { id, pages, dev, nid: -1, mpPriv: priv, mpOps: null, holdCount: 0 };
  return { pool: pool as unknown as PagePool, raw: pool, priv, pages };
}

describe("floor provider ops", () => {
  test("any sequence of allocs and releases keeps the contract; destroy gives every page back", async () => {
    writeFloorProviders(1, TEST_PLUGINS);
    const mod = (await import(join(TEST_PLUGINS, "floor-01", "provider.ts"))) as {
      floor01Ops: MemoryProviderOps;
    };
    const ops = mod.floor01Ops;
    let nextId = 60000; // pool ids no real pool in this process uses
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(20)), { maxLength: 60 }), (script) => {
        const { pool, raw, priv, pages } = standIn(nextId++);
        const free0 = pages.freePages;
        ops.init(pool);
        expect(priv.owned).toBe(FLOOR_PAGES);
        expect(pages.freePages).toBe(free0 - FLOOR_PAGES);
        const out: NetmemRef[] = [];
        let allocs = 0;
        for (const step of script) {
          if (step === -1 || out.length === 0) {
            const had = priv.top;
            const ref = ops.allocNetmems(pool, 0);
            if (had === 0) {
              expect(ref).toBe(0); // dry: the contract's "or 0"
              continue;
            }
            allocs++;
            const d = ref >>> 1;
            expect([nm.pp[d], nm.ppRef[d], nm.loc[d]]).toEqual([raw.id, 1, LOC_INFLIGHT]);
            out.push(ref);
          } else {
            const ref = out.splice(step % out.length, 1)[0];
            expect(ops.releaseNetmem(pool, ref)).toBe(false); // the provider keeps it...
            const d = ref >>> 1;
            expect([nm.pp[d], nm.ppRef[d], nm.loc[d]]).toEqual([0, 0, LOC_FREE]); // ...detached
          }
          expect(priv.top + out.length).toBe(priv.owned);
          expect(raw.holdCount).toBe(allocs);
        }
        for (const ref of out) ops.releaseNetmem(pool, ref);
        ops.destroy(pool);
        expect(priv.owned).toBe(0);
        expect(pages.freePages).toBe(free0);
        pages.checkInvariants();
        pages.dispose(); // throws if a page is still allocated; returns the descriptors
      }),
      { numRuns: 100 },
    );
  });

  test("a second pool on the same state shares the pages; the last destroy frees them", async () => {
    const mod = (await import(join(TEST_PLUGINS, "floor-01", "provider.ts"))) as {
      floor01Ops: MemoryProviderOps;
    };
    const { pool, priv, pages } = standIn(65000);
    const free0 = pages.freePages;
    mod.floor01Ops.init(pool);
    mod.floor01Ops.init(pool);
    expect(priv.users).toBe(2);
    expect(priv.owned).toBe(FLOOR_PAGES);
    mod.floor01Ops.destroy(pool);
    expect(pages.freePages).toBe(free0 - FLOOR_PAGES);
    mod.floor01Ops.destroy(pool);
    expect(pages.freePages).toBe(free0);
    pages.dispose();
  });
});

describe("floor set, linked as the runner links it", () => {
  test("every operation dispatches one allocation and one release to its pool's provider", async () => {
    writeFloorProviders(2, TEST_PLUGINS);
    const dir = await emitSet({ outName: TEST_OUT, withSynthetic: false, pluginsDirs: [TEST_PLUGINS] });
    const js = join(dir, "child.bun.js");
    await bundle(js, "bun", [], dispatchFile(dir, "if-chain"));
    const prof = join(dir, "profile.json");
    const r = spawnSync(process.execPath, [js, "--seed", "7", "--set", "floor", "--profile", prof], {
      env: { ...process.env, BENCH_DEGREES: "1,2" },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(existsSync(prof)).toBe(true);
    const p = JSON.parse(readFileSync(prof, "utf8")) as {
      variant: string;
      rigs: string[];
      counts: Record<string, { allocNetmems: number; releaseNetmem: number }>;
    };
    expect(p.variant).toBe("if-chain");
    expect(p.rigs).toEqual(["floor-01", "floor-02"]);
    // degree 1: SEQ_LEN ops on floor-01; degree 2: the interleaving's share of each
    const c2 = interleavingCounts(interleaving(2, 7), 2);
    expect(p.counts["floor-01"]).toEqual({ allocNetmems: SEQ_LEN + c2[0], releaseNetmem: SEQ_LEN + c2[0] });
    expect(p.counts["floor-02"]).toEqual({ allocNetmems: c2[1], releaseNetmem: c2[1] });
  }, 60_000);
});
