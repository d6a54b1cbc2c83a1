/**
 * The repo's runtime import graph, read with Bun's own transpiler (`scanImports` reports the
 * imports that survive type erasure, so `import type` and `import { type X }` are not edges,
 * exactly as at run time), and its cycles. Used by import-graph.test.ts; run it to list cycles:
 * `npx bun codegen/import-graph.ts`.
 *
 * Edges: static imports and re-exports of relative files, and the `#dispatch` import map entry,
 * which stands for every dispatcher variant (a cycle through any variant counts). Dynamic
 * `import()` is left out: it runs after every static import has loaded, so it cannot cause the
 * load-order ReferenceError a static cycle can.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export type Graph = Map<string, string[]>;

const posix = (p: string) => p.split(sep).join("/");

/** Every .ts file below `dirs` (relative to root), skipping node_modules and codegen fixtures. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      if (e === "node_modules" || e === "fixtures" || e.startsWith(".")) continue;
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
    }
  };
  for (const d of dirs) if (existsSync(join(root, d))) walk(join(root, d));
  return out;
}

/** The `#dispatch` targets of package.json's "imports" map (every condition). */
function dispatchTargets(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    imports?: Record<string, Record<string, string> | string>;
  };
  const m = pkg.imports?.["#dispatch"];
  if (!m) return [];
  return (typeof m === "string" ? [m] : Object.values(m)).map((t) => resolve(root, t));
}

/** Runtime import graph over `files`, keyed by repo-relative posix paths. */
export function runtimeGraph(root: string, files: readonly string[]): Graph {
  const t = new Bun.Transpiler({ loader: "ts" });
  const dispatch = dispatchTargets(root);
  const g: Graph = new Map();
  for (const file of files) {
    const deps = new Set<string>();
    for (const imp of t.scanImports(readFileSync(file, "utf8"))) {
      if (imp.kind === "dynamic-import") continue;
      const targets =
        imp.path === "#dispatch"
          ? dispatch
          : imp.path.startsWith(".")
            ? [resolve(dirname(file), imp.path)]
            : [];
      for (const target of targets) deps.add(posix(relative(root, target)));
    }
    g.set(posix(relative(root, file)), [...deps].sort());
  }
  return g;
}

/** The cycles of `g`: each strongly connected component with more than one node, or a self-loop. */
export function findCycles(g: Graph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** The directories whose modules form the project's graph. */
export const GRAPH_DIRS = ["core", "plugins", "codegen", "bench", "sim"] as const;

if (import.meta.main) {
  const root = resolve(import.meta.dir, "..");
  const cycles = findCycles(runtimeGraph(root, sourceFiles(root, GRAPH_DIRS)));
  for (const c of cycles) console.log(`cycle: ${c.join(" <-> ")}`);
  console.log(cycles.length === 0 ? "no runtime import cycles" : `${cycles.length} runtime import cycle(s)`);
  process.exitCode = cycles.length === 0 ? 0 : 1;
}
