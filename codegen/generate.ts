/**
 * generate(): inspect + emit + (optionally) write, the programmatic API behind `bun run codegen`
 * and the one the benchmark uses to build dispatchers over extra synthetic providers.
 * See codegen/README.md for the options, the config file and the profile format.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { createTwoFilesPatch } from "diff";
import { emit, ICALL_MAX_N, type IcallConfig, type Profile } from "./emit.ts";
import { emitFixtures } from "./emit-fixtures.ts";
import { emitNative } from "./emit-native.ts";
import { inspect, type Model, type Problem } from "./inspect.ts";

/** The repo this file lives in. */
export const REPO_ROOT = resolve(import.meta.dir, "..");

export interface GenerateOptions {
  root?: string;
  /** Dirs holding `<name>/provider.ts`; default ["plugins"]. Relative to root or absolute. */
  pluginsDirs?: readonly string[];
  /** Default "core/generated". Relative to root or absolute. */
  outDir?: string;
  /** Write changed files (default false: only compute). */
  write?: boolean;
  /** Overrides the config file's icallWrapper. */
  icall?: Partial<IcallConfig>;
  /** A profile file (see README) or object: per-op order of the icall-wrapper's likely targets. */
  profile?: string | Profile;
  /** Default "codegen/dispatch.config.json" (missing file = defaults). */
  configPath?: string;
}

export interface GenerateResult {
  model: Model;
  problems: Problem[];
  /** Every generated file (absolute path -> text); empty when there are problems. */
  files: Map<string, string>;
  /** Absolute paths whose bytes differ from what is on disk (written when `write`). */
  changed: string[];
}

const DEFAULT_ICALL: IcallConfig = { n: 2, order: [] };

class ConfigError extends Error {}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`${what} ${path}: ${(e as Error).message}`);
  }
}

function checkIcall(v: unknown, where: string): Partial<IcallConfig> & { profile?: string } {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ConfigError(`${where}: icallWrapper must be an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!["n", "order", "profile"].includes(k))
      throw new ConfigError(`${where}: unknown key icallWrapper.${k}`);
  if (o.n !== undefined && (!Number.isInteger(o.n) || (o.n as number) < 0 || (o.n as number) > ICALL_MAX_N))
    throw new ConfigError(`${where}: icallWrapper.n must be an integer in [0, ${ICALL_MAX_N}]`);
  if (o.order !== undefined && (!Array.isArray(o.order) || o.order.some((x) => typeof x !== "string")))
    throw new ConfigError(`${where}: icallWrapper.order must be an array of provider names`);
  if (o.profile !== undefined && typeof o.profile !== "string")
    throw new ConfigError(`${where}: icallWrapper.profile must be a path`);
  return o as Partial<IcallConfig> & { profile?: string };
}

/** Validates a profile object (untrusted: the benchmark or a user wrote it). */
export function checkProfile(v: unknown, where: string): Profile {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ConfigError(`${where}: not an object`);
  const counts = (v as { counts?: unknown }).counts;
  if (typeof counts !== "object" || counts === null || Array.isArray(counts))
    throw new ConfigError(`${where}: "counts" must be an object of provider -> op -> count`);
  for (const [name, ops] of Object.entries(counts)) {
    if (typeof ops !== "object" || ops === null || Array.isArray(ops))
      throw new ConfigError(`${where}: counts.${name} must be an object of op -> count`);
    for (const [op, n] of Object.entries(ops))
      if (typeof n !== "number" || !Number.isFinite(n) || n < 0)
        throw new ConfigError(`${where}: counts.${name}.${op} must be a non-negative number`);
  }
  return { counts: counts as Profile["counts"] };
}

const abs = (root: string, p: string) => (isAbsolute(p) ? p : resolve(root, p));
const posix = (p: string) => p.split(sep).join("/");

export async function generate(opts: GenerateOptions = {}): Promise<GenerateResult> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const pluginsDirs = opts.pluginsDirs ?? ["plugins"];
  const outDir = abs(root, opts.outDir ?? "core/generated");
  const configPath = abs(root, opts.configPath ?? "codegen/dispatch.config.json");
  const cfg = existsSync(configPath)
    ? checkIcall((readJson(configPath, "config") as { icallWrapper?: unknown }).icallWrapper, configPath)
    : {};
  const icall: IcallConfig = {
    n: opts.icall?.n ?? cfg.n ?? DEFAULT_ICALL.n,
    order: opts.icall?.order ?? cfg.order ?? DEFAULT_ICALL.order,
  };
  checkIcall(icall, "icall option");
  let profile: Profile | null = null;
  let profileName: string | undefined;
  const prof = opts.profile ?? cfg.profile;
  if (typeof prof === "string") {
    const p = abs(root, prof);
    if (!existsSync(p)) throw new ConfigError(`profile ${p} does not exist`);
    profile = checkProfile(readJson(p, "profile"), p);
    profileName = posix(relative(root, p));
  } else if (prof) {
    profile = checkProfile(prof, "profile option");
    profileName = "the profile option";
  }

  const relDirs = pluginsDirs.map((d) => (isAbsolute(d) ? posix(relative(root, d)) : posix(d)));
  const model = inspect({ root, pluginsDirs });
  if (model.problems.length > 0) return { model, problems: model.problems, files: new Map(), changed: [] };
  const files = emit(model.providers, { root, outDir, pluginsDirs: relDirs, icall, profile, profileName });
  // The fixture registry (codegen/emit-fixtures.ts): kept out of emit() and the dispatchers.
  for (const [path, text] of emitFixtures(model.providers, { root, outDir, pluginsDirs: relDirs }))
    files.set(path, text);
  // The native bench's C sources (codegen/emit-native.ts): from the project's own plugin set only.
  if (opts.outDir === undefined && opts.pluginsDirs === undefined)
    for (const [path, text] of emitNative(model.providers, { root, pluginsDirs: relDirs, icall }))
      files.set(path, text);
  const changed: string[] = [];
  for (const [path, text] of files) {
    const old = existsSync(path) ? readFileSync(path, "utf8") : null;
    if (old === text) continue;
    changed.push(path);
    if (opts.write) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  }
  return { model, problems: [], files, changed };
}

/** Unified diff of every changed file against disk (what `--check` prints). */
export function driftDiff(root: string, r: GenerateResult): string {
  let out = "";
  for (const path of r.changed) {
    const old = existsSync(path) ? readFileSync(path, "utf8") : "";
    const rel = posix(relative(root, path));
    out += createTwoFilesPatch(`a/${rel}`, `b/${rel}`, old, r.files.get(path) ?? "", "on disk", "generated");
  }
  return out;
}

export { ConfigError };

/** Convenience for callers that only want the files for a set of plugins, written. */
export async function regenerate(root: string = REPO_ROOT): Promise<GenerateResult> {
  return generate({ root, write: true });
}

export const DEFAULT_OUT_DIR = join("core", "generated");
