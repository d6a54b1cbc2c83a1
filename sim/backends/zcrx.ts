/**
 * The zcrx user side: an io_uring zero-copy receive ifq bound to the queue (by the fixture), the
 * driver's fragments delivered with ifq.recvFrag (a completion per fragment), and the user
 * (sim/zcrx-user.ts) returning buffers through the refill ring: inline, or from a real Worker.
 *
 * Teardown under load (close): the queue is closed first (the provider is unbound, the queue
 * restarts, the driver destroys the pool, which defers because the user holds buffers), the
 * timers run once so the stalled pool is visible, then the ifq shuts down: scrub takes back
 * everything the user holds while the user may still be running, and the pool completes.
 * Model: the kernel's io_shutdown_zcrx_ifqs() scrubs before it closes the queue; closing first
 * is the order of a queue reconfiguration or device unregister racing the application, and it is
 * the harder case for the pool (it must defer). Both orders end with everything on the freelist.
 */
import { Worker } from "node:worker_threads";
import { PagePoolError } from "../../core/errors.ts";
import type { PagePool } from "../../core/page-pool.ts";
import type { BufferShape, FixtureInstance } from "../../plugins/fixture.ts";
import type { ZcrxIfq } from "../../plugins/zcrx/index.ts";
import { TAIL_W } from "../../plugins/zcrx/uapi.ts";
import { writeStamp } from "../stamp.ts";
import { ZcrxSimUser } from "../zcrx-user.ts";
import type { Backend, BackendEnv, UserReport } from "./types.ts";

const ZCRX_ENOSPC = -28;

export class ZcrxBackend implements Backend {
  readonly name: string;
  readonly bound = true;
  readonly bufLen: number;
  readonly frags: boolean;
  readonly readable: boolean;
  readonly #env: BackendEnv;
  readonly #stand: () => FixtureInstance;
  readonly #opts: Record<string, unknown>;
  #inst!: FixtureInstance;
  ifq!: ZcrxIfq;
  #rqTail!: Int32Array;
  #inline: ZcrxSimUser | null = null;
  #worker: Worker | null = null;
  #workerDone: Promise<{ report: UserReport; rqFullRetries: number }> | null = null;
  #ctl = new Int32Array(new SharedArrayBuffer(8));
  #shortfall = 0;
  #lifecycle = { inits: 0, destroys: 0 };
  #counters: Record<string, unknown> = {};
  rqFullRetries = 0;

  /** `opts`: the fixture's resolved options; the user's adversary reads adversaryEvery/forgeBelow. */
  constructor(
    name: string,
    env: BackendEnv,
    shape: BufferShape,
    stand: () => FixtureInstance,
    opts: Record<string, unknown>,
  ) {
    this.name = name;
    this.#env = env;
    this.bufLen = shape.bufLen;
    this.frags = shape.frags;
    this.readable = shape.readable;
    this.#stand = stand;
    this.#opts = opts;
  }

  async open(): Promise<void> {
    const env = this.#env;
    const inst = this.#stand();
    if (inst.user.kind !== "zcrx")
      throw new PagePoolError(
        "EINVAL",
        `${this.name}: its fixture's user side is ${inst.user.kind}, not zcrx`,
      );
    this.#inst = inst;
    this.ifq = inst.user.ifq;
    env.ledger.ensure();
    this.#rqTail = new Int32Array(this.ifq.rq.sab);
    const delay = env.policy.delay === "never" ? -1 : env.policy.delay;
    const every = Number(this.#opts.adversaryEvery ?? 0);
    const cfg = {
      desc: this.ifq.userDescriptor(),
      delay,
      checkStamps: true,
      adversary:
        every > 0 ? { seed: env.seed, every, forgeBelow: Number(this.#opts.forgeBelow ?? 0) } : undefined,
    };
    if (env.userMode === "inline") {
      this.#inline = new ZcrxSimUser(cfg);
      return;
    }
    const w = new Worker(new URL("../workers/zcrx-user.worker.ts", import.meta.url), {
      workerData: { ...cfg, ctl: this.#ctl.buffer },
    });
    this.#worker = w;
    this.#workerDone = new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
      w.once("exit", (code) => reject(new Error(`zcrx user worker exited (${code}) without a report`)));
    });
    // A worker that fails later must not go unnoticed until close().
    this.#workerDone.catch(() => {});
  }

  deliver(pool: PagePool, ref: number, off: number, len: number, _seq: number): boolean {
    const ifq = this.ifq;
    let r = ifq.recvFrag(ref, off, len);
    if (r === ZCRX_ENOSPC && this.#worker) {
      // The completion ring is full: give the Worker a moment to consume (io_uring would end the
      // multishot receive with -ENOSPC and the application re-arms it).
      for (let t = 0; t < this.#env.waitMs && r === ZCRX_ENOSPC; t++) {
        Atomics.wait(this.#rqTail, TAIL_W, Atomics.load(this.#rqTail, TAIL_W), 1);
        r = ifq.recvFrag(ref, off, len);
      }
    }
    const ledger = this.#env.ledger;
    ledger.drop(ref); // the driver's reference goes with the skb, below or back to the pool
    if (r < 0) {
      pool.recycleDirect(ref);
      return false;
    }
    // The skb is freed after the receive: the zcrx reference (and the user's) keep the buffer.
    pool.putFullNetmem(ref, true);
    return true;
  }

  userStep(_delivered: number): void {
    this.#inline?.step();
  }

  waitUser(ms: number): boolean {
    const t = Atomics.load(this.#rqTail, TAIL_W);
    return (
      Atomics.wait(this.#rqTail, TAIL_W, t, ms) !== "timed-out" || Atomics.load(this.#rqTail, TAIL_W) !== t
    );
  }

  async close(advanceTimers: () => void): Promise<UserReport> {
    const ifq = this.ifq;
    // 1. The queue closes under load: the pool is destroyed and defers (the user holds buffers).
    this.#inst.unbind();
    advanceTimers();
    // 2. The ifq shuts down while the user may still be running: scrub takes back what it holds.
    ifq.shutdown();
    let report: UserReport;
    if (this.#worker) {
      Atomics.store(this.#ctl, 0, 1);
      const done = await this.#workerDone!;
      await this.#worker.terminate();
      this.#worker = null;
      report = done.report;
      this.rqFullRetries = done.rqFullRetries;
    } else {
      const u = this.#inline!;
      u.step(); // completions posted before the shutdown are still read
      report = u.finish();
      this.rqFullRetries = u.rqFullRetries;
    }
    // 3. The deferred pool sees in-flight 0 at its next retry and is freed (zcrx destroy runs).
    advanceTimers();
    const audit = ifq.audit();
    if (!audit.ok) for (const p of audit.problems.slice(0, 10)) this.#env.log(`zcrx audit: ${p}`);
    this.#shortfall = this.#inst.shortfall();
    this.#lifecycle = this.#inst.lifecycle();
    this.#counters = {
      ...ifq.c,
      // Refill entries the user wrote that the kernel never consumed (the pool was gone first).
      rqUnconsumed: (report.extra?.written ?? 0) - ifq.c.rqConsumed,
      areaNiovs: ifq.area.numNiovs,
      freeAtClose: ifq.area.freeCount,
      auditOk: audit.ok,
      userRqFullRetries: this.rqFullRetries,
    };
    // Every net_iov of the area must now be home; only then can the area go.
    if (this.#shortfall === 0 && ifq.livePools === 0) this.#inst.dispose();
    return report;
  }

  abort(): void {
    void this.#worker?.terminate();
    this.#worker = null;
  }

  counters(): Record<string, unknown> {
    return Object.keys(this.#counters).length > 0 ? this.#counters : { ...this.ifq.c };
  }
  shortfall(): number {
    return this.#shortfall;
  }
  lifecycle(): { inits: number; destroys: number } {
    return this.#lifecycle;
  }
  stamp(pool: PagePool, ref: number, off: number, seq: number): void {
    writeStamp(this.#inst.memory(pool, ref), this.#inst.byteOffset(pool, ref) + off, seq);
  }
}
