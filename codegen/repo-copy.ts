/**
 * Test support: a throwaway copy of the repo (the core, codegen, templates, the simulator, the
 * bench (without its results and build output), the conformance suite and the fixture contract,
 * the chosen plugins and the config files; node_modules symlinked), so scaffolding, codegen, the
 * simulator and a bench child can run for real without touching the working tree. Only the plugins named are copied, so another
 * plugin in progress cannot break these tests.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./generate.ts";

const FILES = ["package.json", "tsconfig.json", "bunfig.toml", "biome.json"];
const DIRS = ["cli", "core", "codegen", "templates", "sim", "bench"];
/** Not copied: codegen's test fixtures, the bench's results and generated build output. */
const SKIP = [
  join(REPO_ROOT, "codegen", "fixtures"),
  join(REPO_ROOT, "bench", "results"),
  join(REPO_ROOT, "bench", ".synthetic"),
  join(REPO_ROOT, "bench", ".build"),
];
/** The files directly in plugins/ every plugin builds on. */
const PLUGIN_FILES = ["conformance.case.ts", "fixture.ts", "stack-model.ts"];

export function makeRepoCopy(plugins: readonly string[] = ["basic"]): { root: string; dispose(): void } {
  const root = mkdtempSync(join(tmpdir(), "pagepool-copy-"));
  for (const f of FILES) cpSync(join(REPO_ROOT, f), join(root, f));
  for (const d of DIRS)
    cpSync(join(REPO_ROOT, d), join(root, d), {
      recursive: true,
      filter: (src) => !SKIP.some((d) => src === d || src.startsWith(`${d}/`)),
    });
  mkdirSync(join(root, "plugins"));
  for (const f of PLUGIN_FILES) cpSync(join(REPO_ROOT, "plugins", f), join(root, "plugins", f));
  for (const p of plugins)
    cpSync(join(REPO_ROOT, "plugins", p), join(root, "plugins", p), { recursive: true });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"), "dir");
  return { root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Runs Bun (this very binary) in `cwd`; returns the exit code (-1 when killed, e.g. after
 * `timeoutMs`) and both outputs. stdin is closed so nothing can wait on a terminal.
 */
export function runBun(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 240_000,
): { code: number; out: string; err: string } {
  const p = Bun.spawnSync([process.execPath, ...args], {
    cwd,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}
