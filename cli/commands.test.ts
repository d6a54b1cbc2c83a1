/**
 * Every command as a user runs it, in a subprocess: --help, each rejection issue 13 listed, exit
 * codes, JSON that parses under `npm run -s` and `npx bun run`, and the kernel-shaped formats
 * against the netdev spec's names. The environment is a user's shell (no npm variables) unless a
 * test says otherwise, so hints and paths do not depend on how the test runner was started.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeRepoCopy } from "../codegen/repo-copy.ts";
import { SIM_COMMAND } from "../sim/main.ts";
import { flagName, REPO_ROOT } from "./args.ts";
import { validator } from "./schemas.ts";

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

/** Several commands at once (each is a Bun start-up, ~0.1-0.3 s): results in order. */
async function all(
  cmds: readonly (readonly string[])[],
): Promise<{ code: number; out: string; err: string }[]> {
  return Promise.all(
    cmds.map(async (cmd) => {
      const p = Bun.spawn([...cmd], {
        cwd: REPO_ROOT,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env: userEnv(),
      });
      const [out, err, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      return { code, out, err };
    }),
  );
}

const kernel = JSON.parse(readFileSync(join(REPO_ROOT, "cli/fixtures/kernel-names.json"), "utf8"));
const SIM = [process.execPath, "sim/main.ts"];

const tmp = mkdtempSync(join(tmpdir(), "pp-commands-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("sim", () => {
  test("--help: every flag with its default and an example, on stdout, exit 0", () => {
    const h = bun(["sim/main.ts", "--help"]);
    expect(h.code).toBe(0);
    expect(h.err).toBe("");
    for (const [key, f] of Object.entries(SIM_COMMAND.flags)) {
      const at = h.out.indexOf(`  ${flagName(key)} `);
      expect({ flag: key, at: at >= 0 }).toEqual({ flag: key, at: true });
      const block = h.out.slice(at, h.out.indexOf("\n  -", at + 1));
      expect(block).toContain("default: ");
      if (f.kind === "string") expect(block).toContain(`e.g. ${flagName(key)} `);
    }
    expect(h.out).toContain("zcrx.areaPages=4096");
  });

  test("every rejection names the flag (never an internal field), exits 2, prints nothing on stdout", async () => {
    const cases: [string[], string][] = [
      [
        ["--opt", "zcrx.nosuch=1"],
        '--opt zcrx.nosuch: zcrx has no option "nosuch" (valid: zcrx.areaPages, zcrx.rqEntries',
      ],
      [
        ["--opt", "zcrx.areaPages=64"],
        "--opt zcrx.areaPages=64: no queue has provider zcrx, so the option would be ignored",
      ],
      [["--opt", "nosuch.x=1"], '--opt nosuch.x: no provider "nosuch" (providers: basic, devmem'],
      [
        ["--provider=limited", "--opt", "limited.quotaBytes=abc"],
        "--opt limited.quotaBytes must be an integer",
      ],
      [
        ["--teardown-at", "5000", "--packets", "1000"],
        "--teardown-at 5000 is not before the end of the run (--packets 1000)",
      ],
      [
        ["--dispatch", "nosuch"],
        '--dispatch must be one of ops-table, if-chain, icall-wrapper; got "nosuch"',
      ],
      [["--rx-ring", "0"], "--rx-ring must be in [1, 8192], got 0"],
      [["--pages=1"], "--pages must be in [64, 4194304], got 1"],
      [["--packets", "lots"], '--packets needs a whole number, got "lots"'],
      [["--pakets", "5"], "unknown flag --pakets; did you mean --packets?"],
      [["--provider", "nosuch"], '--provider "nosuch" is not a provider (providers: basic, devmem'],
      [["--format", "xml"], '--format must be one of text, json, ethtool, ynl; got "xml"'],
      [["--json", "-", "--format", "ethtool"], "--json - and --format ethtool both want stdout"],
      [
        ["--json", "/nonexistent/dir/out.json", "--packets", "100000000"],
        "--json /nonexistent/dir/out.json: directory /nonexistent/dir does not exist",
      ],
    ];
    const rs = await all(cases.map(([args]) => [...SIM, ...args]));
    rs.forEach((r, i) => {
      const [args, msg] = cases[i];
      expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 2, out: "" });
      expect(r.err).toStartWith(`sim: ${msg}`);
      expect(r.err).toEndWith("\ntry npx bun sim/main.ts --help\n");
      expect(r.err).not.toMatch(/rxRing|teardownAt|EINVAL|\n\s+at /);
    });
  });

  test("--json - parses under npm run -s and npx bun run, and validates against the schema", async () => {
    const validate = validator("sim");
    const runs = await Promise.all([
      sh(["npm", "run", "-s", "sim", "--", "--provider", "zcrx", "--packets", "100000", "--json", "-"]),
      sh(["npx", "bun", "run", "sim", "--provider", "zcrx", "--packets", "20000", "--json", "-"]),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.out);
      expect(validate(doc) ? [] : validate.errors).toEqual([]);
      expect(doc.schema).toBe("pagepool-sim/1");
    }
    // Without -s npm's banner comes first on stdout; sim says so on stderr.
    const banner = sh(["npm", "run", "sim", "--", "--packets", "1000", "--json", "-"]);
    expect(banner.out).toContain("> pagepool@");
    expect(banner.err).toContain("`npm run -s sim -- …` gives output that parses");
  });

  test("--json FILE is relative to where npm was run; stdout keeps the text report", () => {
    const dir = join(tmp, "user-dir");
    mkdirSync(dir, { recursive: true });
    const r = sh(
      ["npm", "run", "--prefix", REPO_ROOT, "-s", "sim", "--", "--packets", "2000", "--json", "out.json"],
      {
        cwd: dir,
      },
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain("audit: ok");
    expect(JSON.parse(readFileSync(join(dir, "out.json"), "utf8")).offered).toBe(2000);
    expect(r.err).toContain(`sim: wrote ${join(dir, "out.json")}`);
  });

  test("--format ethtool --interval: NIC statistics lines with page_pool.c's names, deltas marked", () => {
    const r = bun([
      "sim/main.ts",
      "--provider",
      "zcrx",
      "--packets",
      "3000",
      "--format",
      "ethtool",
      "--interval",
      "1000",
    ]);
    expect(r.code).toBe(0);
    const names = new Set<string>(kernel["page_pool.c"].ethtool);
    let stats = 0;
    let deltas = 0;
    for (const line of r.out.trimEnd().split("\n")) {
      if (line.startsWith("# ") || line === "NIC statistics:") continue;
      const m = /^ {5}(rx_pp_[a-z_]+): (\d+)( \(\+(\d+)\))?$/.exec(line);
      expect({ line, ok: m !== null && names.has(m[1]) }).toEqual({ line, ok: true });
      stats++;
      if (m?.[3]) deltas++;
    }
    expect(r.out.match(/^# after [\d,]+ packets$/gm)?.length).toBe(3);
    expect(r.out).toContain("# end of run\nNIC statistics:");
    expect(stats).toBe(4 * names.size);
    expect(deltas).toBeGreaterThan(0);
  });

  test("--format ynl: ynl's two dumps, every attribute name from netdev.yaml", () => {
    const r = bun([
      "sim/main.ts",
      "--provider=zcrx",
      "--provider=devmem",
      "--provider=huge",
      "--packets=4000",
      "--teardown-at=2000",
      "--format=ynl",
    ]);
    expect(r.code).toBe(0);
    const sets = kernel["netdev.yaml"]["attribute-sets"] as Record<string, string[]>;
    const allowed = new Set([...sets["page-pool"], ...sets["page-pool-stats"], ...sets["page-pool-info"]]);
    const printed = new Set([...r.out.matchAll(/'([^']+)': /g)].map((m) => m[1]));
    expect([...printed].filter((n) => !allowed.has(n))).toEqual([]);
    for (const n of [
      "io-uring",
      "dmabuf",
      "inflight-mem",
      "napi-id",
      "alloc-fast",
      "recycle-released-refcnt",
      "info",
    ])
      expect(printed.has(n)).toBe(true);
    expect(r.out).toStartWith("$ ynl --family netdev --dump page-pool-get");
    expect(r.out).toContain("\n$ ynl --family netdev --dump page-pool-stats-get");
    expect(r.err).toContain("left out of the ynl view: huge");
  });

  test("a reader that goes away: text output ends quietly; the JSON is saved to a temp file, said on stderr", () => {
    const text = sh([
      "bash",
      "-c",
      `"${process.execPath}" sim/main.ts --format ethtool --interval 64 --packets 200000 | head -1`,
    ]);
    expect(text.out).toBe("# after 64 packets\n");
    expect(text.err).toBe("");
    const queues = Array.from({ length: 64 }, () => "--provider none").join(" ");
    // 64 queues torn down once make a ~350 KB document: more than the pipe (64 KiB) and head's one
    // read (128 KiB) take, so the write fails once head has exited.
    const json = sh([
      "bash",
      "-c",
      `"${process.execPath}" sim/main.ts ${queues} --packets 6400 --teardown-at 3200 --json - | head -c 10; echo " rc=\${PIPESTATUS[0]}"`,
    ]);
    expect(json.out).toBe('{\n  "schem rc=0\n');
    const saved = /results saved to (\S+\.json)\n$/.exec(json.err)?.[1];
    expect(json.err).toStartWith("sim: could not write to stdout (EPIPE");
    expect(JSON.parse(readFileSync(saved!, "utf8")).queues).toHaveLength(64);
    rmSync(saved!);
  });

  test("Ctrl-C mid-run: one line on stderr, exit 130 (also through the --dispatch re-exec)", async () => {
    for (const extra of [[], ["--dispatch", "if-chain"]]) {
      const p = Bun.spawn([...SIM, "--packets", "1000000000", ...extra], {
        cwd: REPO_ROOT,
        stdout: "ignore",
        stderr: "pipe",
        env: userEnv(),
      });
      const reader = p.stderr.getReader();
      let err = "";
      // Progress on stderr means the run is under way (past start-up and, with --dispatch, the re-exec).
      while (!err.includes("packets\n")) err += new TextDecoder().decode((await reader.read()).value);
      p.kill("SIGINT");
      expect(await p.exited).toBe(130);
      for (let c = await reader.read(); !c.done; c = await reader.read())
        err += new TextDecoder().decode(c.value);
      expect(err.trimEnd().split("\n").at(-1)).toBe("sim: interrupted");
      expect(err.match(/interrupted/g)?.length).toBe(1);
    }
  });
});

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
