/**
 * `bun run codegen [--check] [--profile <file>]`: regenerates core/generated/ from plugins/*.
 * Writes only files whose bytes change. `--check` regenerates in memory, prints a unified diff of
 * any drift and exits 1. Contract problems are printed as `[file:line]: message`, then a count,
 * exit 1, nothing written. Bad usage or config: exit 2.
 */
import { relative } from "node:path";
import { ConfigError, driftDiff, generate, REPO_ROOT } from "./generate.ts";
import { formatProblem } from "./inspect.ts";

const USAGE =
  "usage: bun run codegen [--check] [--profile <profile.json>] [--plugins <dir>]... [--out <dir>]";

export async function main(argv: readonly string[]): Promise<number> {
  let check = false;
  let profile: string | undefined;
  const pluginsDirs: string[] = [];
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new ConfigError(`${a} needs a value`);
      return v;
    };
    try {
      if (a === "--check") check = true;
      else if (a === "--profile") profile = val();
      else if (a === "--plugins") pluginsDirs.push(val());
      else if (a === "--out") outDir = val();
      else if (a === "--help" || a === "-h") {
        console.log(USAGE);
        return 0;
      } else throw new ConfigError(`unknown argument ${a}`);
    } catch (e) {
      console.error(`codegen: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
  }
  const root = REPO_ROOT;
  let r: Awaited<ReturnType<typeof generate>>;
  try {
    r = await generate({
      root,
      write: !check,
      profile,
      outDir,
      pluginsDirs: pluginsDirs.length ? pluginsDirs : undefined,
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`codegen: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (r.problems.length > 0) {
    for (const p of r.problems) console.error(formatProblem(p));
    console.error(`Found ${r.problems.length} codegen problem${r.problems.length === 1 ? "" : "s"}`);
    return 1;
  }
  const names = r.model.providers.map((p) => p.name).join(", ");
  if (check) {
    if (r.changed.length === 0) {
      console.log(`codegen --check: up to date (${r.files.size} files, providers: ${names})`);
      return 0;
    }
    process.stdout.write(driftDiff(root, r));
    console.error(
      `codegen --check: ${r.changed.length} generated file(s) out of date; run \`bun run codegen\``,
    );
    return 1;
  }
  for (const p of r.changed) console.log(`wrote ${relative(root, p)}`);
  console.log(`codegen: ${r.changed.length} of ${r.files.size} files changed (providers: ${names})`);
  return 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
