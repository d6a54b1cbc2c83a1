/**
 * The netlink side of devmem (net/core/netdev-genl.c: netdev_nl_bind_rx_doit and the socket's
 * private state): binds a dma-buf to rx queues through the core. Apart from binding.ts so the
 * binding does not import the provider that imports it.
 */
import { PagePoolError } from "../../core/errors.ts";
import type { NetDevice } from "../../core/netdev.ts";
import { DevmemBinding } from "./binding.ts";
import type { DmaBuf } from "./dmabuf.ts";
import { devmemOps } from "./provider.ts";

/**
 * NETDEV_CMD_BIND_RX (netdev_nl_bind_rx_doit + net_devmem_bind_dmabuf): binds `dmabuf` to rx
 * queues `queues` of `netdev` through the core (each queue is restarted with the provider).
 * Takes its own reference on the dma-buf. On any failure, what was bound is unbound again and
 * the error is rethrown.
 */
export function bindDmabufRx(
  netdev: NetDevice,
  dmabuf: DmaBuf,
  queues: readonly number[],
  opts: { log?: (msg: string) => void } = {},
): DevmemBinding {
  if (!Array.isArray(queues) || queues.length === 0)
    throw new PagePoolError("EINVAL", "bind-rx: at least one rx queue is required");
  if (!netdev.registered) throw new PagePoolError("ENODEV", `${netdev.name} is unregistered`);
  dmabuf.get(); // dma_buf_get(fd): EBADF when released
  let binding: DevmemBinding;
  try {
    binding = new DevmemBinding(netdev, dmabuf, opts.log);
  } catch (e) {
    dmabuf.put();
    throw e;
  }
  try {
    for (const q of queues) {
      // net_devmem_bind_dmabuf_to_queue(): __net_mp_open_rxq, then record the queue.
      const rxq = netdev.bindRxQueue(q, devmemOps, binding);
      binding.boundRxqs.add(rxq);
    }
  } catch (e) {
    binding.unbind();
    throw e;
  }
  return binding;
}

/**
 * The netlink socket a user binds through: it owns its bindings, and closing it unbinds them all
 * (netdev_nl_sock_priv_destroy), which is the only way the kernel's user unbinds.
 */
export class DevmemNetlink {
  readonly #bindings = new Set<DevmemBinding>();
  #closed = false;

  bindRx(netdev: NetDevice, dmabuf: DmaBuf, queues: readonly number[]): DevmemBinding {
    if (this.#closed) throw new PagePoolError("EBADF", "netlink socket is closed");
    const b = bindDmabufRx(netdev, dmabuf, queues);
    this.#bindings.add(b);
    return b;
  }

  get bindings(): readonly DevmemBinding[] {
    return [...this.#bindings];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const b of this.#bindings) if (b.state === "bound") b.unbind();
    this.#bindings.clear();
  }
}
