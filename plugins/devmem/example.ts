/**
 * The README's example, as code: provider.test.ts runs it and checks that README.md shows
 * exactly this function. Edit both together.
 */
import { NetDevice, napiRun } from "../../core/netdev.ts";
import { DmaDevice, PageAllocator } from "../../core/page-alloc.ts";
import {
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../../core/page-pool.ts";
import {
  createUdmabuf,
  DevmemCmsgBuffer,
  DevmemNetlink,
  DevmemSocket,
  devmemDeviceWrite,
  SO_DEVMEM_DMABUF,
} from "./index.ts";

// README-BEGIN
export function devmemExample() {
  // A NIC with two rx queues, and 1 MiB of udmabuf (host memory the CPU may read) to receive into.
  const netdev = new NetDevice({ rxQueues: 2, dev: new DmaDevice(new PageAllocator({ pages: 64 })) });
  const dmabuf = createUdmabuf(256 * 4096);

  // NETDEV_CMD_BIND_RX through a netlink socket: bind the dma-buf to queue 1.
  const nl = new DevmemNetlink();
  const binding = nl.bindRx(netdev, dmabuf, [1]);

  // The driver's page pool for queue 1 takes its memory from the binding.
  const rxq = netdev.rxQueue(1);
  const flags = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM;
  const pool = PagePool.create({ netdev, queueIdx: 1, napi: rxq.napi, maxLen: 4096, flags });

  // NAPI: the NIC writes a payload into a net_iov; the skb (one pp reference) is queued to the socket.
  const sock = new DevmemSocket();
  const payload = new TextEncoder().encode("hello, devmem");
  napiRun(rxq.napi, () => {
    const niov = pool.allocNetmem();
    devmemDeviceWrite(niov, 100, payload);
    sock.deliver(niov, 100, payload.length);
  });

  // The user: recvmsg(MSG_SOCK_DEVMEM). Each fragment comes back as a cmsg with a token.
  const cmsgs = new DevmemCmsgBuffer(16);
  const bytes = sock.recvmsg(cmsgs);
  const text = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < cmsgs.count; i++) {
    if (cmsgs.type[i] !== SO_DEVMEM_DMABUF) continue;
    // udmabuf: read through the dma-buf's own mapping (device memory would throw EFAULT).
    at += dmabuf.read(cmsgs.fragOffset[i], cmsgs.fragSize[i], text, at);
  }

  // SO_DEVMEM_DONTNEED: hand the tokens back as (start, count) ranges.
  const freed = sock.dontneed(cmsgs.tokenRanges());

  // Teardown: close the socket, destroy the pool, close the netlink socket (which unbinds), close the fd.
  sock.close();
  pool.destroy();
  nl.close();
  dmabuf.close();
  return {
    text: new TextDecoder().decode(text),
    token: cmsgs.fragToken[0],
    dmabufId: cmsgs.dmabufId[0] === binding.id,
    freed,
    bindingRefs: binding.refcount,
    dmabufRefs: dmabuf.refcount,
  };
}
// README-END
