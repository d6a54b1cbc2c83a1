/**
 * `npm ci` prints EBADENGINE for any locked package whose engines.node rejects the running Node.
 * package.json's engines is what the README promises; each branch's lowest version must satisfy
 * every locked package, and so must the Node on this machine (the check npm ci makes).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./args.ts";

const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { engines?: { node?: string } | string[] }>;
};
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
};

function rejecting(version: string): string[] {
  const out: string[] = [];
  for (const [path, p] of Object.entries(lock.packages)) {
    const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
    if (range && !Bun.semver.satisfies(version, range))
      out.push(`${path.replace(/^node_modules\//, "")} (${range})`);
  }
  return out;
}

test("the lowest Node of each branch package.json promises is accepted by every locked package", () => {
  const lows = pkg.engines.node.split("||").map((r) => r.trim().replace(/^[\^>=~]+/, ""));
  expect(lows).toEqual(["20.19.0", "22.13.0", "24"]);
  for (const v of lows)
    expect({ v, rejecting: rejecting(v.split(".").length === 1 ? `${v}.0.0` : v) }).toEqual({
      v,
      rejecting: [],
    });
  // The promise is not looser than it can be: 20.18 would get engine warnings.
  expect(rejecting("20.18.0").length).toBeGreaterThan(0);
});

test("this machine's Node is accepted by package.json and by every locked package (npm ci's check)", () => {
  const node = Bun.spawnSync(["node", "--version"]).stdout.toString().trim().replace(/^v/, "");
  expect(Bun.semver.satisfies(node, pkg.engines.node)).toBe(true);
  expect(rejecting(node)).toEqual([]);
});
