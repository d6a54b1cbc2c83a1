/**
 * The receive simulation behind `bun run sim`: a net device whose rx queues are each bound to a
 * provider (or none), a driver that keeps a ring of posted rx buffers per queue from the queue's
 * page pool, NAPI polls with a budget of 64 that receive packets into those buffers and hand the
 * fragments to the provider's user side, and a user that returns them after a delay.
 *
 * Everything is accounted twice: by the pool (stats, hold/release, audit) and by the simulator's
 * own ledger (sim/ledger.ts), so a pool bug cannot hide behind its own bookkeeping. At the end
 * every queue is torn down and every buffer must be back with its owner: the page allocator, or
 * the provider's freelist. `lost` and `duplicated` in the result come from that accounting.
 *
 * Hot path note: the NAPI loop allocates nothing per packet (refs and descriptor state are
 * integers in typed arrays); objects are made per poll at most (the napiRun/onCpu closures).
 */
import { DISPATCH_VARIANT } from "#dispatch";
import { PagePoolError } from "../core/errors.ts";
import {
  Napi,
  NetDevice,
  type NetDevice as NetDeviceT,
  napiRun,
  onCpu,
  type RxQueue,
} from "../core/netdev.ts";
import { descriptorLimit, nm, PAGE_SHIFT } from "../core/netmem.ts";
import { DmaDevice, PageAllocator } from "../core/page-alloc.ts";
import {
  type AuditReport,
  DEFER_TIME_MS,
  type PagePool,
  PagePool as PagePoolClass,
  type PagePoolDescription,
  PP_FLAG_ALLOW_UNREADABLE_NETMEM,
  PP_FLAG_DMA_MAP,
  PP_FLAG_DMA_SYNC_DEV,
} from "../core/page-pool.ts";
import { mpStaticKey } from "../core/provider.ts";
import { flatStats, type StatName } from "../core/stats.ts";
import { ManualTimers } from "../core/timers.ts";
import { MEM_TYPE_PAGE_POOL, XdpFrameBulk, XdpRxqInfo, xdpDropDirect } from "../core/xdp.ts";
import { checkOptionPrefixes, makeBackend } from "./backends/index.ts";
import type { Backend, BackendEnv, ReturnPolicy, UserReport } from "./backends/types.ts";
import { Ledger } from "./ledger.ts";
import { PacketSizes, Rng, type SizeSpec } from "./rng.ts";

export const NAPI_BUDGET = 64;

export interface SimOptions {
  /** One entry per rx queue: a provider name, or "none" for a queue without a provider. */
  providers: string[];
  /** Packets offered to the device, over all queues (received + dropped). */
  packets: number;
  seed: number;
  user: "inline" | "worker";
  policy: ReturnPolicy;
  size: SizeSpec;
  /** Tear every queue down under load once this many packets were offered (0 = never). */
  teardownAt: number;
  budget: number;
  /** Posted rx descriptors per queue. */
  rxRing: number;
  /** Host memory, in 4 KiB pages. */
  pages: number;
  /** Provider options, `name.key` → value. */
  opts: Record<string, string>;
  /** Run the pool audit every this many polls (per queue). */
  auditEvery: number;
  /** Worker user: how long one poll may wait for buffers to come back before dropping. */
  waitMs: number;
  /**
   * Called about every `progressEvery` packets, between polls. A returned promise is awaited: the
   * CLI yields to the event loop there, so a Ctrl-C handler runs mid-run instead of after it.
   */
  progress?: (offered: number, total: number) => void | Promise<void>;
  progressEvery: number;
  log?: (msg: string) => void;
  /**
   * An XDP program on the device and its verdict mix, in percent of single-buffer packets (the
   * rest pass to the stack). Null: no program. A device with an XDP program cannot have memory
   * providers bound (__net_mp_open_rxq: EEXIST), so every queue must be "none".
   */
  xdp: XdpMix | null;
}

/** Percentages of packets an XDP program drops, transmits back out, and redirects to another device. */
export interface XdpMix {
  drop: number;
  tx: number;
  redirect: number;
}

/** Parses `drop:10,tx:5,redirect:5` (any subset, percentages). Throws EINVAL naming the bad part. */
export function parseXdpMix(spec: string): XdpMix {
  const mix: XdpMix = { drop: 0, tx: 0, redirect: 0 };
  const seen = new Set<string>();
  for (const part of spec.split(",")) {
    const m = /^(drop|tx|redirect):([0-9]{1,3})$/.exec(part.trim());
    if (!m || seen.has(m[1]))
      throw new PagePoolError(
        "EINVAL",
        `xdp verdicts are drop:N,tx:N,redirect:N (percent, each at most once), got "${part}"`,
      );
    seen.add(m[1]);
    mix[m[1] as keyof XdpMix] = Number(m[2]);
  }
  const sum = mix.drop + mix.tx + mix.redirect;
  if (sum > 100) throw new PagePoolError("EINVAL", `xdp verdicts add up to ${sum}%, more than 100`);
  return mix;
}

/** What the XDP program did on one queue. */
export interface XdpReport {
  drop: number;
  tx: number;
  redirect: number;
  pass: number;
  /** Frames returned at TX completion through xdp_frame_bulk (page_pool_put_netmem_bulk). */
  bulkReturned: number;
}

export const defaultOptions: SimOptions = {
  providers: ["none"],
  packets: 100_000,
  seed: 1,
  user: "inline",
  policy: { delay: 0 },
  size: { kind: "mix" },
  teardownAt: 0,
  budget: NAPI_BUDGET,
  rxRing: 256,
  pages: 16384,
  opts: {},
  auditEvery: 1024,
  waitMs: 200,
  progressEvery: 100_000,
  xdp: null,
};

export interface PoolReport {
  id: number;
  queue: number;
  generation: number;
  provider: string;
  state: string;
  stats: Record<StatName, number>;
  /** netlink page-pool-get at the moment the generation was torn down (under load). */
  describeAtTeardown: PagePoolDescription | null;
  /** The audit at teardown (under load) and after the pool was freed. */
  auditAtTeardown: AuditReport | null;
  auditFinal: AuditReport;
  hold: number;
  release: number;
  inflight: number;
  /** Deferred-destroy retries the pool went through before it was freed. */
  destroyRetries: number;
}

export interface GenerationReport {
  queue: number;
  generation: number;
  provider: string;
  counters: Record<string, unknown>;
  user: UserReport;
  lifecycle: { inits: number; destroys: number };
  /** Buffers of this generation not back with their owner after teardown. */
  shortfall: number;
}

export interface QueueReport {
  queue: number;
  offered: number;
  received: number;
  bytes: number;
  droppedNoBuffer: number;
  droppedUserFull: number;
  allocFailures: number;
  stalls: number;
  generations: number;
  /** With an XDP program: its verdicts and returns. */
  xdp?: XdpReport;
  /** The queue's rx buffer length at the end (qcfg rx_buf_len: the provider's, or 4096). */
  rxBufLen: number;
  /** Buffers the driver allocated from the pool, and buffers the user gave back, per MiB received. */
  allocsPerMB: number;
  returnsPerMB: number;
}

export interface SimResult {
  dispatch: string;
  config: Record<string, unknown>;
  offered: number;
  received: number;
  dropped: number;
  lost: number;
  duplicated: number;
  corrupt: number;
  audit: { ok: boolean; checks: number; problems: string[] };
  queues: QueueReport[];
  generations: GenerationReport[];
  pools: PoolReport[];
  wallMs: number;
}

interface PoolEntry {
  pool: PagePool;
  queue: number;
  generation: number;
  provider: string;
  describeAtTeardown: PagePoolDescription | null;
  auditAtTeardown: AuditReport | null;
}

/** Per-queue driver state: the posted rx buffers, as a ring of (ref, offset) in typed arrays. */
class SimQueue {
  readonly idx: number;
  readonly rxq: RxQueue;
  readonly name: string;
  backend!: Backend;
  generation = 0;
  pool: PagePool | null = null;
  readonly dRef: Int32Array;
  readonly dOff: Int32Array;
  dHead = 0;
  dCount = 0;
  seq = 0;
  offered = 0;
  received = 0;
  bytes = 0;
  droppedNoBuffer = 0;
  droppedUserFull = 0;
  allocFailures = 0;
  stalls = 0;
  /** The last wait for a Worker user timed out; not waited for again until a buffer comes back. */
  starved = false;
  polls = 0;
  // XDP (with --xdp): the rx queue's registration per pool, and the frames waiting for TX
  // completion: XDP_TX on this device's queue, XDP_REDIRECT on another device's.
  readonly xrqs = new Map<PagePool, XdpRxqInfo>();
  xdpTx: Int32Array = new Int32Array(0);
  xdpTxCount = 0;
  xdpRedir: Int32Array = new Int32Array(0);
  xdpRedirCount = 0;
  readonly xdp: XdpReport = { drop: 0, tx: 0, redirect: 0, pass: 0, bulkReturned: 0 };
  /** Buffers the driver allocated from the queue's pools (rx descriptor refills). */
  allocs = 0;
  constructor(idx: number, rxq: RxQueue, name: string, ring: number) {
    this.idx = idx;
    this.rxq = rxq;
    this.name = name;
    this.dRef = new Int32Array(ring);
    this.dOff = new Int32Array(ring);
  }
}

export class Simulation {
  readonly o: SimOptions;
  readonly pages: PageAllocator;
  readonly dev: DmaDevice;
  readonly netdev: NetDeviceT;
  readonly timers = new ManualTimers();
  readonly ledger: Ledger;
  readonly queues: SimQueue[];
  readonly pools: PoolEntry[] = [];
  readonly gens: GenerationReport[] = [];
  readonly problems: string[] = [];
  readonly logs: string[] = [];
  auditChecks = 0;
  #sizes: PacketSizes;
  #startKey = 0;
  /** XDP: the verdict draws (their own stream, so packet sizes stay as without --xdp). */
  #xdpRng: Rng;
  readonly #bq = new XdpFrameBulk();
  /** The NAPI of the device XDP_REDIRECT sends to: its TX completion runs on another CPU. */
  readonly #redirNapi = new Napi();

  constructor(opts: Partial<SimOptions> = {}) {
    const o = { ...defaultOptions, ...opts };
    validate(o);
    this.o = o;
    this.pages = new PageAllocator({ pages: o.pages });
    this.dev = new DmaDevice(this.pages, { name: "sim0" });
    this.netdev = new NetDevice({ name: "sim0", rxQueues: o.providers.length, dev: this.dev });
    this.netdev.onQueueRestart = (rxq) => this.#restartQueue(this.queues[rxq.index]);
    this.ledger = new Ledger();
    this.queues = o.providers.map((p, i) => new SimQueue(i, this.netdev.rxQueue(i), p, o.rxRing));
    this.#sizes = new PacketSizes(o.size, new Rng(o.seed));
    this.#xdpRng = new Rng((o.seed ^ 0x5844_5021) >>> 0);
    if (o.xdp) {
      // The program takes multi-buffer frames (xdp.frags): header split is on, and GRO-sized
      // packets span several buffers (passed up whole; verdicts draw for single-buffer ones).
      this.netdev.attachXdp({ frags: true });
      for (const q of this.queues) {
        q.xdpTx = new Int32Array(o.rxRing + o.budget);
        q.xdpRedir = new Int32Array(o.rxRing + o.budget);
      }
    }
  }

  #log = (msg: string): void => {
    this.logs.push(msg);
    this.o.log?.(msg);
  };

  #env(q: SimQueue): BackendEnv {
    return {
      netdev: this.netdev,
      queueIdx: q.idx,
      dev: this.dev,
      timers: this.timers,
      ledger: this.ledger,
      policy: this.o.policy,
      userMode: this.o.user,
      seed: (this.o.seed + q.idx * 7919 + q.generation * 104729) >>> 0,
      opts: this.o.opts,
      log: this.#log,
      waitMs: this.o.waitMs,
      restartQueue: () => this.#restartQueue(q),
    };
  }

  /**
   * The driver's queue restart (netdev_rx_queue_restart): allocate the new queue's pool first
   * (a provider refusing init leaves the old queue running, as the kernel does), then free the
   * posted buffers back to the old pool and destroy it. Called by the core on bind/unbind.
   */
  #restartQueue(q: SimQueue): void {
    const rxq = q.rxq;
    const bound = rxq.mpParams.ops !== null;
    const fresh = PagePoolClass.create({
      flags: PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV | (bound ? PP_FLAG_ALLOW_UNREADABLE_NETMEM : 0),
      // A receive queue maps from-device; with XDP_TX the device also reads the buffer back.
      dmaDir: this.o.xdp ? "bidirectional" : "from-device",
      // The device writes at most one buffer: a provider's chunk may be smaller than a page, or
      // a large rx buffer (the queue's rx_buf_len, set by the provider) several pages, which the
      // driver allocates as one higher-order netmem.
      order: bound ? Math.log2(rxq.rxBufLen) - PAGE_SHIFT : 0,
      maxLen: bound ? Math.min(rxq.rxBufLen, q.backend.bufLen) : 4096,
      netdev: this.netdev,
      queueIdx: q.idx,
      napi: rxq.napi,
      dev: this.dev,
      timers: this.timers,
      log: this.#log,
    });
    if (this.o.xdp) {
      // The driver registers the new pool as the queue's XDP memory model (a second user).
      const x = new XdpRxqInfo();
      x.reg(this.netdev, q.idx, rxq.napi.id);
      x.regMemModel(MEM_TYPE_PAGE_POOL, fresh);
      q.xrqs.set(fresh, x);
    }
    const old = q.pool;
    if (old) this.#stopPool(q, old);
    q.pool = fresh;
    this.pools.push({
      pool: fresh,
      queue: q.idx,
      generation: q.generation,
      provider: bound ? (rxq.mpParams.ops?.name ?? "?") : "none",
      describeAtTeardown: null,
      auditAtTeardown: null,
    });
    this.ledger.ensure();
  }

  /** Returns the posted rx buffers (from the NAPI, so straight into the cache) and destroys. */
  #stopPool(q: SimQueue, pool: PagePool): void {
    const entry = this.pools.find((e) => e.pool === pool);
    if (entry) {
      entry.describeAtTeardown = pool.describe();
      entry.auditAtTeardown = this.#audit(pool, "teardown");
    }
    napiRun(q.rxq.napi, () => {
      const ring = q.dRef.length;
      while (q.dCount > 0) {
        const ref = q.dRef[q.dHead];
        q.dHead = (q.dHead + 1) % ring;
        q.dCount--;
        this.ledger.drop(ref);
        pool.recycleDirect(ref);
      }
    });
    this.#xdpCompleteTx(q);
    this.#xdpCompleteRedirect(q);
    // xdp_rxq_info_unreg(): the memory model lets go of the pool (its user), then the driver's.
    const x = q.xrqs.get(pool);
    if (x) {
      q.xrqs.delete(pool);
      x.unreg();
    }
    pool.destroy();
  }

  #audit(pool: PagePool, when: string): AuditReport {
    const a = pool.audit();
    this.auditChecks++;
    if (!a.ok && this.problems.length < 50)
      for (const p of a.problems.slice(0, 10)) this.problems.push(`pool ${pool.id} (${when}): ${p}`);
    return a;
  }

  /** Fills empty rx descriptors from the pool. NAPI context. */
  #refill(q: SimQueue, pool: PagePool, bufLen: number, frags: boolean): void {
    const ring = q.dRef.length;
    const ledger = this.ledger;
    while (q.dCount < ring) {
      // page_pool_dev_alloc(): a fragment of a page when two fit, else the whole netmem.
      const ref = frags ? pool.allocNetmemSized(bufLen) : pool.allocNetmem();
      if (ref === 0) {
        q.allocFailures++;
        return;
      }
      q.starved = false;
      q.allocs++;
      const off = frags ? pool.outOffset : 0;
      ledger.take(ref, off, frags ? pool.outSize : bufLen);
      const i = (q.dHead + q.dCount) % ring;
      q.dRef[i] = ref;
      q.dOff[i] = off;
      q.dCount++;
    }
  }

  /** One NAPI poll: up to `n` packets arrive on the queue. */
  #poll(q: SimQueue, n: number): void {
    const pool = q.pool!;
    const be = q.backend;
    const bufLen = be.bufLen;
    const frags = be.frags;
    const ring = q.dRef.length;
    const sizes = this.#sizes;
    const worker = this.o.user === "worker" && this.o.policy.delay !== "never";
    let waitLeft = this.o.waitMs;
    // Multi-buffer packets need an XDP program that handles frags; the model's passes them.
    const xdp = this.o.xdp !== null;
    napiRun(q.rxq.napi, () => {
      for (let i = 0; i < n; i++) {
        const size = sizes.next();
        const seq = q.seq++;
        q.offered++;
        const nb = Math.ceil(size / bufLen);
        if (q.dCount < nb) {
          this.#refill(q, pool, bufLen, frags);
          // A Worker user gives buffers back concurrently: wait a little for them (TCP flow
          // control would pace the sender the same way) before the NIC drops the packet.
          // A user that holds more than the pool can ever have (a return delay above the
          // provider's capacity) is not waited for again until buffers flow: the NIC drops.
          while (worker && !q.starved && q.dCount < nb && waitLeft > 0) {
            be.waitUser(1);
            waitLeft--;
            this.#refill(q, pool, bufLen, frags);
          }
          if (q.dCount < nb) {
            if (worker && waitLeft <= 0 && !q.starved) {
              q.stalls++;
              q.starved = true;
            }
            q.droppedNoBuffer++;
            continue;
          }
        }
        let left = size;
        let ok = true;
        for (let b = 0; b < nb; b++) {
          const ref = q.dRef[q.dHead];
          const off = q.dOff[q.dHead];
          q.dHead = (q.dHead + 1) % ring;
          q.dCount--;
          const len = Math.min(left, bufLen);
          left -= len;
          if (!ok) {
            // The rest of a packet the user side refused: back to the pool (NAPI: direct).
            this.ledger.drop(ref);
            pool.recycleDirect(ref);
            continue;
          }
          if (xdp && nb === 1 && this.#xdpVerdict(q, ref)) continue;
          if (be.readable) be.stamp(pool, ref, off, seq);
          if (!be.deliver(pool, ref, off, len, seq)) ok = false;
        }
        if (ok) {
          q.received++;
          q.bytes += size;
        } else q.droppedUserFull++;
      }
      // The driver's XDP_TX completions, in this NAPI poll: napi-local, back into the cache.
      if (xdp) this.#xdpCompleteTx(q);
      this.#refill(q, pool, bufLen, frags);
    });
    // The redirect target's TX completion, on another CPU: through the pool's ring.
    if (xdp) this.#xdpCompleteRedirect(q);
    q.polls++;
    be.userStep(q.seq);
    if (q.polls % this.o.auditEvery === 0) this.#audit(pool, `poll ${q.polls}`);
  }

  /**
   * Runs the XDP program on a received buffer: true when it kept the packet out of the stack
   * (XDP_DROP recycled it at once; XDP_TX / XDP_REDIRECT queued it as a frame for TX completion).
   */
  #xdpVerdict(q: SimQueue, ref: number): boolean {
    const mix = this.o.xdp as XdpMix;
    const r = this.#xdpRng.nextU32() % 100;
    if (r < mix.drop) {
      q.xdp.drop++;
      this.ledger.drop(ref);
      xdpDropDirect(ref); // in the rx NAPI: page_pool_put_full_netmem(pool, nm, true)
      return true;
    }
    if (r < mix.drop + mix.tx) {
      q.xdp.tx++;
      q.xdpTx[q.xdpTxCount++] = ref;
      return true;
    }
    if (r < mix.drop + mix.tx + mix.redirect) {
      q.xdp.redirect++;
      q.xdpRedir[q.xdpRedirCount++] = ref;
      return true;
    }
    q.xdp.pass++;
    return false;
  }

  /** XDP_TX completion in the queue's own NAPI: xdp_return_frame_bulk, then flush. */
  #xdpCompleteTx(q: SimQueue): void {
    if (q.xdpTxCount === 0) return;
    const bq = this.#bq;
    const done = () => {
      for (let i = 0; i < q.xdpTxCount; i++) {
        this.ledger.drop(q.xdpTx[i]);
        bq.add(q.xdpTx[i]);
      }
      bq.flush();
    };
    napiRun(q.rxq.napi, done);
    q.xdp.bulkReturned += q.xdpTxCount;
    q.xdpTxCount = 0;
  }

  /** XDP_REDIRECT completion: the target device's TX NAPI on CPU 2 (not napi-local for the pool). */
  #xdpCompleteRedirect(q: SimQueue): void {
    if (q.xdpRedirCount === 0) return;
    const bq = this.#bq;
    onCpu(2, () =>
      napiRun(this.#redirNapi, () => {
        for (let i = 0; i < q.xdpRedirCount; i++) {
          this.ledger.drop(q.xdpRedir[i]);
          bq.add(q.xdpRedir[i]);
        }
        bq.flush();
      }),
    );
    q.xdp.bulkReturned += q.xdpRedirCount;
    q.xdpRedirCount = 0;
  }

  async #open(q: SimQueue): Promise<void> {
    q.backend = await makeBackend(q.name, this.#env(q));
    // A failed open leaves the queue unbound: bindRxQueue unwinds as netif_mp_open_rxq() does.
    await q.backend.open();
  }

  /** Tears one queue's generation down under load and records what came back. */
  async #close(q: SimQueue): Promise<void> {
    const advance = () => this.timers.advance(DEFER_TIME_MS);
    const user = await q.backend.close(advance);
    // Let every deferred destroy of this queue finish (each retry is one DEFER_TIME).
    for (let i = 0; i < 10 && this.#pendingPools(q.idx, q.generation) > 0; i++) advance();
    let stuck = 0;
    for (const e of this.pools) {
      if (e.queue !== q.idx || e.generation !== q.generation || e.pool === q.pool) continue;
      if (e.pool.state !== "freed") {
        stuck += e.pool.inflight;
        this.problems.push(`pool ${e.pool.id} not freed after teardown: ${e.pool.inflight} in flight`);
      }
    }
    if (user.refused)
      this.problems.push(
        `queue ${q.idx} generation ${q.generation}: the provider refused ${user.refused} valid returns`,
      );
    const lifecycle = q.backend.lifecycle();
    if (lifecycle.inits !== lifecycle.destroys)
      this.problems.push(
        `queue ${q.idx} generation ${q.generation} (${q.name}): provider init ran ${lifecycle.inits}x, destroy ${lifecycle.destroys}x`,
      );
    this.gens.push({
      queue: q.idx,
      generation: q.generation,
      provider: q.name,
      counters: q.backend.counters(),
      user,
      lifecycle,
      shortfall: q.backend.shortfall() + stuck,
    });
  }

  #pendingPools(queue: number, generation: number): number {
    let n = 0;
    for (const e of this.pools)
      if (e.queue === queue && e.generation <= generation && e.pool.state === "detached") n++;
    return n;
  }

  async run(): Promise<SimResult> {
    try {
      return await this.#run();
    } catch (e) {
      // A failed run must not leave Worker threads behind (they would keep the process alive).
      for (const q of this.queues) (q.backend as Backend | undefined)?.abort?.();
      throw e;
    }
  }

  async #run(): Promise<SimResult> {
    const t0 = performance.now();
    const o = this.o;
    this.#startKey = mpStaticKey.count;
    for (const q of this.queues) await this.#open(q);
    let offered = 0;
    let nextProgress = o.progressEvery;
    let tornDown = o.teardownAt === 0;
    const nq = this.queues.length;
    while (offered < o.packets) {
      for (let k = 0; k < nq && offered < o.packets; k++) {
        const q = this.queues[k];
        const n = Math.min(o.budget, o.packets - offered);
        this.#poll(q, n);
        offered += n;
      }
      if (!tornDown && offered >= o.teardownAt) {
        tornDown = true;
        for (const q of this.queues) {
          await this.#close(q);
          q.generation++;
          await this.#open(q);
        }
      }
      if (offered >= nextProgress) {
        await o.progress?.(offered, o.packets);
        nextProgress += o.progressEvery;
      }
    }
    // End of run: tear everything down, then the driver unloads (the last pools go).
    for (const q of this.queues) {
      await this.#close(q);
      const last = q.pool;
      if (last) this.#stopPool(q, last);
      q.pool = null;
    }
    for (let i = 0; i < 10 && this.pools.some((e) => e.pool.state === "detached"); i++)
      this.timers.advance(DEFER_TIME_MS);
    return this.#result(performance.now() - t0);
  }

  #result(wallMs: number): SimResult {
    const lostPages = this.pages.numPages - this.pages.freePages;
    if (lostPages > 0) this.problems.push(`${lostPages} host pages not back with the page allocator`);
    // Every descriptor the run touched must be detached from every pool.
    const lim = Math.min(descriptorLimit(), this.ledger.touched.length);
    let attached = 0;
    for (let d = 1; d < lim; d++) if (this.ledger.touched[d] && nm.pp[d] !== 0) attached++;
    if (attached > 0) this.problems.push(`${attached} buffers still attached to a pool after teardown`);
    // Every DMA mapping undone exactly once (the v6.15 DMA index: pages still in flight at a
    // teardown are unmapped by scrub, and not again when they come back).
    if (this.dev.maps !== this.dev.unmaps)
      this.problems.push(`DMA: ${this.dev.maps} mappings but ${this.dev.unmaps} unmaps after teardown`);
    const held = this.ledger.stillHeld();
    if (held > 0) this.problems.push(`the simulation still holds ${held} buffers after teardown`);
    if (mpStaticKey.count !== this.#startKey)
      this.problems.push(`provider static key is ${mpStaticKey.count}, was ${this.#startKey} before the run`);
    const poolReports: PoolReport[] = this.pools.map((e) => ({
      id: e.pool.id,
      queue: e.queue,
      generation: e.generation,
      provider: e.provider,
      state: e.pool.state,
      stats: flatStats(e.pool.st),
      describeAtTeardown: e.describeAtTeardown,
      auditAtTeardown: e.auditAtTeardown,
      auditFinal: this.#audit(e.pool, "final"),
      hold: e.pool.holdCount,
      release: e.pool.releaseCount,
      inflight: e.pool.inflight,
      destroyRetries: Math.max(0, e.pool.destroyCnt - 1),
    }));
    for (const p of poolReports)
      if (p.state !== "freed") this.problems.push(`pool ${p.id} ended ${p.state}, not freed`);
    const lost = lostPages + this.gens.reduce((s, g) => s + g.shortfall, 0);
    const duplicated =
      this.ledger.duplicated +
      this.ledger.unheldReturns +
      this.gens.reduce((s, g) => s + g.user.duplicated, 0);
    const corrupt = this.gens.reduce((s, g) => s + g.user.corrupt, 0);
    const o = this.o;
    const queues: QueueReport[] = this.queues.map((q) => ({
      queue: q.idx,
      offered: q.offered,
      received: q.received,
      bytes: q.bytes,
      droppedNoBuffer: q.droppedNoBuffer,
      droppedUserFull: q.droppedUserFull,
      allocFailures: q.allocFailures,
      stalls: q.stalls,
      generations: q.generation + 1,
      ...(o.xdp ? { xdp: { ...q.xdp } } : {}),
      rxBufLen: q.rxq.rxBufLen === q.rxq.netdev.defaultRxBufLen ? q.backend.bufLen : q.rxq.rxBufLen,
      ...perMB(
        q.allocs,
        this.gens.filter((g) => g.queue === q.idx).reduce((s, g) => s + g.user.returned, 0),
        q.bytes,
      ),
    }));
    return {
      dispatch: DISPATCH_VARIANT,
      config: {
        providers: o.providers,
        packets: o.packets,
        seed: o.seed,
        user: o.user,
        returnAfter: o.policy.delay,
        size: o.size.kind === "mix" ? "mix" : o.size.size,
        teardownAt: o.teardownAt,
        budget: o.budget,
        rxRing: o.rxRing,
        pages: o.pages,
        opts: o.opts,
        ...(o.xdp ? { xdp: `drop:${o.xdp.drop},tx:${o.xdp.tx},redirect:${o.xdp.redirect}` } : {}),
      },
      offered: queues.reduce((s, q) => s + q.offered, 0),
      received: queues.reduce((s, q) => s + q.received, 0),
      dropped: queues.reduce((s, q) => s + q.droppedNoBuffer + q.droppedUserFull, 0),
      lost,
      duplicated,
      corrupt,
      audit: { ok: this.problems.length === 0, checks: this.auditChecks, problems: this.problems },
      queues,
      generations: this.gens,
      pools: poolReports,
      wallMs: Math.round(wallMs),
    };
  }

  /** Gives the host memory back (after run()). Throws if pages are still out. */
  dispose(): void {
    this.netdev.unregister();
    this.pages.dispose();
  }
}

/**
 * The ranges validate() enforces, [min, max] inclusive; sim/main.ts gives its flags the same
 * ranges from here, so a bad value is refused naming the flag before a Simulation exists.
 */
export const SIM_LIMITS = {
  queues: [1, 64],
  packets: [0, 2 ** 40],
  seed: [0, 0xffff_ffff],
  teardownAt: [0, 2 ** 40],
  budget: [1, 4096],
  rxRing: [1, 8192],
  pages: [64, 1 << 22],
  auditEvery: [1, 2 ** 30],
  waitMs: [0, 600_000],
  returnDelay: [0, 2 ** 40],
} as const satisfies Record<string, readonly [number, number]>;

function validate(o: SimOptions): void {
  const int = (name: keyof typeof SIM_LIMITS, v: number) => {
    const [min, max] = SIM_LIMITS[name];
    if (!Number.isInteger(v) || v < min || v > max)
      throw new PagePoolError("EINVAL", `${name} must be an integer in [${min}, ${max}], got ${v}`);
  };
  const [qmin, qmax] = SIM_LIMITS.queues;
  if (o.providers.length < qmin || o.providers.length > qmax)
    throw new PagePoolError(
      "EINVAL",
      `between ${qmin} and ${qmax} queues (--provider), got ${o.providers.length}`,
    );
  int("packets", o.packets);
  int("seed", o.seed);
  int("teardownAt", o.teardownAt);
  int("budget", o.budget);
  int("rxRing", o.rxRing);
  int("pages", o.pages);
  int("auditEvery", o.auditEvery);
  int("waitMs", o.waitMs);
  if (o.policy.delay !== "never") int("returnDelay", o.policy.delay);
  if (o.user !== "inline" && o.user !== "worker")
    throw new PagePoolError("EINVAL", `user must be inline or worker, got ${String(o.user)}`);
  checkOptionPrefixes(o.opts);
  if (o.xdp) {
    const { drop, tx, redirect } = o.xdp;
    for (const [k, v] of [
      ["drop", drop],
      ["tx", tx],
      ["redirect", redirect],
    ] as const)
      if (!Number.isInteger(v) || v < 0 || v > 100)
        throw new PagePoolError("EINVAL", `xdp ${k} must be a percentage in [0, 100], got ${v}`);
    if (drop + tx + redirect > 100)
      throw new PagePoolError("EINVAL", `xdp verdicts add up to ${drop + tx + redirect}%, more than 100`);
    const bound = o.providers.filter((p) => p !== "none");
    if (bound.length > 0)
      throw new PagePoolError(
        "EEXIST",
        `an XDP program and memory providers exclude each other on a device (__net_mp_open_rxq); drop --provider ${bound[0]}`,
      );
  }
}

/** Allocations and returns per MiB received, rounded to 0.01 (0 when nothing was received). */
function perMB(
  allocs: number,
  returns: number,
  bytes: number,
): { allocsPerMB: number; returnsPerMB: number } {
  const mb = bytes / (1 << 20);
  const r = (n: number) => (mb > 0 ? Math.round((n / mb) * 100) / 100 : 0);
  return { allocsPerMB: r(allocs), returnsPerMB: r(returns) };
}

/** Runs one simulation to completion and frees its memory. */
export async function runSim(opts: Partial<SimOptions> = {}): Promise<SimResult> {
  const sim = new Simulation(opts);
  const r = await sim.run();
  if (r.lost === 0) sim.dispose();
  return r;
}
