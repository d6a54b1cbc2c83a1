/**
 * The scaffolder: name validation (property-tested), refusal of invalid and taken names without
 * writing anything, the prompt path, and the end-to-end smoke test CI relies on: in a temporary
 * copy of the repo, `bun run new-provider demo-x`, then `bun test plugins/demo-x` under every
 * dispatcher variant and `codegen --check`, so the scaffolder cannot rot.
 */
import { afterAll, describe, expect, mock, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { CONFORMANCE_TESTS } from "../plugins/conformance.case.ts";
import { VARIANTS } from "./emit.ts";
import { KEBAB_RE } from "./inspect.ts";
import {
  cleanDescription,
  main,
  nameProblem,
  renderScaffold,
  SCAFFOLD_FILES,
  ScaffoldError,
  scaffoldProvider,
} from "./new-provider.ts";
import { makeRepoCopy, runBun } from "./repo-copy.ts";

// These tests spawn Bun processes (codegen, bun test, the workload); bunfig's [test] timeout is
// not applied by Bun 1.4.4, so set it here. No test asserts on wall-clock time.
setDefaultTimeout(300_000);

const copy = makeRepoCopy(["basic"]);
afterAll(() => copy.dispose());

/** Every file under the copy's plugins/ and core/generated/, with its bytes. */
function snapshot(): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else m.set(p, readFileSync(p, "utf8"));
    }
  };
  walk(join(copy.root, "plugins"));
  walk(join(copy.root, "core", "generated"));
  return m;
}

describe("names", () => {
  test("valid iff kebab-case, not reserved, at most 40 chars", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 45 }), fc.stringMatching(/^[a-z][a-z0-9-]{0,44}$/)),
        (s) => {
          const ok =
            KEBAB_RE.test(s) &&
            s.length <= 40 &&
            !["conformance", "core", "generated", "node-modules"].includes(s);
          expect(nameProblem(s) === null).toBe(ok);
        },
      ),
      { numRuns: 400 },
    );
    expect(nameProblem("Demo")).toContain("not a valid provider name: use kebab-case");
    expect(nameProblem("")).toBe("a provider name is required");
  });

  test("an invalid or taken name is refused with a clear message and nothing is written", async () => {
    const before = snapshot();
    for (const name of ["Demo", "demo_x", "demo--x", "-x", "9lives", "x-", "../evil", "a/b", "conformance"])
      await expect(scaffoldProvider({ root: copy.root, name })).rejects.toThrow(ScaffoldError);
    await expect(scaffoldProvider({ root: copy.root, name: "basic" })).rejects.toThrow(
      "plugins/basic already exists; pick another name",
    );
    expect(snapshot()).toEqual(before);
  });

  test("the CLI refuses with exit 1, and with no name and no terminal exits 2 without prompting", () => {
    const before = snapshot();
    const bad = runBun(copy.root, ["codegen/new-provider.ts", "Bad_Name"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('new-provider: "Bad_Name" is not a valid provider name');
    const taken = runBun(copy.root, ["codegen/new-provider.ts", "basic"]);
    expect(taken.code).toBe(1);
    expect(taken.err).toContain("plugins/basic already exists");
    const none = runBun(copy.root, ["codegen/new-provider.ts"]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("no name given and no terminal");
    expect(runBun(copy.root, ["codegen/new-provider.ts", "a", "b"]).code).toBe(2);
    expect(snapshot()).toEqual(before);
  });
});

describe("scaffold", () => {
  test("renders every file; the provider's ops are named after the provider", () => {
    const files = renderScaffold(copy.root, "demo-x", "a demo.");
    expect([...files.keys()]).toEqual([...SCAFFOLD_FILES]);
    const p = files.get("provider.ts")!;
    for (const fn of ["AllocNetmems", "ReleaseNetmem", "Init", "Destroy", "NlFill", "Uninstall"])
      expect(p).toContain(`export function demoX${fn}(`);
    expect(p).toContain('export const demoXOps = Object.freeze({\n  name: "demo-x",');
    expect(files.get("provider.test.ts")).toContain("runConformance(fixtureTarget(demoXFixture");
    expect(files.get("fixture.ts")).toContain(
      'export const demoXFixture = defineFixture({\n  name: "demo-x",',
    );
    expect(files.get("README.md")).toContain("```ts example\n");
    expect(files.get("README.md")).toStartWith("# demo-x\n\na demo.\n");
  });

  test("any description stays inside its comments: one line, no comment terminator", () => {
    const base = renderScaffold(copy.root, "demo-x", cleanDescription("x"));
    const closers = (t: string) => t.split("*/").length;
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: "binary" }), (raw) => {
        const d = cleanDescription(raw);
        expect(d.length).toBeGreaterThan(0);
        expect(d.length).toBeLessThanOrEqual(200);
        expect(d).not.toMatch(/[\r\n\u2028\u2029]|\*\//);
        const files = renderScaffold(copy.root, "demo-x", d);
        for (const f of SCAFFOLD_FILES) expect(closers(files.get(f)!)).toBe(closers(base.get(f)!));
      }),
      { numRuns: 200 },
    );
  });

  test("with no name and a terminal it prompts (inquirer), then scaffolds the answer", async () => {
    const asked: string[] = [];
    const answers = ["prompted-one", "asked for it"];
    mock.module("@inquirer/prompts", () => ({
      input: async (q: { message: string; validate?: (v: string) => true | string }) => {
        asked.push(q.message);
        if (q.validate) {
          expect(q.validate("Nope")).toContain("kebab-case");
          expect(q.validate("basic")).toBe("plugins/basic already exists");
        }
        return answers.shift()!;
      },
    }));
    const code = await main([], { root: copy.root, isTty: true });
    expect(code).toBe(0);
    expect(asked).toEqual(["Provider name (kebab-case):", "One-line description:"]);
    expect(readFileSync(join(copy.root, "plugins/prompted-one/README.md"), "utf8")).toStartWith(
      "# prompted-one\n\nasked for it\n",
    );
    expect(readFileSync(join(copy.root, "core/generated/registry.generated.ts"), "utf8")).toContain(
      "promptedOneOps",
    );
  });

  test("Ctrl-C at the prompt (inquirer's ExitPromptError): one line on stderr, exit 130, nothing written", async () => {
    mock.module("@inquirer/prompts", () => ({
      input: async () => {
        const e = new Error("User force closed the prompt with SIGINT");
        e.name = "ExitPromptError";
        throw e;
      },
    }));
    const before = snapshot();
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main([], { root: copy.root, isTty: true });
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(130);
    expect(err.join("")).toBe("new-provider: interrupted\n");
    expect(snapshot()).toEqual(before);
  });

  test("if codegen then fails (another plugin is broken), the new folder is removed again", async () => {
    const broken = join(copy.root, "plugins", "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "provider.ts"), "export const brokenOps = { name: 'broken' };\n");
    try {
      const before = snapshot();
      await expect(scaffoldProvider({ root: copy.root, name: "victim" })).rejects.toThrow(
        /codegen failed after scaffolding, plugins\/victim removed:\n\[plugins\/broken\/provider.ts:1\]: no ops table/,
      );
      expect(existsSync(join(copy.root, "plugins", "victim"))).toBe(false);
      expect(snapshot()).toEqual(before);
    } finally {
      rmSync(broken, { recursive: true });
    }
  });

  test("bun run new-provider demo-x, then its tests pass under every variant and codegen --check passes", () => {
    const r = runBun(copy.root, ["run", "new-provider", "demo-x"]);
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);
    for (const f of SCAFFOLD_FILES) expect(existsSync(join(copy.root, "plugins/demo-x", f))).toBe(true);
    expect(readFileSync(join(copy.root, "core/generated/dispatch-if-chain.generated.ts"), "utf8")).toContain(
      "return demoXAllocNetmems(pool, gfp);",
    );
    const check = runBun(copy.root, ["run", "codegen", "--check"]);
    expect(check.out).toContain("up to date");
    expect(check.code).toBe(0);
    for (const v of VARIANTS) {
      const t = runBun(copy.root, ["test", `--conditions=${v}`, "plugins/demo-x"]);
      expect({ variant: v, code: t.code, tail: t.err.slice(-400) }).toMatchObject({ variant: v, code: 0 });
      // The suite, the registration check (provider and fixture) and the README example.
      expect(t.err).toContain(`\n ${CONFORMANCE_TESTS.length + 2} pass\n`);
      expect(t.err).toMatch(/\b0 fail\b/);
    }
  });
});
