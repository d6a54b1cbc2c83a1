/**
 * CI's scaffold smoke test (`bun codegen/scaffold-smoke.ts`): the new-user loop of the design card,
 * in a throwaway copy of the repo with no edit between the steps:
 *   1. `bun run new-provider my-mem`;
 *   2. `bun test plugins/my-mem` under every dispatcher variant, and `bun run codegen --check`;
 *   3. `bun run sim -- --provider my-mem --packets 100000 --json`: the run must end with the
 *      audit holding (nothing lost, duplicated or corrupt, my-mem's pool freed);
 *   4. the bench picks my-mem up: `providerRigs()` (bench/lib/world.ts) lists it as bindable, and
 *      one quick bench child (`bench/child.ts --scenarios dispatch-sweep,paths --mode quick`,
 *      the sweep at the degree of every registered provider) measures it in the dispatch sweep and
 *      in the provider slow path (`paths/provider-slow:my-mem`). This is one restricted child, not
 *      the whole `bun run bench --quick` (every scenario x variant x engine, several minutes on
 *      CI's 2 cores); the runner's own tests cover the rest of that loop.
 * Exit 0 when all pass; on failure prints the failing step's output.
 * (codegen/new-provider.test.ts runs steps 1-2 inside `bun test`.)
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { VARIANTS } from "./emit.ts";
import { REPO_ROOT } from "./generate.ts";
import { makeRepoCopy, runBun } from "./repo-copy.ts";

const NAME = "my-mem";

type Step = [
  label: string,
  args: string[],
  check?: (out: string) => string | null,
  env?: Record<string, string>,
];

/** The sim's JSON: null when the audit holds and my-mem carried traffic, else what is wrong. */
function simOk(out: string): string | null {
  const r = JSON.parse(out) as {
    audit: { ok: boolean; problems: string[] };
    lost: number;
    duplicated: number;
    corrupt: number;
    received: number;
    pools: Array<{ provider: string; state: string }>;
  };
  if (!r.audit.ok) return `audit failed: ${r.audit.problems.slice(0, 5).join("; ")}`;
  if (r.lost || r.duplicated || r.corrupt)
    return `lost ${r.lost}, duplicated ${r.duplicated}, corrupt ${r.corrupt}`;
  if (r.received === 0) return "no packet was received";
  const mine = r.pools.filter((p) => p.provider === NAME);
  if (mine.length === 0) return `no pool took its memory from ${NAME}`;
  if (mine.some((p) => p.state !== "freed")) return `a ${NAME} pool was not freed`;
  return null;
}

function rigsOk(out: string): string | null {
  const r = JSON.parse(out) as { rigs: Array<{ name: string; synthetic: boolean }>; skipped: string[] };
  if (r.skipped.length) return `providerRigs skipped ${r.skipped.join(", ")}`;
  if (!r.rigs.some((x) => x.name === NAME && !x.synthetic)) return `providerRigs does not list ${NAME}`;
  return null;
}

// As a fresh clone: every plugin (the bench's return-path legs use devmem's and zcrx's user sides).
const plugins = readdirSync(join(REPO_ROOT, "plugins")).filter((e) =>
  statSync(join(REPO_ROOT, "plugins", e)).isDirectory(),
);
const copy = makeRepoCopy(plugins);
const childOut = join(copy.root, "smoke-child.json");

function childOk(): string | null {
  const r = JSON.parse(readFileSync(childOut, "utf8")) as {
    results: Array<{ scenario: string; id: string; providers: string[]; error?: string }>;
  };
  const bad = r.results.filter((x) => x.error);
  if (bad.length) return `failed: ${bad.map((x) => `${x.scenario}/${x.id}: ${x.error}`).join("; ")}`;
  if (!r.results.some((x) => x.scenario === "dispatch-sweep" && x.providers.includes(NAME)))
    return `the dispatch sweep did not measure ${NAME}`;
  // The provider slow path is measured per fixture-backed provider: my-mem's must be among them.
  for (const id of ["slow", `provider-slow:${NAME}`])
    if (!r.results.some((x) => x.scenario === "paths" && x.id === id)) return `paths/${id} did not run`;
  const slow = r.results.find((x) => x.scenario === "paths" && x.id === `provider-slow:${NAME}`)!;
  if (!slow.providers.includes(NAME))
    return `paths/provider-slow:${NAME} measured ${slow.providers.join(", ")}`;
  return null;
}

let failed = false;
try {
  const steps: Step[] = [
    [`bun run new-provider ${NAME}`, ["run", "new-provider", NAME, "--description", "CI smoke test."]],
    ...VARIANTS.map(
      (v): Step => [
        `bun test --conditions=${v} plugins/${NAME}`,
        ["test", `--conditions=${v}`, `plugins/${NAME}`],
      ],
    ),
    ["bun run codegen --check", ["run", "codegen", "--check"]],
    [
      `bun run sim -- --provider ${NAME} --packets 100000 --json`,
      ["run", "sim", "--provider", NAME, "--packets", "100000", "--json"],
      simOk,
    ],
    [
      "bench providerRigs() lists it",
      [
        "-e",
        'import { providerRigs } from "./bench/lib/world.ts"; console.log(JSON.stringify(providerRigs()));',
      ],
      rigsOk,
    ],
    [
      `bench child: dispatch-sweep over all ${plugins.length + 1} providers, and paths, quick`,
      ["bench/child.ts", "--scenarios", "dispatch-sweep,paths", "--mode", "quick", "--out", childOut],
      () => childOk(),
      // One degree: every registered provider behind the call sites, my-mem among them.
      { BENCH_DEGREES: String(plugins.length + 1) },
    ],
  ];
  for (const [label, args, check, env] of steps) {
    const r = runBun(copy.root, args, env);
    let why = r.code === 0 ? null : `exit ${r.code}`;
    if (why === null && check) {
      try {
        why = check(r.out);
      } catch (e) {
        why = `unreadable output: ${(e as Error).message}`;
      }
    }
    console.log(`scaffold-smoke: ${label}: ${why === null ? "ok" : `FAILED (${why})`}`);
    if (why !== null) {
      // Indented so CI's "N pass"/"N fail" summing does not pick up the nested run's counts.
      console.log(`${r.out.slice(-4000)}\n${r.err.slice(-4000)}`.replace(/^/gm, "  | "));
      failed = true;
      break;
    }
  }
} finally {
  copy.dispose();
}
process.exit(failed ? 1 : 0);
