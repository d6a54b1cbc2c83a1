/**
 * One provider is one folder, everywhere: every plugin folder has every part (index, provider,
 * fixture, test, a README with a runnable example), codegen registered a fixture for every
 * provider it registered, the root README's provider table lists exactly the registered
 * providers, and every fixture's options refuse what they do not know. A provider added without
 * its fixture, or left out of the README, fails here rather than being silently skipped.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { PROVIDER_NAMES, PROVIDERS } from "#dispatch";
import { PagePoolError } from "../core/errors.ts";
import { FIXTURES, fixtureFor, WITHOUT_FIXTURE } from "../core/generated/fixtures.generated.ts";
import { NetDevice } from "../core/netdev.ts";
import { DmaDevice, PageAllocator } from "../core/page-alloc.ts";
import { resolveOptions } from "./fixture.ts";

const PLUGINS = import.meta.dir;
const ROOT = join(PLUGINS, "..");
const PARTS = ["index.ts", "provider.ts", "fixture.ts", "provider.test.ts", "README.md"];
const folders = readdirSync(PLUGINS)
  .filter((e) => statSync(join(PLUGINS, e)).isDirectory())
  .sort();

describe("plugin layout", () => {
  test("the plugin folders are exactly the registered providers", () => {
    expect(folders).toEqual([...PROVIDER_NAMES]);
  });

  for (const name of folders)
    test(`${name}: has every part, and its README's example runs from its test`, () => {
      for (const f of PARTS)
        expect({ name, file: f, exists: existsSync(join(PLUGINS, name, f)) }).toMatchObject({ exists: true });
      const readme = readFileSync(join(PLUGINS, name, "README.md"), "utf8");
      const testSrc = readFileSync(join(PLUGINS, name, "provider.test.ts"), "utf8");
      // Either a ```ts example block run by runReadmeExample, or example.ts shown in the README
      // and run (and compared with the README) by the test.
      const inline = readme.includes("```ts example\n") && testSrc.includes("runReadmeExample(");
      const file =
        existsSync(join(PLUGINS, name, "example.ts")) &&
        readme.includes("example.ts") &&
        testSrc.includes('from "./example.ts"');
      expect({ name, runnableExample: inline || file }).toEqual({ name, runnableExample: true });
    });
});

describe("fixture registry", () => {
  test("every registered provider has its fixture, in registry order, with the registered ops", () => {
    expect(WITHOUT_FIXTURE).toEqual([]);
    expect(FIXTURES.map((f) => f.name)).toEqual([...PROVIDER_NAMES]);
    FIXTURES.forEach((f, i) => {
      expect(f.ops).toBe(PROVIDERS[i]);
      expect(f.ops.name).toBe(f.name);
    });
    expect(() => fixtureFor("no-such-provider")).toThrow('provider "no-such-provider" is not registered');
  });

  test("the README's provider table lists exactly the registered providers", () => {
    const md = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = md.slice(md.indexOf("## Providers"), md.indexOf("\n## ", md.indexOf("## Providers") + 1));
    const listed = [...section.matchAll(/^\| \[([a-z0-9-]+)\]\(plugins\/([a-z0-9-]+)\/README\.md\)/gm)];
    for (const m of listed) expect(m[2]).toBe(m[1]);
    expect(listed.map((m) => m[1]).sort()).toEqual([...PROVIDER_NAMES].sort());
  });

  for (const f of FIXTURES)
    test(`${f.name}: options refuse unknown keys by name, defaults and \`small\` resolve, it stands up and goes`, () => {
      const valid = Object.keys(f.options);
      fc.assert(
        fc.property(
          fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !valid.includes(k)),
          (k) => {
            let err: unknown;
            try {
              resolveOptions(f, { [k]: "1" });
            } catch (e) {
              err = e;
            }
            expect(err).toBeInstanceOf(PagePoolError);
            expect((err as PagePoolError).code).toBe("EINVAL");
            expect((err as Error).message).toContain(`unknown option "${k}" (valid: ${valid.join(", ")})`);
          },
        ),
        { numRuns: 50 },
      );
      const defaults = resolveOptions(f);
      expect(Object.keys(defaults)).toEqual(valid);
      for (const k of valid) expect(defaults[k]).toBe(f.options[k].default);
      const shape = f.buffers(resolveOptions(f, f.small ?? {}));
      expect(shape.bufLen).toBeGreaterThanOrEqual(4);
      expect(shape.bufLen).toBeLessThanOrEqual(4096);
      // Bound on a small world, unbound and disposed: everything the provider took comes back.
      const pages = new PageAllocator({ pages: 2048 });
      const dev = new DmaDevice(pages);
      const netdev = new NetDevice({ rxQueues: 2, dev });
      const inst = f.bind({ netdev, queueIdx: 1, dev, pages }, resolveOptions(f, f.small ?? {}));
      expect(inst.user.kind).toBe(f.userSide);
      expect(netdev.rxQueue(1).mpParams.ops).toBe(f.ops);
      expect(inst.available()).toBe(inst.capacity);
      inst.unbind();
      expect(netdev.rxQueue(1).mpParams.ops).toBeNull();
      inst.dispose();
      expect(inst.shortfall()).toBe(0);
      expect(pages.freePages).toBe(pages.numPages);
      pages.dispose();
    });
});
