import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  errorExit,
  flag,
  flagName,
  helpText,
  howToRun,
  npmBannerOnStdout,
  openOutput,
  parse,
  REPO_ROOT,
  UsageError,
  unwritable,
  userCwd,
} from "./args.ts";

const cmd = {
  script: "demo",
  file: "demo/main.ts",
  summary: "a demo command",
  positionals: { usage: "[name]", max: 1 },
  flags: {
    packets: flag.int("packets to send", { default: 100, example: "5000" }),
    teardownAt: flag.int("tear down after N", { default: 0, min: 0, max: 1000, example: "500" }),
    mode: flag.choice(["fast", "slow"] as const, "how", { default: "fast" }),
    provider: flag.list("a provider", { example: "zcrx" }),
    json: flag.str("write JSON here", { metavar: "FILE|-", example: "-" }),
    verbose: flag.bool("say more", { short: "v" }),
  },
};

const usage = (argv: string[]): string => {
  try {
    parse(cmd, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
};

describe("parse", () => {
  test("--flag value and --flag=value mean the same", () => {
    const a = parse(cmd, ["--packets", "7", "--mode", "slow", "--teardown-at", "3"]);
    const b = parse(cmd, ["--packets=7", "--mode=slow", "--teardown-at=3"]);
    expect(a.values).toEqual(b.values);
    expect(a.values.packets).toBe(7);
    expect(a.values.teardownAt).toBe(3);
    expect(a.values.mode).toBe("slow");
    expect([...a.given].sort()).toEqual(["mode", "packets", "teardownAt"]);
  });

  test("defaults when absent; lists collect every occurrence; booleans and short aliases", () => {
    const p = parse(cmd, ["--provider", "a", "--provider=b", "-v", "x"]);
    expect(p.values).toEqual({
      packets: 100,
      teardownAt: 0,
      mode: "fast",
      provider: ["a", "b"],
      json: undefined,
      verbose: true,
    });
    expect(p.positionals).toEqual(["x"]);
  });

  test("a leading -- (npm's separator typed to npx bun) is dropped when there are no positionals", () => {
    const noPos = { ...cmd, positionals: undefined };
    expect(parse(noPos, ["--", "--packets", "3"]).values.packets).toBe(3);
    expect(parse(cmd, ["--", "--packets"]).positionals).toEqual(["--packets"]);
  });

  test("`--json -` takes the dash as a value", () => {
    expect(parse(cmd, ["--json", "-"]).values.json).toBe("-");
  });

  test("unknown flags are rejected by name, with a near miss suggested", () => {
    expect(usage(["--pakets", "3"])).toBe("unknown flag --pakets; did you mean --packets?");
    expect(usage(["--zzzzzz"])).toBe("unknown flag --zzzzzz");
  });

  test("bad values name the flag as typed", () => {
    expect(usage(["--packets", "lots"])).toBe('--packets needs a whole number, got "lots"');
    expect(usage(["--packets=-1"])).toContain("--packets");
    expect(usage(["--packets", "1.5"])).toContain("--packets");
    expect(usage(["--teardown-at", "5000"])).toBe("--teardown-at must be in [0, 1000], got 5000");
    expect(usage(["--mode", "medium"])).toBe('--mode must be one of fast, slow; got "medium"');
    expect(usage(["--packets"])).toBe("--packets needs a value (e.g. --packets 5000)");
    expect(usage(["--packets", "--mode", "slow"])).toContain("--packets needs a value, got the flag --mode");
    expect(usage(["--verbose=yes"])).toContain("--verbose takes no value");
    expect(usage(["--packets", "1", "--packets", "2"])).toBe("--packets given 2 times; give it once");
    expect(usage(["a", "b"])).toContain("at most 1 argument");
  });

  test("property: any safe non-negative integer round-trips in both spellings", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(parse(cmd, ["--packets", String(n)]).values.packets).toBe(n);
        expect(parse(cmd, [`--packets=${n}`]).values.packets).toBe(n);
      }),
    );
  });

  test("property: arbitrary argv either parses or is a UsageError, never another exception", () => {
    const word = fc.oneof(
      fc.string(),
      fc.constantFrom("--packets", "--mode", "--json", "-v", "--", "-", "--provider=", "--help", "-h"),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), (argv) => {
        try {
          parse(cmd, argv);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
        }
      }),
    );
  });
});

describe("help", () => {
  test("lists every flag with its default and an example", () => {
    const h = helpText(cmd);
    for (const [key, f] of Object.entries(cmd.flags)) {
      const at = h.indexOf(flagName(key));
      expect(at).toBeGreaterThan(-1);
      const block = h.slice(at, h.indexOf("\n  -", at + 1) === -1 ? undefined : h.indexOf("\n  -", at + 1));
      expect(block).toContain("default: ");
      if (f.kind === "string") expect(block).toContain(`e.g. ${flagName(key)} `);
    }
    expect(h).toContain("--teardown-at <N>");
    expect(h).toContain("default: 100");
    expect(h).toContain("-h, --help");
    expect(parse(cmd, ["--help", "--nosuch"]).help).toBe(true);
  });
});

describe("where the user is, and how to name commands", () => {
  const npm = { npm_lifecycle_event: "demo", npm_command: "run", INIT_CWD: "/home/u/sub" };
  test("npm run: hints say npm run, paths resolve against INIT_CWD", () => {
    expect(howToRun("demo", "demo/main.ts", "--help", npm)).toBe("npm run demo -- --help");
    expect(howToRun("test", "test", "plugins/x", npm)).toBe("npm test -- plugins/x");
    expect(userCwd("demo", npm)).toBe("/home/u/sub");
  });
  test("direct (npx bun file): hints say npx bun, paths resolve against cwd", () => {
    expect(howToRun("demo", "demo/main.ts", "--help", {})).toBe("npx bun demo/main.ts --help");
    expect(howToRun("demo", "demo/main.ts", "", { npm_lifecycle_event: "npx" })).toBe("npx bun demo/main.ts");
    expect(howToRun("test", "test", "plugins/x", {})).toBe("npx bun test plugins/x");
    expect(userCwd("demo", {})).toBe(process.cwd());
  });
  test("bun run (no INIT_CWD): the directory it was started in is npm_config_local_prefix", () => {
    const bun = {
      npm_lifecycle_event: "demo",
      npm_config_user_agent: "bun/1.4.4 npm/? node/v26.3.0",
      npm_config_local_prefix: "/home/u/sub",
    };
    expect(userCwd("demo", bun)).toBe("/home/u/sub");
    // npm's own npm_config_local_prefix is the package root, not the user's directory.
    expect(userCwd("demo", { ...bun, npm_config_user_agent: "npm/11.19.1 node/v20.20.2" })).toBe(
      process.cwd(),
    );
  });
  test("an INIT_CWD inherited from another script (npm test spawning us) is not ours", () => {
    expect(userCwd("demo", { ...npm, npm_lifecycle_event: "test" })).toBe(process.cwd());
  });
  test("npm's banner is on stdout only for npm run without -s", () => {
    expect(npmBannerOnStdout("demo", npm)).toBe(true);
    expect(npmBannerOnStdout("demo", { ...npm, npm_config_loglevel: "silent" })).toBe(false);
    expect(npmBannerOnStdout("demo", { ...npm, npm_command: "run-script" })).toBe(false); // bun run
    expect(npmBannerOnStdout("demo", {})).toBe(false);
  });
});

describe("output", () => {
  test("a file path is checked before any work, naming the flag", () => {
    const dir = mkdtempSync(join(tmpdir(), "pp-args-"));
    try {
      const env = { npm_lifecycle_event: "demo", INIT_CWD: dir };
      expect(() => openOutput("demo", "--json", "no/such/dir/x.json", "demo", env)).toThrow(
        /--json no\/such\/dir\/x\.json: directory .* does not exist/,
      );
      expect(() => openOutput("demo", "--json", ".", "demo", env)).toThrow(/--json \.: is a directory/);
      const out = openOutput("demo", "--json", "r.json", "demo", env);
      expect(out.target).toBe(join(dir, "r.json"));
      expect(existsSync(out.target)).toBe(false); // nothing written before the work is done
      out.write('{"a":1}');
      expect(readFileSync(join(dir, "r.json"), "utf8")).toBe('{"a":1}');
      if (process.getuid?.() !== 0) {
        chmodSync(dir, 0o500);
        expect(unwritable(join(dir, "new.json"))).toContain("not writable");
        chmodSync(dir, 0o700);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an output error after the work never loses the results: they go to a temp file", () => {
    const dir = mkdtempSync(join(tmpdir(), "pp-args-"));
    const out = openOutput("demo", "--json", join(dir, "r.json"), "demo", {});
    rmSync(dir, { recursive: true }); // the directory vanishes while the command works
    const chunks: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => chunks.push(String(s)) > 0) as typeof process.stderr.write;
    let saved: string;
    try {
      saved = out.write('{"big":"results"}');
    } finally {
      process.stderr.write = orig;
    }
    expect(saved).not.toBe(join(dir, "r.json"));
    expect(readFileSync(saved, "utf8")).toBe('{"big":"results"}');
    expect(chunks.join("")).toContain(`results saved to ${saved}`);
    rmSync(saved);
  });
});

describe("exit codes", () => {
  const o = { name: "demo", expected: [RangeError] };
  test("usage 2 with a hint, prompt abort 130 in one line, expected errors 1 without a stack", () => {
    const u = errorExit(new UsageError("--x bad"), o, "demo", "demo/main.ts");
    expect(u.code).toBe(2);
    expect(u.text).toMatch(/^demo: --x bad\ntry (npm run demo -- --help|npx bun demo\/main\.ts --help)$/);
    const abort = new Error("User force closed the prompt with SIGINT");
    abort.name = "ExitPromptError";
    expect(errorExit(abort, o, "demo", "demo/main.ts")).toEqual({ code: 130, text: "demo: interrupted" });
    expect(errorExit(new RangeError("nope"), o, "demo", "demo/main.ts")).toEqual({
      code: 1,
      text: "demo: nope",
    });
    expect(errorExit(new TypeError("bug"), o, "demo", "demo/main.ts").text).toContain("internal error");
  });

  test("runMain as a process: --help on stdout exit 0, usage exit 2, Ctrl-C one line exit 130", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pp-args-"));
    const script = join(dir, "cmd.ts");
    writeFileSync(
      script,
      `import { flag, runMain } from ${JSON.stringify(join(REPO_ROOT, "cli", "args.ts"))};
await runMain({ script: "demo", file: "demo.ts", summary: "s", flags: { wait: flag.bool("wait forever") } },
  { name: "demo" }, async (p) => { if (p.values.wait) { process.stderr.write("ready\\n"); await new Promise(() => setInterval(() => {}, 1000)); } return 0; });
`,
    );
    const env = { ...process.env, npm_lifecycle_event: "" };
    try {
      const help = Bun.spawnSync([process.execPath, script, "--help"], { env });
      expect(help.exitCode).toBe(0);
      expect(help.stdout.toString()).toContain("--wait");
      expect(help.stderr.toString()).toBe("");
      const bad = Bun.spawnSync([process.execPath, script, "--nope"], { env });
      expect(bad.exitCode).toBe(2);
      expect(bad.stdout.toString()).toBe("");
      expect(bad.stderr.toString()).toBe("demo: unknown flag --nope\ntry npx bun demo.ts --help\n");
      const p = Bun.spawn([process.execPath, script, "--wait"], { env, stderr: "pipe" });
      const reader = p.stderr.getReader();
      let err = "";
      while (!err.includes("ready")) err += new TextDecoder().decode((await reader.read()).value);
      p.kill("SIGINT");
      expect(await p.exited).toBe(130);
      for (;;) {
        const c = await reader.read();
        if (c.done) break;
        err += new TextDecoder().decode(c.value);
      }
      expect(err.trim().split("\n")).toEqual(["ready", "demo: interrupted"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
