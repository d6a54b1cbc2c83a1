/**
 * The worlds the scenarios measure: a net device, providers bound to its rx queues, and pools.
 * Setup is control path (objects are fine here); the measured loops only touch what this returns.
 *
 * A provider is bound with state from a per-provider adapter, each as the provider's README shows
 * (devmem through a netlink bind of a udmabuf, zcrx through an ifq registration, huge and limited
 * with their own state objects). Host-page providers (basic, and the synthetic providers rendered
 * from the scaffold template) only count calls in their state, so a plain counting object works.
 * Plugins are imported as namespaces and adapters check what they use: a plugin whose API moved
 * is reported as skipped instead of breaking every benchmark at link time.
 */
import { PROVIDERS } from "#dispatch";
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
import * as devmem from "../../plugins/devmem/index.ts";
import * as huge from "../../plugins/huge/index.ts";
import * as limited from "../../plugins/limited/index.ts";
import * as zcrx from "../../plugins/zcrx/index.ts";
import { FloorState } from "./floor-state.ts";

/** Names of synthetic providers start with this (bench/lib/synthetic.ts renders them). */
export const SYNTHETIC_PREFIX = "synth-";

/**
 * Names of floor providers start with this (bench/templates/floor-provider.ts.hbs); they are only
 * ever registered in the floor set's dispatchers (bench/.synthetic/floor/).
 */
export const FLOOR_PREFIX = "floor-";

/** State for host-page providers (basic and the scaffold template): call counters only. */
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

/** Adapters for the real providers, by name. Sizes are small: a sweep pool holds little. */
const ADAPTERS: Record<string, Binder> = {
  basic: counting,
  limited: (netdev, q, ops) => {
    netdev.bindRxQueue(q, ops, new limited.LimitedProvider({ quotaBytes: 8 << 20 }));
  },
  huge: (netdev, q, ops) => {
    netdev.bindRxQueue(q, ops, new huge.HugeProvider({ dev: netdev.dev, chunkSize: 4096, maxFolios: 2 }));
  },
  devmem: (netdev, q) => {
    new devmem.DevmemNetlink().bindRx(netdev, devmem.createUdmabuf(1 << 20), [q]);
  },
  zcrx: (netdev, q) => {
    zcrx.registerZcrxIfq(netdev, { queueIdx: q, areaSize: 1 << 20, rqEntries: 1024 });
  },
};

export interface ProviderRig {
  name: string;
  ops: MemoryProviderOps;
  synthetic: boolean;
  bind: Binder;
}

/**
 * The order the sweep takes providers in: real before synthetic, registry order within each.
 * Real providers without an adapter, or whose adapter fails on a scratch device, are skipped.
 */
export function providerRigs(): { rigs: ProviderRig[]; skipped: string[] } {
  const real: ProviderRig[] = [];
  const synth: ProviderRig[] = [];
  const skipped: string[] = [];
  for (const ops of PROVIDERS) {
    if (ops.name.startsWith(FLOOR_PREFIX)) continue; // the floor set's own (floorRigs)
    if (ops.name.startsWith(SYNTHETIC_PREFIX)) {
      synth.push({ name: ops.name, ops, synthetic: true, bind: counting });
      continue;
    }
    const bind = ADAPTERS[ops.name];
    if (bind && probe(ops, bind)) real.push({ name: ops.name, ops, synthetic: false, bind });
    else skipped.push(ops.name);
  }
  return { rigs: [...real, ...synth], skipped };
}

/**
 * The floor providers registered in the linked `#dispatch`, in registry order (name order), each
 * bound with a fresh FloorState. Empty unless the process is linked to the floor set.
 */
export function floorRigs(): ProviderRig[] {
  const bind: Binder = (netdev, q, ops) => {
    netdev.bindRxQueue(q, ops, new FloorState());
  };
  return PROVIDERS.filter((ops) => ops.name.startsWith(FLOOR_PREFIX)).map((ops) => ({
    name: ops.name,
    ops,
    synthetic: true,
    bind,
  }));
}

/** Binds and creates one pool on a scratch device; false when the adapter no longer fits the plugin. */
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
