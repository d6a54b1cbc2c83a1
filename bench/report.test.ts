/**
 * Schema v2 end to end without timing: synthetic results files (seeded synthetic bursts through
 * the real schedule and summary code) rendered as the report and the terminal summary, and
 * compared by compare mode: per-cell ratios with intervals, the headline, --fail-on-regression.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captured } from "../cli/testing.ts";
import { compareMain, compareResults } from "./compare.ts";
import { AA_VARIANT, BASELINE } from "./lib/comparison.ts";
import { markdownReport, terminalSummary } from "./lib/report.ts";
import { mulberry32 } from "./lib/rng.ts";
import { type Burster, planRound, runRound, Samples, summarise } from "./lib/schedule.ts";
import { parseResults, type ResultsFile, SCHEMA } from "./lib/schema.ts";
import type { BenchMeta } from "./lib/serve.ts";
import { derive } from "./run.ts";

const DEG = [1, 2, 4, 8];

/** A results file whose if-chain costs `chain` x ops-table at every degree; `scale` slows everything. */
async function synthFile(seed: number, chain: number, scale = 1): Promise<ResultsFile> {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  const cost: Record<string, number> = { [BASELINE]: 20, "if-chain": 20 * chain, [AA_VARIANT]: 20 };
  const b: Burster = { burst: async (v) => cost[v] * scale * (1 + 0.02 * gauss()) };
  const keys = DEG.map((d) => `dispatch-floor/floor-${d}`);
  const metas = new Map<string, BenchMeta>(
    keys.map((k, i) => [
      k,
      {
        key: k,
        scenario: "dispatch-floor",
        id: `floor-${DEG[i]}`,
        path: "dispatch-floor",
        degree: DEG[i],
        ops: 64,
        label: k,
        synthetic: true,
        providers: [],
      },
    ]),
  );
  const samples = new Samples();
  for (let l = 0; l < 3; l++)
    for (let k = 0; k < 12; k++)
      await runRound(b, planRound(keys, ["if-chain", AA_VARIANT], r), "node|floor", l, samples);
  const { comparisons, figures } = summarise({
    samples,
    metas: new Map([["node|floor", metas]]),
    target: 0.02,
    seed,
  });
  const base = {
    comparisons,
    figures,
    targets: { target: 0.02, cells: 0, reached: 0, medianHalfWidth: 0, missed: [] },
  };
  return {
    schema: SCHEMA,
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    durationS: 60,
    mode: "quick",
    seed,
    launches: 3,
    launchesRun: 3,
    budgetS: 105,
    burstMs: 1,
    command: "npm run bench -- --quick",
    machine: {
      cpu: "test cpu",
      cores: 2,
      memoryGiB: 4,
      os: "Linux",
      arch: "x64-linux",
      loadavgStart: [1, 1, 1],
      loadavgEnd: [1, 1, 1],
    },
    runtime: { bun: "1.4.4", node: "20", v8: "11.3", webkit: "abc" },
    versions: {},
    providerSets: { floor: ["floor-01"] },
    skippedProviders: [],
    ...derive(base),
    comparisons,
    figures,
    native: { skipped: "native: no C compiler (cc); native leg skipped" },
    failures: [],
  };
}

describe("report (schema v2)", () => {
  test("headline first, then the A/A line and the target; the grid carries every cell's interval", async () => {
    const r = await synthFile(1, 0.9);
    expect(r.headlines[0]).toMatch(
      /^V8 \(Node\), dispatch floor: if-chain is 10% faster than ops-table at 1–8 providers \(95% CI \d+–\d+%\)\.$/,
    );
    expect(r.aa[0].cells).toBe(4);
    expect(r.aa[0].falseCalls).toBe(0);
    const t = terminalSummary(r).split("\n");
    expect(t[1]).toBe(r.headlines[0]);
    expect(t[2]).toContain("A/A node: ops-table#2 / ops-table called different in 0 of 4 cells");
    const md = markdownReport(r, "c", []);
    expect(md.split("\n")[2]).toBe(`**${r.headlines[0]}**`);
    expect(md).toMatch(
      /\| node \| dispatch-floor \| 4 \(s\) \| \*\*0\.90 \(0\.\d\d–0\.\d\d\) faster\*\* \| [01]\.\d\d \(/,
    );
    expect(md).toContain("| unit |");
    expect(md).toContain("ns per alloc + release");
    expect(md).toContain("Native leg: native: no C compiler");
    expect(md).not.toContain("Dispatch:"); // the old sentence list is gone
  });

  test("native A/A: the 5% bar applies to the engine (all flavours together), not to a 13-cell flavour", async () => {
    const r = await synthFile(1, 0.9);
    const flav = (flavour: string, falseCalls: number) => ({
      engine: "native",
      flavour,
      cells: 13,
      falseCalls,
      rate: falseCalls / 13,
      medianHalfWidth: 0.01,
    });
    r.aa.push(flav("plain", 1), flav("retpoline", 0), flav("retpoline+rethunk", 0), flav("ibt", 0));
    const lines = terminalSummary(r).split("\n");
    const total = lines.findIndex((l) => l.startsWith("A/A native (all 4 flavours)"));
    expect(lines[total]).toContain("called different in 1 of 52 cells (false-call rate 1.9%, must be ≤ 5%)");
    expect(lines[total + 1]).toBe(
      "A/A native/plain: ops-table#2 / ops-table called different in 1 of 13 cells (false-call rate 7.7%); median half-width ±1.0%.",
    );
  });

  test("large rx buffers: the 4 KiB and 32 KiB loops side by side, beside the series' figure; absent when not run", async () => {
    const r = await synthFile(3, 1);
    expect(markdownReport(r, "c", [])).not.toContain("Large rx buffers");
    const like = r.figures[0];
    const rx = (path: string, p50: number, n: number) => ({
      ...like,
      engine: "bun",
      variant: BASELINE,
      path,
      id: path,
      p50,
      errors: [],
      extra: { allocsPerMiB: n, returnsPerMiB: n },
    });
    r.figures.push(rx("e2e:rx-4k", 6.4, 256), rx("e2e:rx-32k", 1.6, 32));
    const md = markdownReport(r, "c", []);
    expect(md).toContain("## Large rx buffers: 4 KiB against 32 KiB");
    expect(md).toContain("| bun | 6.400 | 1.600 | **0.25** | ~0.7 | 256, 32 | 256, 32 |");
    expect(terminalSummary(r)).toMatch(/bun +e2e rx 32 KiB \/ 4 KiB +0\.25 \| series ~0\.7/);
    // an errored length leaves the row out rather than inventing a ratio
    r.figures.at(-1)!.errors = ["boom"];
    expect(markdownReport(r, "c", [])).not.toContain("Large rx buffers");
  });

  test("parseResults refuses other schemas and non-JSON with a plain message", () => {
    expect(() => parseResults("{", "x.json")).toThrow(/x.json: not JSON/);
    expect(() =>
      parseResults(JSON.stringify({ schema: "pagepool-bench/1", figures: [] }), "old.json"),
    ).toThrow(/schema "pagepool-bench\/1", expected "pagepool-bench\/2"/);
  });
});

describe("compare mode", () => {
  test("the same code measured twice: no regression, every cell ≈", async () => {
    const a = await synthFile(2, 0.9);
    const b = await synthFile(3, 0.9);
    const c = compareResults(a, b, 5);
    expect(c.rows.filter((x) => x.kind === "figure").length).toBe(12);
    expect(c.regressions).toEqual([]);
    expect(c.rows.every((x) => x.call === "≈")).toBe(true);
    expect(c.headlines[0]).toMatch(/^V8 \(Node\): b is 0 of 12 cells slower and 0 faster than a/);
  });

  test("b 15% slower everywhere: every figure a regression beyond 5%, none beyond 50%", async () => {
    const a = await synthFile(4, 0.9);
    const b = await synthFile(5, 0.9, 1.15);
    const c = compareResults(a, b, 5);
    const figs = c.rows.filter((x) => x.kind === "figure");
    expect(figs.every((x) => x.call === "slower" && x.ratio.lo > 1.05)).toBe(true);
    expect(c.regressions.length).toBe(12);
    expect(compareResults(a, b, 50).regressions).toEqual([]);
    // the verdict did not move: if-chain / ops-table is 0.9 in both
    expect(c.rows.filter((x) => x.kind === "verdict").every((x) => x.call === "≈")).toBe(true);
  });

  test("a verdict that moved shows as a changed ratio of ratios", async () => {
    const c = compareResults(await synthFile(6, 0.9), await synthFile(7, 1.1));
    const moved = c.rows.filter((x) => x.kind === "verdict" && x.cell.includes("if-chain"));
    expect(moved.length).toBe(4);
    expect(moved.every((x) => x.call === "slower")).toBe(true);
    expect(c.regressions).toEqual([]); // no --fail-on-regression
  });

  test("the command: exit 1 on a regression with --fail-on-regression, 0 without, 2 on bad input", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pagepool-compare-"));
    const fa = join(dir, "a.json");
    const fb = join(dir, "b.json");
    writeFileSync(fa, JSON.stringify(await synthFile(8, 0.9)));
    writeFileSync(fb, JSON.stringify(await synthFile(9, 0.9, 1.2)));
    const codes: number[] = [];
    const { out, err } = await captured(async () => {
      for (const argv of [
        [fa, fb, "--fail-on-regression", "5"],
        [fa, fb, "--fail-on-regression=30"],
        [fa, fb],
        [fa],
        [fa, join(dir, "nope.json")],
        [fa, fb, "--fail-on-regresion", "5"],
        [fa, fb, "--fail-on-regression", "x"],
      ])
        codes.push(await compareMain(argv));
    });
    expect(codes).toEqual([1, 0, 0, 2, 2, 2, 2]);
    const text = out;
    expect(text).toContain("FAIL: 12 cell(s) slower beyond their interval by more than 5%");
    expect(text).toContain("REGRESSION");
    expect(err).toContain("did you mean --fail-on-regression");
    expect(err).toContain("cannot read");
  });
});

describe("runner command line", () => {
  const capture = async (argv: string[]) => {
    const { main } = await import("./run.ts");
    const r = await captured(() => main(argv));
    return { code: r.value, out: r.out, err: r.err };
  };

  test("usage errors exit 2 before any work, naming the problem", async () => {
    const typo = await capture(["--quik"]);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain("unknown flag --quik; did you mean --quick?");
    expect((await capture(["--render", "nosuch.json"])).err).toContain("cannot read");
    expect((await capture(["--render", "nosuch.json"])).code).toBe(2);
    const sample = await capture(["--name", "sample"]);
    expect(sample.code).toBe(2);
    expect(sample.err).toContain("the committed sample");
    const json = await capture(["--json", "/nonexistent-dir/x.json"]);
    expect(json.code).toBe(2);
    expect(json.err).toContain("/nonexistent-dir does not exist");
    expect((await capture(["--target", "5"])).code).toBe(2);
    expect((await capture(["compare", "a.json"])).code).toBe(2);
    // A filter that matches nothing: exit 2, and stdout (results only) stays empty.
    const none = await capture(["--filter", "^zzz-no-such-bench$", "--engine", "bun"]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("matches no bench");
    expect(none.out).toBe("");
  });

  test("--help prints every flag with its default on stdout, exit 0", async () => {
    const h = await capture(["--help"]);
    expect(h.code).toBe(0);
    for (const f of [
      "--quick",
      "--launches",
      "--target",
      "--budget",
      "--json",
      "--overwrite",
      "compare mode",
    ])
      expect(h.out).toContain(f);
    expect(h.out).toContain("default: 0.02");
  });
});
