/**
 * Builds the native harness (bench/native/harness.c + the generated C) with the system compiler in
 * the four flavours, one binary each under bench/native/.build/ (gitignored). A binary is reused
 * while the compiler, its flags and every source byte are unchanged (the directory name is a hash
 * of them). `PAGEPOOL_CC` overrides `cc`; a compiler that cannot be run means "no compiler".
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";

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
  bin?: string;
  /** The compiler's message when the flavour does not build (e.g. x86 flags on another target). */
  error?: string;
}

/** Builds one flavour (extra flags, e.g. a test's -D, make a separate binary). */
export async function buildFlavour(
  flavour: string,
  extra: readonly string[] = [],
  cc = ccCommand(),
): Promise<Built> {
  const fl = FLAVOURS[flavour];
  if (!fl) throw new Error(`unknown native flavour ${flavour} (known: ${FLAVOUR_NAMES.join(", ")})`);
  const flags = [...BASE_FLAGS, ...fl, ...extra];
  const h = createHash("sha256").update(JSON.stringify([cc, compilerVersion(cc), flags]));
  for (const f of [...sources(), ...headers()]) h.update(f).update(readFileSync(f));
  const dir = join(BUILD_DIR, `${flavour.replace(/[^a-z0-9]+/g, "-")}-${h.digest("hex").slice(0, 12)}`);
  const bin = join(dir, "harness");
  if (existsSync(bin)) return { flavour, flags, bin };
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.tmp${process.pid}`;
  const p = Bun.spawn([cc, ...flags, "-o", tmp, ...sources()], { stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) return { flavour, flags, error: err.trim().split("\n").slice(0, 3).join(" | ") };
  renameSync(tmp, bin);
  return { flavour, flags, bin };
}
