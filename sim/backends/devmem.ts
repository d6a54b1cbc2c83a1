/**
 * The devmem TCP user side: a dma-buf bound to the queue (by the fixture) through DevmemNetlink,
 * the driver's fragments delivered to a DevmemSocket, and the application (sim/devmem-user.ts)
 * taking tokens with recvmsg and returning them with SO_DEVMEM_DONTNEED: inline, or from a real
 * Worker through a message channel standing for the syscalls.
 *
 * Teardown under load (close): the netlink socket closes (the binding is unbound, the queue
 * restarts, the driver destroys the pool, which defers because the user holds tokens), the
 * timers run once so the stall is visible, then the TCP socket closes while the user may still
 * be running: close frees every token, the pool drains and is freed, its destroy drops the
 * binding's last reference, and the binding frees its chunks.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { PagePoolError } from "../../core/errors.ts";
import type { PagePool } from "../../core/page-pool.ts";
import {
  type DevmemBinding,
  DevmemCmsgBuffer,
  type DevmemNetlink,
  DevmemSocket,
  handleDevmemRequest,
  postDevmemReply,
} from "../../plugins/devmem/index.ts";
import type { BufferShape, FixtureInstance } from "../../plugins/fixture.ts";
import { DevmemUserCore } from "../devmem-user.ts";
import type { Backend, BackendEnv, UserReport } from "./types.ts";

export class DevmemBackend implements Backend {
  readonly name: string;
  readonly bound = true;
  readonly bufLen: number;
  readonly frags: boolean;
  readonly readable: boolean;
  readonly #env: BackendEnv;
  readonly #stand: () => FixtureInstance;
  #inst!: FixtureInstance;
  nl!: DevmemNetlink;
  binding!: DevmemBinding;
  sock!: DevmemSocket;
  #user: DevmemUserCore | null = null;
  #cmsg = new DevmemCmsgBuffer(256, 0);
  #worker: Worker | null = null;
  #port: MessagePort | null = null;
  #exited: Promise<number> | null = null;
  #workerReport: UserReport | null = null;
  readonly #ctl = new Int32Array(new SharedArrayBuffer(12));
  #shortfall = 0;
  #lifecycle = { inits: 0, destroys: 0 };
  #counters: Record<string, unknown> = {};

  constructor(name: string, env: BackendEnv, shape: BufferShape, stand: () => FixtureInstance) {
    this.name = name;
    this.#env = env;
    this.bufLen = shape.bufLen;
    this.frags = shape.frags;
    this.readable = shape.readable;
    this.#stand = stand;
  }

  async open(): Promise<void> {
    const env = this.#env;
    const inst = this.#stand();
    if (inst.user.kind !== "devmem")
      throw new PagePoolError(
        "EINVAL",
        `${this.name}: its fixture's user side is ${inst.user.kind}, not devmem`,
      );
    this.#inst = inst;
    this.nl = inst.user.netlink;
    this.binding = inst.user.binding;
    env.ledger.ensure();
    this.sock = new DevmemSocket();
    const delay = env.policy.delay === "never" ? -1 : env.policy.delay;
    if (env.userMode === "inline") {
      this.#user = new DevmemUserCore(this.binding.numNiovs, delay);
      return;
    }
    const ch = new MessageChannel();
    this.#port = ch.port1;
    const w = new Worker(new URL("../workers/devmem-user.worker.ts", import.meta.url), {
      workerData: { port: ch.port2, ctl: this.#ctl.buffer, numNiovs: this.binding.numNiovs, delay },
      transferList: [ch.port2],
    });
    this.#worker = w;
    this.#exited = new Promise((resolve) => w.once("exit", resolve));
    w.on("error", (e) => env.log(`devmem user worker: ${e}`));
  }

  deliver(_pool: PagePool, ref: number, off: number, len: number, _seq: number): boolean {
    // The socket takes over the skb's (driver's) reference.
    this.#env.ledger.drop(ref);
    this.sock.deliver(ref, off, len);
    return true;
  }

  userStep(_delivered: number): void {
    if (this.#worker) {
      this.#serve();
      Atomics.add(this.#ctl, 2, 1);
      Atomics.notify(this.#ctl, 2);
      return;
    }
    const u = this.#user!;
    const sock = this.sock;
    while (sock.queued > 0) {
      if (sock.recvmsg(this.#cmsg) === 0) break;
      u.take(this.#cmsg, this.#cmsg.count);
    }
    for (const call of u.dueCalls()) u.confirm(call, sock.dontneed(call));
  }

  /** Serves the Worker's syscalls (recvmsg, dontneed) waiting on the channel. Returns how many. */
  #serve(): number {
    const port = this.#port;
    if (!port) return 0;
    let n = 0;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const msg = m.message as { op?: string; report?: UserReport };
      if (msg?.op === "sim-done") {
        this.#workerReport = msg.report ?? null;
        continue;
      }
      n++;
      postDevmemReply(port, handleDevmemRequest(this.sock, msg));
    }
    return n;
  }

  waitUser(ms: number): boolean {
    if (!this.#worker) return false;
    const before = this.sock.stats.tokensFreed;
    const seen = Atomics.load(this.#ctl, 1);
    this.#serve();
    if (this.sock.stats.tokensFreed !== before) return true;
    Atomics.wait(this.#ctl, 1, seen, ms);
    this.#serve();
    return this.sock.stats.tokensFreed !== before;
  }

  async close(advanceTimers: () => void): Promise<UserReport> {
    // 1. The netlink socket closes: unbind, the queue restarts, the old pool defers.
    this.#inst.unbind();
    advanceTimers();
    // 2. The application exits under load: its TCP socket closes and frees every token.
    let report: UserReport;
    if (this.#worker) {
      this.#serve();
      this.sock.close();
      Atomics.store(this.#ctl, 0, 1);
      Atomics.add(this.#ctl, 2, 1);
      Atomics.notify(this.#ctl, 2);
      // Keep answering (EBADF now) until the worker says it is done.
      for (let i = 0; i < 10_000 && this.#workerReport === null; i++) {
        this.#serve();
        if (this.#workerReport === null) await new Promise((r) => setTimeout(r, 1));
      }
      await this.#worker.terminate();
      await this.#exited;
      this.#port?.close();
      this.#worker = null;
      if (!this.#workerReport) throw new PagePoolError("EFAULT", "devmem user worker never reported");
      report = this.#workerReport;
    } else {
      const u = this.#user!;
      report = u.finish();
      this.sock.close();
    }
    // 3. The deferred pool drains at its next retry; its destroy drops the binding's last ref.
    advanceTimers();
    const b = this.binding;
    const audit = b.audit();
    if (!audit.ok) for (const p of audit.problems.slice(0, 10)) this.#env.log(`devmem audit: ${p}`);
    this.#shortfall = this.#inst.shortfall();
    if (b.state !== "freed")
      this.#env.log(`devmem binding ${b.id} is ${b.state} (refcount ${b.refcount}) after close`);
    this.#lifecycle = this.#inst.lifecycle();
    // The binding's counters as its fixture reports them (`free`: net_iovs home at close).
    this.#counters = { binding: this.#inst.counters(), socket: { ...this.sock.stats } };
    return report;
  }

  abort(): void {
    void this.#worker?.terminate();
    this.#worker = null;
  }

  counters(): Record<string, unknown> {
    if (Object.keys(this.#counters).length > 0) return this.#counters;
    return { socket: { ...this.sock.stats } };
  }
  shortfall(): number {
    return this.#shortfall;
  }
  lifecycle(): { inits: number; destroys: number } {
    return this.#lifecycle;
  }
  stamp(_pool: PagePool, _ref: number, _off: number, _seq: number): void {
    // Not readable: the sim never calls this (see `readable`).
  }
}
