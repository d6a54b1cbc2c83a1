/**
 * basic's fixture: a BasicProvider bound to the queue with netdev.bindRxQueue. Host pages, one per
 * slow-path call, returned through the stack; every page it took must be back with the page
 * allocator once the last pool is gone.
 */
import { PAGE_SIZE } from "../../core/netmem.ts";
import { defineFixture, hostPagesMemory, intOption } from "../fixture.ts";
import { BasicProvider, basicOps } from "./index.ts";

export const basicFixture = defineFixture({
  name: "basic",
  ops: basicOps,
  userSide: "stack",
  options: {
    bufLen: intOption(
      PAGE_SIZE,
      "driver buffer bytes (page frags: two 2 KiB buffers share a page)",
      4,
      PAGE_SIZE,
    ),
  },
  // basic hands out whole pages (one per slow-path call): a 4 KiB buffer per descriptor.
  buffers: (o) => ({ bufLen: o.bufLen, frags: true, readable: true }),
  bind({ netdev, queueIdx, pages }) {
    const p = new BasicProvider();
    netdev.bindRxQueue(queueIdx, basicOps, p);
    return {
      priv: p,
      user: { kind: "stack" },
      // One page per call from the host allocator: the capacity is the whole allocator.
      capacity: pages.numPages,
      available: () => pages.freePages,
      ...hostPagesMemory,
      counters: () => ({ allocs: p.allocs, releases: p.releases, inits: p.inits, destroys: p.destroys }),
      lifecycle: () => ({ inits: p.inits, destroys: p.destroys }),
      // Every page basic allocated must have been released back to the page allocator.
      shortfall: () => p.allocs - p.releases,
      unbind: () => netdev.unbindRxQueue(queueIdx, p),
      dispose() {},
    };
  },
});
