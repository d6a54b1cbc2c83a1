/**
 * devmem's fixture: a dma-buf (unreadable device memory, or a readable udmabuf) bound to the
 * queue through a DevmemNetlink socket, as ncdevmem does; the binding holds its own reference to
 * the dma-buf, so the fixture drops its own at once. The user side is a DevmemSocket: tokens
 * with recvmsg, back with SO_DEVMEM_DONTNEED (sim/backends/devmem.ts). Unbinding closes the
 * netlink socket, the only way the kernel's user unbinds.
 */
import { PagePoolError } from "../../core/errors.ts";
import { PAGE_SIZE } from "../../core/netmem.ts";
import { defineFixture, enumOption, intOption } from "../fixture.ts";
import { createDeviceDmabuf, createUdmabuf, DevmemNetlink, devmemOps } from "./index.ts";

/** `n` scatter-gather entries over `pages` pages: equal, the last one taking the remainder. */
function sgEntries(pages: number, n: number): number[] {
  const each = Math.floor(pages / n);
  return Array.from({ length: n }, (_, i) => (i < n - 1 ? each : pages - each * (n - 1)) * PAGE_SIZE);
}

export const devmemFixture = defineFixture({
  name: "devmem",
  ops: devmemOps,
  userSide: "devmem",
  options: {
    pages: intOption(4096, "dma-buf size in 4 KiB net_iovs", 1, 1 << 20),
    kind: enumOption<"device" | "udmabuf">("device", ["device", "udmabuf"], "device memory or a udmabuf"),
    sgChunks: intOption(1, "scatter-gather entries of a device dma-buf", 1, 64),
  },
  small: { pages: 256 },
  // One 4 KiB net_iov per rx descriptor. The simulated application never reads payloads
  // (devmem's point: the data goes to the device), so nothing is stamped even on a udmabuf.
  buffers: () => ({ bufLen: PAGE_SIZE, frags: false, readable: false }),
  bind({ netdev, queueIdx }, o) {
    if (o.sgChunks > o.pages)
      throw new PagePoolError(
        "EINVAL",
        `devmem.sgChunks (${o.sgChunks}) is more than devmem.pages (${o.pages})`,
      );
    const size = o.pages * PAGE_SIZE;
    const dmabuf =
      o.kind === "device"
        ? createDeviceDmabuf(size, { sg: sgEntries(o.pages, o.sgChunks) })
        : createUdmabuf(size);
    const netlink = new DevmemNetlink();
    let binding: ReturnType<DevmemNetlink["bindRx"]>;
    try {
      binding = netlink.bindRx(netdev, dmabuf, [queueIdx]);
    } finally {
      dmabuf.put(); // the binding holds its own reference
    }
    const b = binding;
    return {
      priv: b,
      user: { kind: "devmem", binding: b, netlink },
      capacity: b.numNiovs,
      available: () => b.chunkPool.avail,
      memory: () => {
        throw new PagePoolError("EOPNOTSUPP", "devmem buffers are not CPU-readable here");
      },
      byteOffset: () => 0,
      counters: () => ({
        id: b.id,
        state: b.state,
        allocs: b.allocs,
        allocFails: b.allocFails,
        frees: b.frees,
        numNiovs: b.numNiovs,
        free: b.chunkPool.avail,
      }),
      lifecycle: () => ({ inits: b.poolInits, destroys: b.poolDestroys }),
      shortfall: () => b.numNiovs - b.chunkPool.avail,
      unbind: () => netlink.close(),
      dispose() {
        netlink.close();
        // The last pool's destroy dropped the binding's last reference and freed its chunks.
        if (b.state !== "freed")
          throw new PagePoolError("EBUSY", `devmem binding ${b.id} is ${b.state} (refcount ${b.refcount})`);
      },
    };
  },
});
