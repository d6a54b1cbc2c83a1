/**
 * Emits the fixture registry (`fixtures.generated.ts`, next to the dispatchers) from the
 * providers codegen found: for each, its `<dir>/<name>/fixture.ts` exporting `<camel>Fixture`,
 * or, when the folder has none, its name in WITHOUT_FIXTURE (a test turns that into a failure;
 * emitting it keeps codegen usable while a provider is half-written). Kept apart from emit.ts:
 * the dispatchers do not depend on fixtures, and nothing in core/ imports this file's output.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  codeHandlebars,
  formatGenerated,
  HBS_OPTIONS,
  headerLine,
  importStmt,
  listLiteral,
  posix,
  relImport,
} from "./emit.ts";
import { camel, type ProviderModel } from "./inspect.ts";

export const FIXTURES_FILE = "fixtures.generated.ts";
const TEMPLATE = "fixtures.ts.hbs";

export function emitFixtures(
  providers: readonly ProviderModel[],
  opts: { root: string; outDir: string; pluginsDirs: readonly string[] },
): Map<string, string> {
  const withFixture = providers.filter((p) => existsSync(join(dirname(p.file), "fixture.ts")));
  const missing = providers.filter((p) => !withFixture.includes(p));
  const fixtures = withFixture.map((p) => {
    const name = `${camel(p.name)}Fixture`;
    return {
      name,
      importStmt: importStmt([name], relImport(opts.outDir, join(dirname(p.file), "fixture.ts"))),
    };
  });
  const hb = codeHandlebars();
  const src = readFileSync(join(opts.root, "templates", TEMPLATE), "utf8");
  const text = hb.compile(
    src,
    HBS_OPTIONS,
  )({
    header: headerLine(opts.pluginsDirs, TEMPLATE, "fixture.ts"),
    sources: opts.pluginsDirs.map((d) => `${posix(d)}/`).join(", "),
    fixtures,
    errors: relImport(opts.outDir, join(opts.root, "core", "errors.ts")),
    contract: relImport(opts.outDir, join(opts.root, "plugins", "fixture.ts")),
    fixturesArray: listLiteral(
      "export const FIXTURES: readonly ProviderFixture[] = Object.freeze([",
      fixtures.map((f) => f.name),
      "]);",
    ),
    missingArray: listLiteral(
      "export const WITHOUT_FIXTURE: readonly string[] = Object.freeze([",
      missing.map((p) => `"${p.name}"`),
      "]);",
    ),
  });
  return new Map([[join(opts.outDir, FIXTURES_FILE), formatGenerated(text)]]);
}
