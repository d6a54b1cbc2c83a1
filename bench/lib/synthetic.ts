/**
 * Build-time side of the runner (runs in the runner's process, never in a measured one):
 * renders synthetic providers from the scaffold template (codegen's renderScaffold) into the
 * gitignored bench/.synthetic/plugins/, and has codegen's generate() emit dispatcher sets over
 * them (and profile-guided icall-wrapper builds) into bench/.synthetic/<set>/. The runner links a
 * measured process to one of these files by bundling with `#dispatch` redirected to it.
 *
 * The floor set: "floor" providers rendered from bench/templates/floor-provider.ts.hbs into
 * bench/.synthetic/floor-plugins/ (the scaffold's bodies do real allocator work; these do the least
 * the contract allows), and a dispatcher set over them alone (bench/.synthetic/floor/).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { codeHandlebars, HBS_OPTIONS } from "../../codegen/emit.ts";
import { generate } from "../../codegen/generate.ts";
import { camel } from "../../codegen/inspect.ts";
import { renderScaffold } from "../../codegen/new-provider.ts";

export const BENCH_DIR = resolve(import.meta.dir, "..");
export const ROOT = resolve(BENCH_DIR, "..");
export const SYNTH_DIR = join(BENCH_DIR, ".synthetic");

/** Names of synthetic providers start with this (bench/lib/world.ts does not read names). */
export const SYNTHETIC_PREFIX = "synth-";

/** Names of floor providers start with this; they are only ever in the floor set's dispatchers. */
export const FLOOR_PREFIX = "floor-";

export function syntheticName(i: number): string {
  return `${SYNTHETIC_PREFIX}${String(i + 1).padStart(2, "0")}`;
}

/**
 * Writes `count` synthetic providers (index.ts + provider.ts only: their tests are not the
 * benchmark's business) under bench/.synthetic/plugins/, replacing what was there.
 */
export function writeSyntheticProviders(count: number): string[] {
  const dir = join(SYNTH_DIR, "plugins");
  rmSync(dir, { recursive: true, force: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = syntheticName(i);
    const files = renderScaffold(ROOT, name, "synthetic provider for the dispatch sweep (bench only).");
    const pdir = join(dir, name);
    mkdirSync(pdir, { recursive: true });
    for (const f of ["index.ts", "provider.ts"]) {
      // The template imports the core as ../../core from plugins/<name>/; this folder is two deeper.
      const text = files.get(f)!.replaceAll('"../../core/', '"../../../../core/');
      writeFileSync(join(pdir, f), text);
    }
    names.push(name);
  }
  return names;
}

export const FLOOR_PLUGINS_DIR = join(SYNTH_DIR, "floor-plugins");
export const FLOOR_TEMPLATE = join(BENCH_DIR, "templates", "floor-provider.ts.hbs");

export function floorName(i: number): string {
  return `${FLOOR_PREFIX}${String(i + 1).padStart(2, "0")}`;
}

/** Renders floor provider `name` (provider.ts text) from the bench's template. */
export function renderFloorProvider(name: string): string {
  const hb = codeHandlebars();
  // As codegen's scaffold: Biome prints a plain identifier key unquoted and a dashed one quoted.
  const nlKey = /^[a-z][a-z0-9]*$/.test(name) ? name : `"${name}"`;
  return hb.compile(readFileSync(FLOOR_TEMPLATE, "utf8"), HBS_OPTIONS)({ name, camel: camel(name), nlKey });
}

/**
 * Writes `count` floor providers (provider.ts only) under `dir` (default
 * bench/.synthetic/floor-plugins/; another dir must also sit directly in bench/.synthetic/, since
 * the template's imports are relative), replacing what was there; returns their names.
 */
export function writeFloorProviders(count: number, dir = FLOOR_PLUGINS_DIR): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 99)
    throw new RangeError(`floor provider count must be an integer in [1, 99], got ${count}`);
  if (resolve(dir, "..") !== SYNTH_DIR)
    throw new Error(`floor providers must be written to a dir directly in ${SYNTH_DIR}, not ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = floorName(i);
    const pdir = join(dir, name);
    mkdirSync(pdir, { recursive: true });
    writeFileSync(join(pdir, "provider.ts"), renderFloorProvider(name));
    names.push(name);
  }
  return names;
}

/** The profile format codegen reads (codegen/README.md). */
export interface Profile {
  counts: Record<string, Record<string, number>>;
}

/** Emits one dispatcher set with codegen into bench/.synthetic/<outName>/; returns its dir. */
export async function emitSet(opts: {
  outName: string;
  withSynthetic: boolean;
  /** Plugin dirs to generate over instead (the floor set: its own providers only). */
  pluginsDirs?: string[];
  profile?: Profile;
}): Promise<string> {
  const outDir = join(SYNTH_DIR, opts.outName);
  const pluginsDirs =
    opts.pluginsDirs ?? (opts.withSynthetic ? ["plugins", join(SYNTH_DIR, "plugins")] : ["plugins"]);
  const r = await generate({ root: ROOT, pluginsDirs, outDir, write: true, profile: opts.profile });
  if (r.problems.length)
    throw new Error(
      `codegen refused the benchmark's plugin set:\n${r.problems.map((p) => `[${p.file}:${p.line}]: ${p.message}`).join("\n")}`,
    );
  return outDir;
}

export function dispatchFile(setDir: string, variant: string): string {
  const f = join(setDir, `dispatch-${variant}.generated.ts`);
  if (!existsSync(f)) throw new Error(`codegen did not emit ${f}`);
  return f;
}
