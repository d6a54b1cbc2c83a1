/**
 * Builds the native harness (bench/native/harness.c + the generated C) with the system compiler in
 * the four flavours under bench/native/.build/ (gitignored): objects once per flavour, then one
 * binary per link-order layout. Builds are reused while the compiler, its flags and every source
 * byte are unchanged (the directory name is a hash of them). `PAGEPOOL_CC` overrides `cc`; a compiler that cannot be run means "no compiler".
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { mulberry32 } from "../lib/rng.ts";

export const NATIVE_DIR = resolve(import.meta.dir);
export const BUILD_DIR = join(NATIVE_DIR, ".build");
const GEN_DIR = join(NATIVE_DIR, "generated");

/**
 * Flags of every flavour. -fno-jump-tables keeps the if-chain a chain of compares and direct calls
 * in every flavour: gcc 12 turns the 16-way chain into a jump table (an indirect jump) at -O2, but
 * not under -mindirect-branch=thunk, so without it the plain and retpoline if-chains would be
 * different code. -fcf-protection is set explicitly both ways because some distributions' gcc
 * enables it by default, and the retpoline flags refuse to combine with it.
 */
export const BASE_FLAGS = ["-O2", "-std=gnu11", "-fno-jump-tables", "-fno-lto"];

export const FLAVOURS: Readonly<Record<string, readonly string[]>> = {
  plain: ["-fcf-protection=none"],
  retpoline: ["-fcf-protection=none", "-mindirect-branch=thunk", "-mindirect-branch-register"],
  "retpoline+rethunk": [
    "-fcf-protection=none",
    "-mindirect-branch=thunk",
    "-mindirect-branch-register",
    "-mfunction-return=thunk",
  ],
  ibt: ["-fcf-protection=branch"],
};
export const FLAVOUR_NAMES = Object.keys(FLAVOURS);

export function ccCommand(): string {
  return process.env.PAGEPOOL_CC || "cc";
}

/** `cc --version`'s first line, or null when the compiler cannot be run. */
export function compilerVersion(cc = ccCommand()): string | null {
  try {
    const p = Bun.spawnSync([cc, "--version"], { stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0) return null;
    return p.stdout.toString().split("\n")[0].trim() || cc;
  } catch {
    return null;
  }
}

function sources(): string[] {
  const gen = readdirSync(GEN_DIR)
    .filter((f) => f.endsWith(".generated.c"))
    .sort()
    .map((f) => join(GEN_DIR, f));
  return [join(NATIVE_DIR, "harness.c"), ...gen];
}

function headers(): string[] {
  return [join(NATIVE_DIR, "pp.h"), join(NATIVE_DIR, "pool-impl.h"), join(GEN_DIR, "mp.generated.h")];
}

export interface Built {
  flavour: string;
  /** Every flag passed to the compiler. */
  flags: string[];
  /** The binary of layout 0 (sources linked in their natural order). */
  bin?: string;
  /** One binary per layout: layout k links the same objects in another seeded order. */
  bins?: string[];
  /** The compiler's message when the flavour does not build (e.g. x86 flags on another target). */
  error?: string;
}

async function exec(argv: string[], cwd?: string): Promise<string | null> {
  const p = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  return code === 0 ? null : err.trim().split("\n").slice(0, 3).join(" | ") || `exit ${code}`;
}

/** Layout k's link order: layout 0 is the natural one, others a seeded shuffle (never the same). */
export function linkOrder<T>(xs: readonly T[], layout: number): T[] {
  const out = [...xs];
  if (layout === 0) return out;
  const rand = mulberry32(0x1a7 + layout);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  if (out.every((x, i) => x === xs[i])) out.reverse();
  return out;
}

/**
 * Builds one flavour: every source compiled once, then linked `layouts` times in different orders
 * (code placement shifts every function, which is worth a few percent on its own; the leg gives
 * each launch another layout so that the launch level of its intervals covers placement). Extra
 * flags (e.g. a test's -D) make a separate build.
 */
export async function buildFlavour(
  flavour: string,
  extra: readonly string[] = [],
  cc = ccCommand(),
  layouts = 1,
): Promise<Built> {
  const fl = FLAVOURS[flavour];
  if (!fl) throw new Error(`unknown native flavour ${flavour} (known: ${FLAVOUR_NAMES.join(", ")})`);
  const flags = [...BASE_FLAGS, ...fl, ...extra];
  const h = createHash("sha256").update(JSON.stringify([cc, compilerVersion(cc), flags]));
  const srcs = sources();
  for (const f of [...srcs, ...headers()]) h.update(f).update(readFileSync(f));
  const dir = join(BUILD_DIR, `${flavour.replace(/[^a-z0-9]+/g, "-")}-${h.digest("hex").slice(0, 12)}`);
  const objs = srcs.map((f) => join(dir, `${basename(f, ".c")}.o`));
  if (!objs.every((o) => existsSync(o))) {
    const tmp = join(dir, `obj-${process.pid}`);
    mkdirSync(tmp, { recursive: true });
    const err = await exec([cc, ...flags, "-c", ...srcs], tmp);
    if (err) return { flavour, flags, error: err };
    for (const o of objs) renameSync(join(tmp, basename(o)), o);
    rmSync(tmp, { recursive: true, force: true });
  }
  const bins: string[] = [];
  for (let k = 0; k < Math.max(1, layouts); k++) {
    const bin = join(dir, k === 0 ? "harness" : `harness-layout${k}`);
    if (!existsSync(bin)) {
      const tmp = `${bin}.tmp${process.pid}`;
      const err = await exec([cc, ...flags, "-o", tmp, ...linkOrder(objs, k)]);
      if (err) return { flavour, flags, error: err };
      renameSync(tmp, bin);
    }
    bins.push(bin);
  }
  return { flavour, flags, bin: bins[0], bins };
}
