/**
 * How `sim` prints a run: text (for people), JSON (schemas/sim.schema.json), `ethtool -S`, and
 * `ynl --family netdev`. The simulator (sim.ts) reports in its own types; every name a user sees
 * is chosen here.
 *
 * Naming, stated once: the kernel's page_pool counters and netlink attributes appear under the
 * names of the kernel's netlink spec (Documentation/netlink/specs/netdev.yaml: `alloc-fast`,
 * `recycle-cache-full`, `inflight-mem`, `io-uring`) in the JSON and in `--format ynl`; under their
 * ethtool strings (`rx_pp_alloc_fast`, …) in the text and in `--format ethtool`. The simulator's
 * own figures (not the kernel's) are camelCase in the JSON.
 */
import type { PagePoolDescription } from "../core/page-pool.ts";
import { ETHTOOL_STAT_NAMES, S_CACHED, STAT_NAMES, type StatName } from "../core/stats.ts";
import type { PoolReport, SimResult } from "./sim.ts";

/** The version of the JSON document sim prints; bump on any incompatible change. */
export const SIM_SCHEMA = "pagepool-sim/1";

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * The page-pool-stats-get attribute of each counter, in STAT_NAMES order (struct
 * page_pool_stats: six alloc_stats, then five recycle_stats): `slowHighOrder` is
 * `alloc-slow-high-order`. The test checks the list against the spec fixture.
 */
export const NETLINK_STAT_NAMES: readonly string[] = STAT_NAMES.map(
  (n, i) => `${i < S_CACHED ? "alloc" : "recycle"}-${kebab(n)}`,
);
export type NetlinkStatName = string;

/** The page-pool-get reply attributes (netdev.yaml `pp-reply`), in the spec's order. */
export const PAGE_POOL_GET_ATTRS = [
  "id",
  "ifindex",
  "napi-id",
  "inflight",
  "inflight-mem",
  "detach-time",
  "dmabuf",
  "io-uring",
] as const;

export function netlinkStats(stats: Readonly<Record<StatName, number>>): Record<NetlinkStatName, number> {
  const out = {} as Record<NetlinkStatName, number>;
  for (let i = 0; i < STAT_NAMES.length; i++) out[NETLINK_STAT_NAMES[i]] = stats[STAT_NAMES[i]];
  return out;
}

/**
 * The core's page-pool-get view (camelCase, core/page-pool.ts describe()) under the spec's names.
 * `spec` splits it: `attrs` are page-pool-get attributes; `extra` are a provider's own nlFill
 * entries that the kernel spec does not have (the model's providers `basic`, `huge`, `limited`).
 */
export function pagePoolGet(d: PagePoolDescription): {
  attrs: Record<string, unknown>;
  extra: Record<string, unknown>;
} {
  const attrs: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  const byName = new Map(Object.entries(d).map(([k, v]) => [kebab(k), [k, v] as const]));
  for (const a of PAGE_POOL_GET_ATTRS) if (byName.has(a)) attrs[a] = byName.get(a)![1];
  for (const [name, [k, v]] of byName)
    if (!(PAGE_POOL_GET_ATTRS as readonly string[]).includes(name)) extra[k] = v;
  return { attrs, extra };
}

// --- JSON ---------------------------------------------------------------------------------------

/** Unit of every number in the document, by path (`[]` = any element, `.*` = any key). */
export const SIM_UNITS: Readonly<Record<string, string>> = {
  "config.packets": "packets",
  "config.seed": "seed",
  "config.returnAfter": "packets",
  "config.size": "bytes",
  "config.teardownAt": "packets",
  "config.budget": "packets per NAPI poll",
  "config.rxRing": "buffers per queue",
  "config.pages": "4 KiB pages",
  "config.interval": "packets",
  offered: "packets",
  received: "packets",
  dropped: "packets",
  lost: "buffers",
  duplicated: "buffers",
  corrupt: "buffers",
  "audit.checks": "audits",
  "queues[].queue": "queue index",
  "queues[].offered": "packets",
  "queues[].received": "packets",
  "queues[].bytes": "bytes",
  "queues[].droppedNoBuffer": "packets",
  "queues[].droppedUserFull": "packets",
  "queues[].allocFailures": "rx ring refills that got no buffer",
  "queues[].stalls": "polls",
  "queues[].generations": "generations",
  "queues[].xdp.*": "packets",
  "queues[].rxBufLen": "bytes",
  "queues[].allocsPerMB": "buffers allocated per MiB received",
  "queues[].returnsPerMB": "buffers returned per MiB received",
  "generations[].queue": "queue index",
  "generations[].generation": "generation index",
  "generations[].counters.*": "provider-defined counts (see the provider's README)",
  "generations[].user.*": "buffers",
  "generations[].lifecycle.*": "calls",
  "generations[].shortfall": "buffers",
  "pools[].id": "pool id",
  "pools[].queue": "queue index",
  "pools[].generation": "generation index",
  "pools[].page-pool-stats.*": "events",
  "pools[].page-pool-get-at-teardown.id": "pool id",
  "pools[].page-pool-get-at-teardown.ifindex": "ifindex",
  "pools[].page-pool-get-at-teardown.napi-id": "napi id",
  "pools[].page-pool-get-at-teardown.inflight": "buffers",
  "pools[].page-pool-get-at-teardown.inflight-mem": "bytes",
  "pools[].page-pool-get-at-teardown.detach-time": "seconds of model time",
  "pools[].page-pool-get-at-teardown.dmabuf": "dmabuf id",
  "pools[].provider-attrs-at-teardown.*": "provider-defined",
  "pools[].auditAtTeardown.*": "buffers",
  "pools[].auditFinal.*": "buffers",
  "pools[].hold": "buffers",
  "pools[].release": "buffers",
  "pools[].inflight": "buffers",
  "pools[].destroyRetries": "retries",
  "intervals[].offered": "packets",
  "intervals[].delta.*": "events",
  wallMs: "ms",
};

/** An audit with its `inflight` renamed: it is not netlink's inflight (see formatText). */
function auditJson(a: PoolReport["auditFinal"] | null) {
  if (!a) return null;
  return {
    ok: a.ok,
    problems: a.problems,
    cache: a.cache,
    ring: a.ring,
    outsidePool: a.inflight,
    hold: a.hold,
    release: a.release,
  };
}

export interface IntervalSample {
  /** Packets offered when the sample was taken. */
  offered: number;
  /** Counter increase since the previous sample, summed over the device's pools. */
  delta: Record<NetlinkStatName, number>;
}

/** The JSON document (schemas/sim.schema.json). */
export function simJson(
  r: SimResult,
  intervals: { every: number; samples: readonly IntervalSample[] } | null = null,
) {
  return {
    schema: SIM_SCHEMA,
    units: SIM_UNITS,
    dispatch: r.dispatch,
    config: { ...r.config, ...(intervals ? { interval: intervals.every } : {}) },
    offered: r.offered,
    received: r.received,
    dropped: r.dropped,
    lost: r.lost,
    duplicated: r.duplicated,
    corrupt: r.corrupt,
    audit: r.audit,
    queues: r.queues,
    generations: r.generations,
    pools: r.pools.map((p) => {
      const nl = p.describeAtTeardown ? pagePoolGet(p.describeAtTeardown) : null;
      return {
        id: p.id,
        queue: p.queue,
        generation: p.generation,
        provider: p.provider,
        state: p.state,
        "page-pool-stats": netlinkStats(p.stats),
        "page-pool-get-at-teardown": nl?.attrs ?? null,
        "provider-attrs-at-teardown": nl && Object.keys(nl.extra).length ? nl.extra : null,
        auditAtTeardown: auditJson(p.auditAtTeardown),
        auditFinal: auditJson(p.auditFinal),
        hold: p.hold,
        release: p.release,
        inflight: p.inflight,
        destroyRetries: p.destroyRetries,
      };
    }),
    ...(intervals ? { intervals: intervals.samples } : {}),
    wallMs: r.wallMs,
  };
}

// --- text ---------------------------------------------------------------------------------------

const fmt = (n: number): string => n.toLocaleString("en-US");

export function formatText(r: SimResult): string {
  const out: string[] = [];
  const c = r.config;
  out.push(
    `pagepool sim: dispatch ${r.dispatch}, queues [${(c.providers as string[]).join(", ")}], user ${c.user}, return after ${c.returnAfter}, size ${c.size}, seed ${c.seed}`,
  );
  out.push(
    `packets: offered ${fmt(r.offered)}, received ${fmt(r.received)}, dropped ${fmt(r.dropped)} (${r.wallMs} ms)`,
  );
  for (const q of r.queues) {
    out.push(
      `  queue ${q.queue}: offered ${fmt(q.offered)} received ${fmt(q.received)} bytes ${fmt(q.bytes)} dropped(no buffer) ${fmt(q.droppedNoBuffer)} dropped(user full) ${fmt(q.droppedUserFull)} alloc failures ${fmt(q.allocFailures)} generations ${q.generations}`,
    );
    out.push(
      `    rx buffers ${fmt(q.rxBufLen)} B: ${q.allocsPerMB} allocations and ${q.returnsPerMB} returns per MiB received`,
    );
    if (q.xdp)
      out.push(
        `    xdp: drop ${fmt(q.xdp.drop)} tx ${fmt(q.xdp.tx)} redirect ${fmt(q.xdp.redirect)} pass ${fmt(q.xdp.pass)}; ${fmt(q.xdp.bulkReturned)} frames back through xdp_frame_bulk`,
      );
  }
  for (const p of r.pools) {
    if (p.hold === 0 && p.state === "freed") {
      // The provider-less pool a queue restart makes when a provider is unbound; no traffic.
      out.push(
        `pool ${p.id} (queue ${p.queue}, generation ${p.generation}, provider ${p.provider}): unused, freed`,
      );
      continue;
    }
    out.push(
      `pool ${p.id} (queue ${p.queue}, generation ${p.generation}, provider ${p.provider}): ${p.state}; hold ${fmt(p.hold)} release ${fmt(p.release)} inflight ${fmt(p.inflight)}; deferred-destroy retries ${p.destroyRetries}`,
    );
    const stats = STAT_NAMES.map((n, i) => `${ETHTOOL_STAT_NAMES[i]} ${fmt(p.stats[n])}`);
    out.push(`  ${stats.slice(0, 6).join("  ")}`);
    out.push(`  ${stats.slice(6).join("  ")}`);
    if (p.describeAtTeardown) {
      const { attrs, extra } = pagePoolGet(p.describeAtTeardown);
      const more = { ...attrs, ...extra };
      for (const k of ["id", "ifindex", "napi-id", "inflight", "inflight-mem", "detach-time"]) delete more[k];
      const rest = Object.keys(more).length ? `; ${JSON.stringify(more)}` : "";
      // netlink's inflight is hold - release: it counts the pool's own cache and ring too.
      out.push(
        `  at teardown (page-pool-get): inflight ${fmt(attrs.inflight as number)}, inflight-mem ${fmt(attrs["inflight-mem"] as number)} bytes${rest}`,
      );
    }
    const a = p.auditAtTeardown;
    if (a)
      out.push(
        `  audit at teardown: ${a.ok ? "ok" : "FAILED"}; of inflight ${fmt(a.cache + a.ring + a.inflight)}: in cache ${fmt(a.cache)}, in ring ${fmt(a.ring)}, outside the pool (NIC or user) ${fmt(a.inflight)}`,
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

// --- ethtool -S ---------------------------------------------------------------------------------

/** Sums the counters of every pool (the device's totals, as a driver's ethtool -S reports them). */
export function deviceTotals(stats: Iterable<ArrayLike<number>>): number[] {
  const t = new Array<number>(STAT_NAMES.length).fill(0);
  for (const st of stats) for (let i = 0; i < t.length; i++) t[i] += st[i];
  return t;
}

/**
 * `ethtool -S <dev>` as the kernel's page_pool helper fills it (net/core/page_pool.c pp_stats[],
 * page_pool_ethtool_stats_get(): one total over the device's pools). With `prev`, the lines a
 * later `watch -d ethtool -S` would highlight carry their increase: `(+n)`.
 *
 * Model difference: mlx5 keeps its own copy of these (en_stats.c) and spells one differently,
 * `rx_pp_alloc_slow_high_order` for the helper's `rx_pp_alloc_slow_ho`; the helper's names are
 * printed here. The kernel also sums only live pools; here the totals include pools already
 * destroyed (a restart does not reset the device's counters), which is what mlx5's sw stats do.
 */
export function formatEthtool(totals: readonly number[], prev: readonly number[] | null = null): string {
  const lines = ["NIC statistics:"];
  for (let i = 0; i < ETHTOOL_STAT_NAMES.length; i++) {
    const d = prev ? totals[i] - prev[i] : 0;
    lines.push(`     ${ETHTOOL_STAT_NAMES[i]}: ${totals[i]}${d !== 0 ? ` (+${d})` : ""}`);
  }
  return lines.join("\n");
}

// --- ynl ----------------------------------------------------------------------------------------

/**
 * `ynl --family netdev --dump page-pool-get` (tools/net/ynl/pyynl/cli.py): the reply list printed
 * with Python's pprint.PrettyPrinter() (width 80, keys sorted). One entry per pool, as
 * page-pool-get answered when its generation was torn down (pools the kernel would list then).
 */
export function ynlPagePoolGet(r: SimResult): { text: string; omitted: string[] } {
  const omitted = new Set<string>();
  const reply = r.pools
    .filter((p) => p.describeAtTeardown)
    .map((p) => {
      const { attrs, extra } = pagePoolGet(p.describeAtTeardown!);
      for (const k of Object.keys(extra)) omitted.add(k);
      return attrs;
    });
  return { text: pformat(reply), omitted: [...omitted].sort() };
}

/** `ynl --family netdev --dump page-pool-stats-get`: each pool's counters with its info nest. */
export function ynlPagePoolStats(
  pools: readonly { id: number; ifindex: number; stats: ArrayLike<number> }[],
): string {
  return pformat(
    pools.map((p) => {
      const o: Record<string, unknown> = { info: { id: p.id, ifindex: p.ifindex } };
      for (let i = 0; i < NETLINK_STAT_NAMES.length; i++) o[NETLINK_STAT_NAMES[i]] = p.stats[i];
      return o;
    }),
  );
}

/** Python's repr() of JSON-like values: ints, strings, booleans, None, lists, dicts (keys sorted). */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === "string") return pyStr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  const items = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${items.map(([k, x]) => `${pyStr(k)}: ${pyRepr(x)}`).join(", ")}}`;
}

function pyStr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\t/g, "\\t");
  return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
}

/**
 * pprint.PrettyPrinter(width=80).pformat() for lists and dicts: the repr on one line if it fits in
 * the width left after `indent` and the closing brackets that follow (`allowance`); else one item
 * a line, nested items formatted the same way (CPython Lib/pprint.py _format, _pprint_dict,
 * _format_dict_items, _format_items with compact=False).
 */
export function pformat(v: unknown, indent = 0, allowance = 0, width = 80): string {
  const rep = pyRepr(v);
  if (rep.length <= width - indent - allowance) return rep;
  if (Array.isArray(v)) {
    if (v.length === 0) return rep;
    const inner = indent + 1;
    const parts = v.map((x, i) => pformat(x, inner, i === v.length - 1 ? allowance + 1 : 1, width));
    return `[${parts.join(`,\n${" ".repeat(inner)}`)}]`;
  }
  if (v !== null && typeof v === "object") {
    const items = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    if (items.length === 0) return rep;
    const inner = indent + 1;
    const parts = items.map(([k, x], i) => {
      const kr = pyStr(k);
      return `${kr}: ${pformat(x, inner + kr.length + 2, i === items.length - 1 ? allowance + 1 : 1, width)}`;
    });
    return `{${parts.join(`,\n${" ".repeat(inner)}`)}}`;
  }
  return rep;
}
