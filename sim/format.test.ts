/**
 * sim's output formats: names against the kernel's (cli/fixtures/kernel-names.json, copied from
 * netdev.yaml and page_pool.c), the JSON against schemas/*.schema.json with ajv, a unit for every
 * number in it, and ynl's pretty-printing against CPython's pprint (expected strings printed by
 * CPython 3's pprint.pformat).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { validator } from "../cli/schemas.ts";
import { ETHTOOL_STAT_NAMES, NUM_STATS } from "../core/stats.ts";
import {
  formatEthtool,
  formatText,
  NETLINK_STAT_NAMES,
  PAGE_POOL_GET_ATTRS,
  pagePoolGet,
  pformat,
  SIM_SCHEMA,
  SIM_UNITS,
  simJson,
  ynlPagePoolGet,
} from "./format.ts";
import { runSim } from "./sim.ts";

const ROOT = join(import.meta.dir, "..");
const kernel = JSON.parse(readFileSync(join(ROOT, "cli/fixtures/kernel-names.json"), "utf8"));
const spec = kernel["netdev.yaml"];

/** Every number's path in `doc`, array indices as [] ("pools[].page-pool-stats.alloc-fast"). */
function numberPaths(v: unknown, path = "", out = new Set<string>()): Set<string> {
  if (typeof v === "number") out.add(path);
  else if (Array.isArray(v)) for (const x of v) numberPaths(x, `${path}[]`, out);
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) numberPaths(x, path ? `${path}.${k}` : k, out);
  return out;
}

function unitOf(path: string, units: Record<string, string>): string | undefined {
  if (units[path]) return units[path];
  for (const [k, u] of Object.entries(units))
    if (k.endsWith(".*") && path.startsWith(`${k.slice(0, -2)}.`)) return u;
  return undefined;
}

describe("names are the kernel's", () => {
  test("ethtool strings are page_pool.c's pp_stats[] (mlx5 differs in one, noted in format.ts)", () => {
    expect([...ETHTOOL_STAT_NAMES]).toEqual(kernel["page_pool.c"].ethtool);
    const mlx5 = kernel["en_stats.c"].ethtool as string[];
    expect(mlx5.filter((n, i) => n !== ETHTOOL_STAT_NAMES[i])).toEqual(["rx_pp_alloc_slow_high_order"]);
  });
  test("JSON counter names are page-pool-stats attributes; page-pool-get names are its reply's", () => {
    expect(["info", ...NETLINK_STAT_NAMES]).toEqual(spec.replies["page-pool-stats-get"]);
    expect([...PAGE_POOL_GET_ATTRS]).toEqual(spec.replies["page-pool-get"]);
    expect(NETLINK_STAT_NAMES).toHaveLength(NUM_STATS);
  });
  test("the core's camelCase view maps onto the spec; provider extras are kept apart", () => {
    const { attrs, extra } = pagePoolGet({
      id: 3,
      ifindex: 2,
      napiId: 7,
      inflight: 5,
      inflightMem: 20480,
      detachTime: 9,
      ioUring: {},
      huge: { liveFolios: 1 },
    });
    // The spec's order; the one attribute this pool has not (dmabuf) is absent.
    expect(Object.keys(attrs)).toEqual(spec.replies["page-pool-get"].filter((a: string) => a !== "dmabuf"));
    expect(extra).toEqual({ huge: { liveFolios: 1 } });
  });
});

describe("pformat is CPython's pprint", () => {
  test("page-pool-get and page-pool-stats-get dumps", () => {
    expect(
      pformat([
        { id: 1, ifindex: 2, inflight: 320, "inflight-mem": 1310720, "io-uring": {}, "napi-id": 1 },
        { id: 4, ifindex: 2, inflight: 0, "inflight-mem": 0, "napi-id": 1 },
      ]),
    ).toBe(
      "[{'id': 1,\n  'ifindex': 2,\n  'inflight': 320,\n  'inflight-mem': 1310720,\n  'io-uring': {},\n  'napi-id': 1},\n {'id': 4, 'ifindex': 2, 'inflight': 0, 'inflight-mem': 0, 'napi-id': 1}]",
    );
    const stats: Record<string, unknown> = { info: { id: 1, ifindex: 2 } };
    [1260, 0, 0, 20, 0, 0, 128, 128, 192, 0, 0].forEach((v, i) => {
      stats[NETLINK_STAT_NAMES[i]] = v;
    });
    expect(pformat([stats])).toBe(
      "[{'alloc-empty': 20,\n  'alloc-fast': 1260,\n  'alloc-refill': 0,\n  'alloc-slow': 0,\n  'alloc-slow-high-order': 0,\n  'alloc-waive': 0,\n  'info': {'id': 1, 'ifindex': 2},\n  'recycle-cache-full': 128,\n  'recycle-cached': 128,\n  'recycle-released-refcnt': 0,\n  'recycle-ring': 192,\n  'recycle-ring-full': 0}]",
    );
  });
  test("nesting, quotes, None and booleans", () => {
    const row = { a: 10 ** 12, b: "it's" };
    expect(pformat({ k: [1, "x", null, true], deep: { list: [row, row, row] } })).toBe(
      `{'deep': {'list': [{'a': 1000000000000, 'b': "it's"},\n                   {'a': 1000000000000, 'b': "it's"},\n                   {'a': 1000000000000, 'b': "it's"}]},\n 'k': [1, 'x', None, True]}`,
    );
  });
  test("property: breaking lines only adds newlines and indentation (the flat repr comes back)", () => {
    const leaf = fc.oneof(fc.nat(), fc.boolean(), fc.constant(null), fc.stringMatching(/^[a-z]{0,6}$/));
    const tree = fc.letrec((t) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.array(t("node"), { maxLength: 5 }),
        fc.dictionary(fc.stringMatching(/^[a-z-]{1,12}$/), t("node"), { maxKeys: 5 }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (v) => {
        const text = pformat(v);
        // Joining the lines back (pprint only adds newlines and indentation) gives the repr.
        const flat = pformat(v, 0, 0, Number.MAX_SAFE_INTEGER);
        expect(text.replace(/\n */g, " ")).toBe(flat);
      }),
      { numRuns: 300 },
    );
  });
});

describe("a run printed", () => {
  test("JSON: valid against the schema, versioned, a unit for every number, spec names only", async () => {
    const validate = validator("sim");
    const r = await runSim({
      providers: ["zcrx", "devmem", "huge", "none"],
      packets: 4000,
      teardownAt: 2000,
    });
    const doc = JSON.parse(JSON.stringify(simJson(r, { every: 1000, samples: [] })));
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
    expect(doc.schema).toBe(SIM_SCHEMA);
    const missing = [...numberPaths(doc)].filter((p) => !p.startsWith("units") && !unitOf(p, SIM_UNITS));
    expect(missing).toEqual([]);
    for (const p of doc.pools) {
      expect(Object.keys(p["page-pool-stats"])).toEqual([...NETLINK_STAT_NAMES]);
      for (const k of Object.keys(p["page-pool-get-at-teardown"] ?? {}))
        expect(spec["attribute-sets"]["page-pool"]).toContain(k);
    }
    const bad = structuredClone(doc);
    bad.pools[0]["page-pool-get-at-teardown"].inflightMem = 1; // the old camelCase name
    expect(validate(bad)).toBe(false);
  });

  test("text: netlink's inflight and the audit's outside-the-pool count are told apart", async () => {
    const r = await runSim({ providers: ["zcrx"], packets: 3000, teardownAt: 1500 });
    const text = formatText(r);
    expect(text).toMatch(
      /at teardown \(page-pool-get\): inflight \d+, inflight-mem [\d,]+ bytes; \{"io-uring":\{\}\}/,
    );
    expect(text).toMatch(
      /audit at teardown: ok; of inflight (\d+): in cache \d+, in ring \d+, outside the pool \(NIC or user\) \d+/,
    );
    expect(text).not.toContain("in flight");
    const ynl = ynlPagePoolGet(r);
    expect(ynl.omitted).toEqual([]);
    expect(ynl.text).toContain("'io-uring': {}");
  });

  test("ethtool: NIC statistics, one rx_pp_ line each; (+n) on the lines that changed", () => {
    const now = Array.from({ length: NUM_STATS }, (_, i) => i * 10);
    const prev = now.map((v, i) => (i % 2 ? v : v - 3));
    const lines = formatEthtool(now, prev).split("\n");
    expect(lines[0]).toBe("NIC statistics:");
    expect(lines.slice(1)).toHaveLength(NUM_STATS);
    lines.slice(1).forEach((l, i) => {
      expect(l).toBe(`     ${ETHTOOL_STAT_NAMES[i]}: ${now[i]}${i % 2 ? "" : " (+3)"}`);
    });
  });
});
