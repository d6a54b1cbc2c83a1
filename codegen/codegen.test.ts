/**
 * Codegen on fixture plugins (codegen/fixtures/: excluded from tsconfig and biome): inspection of
 * a good set and of each kind of bad plugin, emit determinism, the icall order from config and
 * profile, `--check` drift detection and the CLI's exit codes.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  emit,
  formatGenerated,
  headerLine,
  icallTargets,
  importStmt,
  listLiteral,
  VARIANTS,
} from "./emit.ts";
import { checkProfile, driftDiff, generate, REPO_ROOT } from "./generate.ts";
import { formatProblem, inspect, KEBAB_RE } from "./inspect.ts";

// These tests spawn Bun processes (codegen, bun test, the workload); bunfig's [test] timeout is
// not applied by Bun 1.4.4, so set it here. No test asserts on wall-clock time.
setDefaultTimeout(300_000);

const FIX = "codegen/fixtures";
const tmp = mkdtempSync(join(tmpdir(), "pagepool-codegen-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function bun(args: string[]): { code: number; out: string; err: string } {
  const p = Bun.spawnSync([process.execPath, ...args], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

describe("inspect", () => {
  test("good plugins: a plain model sorted by name, kinds = 1-based index, clashing names aliased", () => {
    const m = inspect({ root: REPO_ROOT, pluginsDirs: [`${FIX}/good/plugins`] });
    expect(m.problems).toEqual([]);
    const plain = m.providers.map((p) => ({
      name: p.name,
      kind: p.kind,
      relFile: p.relFile,
      opsExport: p.opsExport,
      ops: p.ops,
    }));
    expect(plain).toEqual([
      {
        name: "alpha",
        kind: 1,
        relFile: `${FIX}/good/plugins/alpha/provider.ts`,
        opsExport: "alphaOps",
        ops: {
          allocNetmems: { fn: "alphaAlloc", local: "alphaAlloc" },
          releaseNetmem: { fn: "alphaRelease", local: "alphaRelease" },
          init: { fn: "sharedInit", local: "alpha$sharedInit" },
          destroy: { fn: "alphaDestroy", local: "alphaDestroy" },
          nlFill: { fn: "alphaNlFill", local: "alphaNlFill" },
          uninstall: { fn: "alphaUninstall", local: "alphaUninstall" },
        },
      },
      {
        name: "beta-two",
        kind: 2,
        relFile: `${FIX}/good/plugins/beta-two/provider.ts`,
        opsExport: "betaTwoOps",
        ops: {
          allocNetmems: { fn: "betaAlloc", local: "betaAlloc" },
          releaseNetmem: { fn: "betaRelease", local: "betaRelease" },
          init: { fn: "sharedInit", local: "betaTwo$sharedInit" },
          destroy: { fn: "sharedInit", local: "betaTwo$sharedInit" },
          nlFill: null,
          uninstall: null,
        },
      },
    ]);
  });

  test("the op lists are read from MemoryProviderOps (methods; `?` makes one optional)", () => {
    const m = inspect({ root: REPO_ROOT, pluginsDirs: ["plugins"] });
    expect(m.contract).toEqual({
      required: ["allocNetmems", "releaseNetmem", "init", "destroy"],
      optional: ["nlFill", "uninstall"],
      all: ["allocNetmems", "releaseNetmem", "init", "destroy", "nlFill", "uninstall"],
    });
    for (const p of m.providers) expect(Object.keys(p.ops)).toEqual([...m.contract.all]);
  });

  test("the real plugins inspect cleanly and basic is registered", () => {
    const m = inspect({ root: REPO_ROOT, pluginsDirs: ["plugins"] });
    expect(m.problems.map(formatProblem)).toEqual([]);
    expect(m.providers.map((p) => p.name)).toContain("basic");
  });

  test("each kind of bad plugin is refused with [file:line] and a clear message", () => {
    const m = inspect({ root: REPO_ROOT, pluginsDirs: [`${FIX}/bad/plugins`] });
    expect(m.providers).toEqual([]);
    const f = (c: string) => `${FIX}/bad/plugins/${c}/provider.ts`;
    expect(m.problems.map(formatProblem)).toEqual([
      `[${f("arrow-const")}:5]: allocNetmems must be an exported named function: xAlloc is a variable, not a module-level function declaration`,
      `[${f("bad-case")}:14]: name "Bad_Case" is not kebab-case (e.g. "my-provider")`,
      `[${f("folder-mismatch")}:14]: name "something-else" must equal the folder name "folder-mismatch"`,
      `[${f("imported-op")}:19]: destroy must be an exported named function declared in this file (basicDestroy is imported)`,
      `[${f("inline-fn")}:16]: releaseNetmem must be an exported named function, not an inline function expression`,
      `[${f("missing-op")}:13]: releaseNetmem is missing from ops table missingOpOps`,
      `[${f("no-table")}:1]: no ops table: expected \`export const noTableOps = Object.freeze({ name: "no-table", ... }) satisfies MemoryProviderOps\``,
      `[${f("not-const")}:13]: ops table notConstOps must be a const`,
      `[${f("not-frozen")}:13]: ops table notFrozenOps must be frozen: write it as Object.freeze({ ... }) (the kernel keeps ops in rodata)`,
      `[${f("table-private")}:13]: ops table tablePrivateOps must be exported`,
      `[${f("unexported")}:5]: allocNetmems must be an exported named function (xAlloc is not exported)`,
      `[${f("unknown-op")}:20]: unknown op recycle (the contract has name, allocNetmems, releaseNetmem, init, destroy, nlFill, uninstall)`,
      `[${f("wrong-type")}:11]: init: xInit(_pool: string) does not match MemoryProviderOps.init(pool: PoolView): void`,
    ]);
  });

  test("a name taken in two plugin dirs is a duplicate", () => {
    const m = inspect({ root: REPO_ROOT, pluginsDirs: [`${FIX}/dup/a`, `${FIX}/dup/b`] });
    expect(m.problems.map(formatProblem)).toEqual([
      `[${FIX}/dup/b/same/provider.ts:1]: duplicate provider name "same" (also ${FIX}/dup/a/same/provider.ts)`,
    ]);
    expect(m.providers.map((p) => p.name)).toEqual(["same"]);
  });

  test("KEBAB_RE accepts exactly lower-case words joined by single dashes", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        const words = s.split("-");
        const ok = s.length > 0 && /^[a-z]/.test(s) && words.every((w) => /^[a-z0-9]+$/.test(w));
        expect(KEBAB_RE.test(s)).toBe(ok);
      }),
      { numRuns: 300 },
    );
  });
});

describe("emit", () => {
  const good = () => inspect({ root: REPO_ROOT, pluginsDirs: [`${FIX}/good/plugins`] }).providers;
  const opts = {
    root: REPO_ROOT,
    outDir: join(REPO_ROOT, "core", "generated"),
    pluginsDirs: [`${FIX}/good/plugins`],
    icall: { n: 2, order: [] as string[] },
    profile: null,
  };

  test("deterministic: same model, same bytes; one header line per file naming its template", () => {
    const a = emit(good(), opts);
    const b = emit(good(), opts);
    expect([...a.keys()].sort()).toEqual(
      ["registry.generated.ts", ...VARIANTS.map((v) => `dispatch-${v}.generated.ts`)]
        .map((f) => join(REPO_ROOT, "core", "generated", f))
        .sort(),
    );
    for (const [path, text] of a) {
      expect(b.get(path)).toBe(text);
      const first = text.split("\n")[0];
      expect(first).toStartWith(
        "// DO NOT EDIT: generated by codegen from codegen/fixtures/good/plugins/*/provider.ts and templates/",
      );
      expect(first).toEndWith(". Regenerate: npm run codegen");
      expect(text.split("\n").filter((l) => l.startsWith("// DO NOT EDIT")).length).toBe(1);
      expect(text).not.toContain(REPO_ROOT); // relative imports only
      expect(text).toEndWith("}\n");
      expect(text).not.toContain("\n\n\n");
    }
  });

  test("if-chain calls imported functions by kind; ops-table calls through the table; registry sorted", () => {
    const files = emit(good(), opts);
    const get = (f: string) => files.get(join(REPO_ROOT, "core", "generated", f))!;
    const chain = get("dispatch-if-chain.generated.ts");
    expect(chain).toContain("if (k === 1) return alphaAlloc(pool, gfp);");
    expect(chain).toContain("if (k === 2) return betaAlloc(pool, gfp);");
    expect(chain).toContain("if (k === 2) return betaTwo$sharedInit(pool);");
    expect(chain.split("sharedInit as betaTwo$sharedInit").length).toBe(2); // imported once
    // mpDestroy ends with beta-two's branch; mpNlFill lists only alpha (beta-two has no nlFill) and,
    // as page_pool_nl_fill, passes no queue.
    expect(chain).toContain(
      "if (k === 2) return betaTwo$sharedInit(pool);\n}\n\n/**\n * page_pool_nl_fill()",
    );
    expect(chain).toContain(
      "mpNlFill(pool: DispatchPool): Record<string, unknown> | undefined {\n  const k = pool.mpKind;\n" +
        "  if (k === 1) return alphaNlFill(pool.mpPriv, null);\n  return undefined;\n}",
    );
    expect(chain).not.toContain("mpOps"); // no function pointer anywhere
    expect(chain).not.toContain("Uninstall"); // uninstall is not dispatched
    expect(chain.indexOf("return alphaNlFill")).toBeGreaterThan(0);
    expect(chain).not.toContain("betaNlFill");
    const table = get("dispatch-ops-table.generated.ts");
    expect(table).toContain(
      "if (mpStaticKey.count > 0 && pool.mpOps !== null) return pool.mpOps.allocNetmems(pool, gfp);",
    );
    expect(table).not.toContain("alphaAlloc");
    expect(table).toContain("return pool.mpOps?.nlFill?.(pool.mpPriv, null);");
    expect(get("dispatch-icall-wrapper.generated.ts")).toContain("return alphaNlFill(pool.mpPriv, null);");
    expect(get("registry.generated.ts")).toContain(
      "export const PROVIDERS: readonly MemoryProviderOps[] = Object.freeze([alphaOps, betaTwoOps]);",
    );
  });

  test("icall-wrapper: N and order from config, per-op order from a profile", () => {
    const ps = good();
    expect(icallTargets(ps, "allocNetmems", { n: 2, order: [] }, null)).toEqual(["alphaAlloc", "betaAlloc"]);
    expect(icallTargets(ps, "allocNetmems", { n: 1, order: ["beta-two", "nope"] }, null)).toEqual([
      "betaAlloc",
    ]);
    expect(icallTargets(ps, "allocNetmems", { n: 0, order: [] }, null)).toEqual([]);
    // An optional op lists only providers that define it.
    expect(icallTargets(ps, "nlFill", { n: 2, order: ["beta-two"] }, null)).toEqual(["alphaNlFill"]);
    const profile = {
      counts: { "beta-two": { allocNetmems: 10, releaseNetmem: 1 }, alpha: { releaseNetmem: 5 } },
    };
    expect(icallTargets(ps, "allocNetmems", { n: 2, order: ["alpha"] }, profile)).toEqual([
      "betaAlloc",
      "alphaAlloc",
    ]);
    expect(icallTargets(ps, "releaseNetmem", { n: 2, order: [] }, profile)).toEqual([
      "alphaRelease",
      "betaRelease",
    ]);
    const text = [...emit(ps, { ...opts, icall: { n: 1, order: [] }, profile, profileName: "p.json" })].find(
      ([k]) => k.endsWith("icall-wrapper.generated.ts"),
    )![1];
    expect(text).toContain("profile-guided from p.json, N = 1");
    expect(text).toContain("if (f === betaAlloc) return betaAlloc(pool, gfp);\n    return f(pool, gfp);");
    expect(text).toContain(
      "if (f === alphaRelease) return alphaRelease(pool, netmem);\n    return f(pool, netmem);",
    );
  });

  test("icall order from the profile is a permutation sorted by count, whatever the counts", () => {
    const ps = good();
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), fc.integer({ min: 0, max: 3 }), (a, b, n) => {
        const t = icallTargets(
          ps,
          "allocNetmems",
          { n, order: [] },
          { counts: { alpha: { allocNetmems: a }, "beta-two": { allocNetmems: b } } },
        );
        const full = b > a ? ["betaAlloc", "alphaAlloc"] : ["alphaAlloc", "betaAlloc"];
        expect(t).toEqual(full.slice(0, n));
      }),
      { numRuns: 100 },
    );
  });

  test("untrusted profile and config values are refused with a clear message", async () => {
    expect(() => checkProfile(null, "p")).toThrow("p: not an object");
    expect(() => checkProfile({}, "p")).toThrow('"counts" must be an object');
    expect(() => checkProfile({ counts: { a: 3 } }, "p")).toThrow("counts.a must be an object");
    expect(() => checkProfile({ counts: { a: { allocNetmems: -1 } } }, "p")).toThrow("non-negative");
    expect(() => checkProfile({ counts: { a: { allocNetmems: "9" } } }, "p")).toThrow("non-negative");
    expect(checkProfile({ counts: { a: { allocNetmems: 9 } } }, "p")).toEqual({
      counts: { a: { allocNetmems: 9 } },
    });
    const cfg = join(tmp, "bad-config.json");
    writeFileSync(cfg, JSON.stringify({ icallWrapper: { n: 99 } }));
    await expect(
      generate({ root: REPO_ROOT, pluginsDirs: [`${FIX}/good/plugins`], configPath: cfg }),
    ).rejects.toThrow("icallWrapper.n must be an integer in [0, 8]");
    await expect(
      generate({ root: REPO_ROOT, pluginsDirs: [`${FIX}/good/plugins`], profile: join(tmp, "missing.json") }),
    ).rejects.toThrow("does not exist");
  });
});

describe("generate and --check", () => {
  test("writes only changed files; detects drift with a unified diff", async () => {
    const outDir = join(tmp, "gen");
    const base = { root: REPO_ROOT, pluginsDirs: [`${FIX}/good/plugins`], outDir };
    const first = await generate({ ...base, write: true });
    expect(first.problems).toEqual([]);
    expect(first.changed.length).toBe(5); // registry, three dispatchers, the fixture registry
    const again = await generate({ ...base, write: true });
    expect(again.changed).toEqual([]);
    const victim = join(outDir, "dispatch-if-chain.generated.ts");
    const good = readFileSync(victim, "utf8");
    writeFileSync(victim, good.replace("if (k === 2) return betaAlloc(pool, gfp);\n", ""));
    const drift = await generate(base);
    expect(drift.changed).toEqual([victim]);
    const diff = driftDiff(REPO_ROOT, drift);
    expect(diff).toContain("+    if (k === 2) return betaAlloc(pool, gfp);");
    expect(diff).toContain("--- a/");
    expect(readFileSync(victim, "utf8")).not.toBe(good); // check mode wrote nothing
    const fixed = await generate({ ...base, write: true });
    expect(fixed.changed).toEqual([victim]);
    expect(readFileSync(victim, "utf8")).toBe(good);
  });

  test("the committed core/generated is up to date (codegen --check), and the CLI prints a diff on drift", () => {
    const ok = bun(["codegen/cli.ts", "--check"]);
    expect(ok.err).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("up to date");
    const outDir = join(tmp, "cli");
    expect(bun(["codegen/cli.ts", "--out", outDir]).code).toBe(0);
    const victim = join(outDir, "registry.generated.ts");
    writeFileSync(victim, `${readFileSync(victim, "utf8")}// stray edit\n`);
    const bad = bun(["codegen/cli.ts", "--check", "--out", outDir]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("-// stray edit");
    expect(bad.err).toContain("1 generated file(s) out of date");
  });

  test("a bad plugin makes the CLI fail with [file:line] problems and a count, writing nothing", () => {
    const outDir = join(tmp, "never");
    const r = bun(["codegen/cli.ts", "--plugins", `${FIX}/bad/plugins`, "--out", outDir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `[${FIX}/bad/plugins/unexported/provider.ts:5]: allocNetmems must be an exported named function (xAlloc is not exported)`,
    );
    expect(r.err).toContain("Found 13 codegen problems");
    expect(Bun.file(join(outDir, "registry.generated.ts")).size).toBe(0);
    expect(bun(["codegen/cli.ts", "--bogus"]).code).toBe(2);
  });

  test("generated files are exactly what Biome would print (templates kept tidy)", async () => {
    const r = await generate({ root: REPO_ROOT });
    for (const [path, text] of r.files) {
      if (!path.endsWith(".ts")) continue; // the native bench's C (bench/native/generated/) is not Biome's
      const p = Bun.spawnSync(
        [join(REPO_ROOT, "node_modules/.bin/biome"), "format", "--stdin-file-path=x.ts"],
        {
          stdin: new TextEncoder().encode(text),
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      expect({ path, text: p.stdout.toString() }).toEqual({ path, text });
    }
  });

  test("emitters write one-line text and Biome breaks it: 110 columns, one item per line", () => {
    const names = Array.from({ length: 12 }, (_, i) => `provider${i}Ops`);
    const text = formatGenerated(
      `${importStmt(names, "./x.ts")}\n${listLiteral("export const X = Object.freeze([", names, "]);")}\n`,
    );
    expect(text).toBe(
      `import {\n${[...names]
        .sort()
        .map((n) => `  ${n},\n`)
        .join("")}} from "./x.ts";\n` +
        `export const X = Object.freeze([\n${names.map((n) => `  ${n},\n`).join("")}]);\n`,
    );
    expect(formatGenerated(`${listLiteral("const Y = [", ["a", "b"], "];")}\n`)).toBe("const Y = [a, b];\n");
  });

  test("no providers at all still emits valid dispatchers (the page allocator only)", async () => {
    const empty = join(tmp, "no-plugins");
    mkdirSync(empty, { recursive: true });
    const r = await generate({
      root: REPO_ROOT,
      pluginsDirs: [empty],
      outDir: join(tmp, "empty-out"),
      write: true,
    });
    expect(r.problems).toEqual([]);
    expect(r.model.providers).toEqual([]);
    const reg = r.files.get(join(tmp, "empty-out", "registry.generated.ts"))!;
    expect(reg).toContain("export const PROVIDERS: readonly MemoryProviderOps[] = Object.freeze([]);");
    const chain = r.files.get(join(tmp, "empty-out", "dispatch-if-chain.generated.ts"))!;
    expect(chain).toContain("  }\n  return pool.allocPagesSlow(gfp);");
    expect(chain).not.toContain("if (k ===");
  });

  test("the header names every plugins dir", () => {
    expect(headerLine(["plugins", "bench/.synthetic/plugins"], "x.hbs")).toBe(
      "// DO NOT EDIT: generated by codegen from plugins/*/provider.ts, bench/.synthetic/plugins/*/provider.ts and templates/x.hbs. Regenerate: npm run codegen",
    );
  });
});
