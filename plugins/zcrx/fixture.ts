/**
 * zcrx's fixture: an io_uring zero-copy receive ifq registered on the queue (registerZcrxIfq:
 * area, refill ring, completion ring). The user side reads completions and gives buffers back
 * through the refill ring (sim/backends/zcrx.ts; ZcrxUser in the bench). Unbinding closes the
 * queue (io_close_queue); dispose shuts the ifq down (scrub) and frees the area, EBUSY while a
 * pool still uses it. `adversaryEvery`/`forgeBelow` configure the simulated user, not the ifq.
 */
import { PAGE_SIZE } from "../../core/netmem.ts";
import { defineFixture, intOption } from "../fixture.ts";
import { registerZcrxIfq, zcrxOps } from "./index.ts";

export const zcrxFixture = defineFixture({
  name: "zcrx",
  ops: zcrxOps,
  userSide: "zcrx",
  options: {
    areaPages: intOption(4096, "area size in 4 KiB net_iovs", 1, 1 << 20),
    rqEntries: intOption(4096, "refill ring entries (rounded up to a power of two)", 1, 32768),
    cqEntries: intOption(8192, "completion ring entries", 1, 1 << 20),
    rxBufLen: intOption(
      4096,
      "rx buffer (net_iov) length: 4096, 16384, 32768 or 65536 (large rx buffers)",
      4096,
      65536,
    ),
    adversaryEvery: intOption(0, "sim user: every Nth refill entry is a bad one (0 = an honest user)", 0),
    forgeBelow: intOption(0, "sim user: forged entries point below this net_iov index", 0),
  },
  small: { areaPages: 256, rqEntries: 1024, cqEntries: 2048 },
  // One net_iov (4 KiB, or the large rx buffer length) per rx descriptor, in the user's area.
  buffers: (o) => ({ bufLen: o.rxBufLen, frags: false, readable: true }),
  bind({ netdev, queueIdx }, o) {
    const ifq = registerZcrxIfq(netdev, {
      queueIdx,
      areaSize: o.areaPages * PAGE_SIZE,
      rqEntries: o.rqEntries,
      rxBufLen: o.rxBufLen,
      cqEntries: o.cqEntries,
    });
    const area = ifq.area;
    return {
      priv: ifq,
      user: { kind: "zcrx", ifq },
      capacity: area.numNiovs,
      available: () => area.freeCount,
      memory: () => area.bytes,
      byteOffset: (_pool, ref) => ((ref >>> 1) - area.base) * area.niovSize,
      counters: () => ({ ...ifq.c, areaNiovs: area.numNiovs, free: area.freeCount }),
      lifecycle: () => ({ inits: ifq.inits, destroys: ifq.destroys }),
      shortfall: () => area.numNiovs - area.freeCount,
      unbind: () => ifq.closeQueue(),
      dispose: () => ifq.free(),
    };
  },
});
