/**
 * `npx bun bench/native/cli.ts [--quick|--full] [--launches N] [--seed N] [--json out.json]` (default and --full are the same: 8 launches x 96 pairs):
 * the native leg on its own (bench/run.ts runs it with the JS legs). Prints, per flavour, the
 * dispatch floor's cycles per alloc + release by degree and variant with each variant's ratio to
 * ops-table, the page_pool paths, then the headlines. Exit 0 also when skipped (no compiler).
 */
import { writeFileSync } from "node:fs";
import { formatCI } from "../lib/stats.ts";
import { FLOOR_PATH, type NativeLegResult, runNativeLeg } from "./leg.ts";

const USAGE =
  "usage: npx bun bench/native/cli.ts [--quick|--full] [--launches N] [--seed N] [--json out.json]";

export function renderTable(r: NativeLegResult): string {
  const lines: string[] = [];
  const flavours = Object.keys(r.meta.flavours);
  const variants = [...new Set(r.comparisons.map((c) => c.variant))];
  const fig = (fl: string, path: string, deg: number, v: string) =>
    r.figures.find((f) => f.flavour === fl && f.path === path && f.degree === deg && f.variant === v);
  const cmp = (fl: string, path: string, deg: number, v: string) =>
    r.comparisons.find((c) => c.flavour === fl && c.path === path && c.degree === deg && c.variant === v);
  const cell = (fl: string, path: string, deg: number, v: string) => {
    const f = fig(fl, path, deg, v);
    const c = cmp(fl, path, deg, v);
    const abs = f ? f.median.toFixed(1) : "-";
    return c ? `${abs} ${formatCI(c.ratio, 2)} ${c.call}` : abs;
  };
  const w = 30;
  for (const fl of flavours) {
    lines.push(`\n## ${fl}: ${r.meta.flavours[fl].join(" ")}`);
    lines.push(`${"path / degree".padEnd(26)}${["ops-table", ...variants].map((v) => v.padEnd(w)).join("")}`);
    const degrees = [...new Set(r.figures.filter((f) => f.path === FLOOR_PATH).map((f) => f.degree!))].sort(
      (a, b) => a - b,
    );
    const rows: Array<[string, number]> = [
      ...degrees.map((d) => [FLOOR_PATH, d] as [string, number]),
      ...[...new Set(r.figures.filter((f) => f.path !== FLOOR_PATH).map((f) => f.path))]
        .sort()
        .map((p) => [p, 1] as [string, number]),
    ];
    for (const [path, d] of rows)
      lines.push(
        `${(path === FLOOR_PATH ? `${path} ${d}` : path).padEnd(26)}${["ops-table", ...variants].map((v) => cell(fl, path, d, v).padEnd(w)).join("")}`,
      );
  }
  return lines.join("\n");
}

export async function main(argv: readonly string[]): Promise<number> {
  let quick = false;
  let launches: number | undefined;
  let seed = 42;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === "--quick") quick = true;
      else if (a === "--full") quick = false;
      else if (a === "--launches") launches = Number(val());
      else if (a === "--seed") seed = Number(val());
      else if (a === "--json") json = val();
      else if (a === "--help" || a === "-h") {
        console.log(USAGE);
        return 0;
      } else throw new Error(`unknown argument ${a}`);
      if (launches !== undefined && !(Number.isInteger(launches) && launches >= 2))
        throw new Error("--launches must be an integer >= 2");
      if (!Number.isInteger(seed)) throw new Error("--seed must be an integer");
    } catch (e) {
      console.error(`native: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
  }
  const t0 = performance.now();
  const r = await runNativeLeg({
    quick,
    budgetMs: quick ? 25_000 : 150_000,
    launches,
    seed,
    log: (l) => console.error(l),
  });
  if (r.skipped) return 0;
  console.log(
    `# native leg (${quick ? "quick" : "full"}, seed ${seed}): ${r.meta.ccVersion}; ${r.meta.cpu}; timer ${r.meta.timer}${r.meta.timer === "rdtsc" ? ` at ${r.meta.tscGHz?.toFixed(3)} GHz` : ""}; ${r.meta.launches} launches x ${r.meta.pairsPerLaunch} pairs`,
  );
  console.log("cells: median per alloc + release, then variant/ops-table ratio (95% CI) and the call");
  console.log(renderTable(r));
  console.log("\n## headlines");
  for (const h of r.headlines) console.log(`- ${h}`);
  for (const n of r.notes ?? []) console.log(`- ${n}`);
  const aa = r.comparisons.filter((c) => c.aa);
  const falseCalls = aa.filter((c) => c.call !== "≈").length;
  console.log(
    `- A/A (ops-table#2): ${falseCalls} of ${aa.length} comparisons called a difference (false-call rate)`,
  );
  if (json) writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  console.log(`\nnative leg: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
