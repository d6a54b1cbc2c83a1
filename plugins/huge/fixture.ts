/**
 * huge's fixture: a HugeProvider (order-9 folios carved into chunks) bound with
 * netdev.bindRxQueue; buffers come back through the stack. A chunk is a whole buffer (the page
 * frag API cannot carve a 2 KiB chunk further), readable in the folio's bytes.
 */
import { defineFixture, enumOption, intOption } from "../fixture.ts";
import { HUGE_CHUNK_SIZES, HugeProvider, hugeOps } from "./index.ts";

export const hugeFixture = defineFixture({
  name: "huge",
  ops: hugeOps,
  userSide: "stack",
  options: {
    chunkSize: enumOption<(typeof HUGE_CHUNK_SIZES)[number]>(
      4096,
      HUGE_CHUNK_SIZES,
      "net_iov chunk bytes (16384 and up: large rx buffers, set as the queue's rx-buf-len)",
    ),
    maxFolios: intOption(8, "order-9 folios the provider may hold at once", 1, 1024),
  },
  small: { maxFolios: 2 },
  buffers: (o) => ({ bufLen: o.chunkSize, frags: false, readable: true }),
  bind({ netdev, queueIdx, dev }, o) {
    const p = new HugeProvider({ dev, chunkSize: o.chunkSize, maxFolios: o.maxFolios });
    // A chunk larger than a page is a large rx buffer: the provider sets the queue's length.
    netdev.bindRxQueue(queueIdx, hugeOps, p, o.chunkSize > 4096 ? o.chunkSize : 0);
    return {
      priv: p,
      user: { kind: "stack" },
      capacity: o.maxFolios * p.chunksPerFolio,
      available: () => p.availableChunks,
      memory: () => p.memory,
      byteOffset: (_pool, ref) => p.chunkOffset(ref),
      counters: () => ({
        chunkSize: p.chunkSize,
        liveFolios: p.liveFolios,
        chunksOut: p.chunksOut,
        folioAllocs: p.folioAllocs,
        folioFrees: p.folioFrees,
        allocFailures: p.allocFailures,
      }),
      lifecycle: () => ({ inits: p.inits, destroys: p.destroys }),
      shortfall: () => p.chunksOut,
      unbind: () => netdev.unbindRxQueue(queueIdx, p),
      // Gives the remaining (all-free) folios back to the page allocator.
      dispose: () => p.dispose(),
    };
  },
});
