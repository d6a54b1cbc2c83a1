// The README's example, verbatim between the markers; provider.test.ts runs it and checks the
// README still shows exactly this code.
import { NetDevice, napiRun } from "../../core/netdev.ts";
import {
  PagePool,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../../core/page-pool.ts";
import { registerZcrxIfq, ZcrxUser } from "./index.ts";

export function zcrxExample(): string[] {
  // EXAMPLE-BEGIN
  // Kernel side: bind zcrx to rx queue 0; the driver's pool for that queue then uses it.
  const netdev = new NetDevice({ rxQueues: 1 });
  const ifq = registerZcrxIfq(netdev, { queueIdx: 0, areaSize: 64 * 4096, rqEntries: 64 });
  const napi = netdev.rxQueue(0).napi;
  const pool = PagePool.create({
    flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | PP_FLAG_ALLOW_UNREADABLE_NETMEM,
    dmaDir: "from-device",
    maxLen: 4096,
    netdev,
    queueIdx: 0,
    napi,
  });

  // User side: here in this thread; in a Worker, post it `ifq.userDescriptor()` and build it there.
  const user = new ZcrxUser(ifq.userDescriptor());

  // The NIC receives "hello" into a buffer; the stack hands it to zcrx, then frees its skb.
  napiRun(napi, () => {
    const ref = pool.allocNetmem();
    const at = ifq.area.indexOf(ref) * 4096;
    ifq.area.bytes.set(new TextEncoder().encode("hello"), at);
    ifq.recvFrag(ref, 0, 5); // posts a completion: off = idx * 4096 | area_id << 48, res = 5
    pool.recycleDirect(ref); // not recycled yet: the user holds a reference
  });

  // The user reads completions and hands each buffer back through the refill ring.
  const got: string[] = [];
  while (user.readCompletion()) {
    got.push(new TextDecoder().decode(user.data())); // area[off & ~AREA_MASK, + res)
    if (!user.returnBuffer()) break; // refill ring full: keep it and retry later
  }

  // The next allocations that reach the provider drain the refill ring (no syscall, no lock).
  // Teardown: scrub takes back whatever the user still holds, then the queue is closed.
  ifq.shutdown();
  pool.destroy();
  ifq.free();
  // EXAMPLE-END
  return got;
}
