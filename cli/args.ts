/**
 * The one command-line layer for every pagepool command (sim, codegen, new-provider, bench).
 *
 * A command is a declarative table of flags (name, type, default, description, example, validator)
 * parsed with node:util `parseArgs` (so `--flag value` and `--flag=value` both work) and checked
 * here: an unknown flag or a bad value is a {@link UsageError} naming the flag as the user typed it.
 * {@link runMain} turns that into the contract every command keeps:
 *
 * - `--help` / `-h`: every flag with its default and an example, on stdout, exit 0;
 * - usage errors: `<cmd>: <message>` and `try <how to run it> --help` on stderr, exit 2;
 * - Ctrl-C (SIGINT, or an @inquirer prompt's ExitPromptError): one line on stderr, exit 130;
 * - results go to stdout only; progress and diagnostics to stderr.
 *
 * Paths are resolved against the directory the user ran the command from ({@link userCwd}), and
 * hints name a command that works where this one was run ({@link howToRun}).
 */
import { accessSync, constants, existsSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

/** The repo root (where package.json is); `npm run` runs scripts with this as cwd. */
export const REPO_ROOT = resolve(import.meta.dir, "..");

/** A usage mistake: bad flag, bad value, missing argument. Exit 2, message on stderr. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One flag. `T` is the parsed value's type (after `parse` and defaulting). */
export interface Flag<T> {
  readonly kind: "boolean" | "string";
  /** Repeatable: the value is the list of every occurrence (in order). */
  readonly multiple: boolean;
  readonly description: string;
  /** Shown in --help as `e.g. --name <example>` (without the flag name). */
  readonly example?: string;
  /** Placeholder in --help (`--packets <N>`). */
  readonly metavar?: string;
  /** One-letter alias. */
  readonly short?: string;
  readonly default: T;
  /** How the default prints in --help (defaults to String(default)). */
  readonly defaultText?: string;
  /** Converts and validates one raw value; throws UsageError (or returns a message via `fail`). */
  readonly parse: (raw: string, flag: string) => unknown;
}

type Values<F> = { [K in keyof F]: F[K] extends Flag<infer T> ? T : never };

interface FlagOpts<T> {
  example?: string;
  metavar?: string;
  short?: string;
  default?: T;
  defaultText?: string;
}

/** Throws the UsageError for a bad value of `flag`. */
export function fail(flag: string, msg: string): never {
  throw new UsageError(`${flag} ${msg}`);
}

/** A flag that takes a value (`--name value`): the fields every such constructor shares. */
function valued<T>(
  description: string,
  o: FlagOpts<T>,
  metavar: string,
  parse: (raw: string, flag: string) => unknown,
  multiple = false,
): Flag<T> {
  return {
    kind: "string",
    multiple,
    description,
    metavar: o.metavar ?? metavar,
    example: o.example,
    short: o.short,
    default: o.default as T,
    defaultText: o.defaultText,
    parse,
  };
}

/** Flag constructors: each fixes the value type, the default and the validator. */
export const flag = {
  bool(description: string, o: { short?: string } = {}): Flag<boolean> {
    return {
      kind: "boolean",
      multiple: false,
      description,
      short: o.short,
      default: false,
      parse: () => true,
    };
  },
  /** A non-negative safe integer in [min, max]. */
  int(
    description: string,
    o: FlagOpts<number> & { default: number; min?: number; max?: number },
  ): Flag<number> {
    return valued(description, o, "N", (raw, f) =>
      parseWhole(raw, f, o.min ?? 0, o.max ?? Number.MAX_SAFE_INTEGER),
    );
  },
  str<T extends string | undefined = string | undefined>(description: string, o: FlagOpts<T> = {}): Flag<T> {
    return valued(description, o, "text", (raw) => raw);
  },
  /** One of a fixed list; the error lists them. */
  choice<C extends string>(
    choices: readonly C[],
    description: string,
    o: FlagOpts<C> & { default: C },
  ): Flag<C> {
    return choiceFlag(choices, description, o);
  },
  /** One of a fixed list, or absent (undefined). */
  optionalChoice<C extends string>(
    choices: readonly C[],
    description: string,
    o: FlagOpts<C | undefined> = {},
  ): Flag<C | undefined> {
    return choiceFlag<C | undefined>(choices, description, o);
  },
  /** A value with its own converter/validator (throw UsageError, or call `fail`). */
  custom<T>(
    description: string,
    parse: (raw: string, flag: string) => T,
    o: FlagOpts<T> & { default: T },
  ): Flag<T> {
    return valued(description, o, "value", parse);
  },
  /** Repeatable; each occurrence is parsed with `parse` (default: the raw string). */
  list<T = string>(
    description: string,
    o: Omit<FlagOpts<T[]>, "default"> & { parse?: (raw: string, flag: string) => T; default?: T[] } = {},
  ): Flag<T[]> {
    return valued(description, { ...o, default: o.default ?? [] }, "value", o.parse ?? ((raw) => raw), true);
  },
};

function choiceFlag<T extends string | undefined>(
  choices: readonly string[],
  description: string,
  o: FlagOpts<T>,
): Flag<T> {
  return valued(description, { ...o, example: o.example ?? choices[0] }, choices.join("|"), (raw, f) => {
    if (!choices.includes(raw)) fail(f, `must be one of ${choices.join(", ")}; got "${raw}"`);
    return raw;
  });
}

function parseWhole(raw: string, f: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === "" || !/^[+]?[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(n))
    fail(f, `needs a whole number, got "${raw}"`);
  if (n < min || n > max)
    fail(
      f,
      `must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `in [${min}, ${max}]`}, got ${n}`,
    );
  return n;
}

export interface Command<F extends Record<string, Flag<unknown>>> {
  /** The package.json script that runs it ("sim"), for hints. */
  script: string;
  /** The file bun runs (repo-relative, "sim/main.ts"), for hints outside npm. */
  file: string;
  /** One line: what the command does. */
  summary: string;
  /** Positional arguments, as shown in the usage line ("[name]"); none allowed when absent. */
  positionals?: { usage: string; max: number; description?: string };
  flags: F;
  /** Extra --help text after the flags (lists of providers, examples). */
  epilog?: () => string;
}

export interface Parsed<F> {
  values: Values<F>;
  positionals: string[];
  /** Flags the user gave (by table key), for "was it set?" questions. */
  given: Set<keyof F & string>;
  help: boolean;
}

/** The flag's spelling in help and errors: table key camelCase → --kebab-case. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Parses argv against the command's table. Throws UsageError on an unknown flag, a missing or bad
 * value, a repeated single-valued flag, or an unexpected positional argument.
 */
export function parse<F extends Record<string, Flag<unknown>>>(
  cmd: Command<F>,
  argv: readonly string[],
): Parsed<F> {
  const byName = new Map<string, string>(); // "packets" / "teardown-at" / "h" -> table key
  const options: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [key, f] of Object.entries(cmd.flags)) {
    const long = flagName(key).slice(2);
    byName.set(long, key);
    options[long] = f.short
      ? { type: f.kind, short: f.short, multiple: true }
      : { type: f.kind, multiple: true };
  }
  // `npm run sim -- --packets 5` passes no "--" on, but `npx bun sim/main.ts -- --packets 5` does:
  // a leading one is dropped for a command without positional arguments, where it can mean nothing.
  const args = !cmd.positionals && argv[0] === "--" ? argv.slice(1) : [...argv];
  const { tokens } = parseArgs({
    args,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  // --help wins over anything else on the line, even a typo.
  if (tokens.some((t) => t.kind === "option" && t.name === "help"))
    return { values: {} as Values<F>, positionals: [], given: new Set(), help: true };
  const raw = new Map<string, { flag: string; value: string | undefined }[]>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === "positional") {
      positionals.push(t.value);
      continue;
    }
    if (t.kind === "option-terminator") continue;
    const key = byName.get(t.name);
    if (key === undefined)
      throw new UsageError(`unknown flag ${t.rawName}${suggest(t.name, [...byName.keys()])}`);
    const f = cmd.flags[key];
    if (f.kind === "boolean") {
      if (t.inlineValue) fail(t.rawName, `takes no value (got "${t.rawName}=${t.value}")`);
    } else {
      if (t.value === undefined)
        fail(t.rawName, `needs a value${f.example ? ` (e.g. ${t.rawName} ${f.example})` : ""}`);
      // parseArgs takes the next word whatever it is; "--packets --json" is a forgotten value.
      if (!t.inlineValue && t.value.length > 1 && t.value.startsWith("-") && !/^-[0-9]/.test(t.value))
        fail(
          t.rawName,
          `needs a value, got the flag ${t.value} (write ${t.rawName}=${t.value} if you mean it)`,
        );
    }
    const list = raw.get(key) ?? [];
    list.push({ flag: t.rawName, value: t.value });
    raw.set(key, list);
  }
  const max = cmd.positionals?.max ?? 0;
  if (positionals.length > max)
    throw new UsageError(
      max === 0
        ? `unexpected argument "${positionals[0]}"`
        : `at most ${max} argument${max === 1 ? "" : "s"} (${cmd.positionals?.usage}), got ${positionals.map((p) => `"${p}"`).join(" ")}`,
    );
  const values: Record<string, unknown> = {};
  const given = new Set<keyof F & string>();
  for (const [key, f] of Object.entries(cmd.flags)) {
    const occ = raw.get(key);
    if (!occ) {
      values[key] = f.default;
      continue;
    }
    given.add(key as keyof F & string);
    if (f.kind === "boolean") values[key] = true;
    else if (f.multiple) values[key] = occ.map((o) => f.parse(o.value as string, o.flag));
    else {
      if (occ.length > 1) fail(occ[0].flag, `given ${occ.length} times; give it once`);
      values[key] = f.parse(occ[0].value as string, occ[0].flag);
    }
  }
  return { values: values as Values<F>, positionals, given, help: false };
}

/** ", did you mean --x?" for a near miss (edit distance <= 2), else "". */
function suggest(name: string, known: string[]): string {
  let best = "";
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best ? `; did you mean --${best}?` : "";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

const HELP_WIDTH = 100;

/** Word-wraps one line of help text at `width` columns. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out;
}

/** --help text: usage line, summary, every flag with its default and an example, the epilog. */
export function helpText<F extends Record<string, Flag<unknown>>>(cmd: Command<F>): string {
  const pos = cmd.positionals ? ` ${cmd.positionals.usage}` : "";
  const lines = [`usage: ${howToRun(cmd.script, cmd.file, `[options]${pos}`)}`, "", cmd.summary, ""];
  if (cmd.positionals?.description)
    lines.push(`  ${cmd.positionals.usage}  ${cmd.positionals.description}`, "");
  lines.push("options:");
  const rows: [string, string[]][] = [];
  for (const [key, f] of Object.entries(cmd.flags)) {
    const name = flagName(key);
    const left = `${f.short ? `-${f.short}, ` : ""}${name}${f.kind === "string" ? ` <${f.metavar}>` : ""}`;
    const right = [f.description];
    const def =
      f.defaultText ??
      (f.kind === "boolean"
        ? "off"
        : Array.isArray(f.default)
          ? f.default.length
            ? f.default.join(", ")
            : "none"
          : f.default === undefined
            ? "none"
            : String(f.default));
    right.push(`default: ${def}${f.multiple ? "; repeatable" : ""}`);
    if (f.kind === "string" && f.example !== undefined) right.push(`e.g. ${name} ${f.example}`);
    rows.push([left, right]);
  }
  rows.push(["-h, --help", ["print this help and exit"]]);
  const w = Math.min(30, Math.max(...rows.map(([l]) => l.length)) + 2);
  const pad = " ".repeat(w + 2);
  for (const [l, r] of rows) {
    const head = `  ${l}`;
    const right = r.flatMap((x) => wrap(x, HELP_WIDTH - pad.length));
    if (head.length + 1 > w + 2) lines.push(head, ...right.map((x) => pad + x));
    else lines.push(head.padEnd(w + 2) + right[0], ...right.slice(1).map((x) => pad + x));
  }
  const epi = cmd.epilog?.();
  if (epi) lines.push("", epi);
  return lines.join("\n");
}

// --- where the command was run from, and how to name it ---------------------------------------

/** True when this process is the package.json script `script` run by npm or bun (`npm run sim`). */
export function viaScript(script: string, env: NodeJS.ProcessEnv = process.env): boolean {
  // npm_lifecycle_event is inherited by children: `npm test` spawning sim sees "test", not "sim".
  return env.npm_lifecycle_event === script;
}

/**
 * The directory the user ran the command from. `npm run` and `bun run` change cwd to the package
 * root; npm (and npx) record the original in INIT_CWD, Bun 1.4 (no INIT_CWD) in
 * npm_config_local_prefix, which npm itself uses for the package root. A direct
 * `npx bun sim/main.ts` keeps cwd.
 */
export function userCwd(script: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!viaScript(script, env)) return process.cwd();
  if (env.INIT_CWD) return env.INIT_CWD;
  if (env.npm_config_user_agent?.startsWith("bun/") && env.npm_config_local_prefix)
    return env.npm_config_local_prefix;
  return process.cwd();
}

/** A user-given path, made absolute against the directory the user ran the command from. */
export function userPath(script: string, p: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(userCwd(script, env), p);
}

/**
 * How to run `script` (a package.json script) with `args` so it works where this process was run:
 * `npm run <script> -- <args>` when we were started by npm/bun as a package script, else
 * `npx bun <file> <args>` (works from the repo root on a Node+npm machine).
 */
export function howToRun(
  script: string,
  file: string,
  args = "",
  env: NodeJS.ProcessEnv = process.env,
): string {
  const pkgScript = Boolean(env.npm_lifecycle_event) && env.npm_lifecycle_event !== "npx";
  if (pkgScript) {
    if (script === "test") return `npm test${args ? ` -- ${args}` : ""}`;
    return `npm run ${script}${args ? ` -- ${args}` : ""}`;
  }
  if (script === "test") return `npx bun test${args ? ` ${args}` : ""}`;
  return `npx bun ${file}${args ? ` ${args}` : ""}`;
}

/** The repo's package scripts → file, for hints naming another command ("run codegen"). */
export const SCRIPT_FILES: Readonly<Record<string, string>> = {
  sim: "sim/main.ts",
  codegen: "codegen/cli.ts",
  "new-provider": "codegen/new-provider.ts",
  bench: "bench/run.ts",
  test: "test",
};

/** `hint("codegen")` → "npm run codegen" or "npx bun codegen/cli.ts". */
export function hint(script: string, args = "", env: NodeJS.ProcessEnv = process.env): string {
  return howToRun(script, SCRIPT_FILES[script] ?? script, args, env);
}

/**
 * True when npm (not `-s`) printed its "> pagepool@0.1.0 sim" banner on stdout before us, so
 * stdout is not pure JSON: the caller warns on stderr and says to use `npm run -s`.
 */
export function npmBannerOnStdout(script: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return viaScript(script, env) && env.npm_command === "run" && env.npm_config_loglevel !== "silent";
}

// --- output that is never lost ------------------------------------------------------------------

/**
 * Where results go: "-" (stdout) or a file. {@link openOutput} checks a file can be written
 * BEFORE any work; {@link Output.write} never loses the results: if the write fails anyway
 * (disk full, EPIPE on stdout) they go to a temp file and stderr says where.
 */
export interface Output {
  /** "-" or the absolute path. */
  readonly target: string;
  readonly toStdout: boolean;
  /** Writes all of `text`; returns the path written (the temp file on fallback). */
  write(text: string): string;
}

/** Checks `spec` ("-" or a path, relative to the user's directory) is writable; UsageError if not. */
export function openOutput(
  cmdName: string,
  flagSpelling: string,
  spec: string,
  script: string,
  env: NodeJS.ProcessEnv = process.env,
): Output {
  if (spec === "-") {
    return {
      target: "-",
      toStdout: true,
      write: (text) => writeOrSave(cmdName, "stdout", text, () => writeAll(1, text)),
    };
  }
  const path = userPath(script, spec, env);
  const problem = unwritable(path);
  if (problem) fail(flagSpelling, `${spec}: ${problem}`);
  return {
    target: path,
    toStdout: false,
    write: (text) => writeOrSave(cmdName, path, text, () => writeFileSync(path, text)),
  };
}

/** Why `path` cannot be written as a file (no directory, not writable, is a directory), or null. */
export function unwritable(path: string): string | null {
  const dir = dirname(path);
  if (!existsSync(dir)) return `directory ${dir} does not exist`;
  if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) return "is a directory";
    try {
      accessSync(path, constants.W_OK);
    } catch {
      return "is not writable";
    }
    return null;
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return `directory ${dir} is not writable`;
  }
  return null;
}

function writeOrSave(cmdName: string, where: string, text: string, write: () => void): string {
  try {
    write();
    return where;
  } catch (e) {
    const saved = join(tmpdir(), `pagepool-${cmdName}-${process.pid}-${Date.now()}.json`);
    try {
      writeFileSync(saved, text);
    } catch (e2) {
      // Last resort: the results on stderr rather than nowhere.
      process.stderr.write(
        `${cmdName}: could not write ${where} (${(e as Error).message}) nor ${saved} (${(e2 as Error).message}); results follow on stderr\n${text}\n`,
      );
      return "stderr";
    }
    process.stderr.write(
      `${cmdName}: could not write ${where === "stdout" ? "to stdout" : relativeToCwd(where)} (${(e as Error).message}); results saved to ${saved}\n`,
    );
    return saved;
  }
}

function relativeToCwd(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith("..") ? p : r;
}

/**
 * Writes results to stdout. A reader that went away (`| head`) wants nothing more: the command
 * ends quietly with 0 rather than a stack trace. (JSON goes through {@link Output}, which saves
 * the document to a temp file instead.)
 */
export function printOut(text: string): void {
  try {
    writeAll(1, text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EPIPE") process.exit(0);
    throw e;
  }
}

/** Writes every byte to fd (a pipe may take it in pieces, or say EAGAIN when non-blocking). */
export function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    }
  }
}

// --- the main wrapper ---------------------------------------------------------------------------

export interface RunOptions {
  /** Name in messages ("sim"). */
  name: string;
  /** Errors of these classes print their message only (no stack), exit 1. */
  expected?: (new (
    ...a: never[]
  ) => Error)[];
}

/** Exit code and line for an error; exported for tests. */
export function errorExit(
  e: unknown,
  o: RunOptions,
  script: string,
  file: string,
): { code: number; text: string } {
  if (e instanceof UsageError)
    return { code: 2, text: `${o.name}: ${e.message}\ntry ${howToRun(script, file, "--help")}` };
  if (e instanceof Error && e.name === "ExitPromptError")
    return { code: 130, text: `${o.name}: interrupted` };
  if (e instanceof Error && o.expected?.some((c) => e instanceof c))
    return { code: 1, text: `${o.name}: ${e.message}` };
  return {
    code: 1,
    text: `${o.name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
  };
}

/**
 * Parses argv (printing --help), runs `body`, and maps errors to exit codes (UsageError 2,
 * ExitPromptError 130, `expected` 1 with the message only, others 1 with the stack). Returns the
 * exit code; tests call this, commands call {@link runMain}.
 */
export async function execute<F extends Record<string, Flag<unknown>>>(
  cmd: Command<F>,
  o: RunOptions,
  body: (p: Parsed<F>) => Promise<number> | number,
  argv: readonly string[],
): Promise<number> {
  try {
    const p = parse(cmd, argv);
    if (p.help) {
      writeAll(1, `${helpText(cmd)}\n`);
      return 0;
    }
    return await body(p);
  } catch (e) {
    const r = errorExit(e, o, cmd.script, cmd.file);
    process.stderr.write(`${r.text}\n`);
    return r.code;
  }
}

/** {@link execute} as a process: Ctrl-C prints one line and exits 130; exits with the code. */
export async function runMain<F extends Record<string, Flag<unknown>>>(
  cmd: Command<F>,
  o: RunOptions,
  body: (p: Parsed<F>) => Promise<number> | number,
  argv: readonly string[] = process.argv.slice(2),
): Promise<never> {
  process.on("SIGINT", () => {
    // On a terminal the echoed ^C has no newline after it.
    process.stderr.write(`${process.stderr.isTTY ? "\n" : ""}${o.name}: interrupted\n`);
    process.exit(130);
  });
  process.exit(await execute(cmd, o, body, argv));
}
