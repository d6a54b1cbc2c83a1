/**
 * `npm run sim`: the receive simulation from the command line. See sim/README.md.
 *
 *   npm run -s sim -- --provider zcrx --user worker --packets 1000000 --json -
 *
 * Flags and exit codes follow the shared CLI layer (cli/args.ts): usage errors exit 2 naming the
 * flag, a failed audit exits 1. `--dispatch <variant>` re-executes this script under
 * `bun --conditions=<variant>`, which is how a dispatcher variant is chosen: when modules are
 * linked, never by a runtime branch.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { DISPATCH_VARIANT } from "#dispatch";
import {
  fail,
  flag,
  hint,
  npmBannerOnStdout,
  type Output,
  openOutput,
  type Parsed,
  parse,
  printOut,
  runMain,
  UsageError,
} from "../cli/args.ts";
import { PagePoolError } from "../core/errors.ts";
import { FIXTURES } from "../core/generated/fixtures.generated.ts";
import { NUM_STATS, STAT_NAMES } from "../core/stats.ts";
import pkg from "../package.json" with { type: "json" };
import { intOption, type OptionSpec } from "../plugins/fixture.ts";
import { backendNames, NO_PROVIDER } from "./backends/index.ts";
import type { ReturnPolicy } from "./backends/types.ts";
import {
  deviceTotals,
  formatEthtool,
  formatText,
  type IntervalSample,
  NETLINK_STAT_NAMES,
  type NetlinkStatName,
  simJson,
  ynlPagePoolGet,
  ynlPagePoolStats,
} from "./format.ts";
import { parseSizeSpec } from "./rng.ts";
import { defaultOptions, parseXdpMix, SIM_LIMITS, type SimOptions, Simulation, type XdpMix } from "./sim.ts";

/** The dispatcher variants: package.json `imports["#dispatch"]` conditions, the default one first. */
export const DISPATCH_VARIANTS: readonly string[] = [
  "ops-table",
  ...Object.keys(pkg.imports["#dispatch"]).filter((k) => k !== "default" && k !== "ops-table"),
];

/** The options a provider takes (`--opt name.key=value`); null for a test-registered backend. */
function optionSpecs(provider: string): Readonly<Record<string, OptionSpec<unknown>>> | null | undefined {
  if (provider === NO_PROVIDER)
    return { bufLen: intOption(2048, "host buffer size in bytes (two per page by default)", 1, 4096) };
  const f = FIXTURES.find((x) => x.name === provider);
  if (f) return f.options as Record<string, OptionSpec<unknown>>;
  return backendNames().includes(provider) ? null : undefined;
}

/** A PagePoolError's message without its errno prefix, for a usage message. */
const bare = (e: unknown): string => (e as Error).message.replace(/^E[A-Z0-9]+: /, "");

function parseOpt(raw: string, f: string): [string, string] {
  const eq = raw.indexOf("=");
  const key = eq > 0 ? raw.slice(0, eq) : "";
  const dot = key.indexOf(".");
  if (eq <= 0 || dot <= 0 || dot === key.length - 1) fail(f, `wants provider.key=value, got "${raw}"`);
  const [prov, k, v] = [key.slice(0, dot), key.slice(dot + 1), raw.slice(eq + 1)];
  const specs = optionSpecs(prov);
  if (specs === undefined) fail(f, `${key}: no provider "${prov}" (providers: ${backendNames().join(", ")})`);
  if (specs) {
    if (!Object.hasOwn(specs, k))
      fail(
        f,
        `${key}: ${prov} has no option "${k}" (valid: ${Object.keys(specs)
          .map((x) => `${prov}.${x}`)
          .join(", ")})`,
      );
    try {
      specs[k].parse(v, key);
    } catch (e) {
      if (e instanceof PagePoolError) fail(f, bare(e));
      throw e;
    }
  }
  return [key, v];
}

const [maxQ] = [SIM_LIMITS.queues[1]];

/** An integer flag with the Simulation's own default and range (sim.ts SIM_LIMITS). */
function limitedInt(
  key: "packets" | "seed" | "teardownAt" | "rxRing" | "pages",
  description: string,
  example: string,
  o: { metavar?: string; defaultText?: string } = {},
) {
  const [min, max] = SIM_LIMITS[key];
  return flag.int(description, { default: defaultOptions[key], min, max, example, ...o });
}

export const SIM_COMMAND = {
  script: "sim",
  file: "sim/main.ts",
  summary:
    "Receive traffic through page pools bound to memory providers, with every buffer accounted for (sim/README.md).",
  flags: {
    provider: flag.list(
      `bind a provider to the next rx queue (one queue each, at most ${maxQ}); "none" = a queue without a provider`,
      {
        metavar: "name",
        example: "zcrx",
        defaultText: "one queue, none",
        parse: (raw, f) => {
          if (!backendNames().includes(raw))
            fail(f, `"${raw}" is not a provider (providers: ${backendNames().join(", ")})`);
          return raw;
        },
      },
    ),
    dispatch: flag.optionalChoice(
      DISPATCH_VARIANTS,
      "dispatcher variant (re-runs under bun --conditions=<variant>)",
      {
        metavar: "variant",
        example: "if-chain",
        defaultText: DISPATCH_VARIANTS[0],
      },
    ),
    packets: limitedInt("packets", "packets offered to the device, all queues together", "1000000"),
    seed: limitedInt("seed", "seed for the packet-size mix and everything else random", "7", {
      metavar: "S",
    }),
    user: flag.choice(
      ["inline", "worker"] as const,
      "the user side runs between NAPI polls, or in a Worker thread",
      {
        default: defaultOptions.user,
        example: "worker",
      },
    ),
    returnAfter: flag.custom<ReturnPolicy>(
      "the user gives a buffer back N packets after it arrived (0 = at once), or never",
      (raw, f) => {
        if (raw === "never") return { delay: "never" };
        const n = Number(raw);
        const [min, max] = SIM_LIMITS.returnDelay;
        if (!/^[0-9]+$/.test(raw) || n < min || n > max)
          fail(f, `must be "never" or a whole number in [${min}, ${max}], got "${raw}"`);
        return { delay: n };
      },
      { default: defaultOptions.policy, defaultText: "0", metavar: "N|never", example: "300" },
    ),
    size: flag.custom(
      'packet sizes: "mix" (the seeded IMIX, 64/576/1500 B at 7:4:1) or fixed N bytes',
      (raw, f) => {
        try {
          return parseSizeSpec(raw);
        } catch (e) {
          throw new UsageError(bare(e).startsWith(f) ? bare(e) : `${f} ${bare(e)}`);
        }
      },
      { default: defaultOptions.size, defaultText: "mix", metavar: "mix|N", example: "1500" },
    ),
    teardownAt: limitedInt(
      "teardownAt",
      "after N packets, destroy the pools and unbind the providers under load, then bind fresh ones (0 = never; must be below --packets)",
      "50000",
      { defaultText: "0 (never)" },
    ),
    rxRing: limitedInt("rxRing", "posted rx buffers per queue", "1024"),
    rxBufLen: flag.int(
      "rx buffer length the provider sets for its queue (large rx buffers: 4096, 16384, 32768, 65536); providers with an rxBufLen option (zcrx)",
      { default: 0, min: 4096, max: 65536, example: "32768", defaultText: "the provider's default (4096)" },
    ),
    xdp: flag.custom<XdpMix | null>(
      "attach an XDP program with this verdict mix, in percent of packets (the rest pass); every queue must be none",
      (raw, f) => {
        try {
          return parseXdpMix(raw);
        } catch (e) {
          throw new UsageError(`${f} ${bare(e)}`);
        }
      },
      {
        default: null,
        defaultText: "off",
        metavar: "drop:N,tx:N,redirect:N",
        example: "drop:10,tx:5,redirect:5",
      },
    ),
    pages: limitedInt("pages", "host memory in 4 KiB pages", "65536"),
    opt: flag.list("a provider option (the list below); the provider must have a queue", {
      metavar: "name.key=value",
      example: "zcrx.areaPages=4096",
      parse: parseOpt,
    }),
    format: flag.choice(
      ["text", "json", "ethtool", "ynl"] as const,
      "stdout: text; json (= --json -); ethtool (ethtool -S lines); ynl (ynl --family netdev dumps)",
      { default: "text", example: "ethtool" },
    ),
    json: flag.str("write the JSON document (schemas/sim.schema.json) to FILE, or to stdout with -", {
      metavar: "FILE|-",
      example: "-",
      defaultText: "off; a bare --json means --json -",
    }),
    interval: flag.int(
      "every N packets, print the counters' increase as watch -d ethtool -S shows it (in the JSON: intervals[])",
      { default: 0, min: 1, example: "10000", defaultText: "off" },
    ),
  },
  epilog: () =>
    [
      `providers: ${backendNames().join(", ")}`,
      "provider options (--opt name.key=value, defaults shown; from each plugin's fixture.ts):",
      `  ${NO_PROVIDER}.bufLen=2048  host buffer size in bytes`,
      ...FIXTURES.flatMap((f) =>
        Object.entries(f.options).map(([k, o]) => `  ${f.name}.${k}=${String(o.default)}  ${o.doc}`),
      ),
      "",
      "output that parses: npm run -s sim -- --json - (npm without -s prints a banner on stdout),",
      "  or npx bun sim/main.ts --json -, or npx bun run sim --json -",
      "exit: 0 audit ok, 1 something lost, duplicated or corrupt, 2 bad usage, 130 interrupted",
    ].join("\n"),
};

type SimFlags = (typeof SIM_COMMAND)["flags"];

export interface SimCli {
  opts: Partial<SimOptions>;
  dispatch: string | undefined;
  /** Where stdout's output comes from. */
  format: "text" | "json" | "ethtool" | "ynl";
  /** The JSON destination, if any: "-" (stdout) or a path as typed. */
  json: string | undefined;
  interval: number;
}

/** `--json` alone means `--json -` (stdout), as it did before the flag took a destination. */
function bareJson(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    out.push(argv[i]);
    if (argv[i] === "--") {
      out.push(...argv.slice(i + 1));
      break;
    }
    const next = argv[i + 1];
    if (argv[i] === "--json" && (next === undefined || (next.startsWith("-") && next.length > 1)))
      out.push("-");
  }
  return out;
}

/** Turns parsed flags into the run's options, with the checks that involve several flags. */
export function simCli(p: Parsed<SimFlags>): SimCli {
  const v = p.values;
  const providers = v.provider.length ? v.provider : defaultOptions.providers;
  if (providers.length > maxQ) fail("--provider", `given ${providers.length} times; at most ${maxQ} queues`);
  if (v.teardownAt > 0 && v.teardownAt >= v.packets)
    fail(
      "--teardown-at",
      `${v.teardownAt} is not before the end of the run (--packets ${v.packets}); the teardown would never happen under load`,
    );
  if (v.xdp && providers.some((q) => q !== NO_PROVIDER))
    fail(
      "--xdp",
      "an XDP program and memory providers exclude each other on a device (the kernel's EEXIST); use --provider none",
    );
  const opts: Record<string, string> = {};
  if (v.rxBufLen) {
    // The provider passes the length to the queue (pp_memory_provider_params.rx_page_size).
    // zcrx takes it as rxBufLen, huge as its chunk size.
    const keyOf = (q: string): string | null => {
      const f = FIXTURES.find((x) => x.name === q);
      if (!f) return null;
      if ("rxBufLen" in f.options) return "rxBufLen";
      return q === "huge" && "chunkSize" in f.options ? "chunkSize" : null;
    };
    const takers = providers.filter((q) => keyOf(q) !== null);
    if (takers.length === 0)
      fail(
        "--rx-buf-len",
        "no queue's provider sets an rx buffer length (zcrx and huge do); add --provider zcrx",
      );
    for (const q of takers) opts[`${q}.${keyOf(q)}`] = String(v.rxBufLen);
  }
  for (const [k, val] of v.opt) {
    const prov = k.slice(0, k.indexOf("."));
    if (!providers.includes(prov))
      fail(
        "--opt",
        `${k}=${val}: no queue has provider ${prov}, so the option would be ignored (add --provider ${prov})`,
      );
    opts[k] = val;
  }
  let format = v.format;
  let json = v.json;
  if (format === "json") {
    if (json !== undefined && json !== "-")
      fail("--format", "json prints to stdout; with --json FILE leave --format out");
    json = "-";
  } else if (json === "-") {
    if (p.given.has("format"))
      fail("--json", `- and --format ${format} both want stdout; give --json a FILE`);
    format = "json";
  }
  return {
    opts: {
      providers,
      packets: v.packets,
      seed: v.seed,
      user: v.user,
      policy: v.returnAfter,
      size: v.size,
      teardownAt: v.teardownAt,
      rxRing: v.rxRing,
      pages: v.pages,
      xdp: v.xdp,
      opts,
    },
    dispatch: v.dispatch,
    format,
    json,
    interval: v.interval,
  };
}

/** Parses argv the way the command does (tests use this): null for --help; throws UsageError. */
export function parseSimArgs(argv: readonly string[]): SimCli | null {
  const p = parse(SIM_COMMAND, bareJson(argv));
  return p.help ? null : simCli(p);
}

const fmt = (n: number): string => n.toLocaleString("en-US");

export async function run(p: Parsed<SimFlags>, argv: readonly string[]): Promise<number> {
  const cli = simCli(p);
  // Before any work: a --json FILE that cannot be written is a usage error now, not after the run.
  const jsonOut: Output | null = cli.json === undefined ? null : openOutput("sim", "--json", cli.json, "sim");
  if (cli.dispatch !== undefined && cli.dispatch !== DISPATCH_VARIANT) {
    if (process.env.PAGEPOOL_SIM_REEXEC === cli.dispatch)
      throw new PagePoolError(
        "ENOENT",
        `dispatch variant "${cli.dispatch}" is not available: #dispatch resolved to ${DISPATCH_VARIANT} under --conditions=${cli.dispatch} (run ${hint("codegen")})`,
      );
    const child = spawn(process.execPath, [`--conditions=${cli.dispatch}`, import.meta.path, ...argv], {
      stdio: "inherit",
      env: { ...process.env, PAGEPOOL_SIM_REEXEC: cli.dispatch },
    });
    // Ctrl-C reaches both processes from a terminal; a SIGINT sent to this one alone is passed
    // on. Either way the child reports it (one line) and this process only returns its code.
    process.removeAllListeners("SIGINT");
    process.on("SIGINT", () => child.kill("SIGINT"));
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    return code ?? (signal === "SIGINT" ? 130 : 1);
  }
  if (jsonOut?.toStdout && npmBannerOnStdout("sim"))
    process.stderr.write(
      "sim: npm printed its '> pagepool@… sim' banner on stdout above the JSON; `npm run -s sim -- …` gives output that parses\n",
    );
  const o = cli.opts;
  const long = (o.packets ?? defaultOptions.packets) >= 200_000;
  const intervals: IntervalSample[] | null = cli.interval > 0 ? [] : null;
  let prev = new Array<number>(NUM_STATS).fill(0);
  let nextProgress = 100_000;
  const stdout = (s: string) => printOut(`${s}\n`);
  // Stderr progress on long runs, and the --interval samples (the Simulation calls this about
  // every progressEvery packets, between polls).
  const progress = (done: number, total: number): Promise<void> => {
    report(done, total);
    // A turn of the event loop, so that Ctrl-C (runMain's SIGINT handler) is seen mid-run.
    return new Promise((resolve) => setImmediate(resolve));
  };
  const report = (done: number, total: number): void => {
    if (long && done >= nextProgress) {
      process.stderr.write(`sim: ${fmt(done)} / ${fmt(total)} packets\n`);
      while (nextProgress <= done) nextProgress += 100_000;
    }
    if (!intervals) return;
    const totals = deviceTotals(sim.pools.map((e) => e.pool.st));
    const delta = {} as Record<NetlinkStatName, number>;
    for (let i = 0; i < NUM_STATS; i++) delta[NETLINK_STAT_NAMES[i]] = totals[i] - prev[i];
    intervals.push({ offered: done, delta });
    if (cli.format === "ethtool" || cli.format === "text")
      stdout(`# after ${fmt(done)} packets\n${formatEthtool(totals, prev)}`);
    else if (cli.format === "ynl")
      stdout(
        `$ ynl --family netdev --dump page-pool-stats-get   # after ${fmt(done)} packets\n${ynlPagePoolStats(
          sim.pools
            .filter((e) => e.pool.state !== "freed")
            .map((e) => ({ id: e.pool.id, ifindex: sim.netdev.ifindex, stats: e.pool.st })),
        )}`,
      );
    prev = totals;
  };
  const sim: Simulation = new Simulation({
    ...o,
    progressEvery: cli.interval > 0 ? cli.interval : 100_000,
    progress,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  const ifindex = sim.netdev.ifindex;
  const r = await sim.run();
  const totals = deviceTotals(r.pools.map((pl) => STAT_NAMES.map((n) => pl.stats[n])));
  if (r.lost === 0) sim.dispose();
  const doc = `${JSON.stringify(simJson(r, intervals && { every: cli.interval, samples: intervals }), null, 2)}\n`;
  if (jsonOut && !jsonOut.toStdout) {
    const where = jsonOut.write(doc);
    process.stderr.write(`sim: wrote ${where}\n`);
  }
  switch (cli.format) {
    case "json":
      jsonOut?.write(doc);
      break;
    case "text":
      stdout(formatText(r));
      break;
    case "ethtool":
      stdout(intervals ? `# end of run\n${formatEthtool(totals, prev)}` : formatEthtool(totals));
      break;
    case "ynl": {
      const get = ynlPagePoolGet(r);
      stdout(`$ ynl --family netdev --dump page-pool-get   # as each pool was torn down\n${get.text}`);
      stdout(
        `$ ynl --family netdev --dump page-pool-stats-get   # every pool of the run, final counters\n${ynlPagePoolStats(
          r.pools.map((pl) => ({ id: pl.id, ifindex, stats: STAT_NAMES.map((n) => pl.stats[n]) })),
        )}`,
      );
      if (get.omitted.length)
        process.stderr.write(
          `sim: provider attributes the netdev spec does not have are left out of the ynl view: ${get.omitted.join(", ")} (they are in --json)\n`,
        );
      break;
    }
  }
  return r.audit.ok && r.lost === 0 && r.duplicated === 0 && r.corrupt === 0 ? 0 : 1;
}

if (import.meta.main) {
  const argv = bareJson(process.argv.slice(2));
  await runMain(SIM_COMMAND, { name: "sim", expected: [PagePoolError] }, (p) => run(p, argv), argv);
}
