/**
 * `npm run codegen [-- --check] [--profile <file>] [--plugins <dir>]... [--out <dir>]`: regenerates
 * core/generated/ from plugins/* (and any --plugins dirs). Writes only files whose bytes change.
 * `--check` regenerates in memory, prints a unified diff of any drift and exits 1. Contract
 * problems are printed as `[file:line]: message`, then a count, exit 1, nothing written. A scan
 * that finds no provider at all is refused (exit 1, nothing written): an empty registry would
 * leave every provider "not a registered provider". Bad usage or config: exit 2.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import { fail, flag, hint, runMain, userPath } from "../cli/args.ts";
import { ConfigError, driftDiff, generate, REPO_ROOT } from "./generate.ts";
import { formatProblem } from "./inspect.ts";

/** A --plugins value: an existing directory, made absolute against the user's directory. */
function pluginsDir(raw: string, f: string): string {
  const p = userPath("codegen", raw);
  if (!existsSync(p)) fail(f, `${raw}: no such directory`);
  if (!statSync(p).isDirectory()) fail(f, `${raw}: not a directory`);
  return p;
}

export const CODEGEN_COMMAND = {
  script: "codegen",
  file: "codegen/cli.ts",
  summary:
    "Regenerate core/generated/ (dispatchers, registry, fixture registry) from plugins/*/provider.ts (codegen/README.md).",
  flags: {
    check: flag.bool("regenerate in memory; print a diff and exit 1 if anything on disk differs"),
    profile: flag.str("a measured profile orders the icall-wrapper's likely targets", {
      metavar: "profile.json",
      example: "bench/profile.json",
    }),
    plugins: flag.list("another directory of <name>/provider.ts to scan, besides plugins/", {
      metavar: "dir",
      example: "../my-plugins",
      parse: pluginsDir,
    }),
    out: flag.str("write the generated files here instead", {
      metavar: "dir",
      example: "/tmp/generated",
      defaultText: "core/generated",
    }),
  },
};

export async function main(argv: readonly string[]): Promise<never> {
  return runMain(CODEGEN_COMMAND, { name: "codegen", expected: [ConfigError] }, (p) => run(p.values), argv);
}

async function run(v: {
  check: boolean;
  profile: string | undefined;
  plugins: string[];
  out: string | undefined;
}): Promise<number> {
  const root = REPO_ROOT;
  const dirs = [...new Set([`${root}/plugins`, ...v.plugins])];
  let r: Awaited<ReturnType<typeof generate>>;
  try {
    // Never written by generate() itself: the result is checked first (problems, no providers).
    r = await generate({
      root,
      write: false,
      profile: v.profile === undefined ? undefined : userPath("codegen", v.profile),
      outDir: v.out === undefined ? undefined : userPath("codegen", v.out),
      pluginsDirs: dirs.map((d) => (d === `${root}/plugins` ? "plugins" : d)),
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
  if (r.model.providers.length === 0) {
    console.error(
      `codegen: no provider found in ${dirs.map((d) => relative(process.cwd(), d) || ".").join(", ")}; refusing to write a registry with none (nothing written)`,
    );
    return 1;
  }
  const names = r.model.providers.map((p) => p.name).join(", ");
  if (v.check) {
    if (r.changed.length === 0) {
      console.log(`codegen --check: up to date (${r.files.size} files, providers: ${names})`);
      return 0;
    }
    process.stdout.write(driftDiff(root, r));
    console.error(
      `codegen --check: ${r.changed.length} generated file(s) out of date; run \`${hint("codegen")}\``,
    );
    return 1;
  }
  for (const path of r.changed) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, r.files.get(path)!);
    console.log(`wrote ${relative(root, path)}`);
  }
  console.log(`codegen: ${r.changed.length} of ${r.files.size} files changed (providers: ${names})`);
  return 0;
}

if (import.meta.main) await main(process.argv.slice(2));
