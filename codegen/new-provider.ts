/**
 * `npm run new-provider -- [name] [--description <text>]`: scaffolds plugins/<name>/ from the
 * Handlebars templates in templates/provider/ (index, provider with every op a working minimal
 * implementation over the host page allocator, the fixture the simulator, the bench and the
 * conformance suite stand it up with, a test running the suite and the README's example, a README),
 * then regenerates the dispatchers so the new provider is registered at once.
 *
 * With no name and a terminal it prompts (@inquirer/prompts); with a name it never prompts.
 * An invalid (not kebab-case) or taken name is refused with a clear message and nothing is written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { execute, flag, hint, UsageError } from "../cli/args.ts";
import { codeHandlebars, HBS_OPTIONS } from "./emit.ts";
import { generate, REPO_ROOT } from "./generate.ts";
import { camel, formatProblem, KEBAB_RE, pascal } from "./inspect.ts";

/** The files a scaffold writes, in this order, from templates/provider/<file>.hbs. */
export const SCAFFOLD_FILES = [
  "index.ts",
  "provider.ts",
  "fixture.ts",
  "provider.test.ts",
  "README.md",
] as const;

/** Names that would shadow the suite or non-provider entries of plugins/. */
const RESERVED_NAMES = new Set(["conformance", "core", "generated", "node-modules"]);
const MAX_NAME = 40;

export class ScaffoldError extends Error {}

/** Why `name` cannot be a provider name, or null when it can (pure; no filesystem). */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "a provider name is required";
  if (name.length > MAX_NAME) return `"${name}" is too long (at most ${MAX_NAME} characters)`;
  if (!KEBAB_RE.test(name))
    return `"${name}" is not a valid provider name: use kebab-case, lower-case letters and digits in words joined by single dashes, starting with a letter (e.g. "my-provider")`;
  if (RESERVED_NAMES.has(name)) return `"${name}" is reserved`;
  return null;
}

const MAX_DESCRIPTION = 200;

/**
 * The description goes into doc comments and the README: one line, no comment terminator, at most
 * 200 characters; empty becomes a placeholder. Untrusted (typed at a prompt), so sanitised, not trusted.
 */
export function cleanDescription(raw: string): string {
  const one = raw
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ")
    .replace(/\*\//g, "* /")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, MAX_DESCRIPTION)
    .trim();
  return one || "a memory provider (scaffolded; describe it here).";
}

export interface ScaffoldOptions {
  root?: string;
  name: string;
  description?: string;
  /** Default "plugins" (relative to root or absolute). */
  pluginsDir?: string;
  /** Regenerate core/generated after writing (default true). */
  regenerate?: boolean;
}

/** Renders the scaffold's files without writing anything (path relative to the provider dir -> text). */
export function renderScaffold(root: string, name: string, description: string): Map<string, string> {
  const hb = codeHandlebars();
  // Biome prints a plain identifier key unquoted and a dashed one quoted; match it.
  const nlKey = /^[a-z][a-z0-9]*$/.test(name) ? name : `"${name}"`;
  const data = { name, camel: camel(name), pascal: pascal(name), description, nlKey };
  const out = new Map<string, string>();
  for (const f of SCAFFOLD_FILES) {
    const src = readFileSync(join(root, "templates", "provider", `${f}.hbs`), "utf8");
    out.set(f, hb.compile(src, HBS_OPTIONS)(data));
  }
  return out;
}

/**
 * Writes <pluginsDir>/<name>/ and (by default) regenerates the dispatchers. Throws ScaffoldError
 * (nothing written) on an invalid or taken name; if regeneration then fails, the new folder is
 * removed again so a failed scaffold leaves nothing behind.
 */
export async function scaffoldProvider(opts: ScaffoldOptions): Promise<{ dir: string; files: string[] }> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const name = opts.name.trim();
  const problem = nameProblem(name);
  if (problem) throw new ScaffoldError(problem);
  const pluginsDir = opts.pluginsDir ?? "plugins";
  const base = isAbsolute(pluginsDir) ? pluginsDir : resolve(root, pluginsDir);
  const dir = join(base, name);
  if (existsSync(dir)) throw new ScaffoldError(`${relative(root, dir)} already exists; pick another name`);
  // Names differing only in case would collide on case-insensitive filesystems.
  if (existsSync(base)) {
    const clash = readdirSync(base).find((e) => e.toLowerCase() === name.toLowerCase());
    if (clash)
      throw new ScaffoldError(`${relative(root, join(base, clash))} already exists; pick another name`);
  }
  const description = cleanDescription(opts.description ?? "");
  const files = renderScaffold(root, name, description);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of files) writeFileSync(join(dir, f), text);
  if (opts.regenerate !== false) {
    let failed: string | null = null;
    try {
      const r = await generate({ root, write: true });
      if (r.problems.length) failed = r.problems.map(formatProblem).join("\n");
    } catch (e) {
      failed = (e as Error).message;
    }
    if (failed !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new ScaffoldError(`codegen failed after scaffolding, ${relative(root, dir)} removed:\n${failed}`);
    }
  }
  return { dir, files: [...files.keys()].map((f) => join(dir, f)) };
}

export const NEW_PROVIDER_COMMAND = {
  script: "new-provider",
  file: "codegen/new-provider.ts",
  summary:
    "Scaffold plugins/<name>/ (provider, fixture, test, README) and regenerate the dispatchers; with no name and a terminal, ask.",
  positionals: { usage: "[name]", max: 1, description: "the provider's kebab-case name, e.g. my-mem" },
  flags: {
    description: flag.str("one line for the doc comments and the README", {
      short: "d",
      metavar: "text",
      example: '"pinned host memory for my NIC"',
    }),
  },
};

/**
 * The CLI; `env` lets tests run it against a temporary copy of the repo and fake a terminal.
 * Exit: 0 scaffolded, 1 name refused or codegen failed (nothing left behind), 2 usage,
 * 130 Ctrl-C at the prompt.
 */
export async function main(
  argv: readonly string[],
  env: { root?: string; isTty?: boolean } = {},
): Promise<number> {
  return execute(
    NEW_PROVIDER_COMMAND,
    { name: "new-provider", expected: [ScaffoldError] },
    async (p) => {
      const root = env.root ?? REPO_ROOT;
      const isTty = env.isTty ?? Boolean(process.stdin.isTTY);
      let name: string | undefined = p.positionals[0];
      let description = p.values.description;
      if (name === undefined) {
        if (!isTty) throw new UsageError("no name given and no terminal to ask on");
        const { input } = await import("@inquirer/prompts");
        const taken = (n: string) => existsSync(join(root, "plugins", n));
        // Ctrl-C here rejects with ExitPromptError: execute() makes it one line and exit 130.
        name = await input({
          message: "Provider name (kebab-case):",
          validate: (v) =>
            nameProblem(v.trim()) ?? (taken(v.trim()) ? `plugins/${v.trim()} already exists` : true),
        });
        description = await input({ message: "One-line description:", default: description ?? "" });
      }
      const r = await scaffoldProvider({ root, name, description });
      for (const f of r.files) console.log(`created ${relative(root, f)}`);
      console.log(`registered "${name.trim()}"; next: ${hint("test", `plugins/${name.trim()}`)}`);
      return 0;
    },
    argv,
  );
}

if (import.meta.main) {
  process.on("SIGINT", () => {
    process.stderr.write("\nnew-provider: interrupted\n");
    process.exit(130);
  });
  process.exit(await main(process.argv.slice(2)));
}
