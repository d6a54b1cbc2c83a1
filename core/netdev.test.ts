import { describe, expect, test } from "bun:test";
import { BasicProvider, basicOps } from "../plugins/basic/provider.ts";
import { type Errno, PagePoolError } from "./errors.ts";
import { NetDevice, type NetDeviceOptions, type RxQueue } from "./netdev.ts";
import { PAGE_SIZE } from "./netmem.ts";
import { DmaDevice, PageAllocator } from "./page-alloc.ts";
import {
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "./page-pool.ts";
import { ManualTimers } from "./timers.ts";

function mkNetdev(opts: NetDeviceOptions = {}) {
  return new NetDevice({ rxQueues: 2, dev: new DmaDevice(new PageAllocator({ pages: 64 })), ...opts });
}

function codeOf(fn: () => unknown): Errno | "none" {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PagePoolError);
    return (e as PagePoolError).code;
  }
  return "none";
}

/** A driver whose queue restart re-creates the queue's pool; `honoursProviders` false: it never asks for unreadable memory. */
function installDriver(netdev: NetDevice, honoursProviders: boolean) {
  const timers = new ManualTimers();
  const pools = new Map<number, PagePool>();
  netdev.onQueueRestart = (rxq: RxQueue) => {
    const fresh = PagePool.create({
      flags:
        PP_FLAG_DMA_MAP |
        PP_FLAG_DMA_SYNC_DEV |
        (honoursProviders && rxq.mpParams.ops ? PP_FLAG_ALLOW_UNREADABLE_NETMEM : 0),
      maxLen: PAGE_SIZE,
      netdev,
      queueIdx: rxq.index,
      napi: rxq.napi,
      timers,
      log: () => {},
    });
    pools.get(rxq.index)?.destroy();
    pools.set(rxq.index, fresh);
  };
  return pools;
}

describe("__net_mp_open_rxq: the kernel's refusals and codes", () => {
  test("queue index out of range is ERANGE", () => {
    const netdev = mkNetdev();
    for (const q of [2, 5, -1, 0.5])
      expect(codeOf(() => netdev.bindRxQueue(q, basicOps, new BasicProvider()))).toBe("ERANGE");
  });

  test("a device without queue management ops is EOPNOTSUPP, before the queue index is looked at", () => {
    const netdev = mkNetdev({ queueMgmtOps: false });
    expect(codeOf(() => netdev.bindRxQueue(0, basicOps, new BasicProvider()))).toBe("EOPNOTSUPP");
    expect(codeOf(() => netdev.bindRxQueue(9, basicOps, new BasicProvider()))).toBe("EOPNOTSUPP");
    expect(netdev.rxQueue(0).restarts).toBe(0);
  });

  test("header split off, or its threshold non-zero, is EINVAL", () => {
    expect(
      codeOf(() => mkNetdev({ tcpDataSplit: false }).bindRxQueue(0, basicOps, new BasicProvider())),
    ).toBe("EINVAL");
    const netdev = mkNetdev({ hdsThresh: 256 });
    expect(codeOf(() => netdev.bindRxQueue(0, basicOps, new BasicProvider()))).toBe("EINVAL");
    netdev.hdsThresh = 0;
    expect(codeOf(() => netdev.bindRxQueue(0, basicOps, new BasicProvider()))).toBe("none");
  });

  test("an XDP program on the device is EEXIST; an AF_XDP socket on the queue is EBUSY", () => {
    const netdev = mkNetdev();
    netdev.xdpProgCount = 1;
    expect(codeOf(() => netdev.bindRxQueue(0, basicOps, new BasicProvider()))).toBe("EEXIST");
    netdev.xdpProgCount = 0;
    netdev.rxQueue(1).xskPool = {};
    expect(codeOf(() => netdev.bindRxQueue(1, basicOps, new BasicProvider()))).toBe("EBUSY");
    expect(codeOf(() => netdev.bindRxQueue(0, basicOps, new BasicProvider()))).toBe("none");
    expect(netdev.rxQueue(1).mpParams.ops).toBeNull();
  });

  test("dev_xdp_install: EBUSY while a provider is bound, and for a single-buffer program under header split", () => {
    const netdev = mkNetdev();
    const prov = new BasicProvider();
    netdev.bindRxQueue(1, basicOps, prov);
    // both refusals hold: header split's comes first (the kernel's order), and neither counts
    expect(() => netdev.attachXdp({ frags: false })).toThrow(/tcp-data-split/);
    expect(() => netdev.attachXdp({ frags: true })).toThrow(/memory provider/);
    expect(codeOf(() => netdev.attachXdp({ frags: true }))).toBe("EBUSY");
    expect(netdev.xdpProgCount).toBe(0);
    netdev.unbindRxQueue(1, prov);
    expect(codeOf(() => netdev.attachXdp({ frags: false }))).toBe("EBUSY");
    expect(codeOf(() => netdev.attachXdp({ frags: true }))).toBe("none");
    expect(netdev.xdpProgCount).toBe(1);
    expect(codeOf(() => netdev.bindRxQueue(0, basicOps, new BasicProvider()))).toBe("EEXIST");
    netdev.detachXdp();
    netdev.detachXdp(); // detaching with none attached is a no-op
    expect(netdev.xdpProgCount).toBe(0);
    expect(codeOf(() => netdev.bindRxQueue(0, basicOps, new BasicProvider()))).toBe("none");
    // header split off: a single-buffer program attaches
    const plain = mkNetdev({ tcpDataSplit: false });
    expect(codeOf(() => plain.attachXdp({ frags: false }))).toBe("none");
    plain.unregister();
    expect(codeOf(() => plain.attachXdp({ frags: true }))).toBe("ENODEV");
  });

  test("the checks run in the kernel's order", () => {
    // ops, range, header split, hds-thresh, XDP, already bound, AF_XDP: each refusal shows while
    // every later condition also holds.
    const netdev = mkNetdev();
    const first = new BasicProvider();
    netdev.bindRxQueue(0, basicOps, first);
    netdev.rxQueue(0).xskPool = {};
    netdev.xdpProgCount = 1;
    netdev.hdsThresh = 64;
    netdev.tcpDataSplit = false;
    const bind = (q = 0) => codeOf(() => netdev.bindRxQueue(q, basicOps, new BasicProvider()));
    expect(bind(7)).toBe("ERANGE");
    expect(bind()).toBe("EINVAL");
    netdev.tcpDataSplit = true;
    expect(bind()).toBe("EINVAL");
    netdev.hdsThresh = 0;
    expect(bind()).toBe("EEXIST"); // the XDP program
    netdev.xdpProgCount = 0;
    expect(bind()).toBe("EEXIST"); // already bound
    netdev.unbindRxQueue(0, first);
    expect(bind()).toBe("EBUSY");
    netdev.rxQueue(0).xskPool = null;
    expect(bind()).toBe("none");
  });

  test("after the restart, no pool took the provider (driver ignores providers): ENODATA, queue left unbound", () => {
    const netdev = mkNetdev();
    const pools = installDriver(netdev, false);
    const p = new BasicProvider();
    expect(codeOf(() => netdev.bindRxQueue(0, basicOps, p))).toBe("ENODATA");
    const rxq = netdev.rxQueue(0);
    expect(rxq.mpParams.ops).toBeNull();
    // Restarted with the provider, then once more without it; the live pool has no provider.
    expect(rxq.restarts).toBe(2);
    expect(pools.get(0)?.mpOps).toBeNull();
    expect(pools.get(0)?.state).toBe("live");
    expect(p.inits).toBe(0);
  });

  test("a driver that honours providers: the restarted queue's pool takes it and the bind succeeds", () => {
    const netdev = mkNetdev();
    const pools = installDriver(netdev, true);
    const p = new BasicProvider();
    netdev.bindRxQueue(1, basicOps, p);
    expect(pools.get(1)?.mpPriv).toBe(p);
    expect(p.inits).toBe(1);
    netdev.unbindRxQueue(1, p);
    expect(pools.get(1)?.mpOps).toBeNull();
  });
});
