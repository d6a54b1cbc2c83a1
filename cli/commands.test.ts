/**
 * Every command as a user runs it, in a subprocess: --help, each rejection issue 13 listed, exit
 * codes, JSON that parses under `npm run -s` and `npx bun run`, and the kernel-shaped formats
 * against the netdev spec's names. The environment is a user's shell (no npm variables) unless a
 * test says otherwise, so hints and paths do not depend on how the test runner was started.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeRepoCopy } from "../codegen/repo-copy.ts";
import { REPO_ROOT } from "./args.ts";

setDefaultTimeout(120_000);

/** process.env without what npm or bun put there for the test runner itself. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(npm_|INIT_CWD$|PAGEPOOL_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function sh(
  cmd: readonly string[],
  o: { cwd?: string; env?: Record<string, string> } = {},
): { code: number; out: string; err: string } {
  const p = Bun.spawnSync([...cmd], {
    cwd: o.cwd ?? REPO_ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: o.env ?? userEnv(),
  });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

const bun = (args: readonly string[], o: { cwd?: string; env?: Record<string, string> } = {}) =>
  sh([process.execPath, ...args], o);

const tmp = mkdtempSync(join(tmpdir(), "pp-commands-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("codegen", () => {
  test("--plugins adds a directory to plugins/ (several allowed); a missing one is exit 2 naming it", () => {
    const out = join(tmp, "gen");
    const r = bun([
      "codegen/cli.ts",
      "--check",
      "--plugins",
      "codegen/fixtures/good/plugins",
      "--plugins=codegen/fixtures/good/plugins",
      "--out",
      out,
    ]);
    // --check against an empty --out: every file is "out of date", and the diff shows them all.
    expect(r.code).toBe(1);
    const registry = r.out.slice(r.out.indexOf("b/"));
    for (const p of ["alphaOps", "betaTwoOps", "basicOps", "zcrxOps"]) expect(registry).toContain(p);
    const missing = bun(["codegen/cli.ts", "--plugins", "/nonexistent/plugins"]);
    expect(missing.code).toBe(2);
    expect(missing.out).toBe("");
    expect(missing.err).toBe(
      "codegen: --plugins /nonexistent/plugins: no such directory\ntry npx bun codegen/cli.ts --help\n",
    );
  });

  test("a scan that finds no provider is refused: exit 1, the registry is not emptied", () => {
    const copy = makeRepoCopy([]);
    try {
      const reg = join(copy.root, "core", "generated", "registry.generated.ts");
      const before = readFileSync(reg, "utf8");
      const r = bun(["codegen/cli.ts"], { cwd: copy.root });
      expect(r.code).toBe(1);
      expect(r.err).toContain("codegen: no provider found in");
      expect(r.err).toContain("refusing to write a registry with none (nothing written)");
      expect(readFileSync(reg, "utf8")).toBe(before);
    } finally {
      copy.dispose();
    }
  });

  test("--help lists every flag with its default; unknown flags exit 2", () => {
    const h = bun(["codegen/cli.ts", "--help"]);
    expect(h.code).toBe(0);
    for (const f of ["--check", "--profile", "--plugins", "--out", "--help"]) expect(h.out).toContain(f);
    expect(h.out).toContain("default: core/generated");
    const bad = bun(["codegen/cli.ts", "--chek"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toStartWith("codegen: unknown flag --chek; did you mean --check?\n");
  });
});

describe("new-provider", () => {
  test("--help on stdout; a second name, or no name without a terminal, is exit 2", () => {
    const h = bun(["codegen/new-provider.ts", "--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toContain("--description <text>");
    expect(h.out).toContain("[name]");
    expect(h.err).toBe("");
    const two = bun(["codegen/new-provider.ts", "a", "b"]);
    expect(two.code).toBe(2);
    expect(two.err).toContain('at most 1 argument ([name]), got "a" "b"');
    const none = bun(["codegen/new-provider.ts"]);
    expect(none.code).toBe(2);
    expect(none.err).toBe(
      "new-provider: no name given and no terminal to ask on\ntry npx bun codegen/new-provider.ts --help\n",
    );
  });
});
