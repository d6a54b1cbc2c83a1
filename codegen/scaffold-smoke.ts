/**
 * CI's scaffold smoke test (`bun codegen/scaffold-smoke.ts`): in a throwaway copy of the repo,
 * `bun run new-provider ci-smoke`, then `bun test plugins/ci-smoke` under every dispatcher variant
 * and `bun run codegen --check`. Exit 0 when all pass; on failure prints the failing step's output.
 * (codegen/new-provider.test.ts runs the same steps inside `bun test`.)
 */
import { VARIANTS } from "./emit.ts";
import { makeRepoCopy, runBun } from "./repo-copy.ts";

const copy = makeRepoCopy(["basic"]);
let failed = false;
try {
  const steps: Array<[string, string[]]> = [
    ["bun run new-provider ci-smoke", ["run", "new-provider", "ci-smoke", "--description", "CI smoke test."]],
    ...VARIANTS.map((v): [string, string[]] => [
      `bun test --conditions=${v} plugins/ci-smoke`,
      ["test", `--conditions=${v}`, "plugins/ci-smoke"],
    ]),
    ["bun run codegen --check", ["run", "codegen", "--check"]],
  ];
  for (const [label, args] of steps) {
    const r = runBun(copy.root, args);
    console.log(`scaffold-smoke: ${label}: ${r.code === 0 ? "ok" : `FAILED (exit ${r.code})`}`);
    if (r.code !== 0) {
      // Indented so CI's "N pass"/"N fail" summing does not pick up the nested run's counts.
      console.log(`${r.out}\n${r.err}`.replace(/^/gm, "  | "));
      failed = true;
      break;
    }
  }
} finally {
  copy.dispose();
}
process.exit(failed ? 1 : 0);
