/**
 * limited's fixture: a LimitedProvider (a byte quota over host pages) bound with
 * netdev.bindRxQueue; buffers come back through the stack. Charged bytes are pages a pool of
 * this provider still holds, so the shortfall is what is still charged after teardown.
 */
import { PAGE_SIZE } from "../../core/netmem.ts";
import { defineFixture, enumOption, hostPagesMemory, intOption } from "../fixture.ts";
import { LimitedProvider, limitedOps } from "./index.ts";

export const limitedFixture = defineFixture({
  name: "limited",
  ops: limitedOps,
  userSide: "stack",
  options: {
    quotaBytes: intOption(4 << 20, "the quota in bytes (a positive multiple of 4096)", PAGE_SIZE),
    bulk: enumOption<boolean>(true, [true, false], "fill the pool's cache in bulk on a miss"),
    bufLen: intOption(PAGE_SIZE, "driver buffer bytes (one whole page each)", 4, PAGE_SIZE),
  },
  small: { quotaBytes: 8 << 20 },
  buffers: (o) => ({ bufLen: o.bufLen, frags: false, readable: true }),
  bind({ netdev, queueIdx }, o) {
    const p = new LimitedProvider({ quotaBytes: o.quotaBytes, bulk: o.bulk });
    netdev.bindRxQueue(queueIdx, limitedOps, p);
    return {
      priv: p,
      user: { kind: "stack" },
      capacity: o.quotaBytes / PAGE_SIZE,
      available: () => p.availableBytes / PAGE_SIZE,
      ...hostPagesMemory,
      counters: () => ({
        quotaBytes: p.quotaBytes,
        usedBytes: p.usedBytes,
        peakBytes: p.peakBytes,
        quotaFailures: p.quotaFailures,
        allocFailures: p.allocFailures,
        allocs: p.allocs,
        releases: p.releases,
      }),
      lifecycle: () => ({ inits: p.inits, destroys: p.destroys }),
      shortfall: () => p.usedBytes / PAGE_SIZE,
      unbind: () => netdev.unbindRxQueue(queueIdx, p),
      dispose: () => p.dispose(),
    };
  },
});
