/**
 * `bun run sim`: the receive simulation from the command line. See sim/README.md.
 *
 *   bun run sim --provider zcrx --user worker --packets 1000000 --json
 *
 * `--dispatch <variant>` re-executes this script under `bun --conditions=<variant>`, which is how
 * a dispatcher variant is chosen: when modules are linked, never by a runtime branch.
 */
import { spawnSync } from "node:child_process";
import { DISPATCH_VARIANT } from "#dispatch";
import { PagePoolError } from "../core/errors.ts";
import { FIXTURES } from "../core/generated/fixtures.generated.ts";
import { ETHTOOL_STAT_NAMES, STAT_NAMES } from "../core/stats.ts";
import { backendNames } from "./backends/index.ts";
import type { ReturnPolicy } from "./backends/types.ts";
import { parseSizeSpec } from "./rng.ts";
import { defaultOptions, runSim, type SimOptions, type SimResult } from "./sim.ts";

const USAGE = `usage: bun run sim [options]
  --provider <name>     bind a provider to the next rx queue (repeatable, one queue each);
                        "none" = a queue without a provider. Default: one queue, none.
  --dispatch <variant>  ops-table | if-chain | icall-wrapper (re-runs under --conditions=<variant>)
  --packets N           packets offered to the device, all queues together (default 100000)
  --seed S              seed for the packet-size mix and everything else random (default 1)
  --user inline|worker  the user side runs between NAPI polls, or in a real Worker thread
  --return-after N|never  the user gives a buffer back N packets after it arrived (0 = at once)
  --size mix|N          packet sizes: the seeded IMIX (64/576/1500 B, 7:4:1) or fixed N bytes
  --teardown-at N       after N packets, destroy the pools and unbind the providers under load,
                        then bind fresh instances and carry on
  --rx-ring N           posted rx buffers per queue (default 256)
  --pages N             host memory in 4 KiB pages (default 16384 = 64 MiB)
  --opt name.key=value  a provider option (e.g. limited.quotaBytes=1048576, zcrx.areaPages=4096)
  --json                print one JSON document (progress goes to stderr)
  -h, --help
providers: ${backendNames().join(", ")}
provider options (--opt name.key=value, defaults shown; from each plugin's fixture.ts):
  none.bufLen=2048
${FIXTURES.flatMap((f) => Object.entries(f.options).map(([k, o]) => `  ${f.name}.${k}=${String(o.default)}  ${o.doc}`)).join("\n")}`;

interface Cli {
  opts: Partial<SimOptions>;
  json: boolean;
  dispatch: string | null;
}

export function parseArgs(argv: string[]): Cli {
  const opts: Partial<SimOptions> = {};
  const providers: string[] = [];
  const provOpts: Record<string, string> = {};
  let json = false;
  let dispatch: string | null = null;
  const int = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === "" || !Number.isSafeInteger(n) || n < 0)
      throw new PagePoolError("EINVAL", `${flag} needs a non-negative integer, got ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] =
      a.startsWith("--") && a.includes("=")
        ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
        : [a, undefined];
    const val = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new PagePoolError("EINVAL", `${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--provider":
        providers.push(val());
        break;
      case "--dispatch":
        dispatch = val();
        break;
      case "--packets":
        opts.packets = int(flag, val());
        break;
      case "--seed":
        opts.seed = int(flag, val());
        break;
      case "--user": {
        const u = val();
        if (u !== "inline" && u !== "worker")
          throw new PagePoolError("EINVAL", `--user must be inline or worker, got ${u}`);
        opts.user = u;
        break;
      }
      case "--return-after": {
        const v = val();
        opts.policy = (v === "never" ? { delay: "never" } : { delay: int(flag, v) }) as ReturnPolicy;
        break;
      }
      case "--size":
        opts.size = parseSizeSpec(val());
        break;
      case "--teardown-at":
        opts.teardownAt = int(flag, val());
        break;
      case "--rx-ring":
        opts.rxRing = int(flag, val());
        break;
      case "--pages":
        opts.pages = int(flag, val());
        break;
      case "--opt": {
        const v = val();
        const eq = v.indexOf("=");
        if (eq <= 0 || !v.slice(0, eq).includes("."))
          throw new PagePoolError("EINVAL", `--opt wants provider.key=value, got ${v}`);
        provOpts[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case "--json":
        json = true;
        break;
      default:
        throw new PagePoolError("EINVAL", `unknown argument ${a}\n${USAGE}`);
    }
  }
  if (providers.length > 0) opts.providers = providers;
  opts.opts = provOpts;
  return { opts, json, dispatch };
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatText(r: SimResult): string {
  const out: string[] = [];
  const c = r.config;
  out.push(
    `pagepool sim: dispatch ${r.dispatch}, queues [${(c.providers as string[]).join(", ")}], user ${c.user}, return after ${c.returnAfter}, size ${c.size}, seed ${c.seed}`,
  );
  out.push(
    `packets: offered ${fmt(r.offered)}, received ${fmt(r.received)}, dropped ${fmt(r.dropped)} (${r.wallMs} ms)`,
  );
  for (const q of r.queues)
    out.push(
      `  queue ${q.queue}: offered ${fmt(q.offered)} received ${fmt(q.received)} bytes ${fmt(q.bytes)} dropped(no buffer) ${fmt(q.droppedNoBuffer)} dropped(user full) ${fmt(q.droppedUserFull)} alloc failures ${fmt(q.allocFailures)} generations ${q.generations}`,
    );
  for (const p of r.pools) {
    if (p.hold === 0 && p.state === "freed") {
      // The provider-less pool a queue restart makes when a provider is unbound; no traffic.
      out.push(
        `pool ${p.id} (queue ${p.queue}, generation ${p.generation}, provider ${p.provider}): unused, freed`,
      );
      continue;
    }
    out.push(
      `pool ${p.id} (queue ${p.queue}, generation ${p.generation}, provider ${p.provider}): ${p.state}; hold ${fmt(p.hold)} release ${fmt(p.release)} inflight ${p.inflight}; deferred-destroy retries ${p.destroyRetries}`,
    );
    const stats = STAT_NAMES.map((n, i) => `${ETHTOOL_STAT_NAMES[i]} ${fmt(p.stats[n])}`);
    out.push(`  ${stats.slice(0, 6).join("  ")}`);
    out.push(`  ${stats.slice(6).join("  ")}`);
    if (p.describeAtTeardown) {
      const d = p.describeAtTeardown;
      out.push(
        `  at teardown: inflight ${d.inflight} (${fmt(d.inflightMem)} bytes); ${JSON.stringify(extraAttrs(d))}`,
      );
    }
    const a = p.auditAtTeardown;
    if (a)
      out.push(
        `  audit at teardown: ${a.ok ? "ok" : "FAILED"} (cache ${a.cache}, ring ${a.ring}, in flight ${a.inflight})`,
      );
  }
  for (const g of r.generations)
    out.push(
      `provider ${g.provider} (queue ${g.queue}, generation ${g.generation}): init ${g.lifecycle.inits} destroy ${g.lifecycle.destroys}; user received ${fmt(g.user.received)} returned ${fmt(g.user.returned)} held at close ${fmt(g.user.heldAtClose)}; not home ${g.shortfall}\n  counters ${JSON.stringify(g.counters)}`,
    );
  out.push(
    `audit: ${r.audit.ok ? "ok" : "FAILED"} (${r.audit.checks} checks); lost ${r.lost}, duplicated ${r.duplicated}, corrupt ${r.corrupt}`,
  );
  for (const p of r.audit.problems) out.push(`  problem: ${p}`);
  return out.join("\n");
}

function extraAttrs(d: Record<string, unknown>): Record<string, unknown> {
  const { id: _i, ifindex: _f, napiId: _n, inflight: _in, inflightMem: _m, detachTime: _d, ...rest } = d;
  return rest;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const cli = parseArgs(argv);
  if (cli.dispatch !== null && cli.dispatch !== DISPATCH_VARIANT) {
    if (process.env.PAGEPOOL_SIM_REEXEC === cli.dispatch)
      throw new PagePoolError(
        "ENOENT",
        `dispatch variant "${cli.dispatch}" is not available: #dispatch resolved to ${DISPATCH_VARIANT} under --conditions=${cli.dispatch} (run bun run codegen)`,
      );
    const r = spawnSync(process.execPath, [`--conditions=${cli.dispatch}`, import.meta.path, ...argv], {
      stdio: "inherit",
      env: { ...process.env, PAGEPOOL_SIM_REEXEC: cli.dispatch },
    });
    return r.status ?? 1;
  }
  const long = (cli.opts.packets ?? defaultOptions.packets) >= 200_000;
  const r = await runSim({
    ...cli.opts,
    progress: long
      ? (done, total) => process.stderr.write(`sim: ${fmt(done)} / ${fmt(total)} packets\n`)
      : undefined,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  console.log(cli.json ? JSON.stringify(r, null, 2) : formatText(r));
  return r.audit.ok && r.lost === 0 && r.duplicated === 0 && r.corrupt === 0 ? 0 : 1;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e instanceof PagePoolError ? `sim: ${e.message}` : e);
      process.exit(2);
    },
  );
}
