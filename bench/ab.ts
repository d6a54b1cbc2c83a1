/**
 * `npm run bench -- ab <commit-a> <commit-b>`: the pool's own hot paths of two commits, measured
 * against each other the way the verdict measures variants: each commit in its own process (its
 * own JIT state), short bursts alternating A B / B A in a shuffled order per round so each pair
 * of bursts sees the same machine state, repeated over several process launches, and the
 * interval of b / a from lib/stats.ts's launch-corrected Student-t. Use it for "did this change
 * make the fast path slower": comparing two results files (compare mode) sets figures measured
 * minutes apart against each other, which this machine's drift swamps at 5-10%.
 *
 * Paths (the API every commit since the first has): `fast` is alloc + recycleDirect on a warm
 * cache (the kernel's page_pool01_fast_path shape); `slow` is alloc + returnNetmem through the
 * basic provider (the pool's slow path and one provider call, every alloc).
 *
 * Each commit is extracted with `git archive` into a temporary directory that shares this
 * checkout's node_modules; nothing in the working tree changes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Command,
  type Flag,
  flag,
  helpText,
  howToRun,
  parse,
  REPO_ROOT,
  UsageError,
} from "../cli/args.ts";
import { ServingChild } from "./lib/proc.ts";
import { mulberry32 } from "./lib/rng.ts";
import { type Burster, planRound, runRound, Samples, sampleId } from "./lib/schedule.ts";
import { type Call, callOf, formatCI, launchCorrectedCI, type RatioCI } from "./lib/stats.ts";

export const AB_PATHS = ["fast", "slow"] as const;

export const AB_COMMAND = {
  script: "bench",
  file: "bench/run.ts",
  summary:
    "ab: the fast and slow paths of two commits against each other, in paired interleaved bursts across process launches (b / a with a 95% interval).",
  positionals: {
    usage: "<commit-a> <commit-b>",
    max: 2,
    description: "any git revision (HEAD~3, a tag, a hash)",
  },
  flags: {
    engine: flag.choice(["bun", "node"] as const, "runtime the children run on", { default: "bun" }),
    launches: flag.int("process launches per commit", { default: 6, min: 1, max: 100 }),
    pairs: flag.int("rounds per launch (each a pair of bursts per path, order mirrored)", {
      default: 40,
      min: 1,
      max: 100000,
    }),
    ops: flag.int("operations per burst", { default: 100000, min: 100, max: 100_000_000 }),
    seed: flag.int("seed of the burst order", { default: 1, min: 0, max: 0xffff_ffff }),
  },
} satisfies Command<Record<string, Flag<unknown>>>;

/** The child: one commit's pool, serving `{op:"burst", key, ops}` with `{ns}` per op. */
function childSource(tree: string): string {
  return `import * as POOL from ${JSON.stringify(`${tree}/core/page-pool.ts`)};
import * as NET from ${JSON.stringify(`${tree}/core/netdev.ts`)};
import * as ALLOC from ${JSON.stringify(`${tree}/core/page-alloc.ts`)};
import * as BASIC from ${JSON.stringify(`${tree}/plugins/basic/provider.ts`)};
import { createInterface } from "node:readline";
const P: any = POOL, N: any = NET, A: any = ALLOC, B: any = BASIC;
function rig(provider: boolean) {
  const dev = new A.DmaDevice(new A.PageAllocator({ pages: 4096 }));
  const netdev = new N.NetDevice({ rxQueues: 1, dev });
  let flags = 0;
  if (provider) {
    netdev.bindRxQueue(0, B.basicOps, new B.BasicProvider());
    flags = P.PP_FLAG_DMA_MAP | P.PP_FLAG_DMA_SYNC_DEV | P.PP_FLAG_ALLOW_UNREADABLE_NETMEM;
  }
  return P.PagePool.create({ netdev, queueIdx: 0, napi: netdev.rxQueue(0).napi, flags, maxLen: 4096 });
}
const fp = rig(false);
fp.recycleDirect(fp.allocNetmem(1)); // a warm cache
const sp = rig(true);
sp.allocNetmem(1); // one buffer held for good: the provider keeps its memory
const fast = (n: number) => { let s = 0; for (let i = 0; i < n; i++) { const r = fp.allocNetmem(1); s = (s + r) | 0; fp.recycleDirect(r); } return s; };
const slow = (n: number) => { let s = 0; for (let i = 0; i < n; i++) { const r = sp.allocNetmem(1); s = (s + r) | 0; sp.returnNetmem(r); } return s; };
let sink = 0;
const reply = (x: unknown) => process.stdout.write(JSON.stringify(x) + "\\n");
createInterface({ input: process.stdin }).on("line", (l) => {
  const m = JSON.parse(l);
  if (m.op === "quit") process.exit(sink === 42 ? 1 : 0);
  const f = m.key === "fast" ? fast : slow;
  const t0 = performance.now();
  sink ^= f(m.ops);
  reply({ ns: ((performance.now() - t0) * 1e6) / m.ops });
});
reply({ ready: true });
`;
}

export interface AbRow {
  path: string;
  ratio: RatioCI;
  call: Call;
}

/**
 * The measurement, given a way to start one launch's two processes: per launch, every path warmed
 * in both, then `pairs` rounds of shuffled, mirrored bursts (schedule.ts, the verdict's own).
 */
export async function measureAb(
  start: (launch: number) => Promise<{ burster: Burster; close(): Promise<void> }>,
  o: { launches: number; pairs: number; seed: number; warm?: number },
): Promise<AbRow[]> {
  const samples = new Samples();
  const rand = mulberry32(o.seed);
  for (let l = 0; l < o.launches; l++) {
    const { burster, close } = await start(l);
    try {
      for (let w = 0; w < (o.warm ?? 10); w++)
        for (const k of AB_PATHS) for (const v of ["a", "b"]) await burster.burst(v, k);
      for (let r = 0; r < o.pairs; r++)
        await runRound(burster, planRound(AB_PATHS, ["b"], rand, "a"), "ab", l, samples, "a");
    } finally {
      await close();
    }
  }
  return AB_PATHS.map((path) => {
    const ratio = launchCorrectedCI(samples.groups(sampleId("ab", path, "b")), { seed: o.seed });
    return { path, ratio, call: callOf(ratio) };
  });
}

/** Extracts `rev` into a temporary tree sharing this checkout's node_modules. */
function extract(rev: string, into: string): void {
  const tar = spawnSync("git", ["archive", "--format=tar", rev], { cwd: REPO_ROOT, maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new UsageError(`not a commit: "${rev}" (${String(tar.stderr).trim()})`);
  execFileSync("tar", ["-x", "-C", into], { input: tar.stdout });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(into, "node_modules"));
}

export async function abMain(argv: readonly string[]): Promise<number> {
  let p: ReturnType<typeof parse<typeof AB_COMMAND.flags>>;
  try {
    p = parse(AB_COMMAND, argv);
    if (p.help) {
      process.stdout.write(`${helpText(AB_COMMAND)}\n`);
      return 0;
    }
    if (p.positionals.length !== 2) throw new UsageError(`ab needs two commits, got ${p.positionals.length}`);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench ab: ${e.message}\ntry ${howToRun("bench", "bench/run.ts", "ab --help")}`);
    return 2;
  }
  const v = p.values;
  const work = mkdtempSync(join(tmpdir(), "pagepool-ab-"));
  try {
    const cmds: Record<string, string[]> = {};
    for (const [side, rev] of [
      ["a", p.positionals[0]],
      ["b", p.positionals[1]],
    ]) {
      const tree = join(work, side);
      mkdirSync(tree);
      extract(rev, tree);
      const entry = join(work, `child-${side}.ts`);
      writeFileSync(entry, childSource(tree));
      if (v.engine === "node") {
        const out = join(work, `child-${side}.mjs`);
        const r = await Bun.build({
          entrypoints: [entry],
          target: "node",
          outdir: work,
          naming: `child-${side}.mjs`,
        });
        if (!r.success) throw new Error(`bundling ${rev} for node failed: ${r.logs.join("\n")}`);
        cmds[side] = [process.env.PAGEPOOL_NODE || "node", out];
      } else cmds[side] = [process.execPath, entry];
    }
    const rows = await measureAb(
      async (l) => {
        console.error(`launch ${l + 1}/${v.launches}`);
        // Start order alternates, so neither commit always gets the freshly idle core.
        const sides = l % 2 ? ["b", "a"] : ["a", "b"];
        const kids = new Map(
          sides.map((s) => [
            s,
            new ServingChild(`${s} (${v.engine})`, cmds[s], { cwd: work, env: process.env }),
          ]),
        );
        await Promise.all([...kids.values()].map((k) => k.ready));
        return {
          burster: {
            burst: async (side, key) =>
              (await kids.get(side)!.request<{ ns: number }>({ op: "burst", key, ops: v.ops })).ns,
          },
          close: async () => {
            await Promise.all([...kids.values()].map((k) => k.close()));
          },
        };
      },
      { launches: v.launches, pairs: v.pairs, seed: v.seed },
    );
    const [a, b] = p.positionals;
    const lines = [
      `ab on ${v.engine}: b = ${b} against a = ${a}, ${v.launches} launches x ${v.pairs} rounds, bursts of ${v.ops} ops`,
      ...rows.map(
        (r) =>
          `  ${r.path.padEnd(5)} b / a ${formatCI(r.ratio)} ${r.call}  (±${(r.ratio.halfWidth * 100).toFixed(1)}%)`,
      ),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`bench ab: ${e.message}`);
      return 2;
    }
    throw e;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
