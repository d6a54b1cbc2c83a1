import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findCycles, GRAPH_DIRS, runtimeGraph, sourceFiles } from "./import-graph.ts";

const ROOT = resolve(import.meta.dir, "..");

describe("runtime import graph", () => {
  const files = sourceFiles(ROOT, GRAPH_DIRS);
  const graph = runtimeGraph(ROOT, files);

  test("has no cycle among non-type imports (every #dispatch variant counted)", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get("core/page-pool.ts")).toContain("core/generated/dispatch-if-chain.generated.ts");
    expect(findCycles(graph)).toEqual([]);
  });

  test("the check fails on a reintroduced cycle: a plugin importing the pool class again", () => {
    // The old shape: plugins/huge read PP_ALLOC_CACHE_* from core/page-pool.ts at run time.
    const g = new Map(graph);
    g.set("plugins/huge/provider.ts", [...(g.get("plugins/huge/provider.ts") ?? []), "core/page-pool.ts"]);
    const cycles = findCycles(g);
    expect(cycles.length).toBe(1);
    expect(cycles[0]).toContain("core/page-pool.ts");
    expect(cycles[0]).toContain("plugins/huge/provider.ts");
    expect(cycles[0]).toContain("core/generated/registry.generated.ts");
  });

  test("on real files: a value import cycle is found, a type-only one is not", () => {
    const dir = mkdtempSync(join(tmpdir(), "import-graph-"));
    try {
      writeFileSync(join(dir, "package.json"), "{}");
      writeFileSync(join(dir, "a.ts"), 'import { b } from "./b.ts";\nexport const a = () => b;\n');
      writeFileSync(join(dir, "b.ts"), 'import { a } from "./a.ts";\nexport const b = () => a;\n');
      writeFileSync(
        join(dir, "c.ts"),
        'import { type D, d } from "./d.ts";\nexport const c = (x: D) => d(x);\n',
      );
      writeFileSync(
        join(dir, "d.ts"),
        'import type { c } from "./c.ts";\nexport type D = typeof c;\nexport const d = (x: unknown) => x;\n',
      );
      writeFileSync(join(dir, "e.ts"), 'export * from "./e.ts";\n');
      const g = runtimeGraph(dir, sourceFiles(dir, ["."]));
      expect(findCycles(g)).toEqual([["a.ts", "b.ts"], ["e.ts"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("plugins depend on the core's leaf modules only", () => {
  // Provider code (what the registry loads) must not reach the pool class or its parts, even
  // for types: the contract is PoolView (core/provider.ts). Tests, their shared models (the
  // conformance case, stack-model.ts) and the README examples are users of the pool.
  const INTERNAL =
    /from "(?:\.\.\/)+core\/(?:page-pool|pool-(?:audit|bulk|create|destroy|frag|netlink|slow))\.ts"/;
  const isUserCode = (f: string) =>
    /\.test\.ts$|conformance\.case\.ts$|stack-model\.ts$|\/example\.ts$/.test(f);
  test("no provider module imports core/page-pool.ts or the pool's internals", () => {
    const offenders = sourceFiles(ROOT, ["plugins"])
      .filter((f) => !isUserCode(f))
      .filter((f) => INTERNAL.test(readFileSync(f, "utf8")))
      .map((f) => f.slice(ROOT.length + 1));
    expect(offenders).toEqual([]);
  });
});

/** Files directly in `dir` ending in .ts with more than `max` lines (as `wc -l` counts), with their counts. */
function overLineLimit(dir: string, max: number): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => {
      const text = readFileSync(join(dir, f), "utf8");
      return { f, n: text.split("\n").length - (text.endsWith("\n") ? 1 : 0) };
    })
    .filter(({ n }) => n > max)
    .map(({ f, n }) => `${f}: ${n} lines`);
}

describe("the core stays split along the kernel's seams (issue 9)", () => {
  test("no core/*.ts file, tests included, is over 500 lines", () => {
    expect(readdirSync(join(ROOT, "core")).filter((f) => f.endsWith(".ts")).length).toBeGreaterThan(20);
    expect(overLineLimit(join(ROOT, "core"), 500)).toEqual([]);
  });

  test("the check fails on a file over the limit", () => {
    const dir = mkdtempSync(join(tmpdir(), "line-limit-"));
    try {
      writeFileSync(join(dir, "ok.ts"), "x\n".repeat(500));
      writeFileSync(join(dir, "big.ts"), "x\n".repeat(501));
      writeFileSync(join(dir, "notes.md"), "x\n".repeat(900));
      expect(overLineLimit(dir, 500)).toEqual(["big.ts: 501 lines"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
