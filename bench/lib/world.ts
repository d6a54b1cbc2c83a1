/**
 * The worlds the scenarios measure: a net device, providers bound to its rx queues, and pools.
 * Setup is control path (objects are fine here); the measured loops only touch what this returns.
 *
 * A registered provider is stood up by its fixture (plugins/<name>/fixture.ts, through the
 * generated fixture registry) with the fixture's `small` options: a sweep pool holds little.
 * Nothing here names a provider. The bench's own providers, rendered into bench/.synthetic/ and
 * linked through `#dispatch` only, have no fixture in the registry (a bundled child cannot reach
 * a set's generated files other than its dispatcher): they are bound with the state of the
 * template they were rendered from. A set that links such providers next to the fixture-backed
 * ones is a sweep set (synthetic providers from the scaffold template: counting state); a set of
 * them alone is the floor set (bench/templates/floor-provider.ts.hbs: FloorState). A registered
 * provider whose plugin has no fixture.ts, or whose fixture fails on a scratch device, is
 * reported as skipped (and plugins/layout.test.ts fails on the former).
 */
import { PROVIDERS } from "#dispatch";
import { FIXTURES, WITHOUT_FIXTURE } from "../../core/generated/fixtures.generated.ts";
import { NetDevice } from "../../core/netdev.ts";
import type { NetmemRef } from "../../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../../core/page-alloc.ts";
import {
  GFP_ATOMIC,
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../../core/page-pool.ts";
import type { MemoryProviderOps } from "../../core/provider.ts";
import { type ProviderFixture, resolveOptions } from "../../plugins/fixture.ts";
import { FloorState } from "./floor-state.ts";

/** State for providers rendered from the scaffold template (its state class): call counters only. */
export class CountingPriv {
  allocs = 0;
  releases = 0;
  inits = 0;
  destroys = 0;
  uninstalls = 0;
  failInit = null;
}

/** Binds provider `ops` to queue `q` of `netdev` (netif_mp_open_rxq with fresh provider state). */
type Binder = (netdev: NetDevice, q: number, ops: MemoryProviderOps) => void;

const counting: Binder = (netdev, q, ops) => {
  netdev.bindRxQueue(q, ops, new CountingPriv());
};

/** A binder that stands `f` up with its small options. */
function fixtureBinder(f: ProviderFixture): Binder {
  const opts = resolveOptions(f, f.small ?? {});
  return (netdev, q) => {
    f.bind({ netdev, queueIdx: q, dev: netdev.dev, pages: netdev.dev.pages }, opts);
  };
}

export interface ProviderRig {
  name: string;
  ops: MemoryProviderOps;
  synthetic: boolean;
  bind: Binder;
}

const fixtureOf = (ops: MemoryProviderOps) => FIXTURES.find((f) => f.ops === ops);

/** Linked providers that are neither fixture-backed nor registered without one: the bench's own. */
function benchOnly(): MemoryProviderOps[] {
  return PROVIDERS.filter((ops) => !fixtureOf(ops) && !WITHOUT_FIXTURE.includes(ops.name));
}

/** Whether the linked set holds fixture-backed providers (any set but the floor set does). */
function linksFixtures(): boolean {
  return PROVIDERS.some((ops) => fixtureOf(ops) !== undefined);
}

/**
 * The order the sweep takes providers in: fixture-backed before synthetic, registry order within
 * each. Registered providers without a fixture, or whose fixture fails on a scratch device, are
 * skipped.
 */
export function providerRigs(): { rigs: ProviderRig[]; skipped: string[] } {
  const real: ProviderRig[] = [];
  const skipped: string[] = [];
  for (const ops of PROVIDERS) {
    const f = fixtureOf(ops);
    if (f) {
      let bind: Binder | null = null;
      try {
        bind = fixtureBinder(f);
      } catch {}
      if (bind && probe(ops, bind)) real.push({ name: ops.name, ops, synthetic: false, bind });
      else skipped.push(ops.name);
    } else if (WITHOUT_FIXTURE.includes(ops.name)) skipped.push(ops.name);
  }
  const synth = linksFixtures()
    ? benchOnly().map((ops) => ({ name: ops.name, ops, synthetic: true, bind: counting }))
    : [];
  return { rigs: [...real, ...synth], skipped };
}

/**
 * The floor providers of the linked `#dispatch`, in registry order (name order), each bound with
 * a fresh FloorState. Empty unless the process is linked to the floor set.
 */
export function floorRigs(): ProviderRig[] {
  if (linksFixtures()) return [];
  const bind: Binder = (netdev, q, ops) => {
    netdev.bindRxQueue(q, ops, new FloorState());
  };
  return benchOnly().map((ops) => ({ name: ops.name, ops, synthetic: true, bind }));
}

/** Binds and creates one pool on a scratch device; false when the fixture no longer fits the plugin. */
function probe(ops: MemoryProviderOps, bind: Binder): boolean {
  try {
    const [pool] = poolsForRigs(makeHost(1024), [{ name: ops.name, ops, synthetic: false, bind }]);
    return pool.mpOps === ops;
  } catch {
    return false;
  }
}

/** A private host: its own page allocator and DMA device, so scenarios do not share free lists. */
export function makeHost(pages = 16384): DmaDevice {
  return new DmaDevice(new PageAllocator({ pages }), { name: "bench" });
}

/** Flags a pool needs to take a provider from its queue (page_pool_init's checks). */
export const PROVIDER_POOL_FLAGS = PP_FLAG_ALLOW_UNREADABLE_NETMEM | PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV;

/**
 * One pool per rig, each on its own queue of one net device, each bound to its provider. Each
 * pool then takes one buffer and keeps it in flight for good (`pins`): a provider that gives its
 * memory back when the last buffer returns (huge frees the folio) would otherwise rebuild it on
 * every operation of a sweep, and that is not the dispatch cost being measured.
 */
export function poolsForRigs(dev: DmaDevice, rigs: ProviderRig[], maxLen = 4096): PagePool[] {
  const netdev = new NetDevice({ rxQueues: Math.max(1, rigs.length), dev });
  return rigs.map((rig, q) => {
    rig.bind(netdev, q, rig.ops);
    const pool = PagePool.create({
      netdev,
      queueIdx: q,
      napi: netdev.rxQueue(q).napi,
      flags: PROVIDER_POOL_FLAGS,
      dmaDir: "from-device",
      maxLen,
    });
    const pin: NetmemRef = pool.allocNetmem(GFP_ATOMIC);
    if (pin === 0) throw new Error(`${rig.name}: the first allocation failed`);
    return pool;
  });
}

/** The kernel bench's pool: order 0, no provider, a private device (pool_size 1024 = default ring). */
export function plainPool(dev: DmaDevice, flags = 0, maxLen = 0): PagePool {
  const netdev = new NetDevice({ rxQueues: 1, dev });
  return PagePool.create({ netdev, queueIdx: 0, napi: netdev.rxQueue(0).napi, flags, maxLen });
}
