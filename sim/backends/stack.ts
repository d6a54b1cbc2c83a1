/**
 * Backends whose user side is the ordinary kernel stack: the packet becomes an skb, the user
 * reads it (recvmsg copies the bytes out) and the skb is freed, which puts the page-pool
 * reference back from process context on another CPU (so it goes through the ptr_ring, not the
 * NAPI-owned cache). Used for the provider-less queue ("none") and for every provider whose
 * fixture says its user side is the stack (`user: "stack"`: basic, limited, huge, the scaffold's).
 */

import { PagePoolError } from "../../core/errors.ts";
import { onCpu } from "../../core/netdev.ts";
import { nm } from "../../core/netmem.ts";
import { type PagePool, poolsById } from "../../core/page-pool.ts";
import {
  allocSkb,
  kfreeSkb,
  type Skb,
  skbAddRxFrag,
  skbClone,
  skbGroReceive,
  skbMarkForRecycle,
} from "../../core/skb.ts";
import { type BufferShape, type FixtureInstance, hostPagesMemory } from "../../plugins/fixture.ts";
import { HeldQueue } from "../heldq.ts";
import { readStamp, writeStamp } from "../stamp.ts";
import type { Backend, BackendEnv, UserReport } from "./types.ts";

/**
 * Stands the provider up on the queue (its fixture's bind, with the options resolved), or null for
 * a queue without a provider (the driver's queue restart then gives it a provider-less pool).
 */
export type StackStand = (() => FixtureInstance) | null;

/** The user CPU: returns from here are process context on another CPU (never napi-local). */
export const USER_CPU = 1;

/** One skb in this many is cloned by a packet tap (exercises the shared-data release). */
const TAP_EVERY = 64;

export class StackBackend implements Backend {
  readonly name: string;
  readonly bound: boolean;
  readonly bufLen: number;
  readonly frags: boolean;
  readonly readable: boolean;
  readonly #env: BackendEnv;
  readonly #stand: StackStand;
  #inst: FixtureInstance | null = null;
  /** The buffers' memory view: the provider's, or the host pages of a provider-less queue. */
  #mem: Pick<FixtureInstance, "memory" | "byteOffset"> = hostPagesMemory;
  readonly #held = new HeldQueue(4096);
  /** The skbs the socket holds, by slot (the held queue carries the slot); slots are reused. */
  readonly #skbs: (Skb | null)[] = [];
  readonly #freeSlots: number[] = [];
  /** GRO: the packet and skb the last buffer went to (the next buffer of the packet merges in). */
  #lastSeq = -1;
  #lastSkb: Skb | null = null;
  /** Every TAP_EVERY-th skb is also seen by a packet tap: a clone, freed at once. */
  #delivered = 0;
  #groMerged = 0;
  #tapClones = 0;
  readonly #report: UserReport = { received: 0, returned: 0, corrupt: 0, duplicated: 0, heldAtClose: 0 };

  constructor(name: string, env: BackendEnv, shape: BufferShape, stand: StackStand) {
    if (env.userMode === "worker")
      throw new PagePoolError(
        "EOPNOTSUPP",
        `--user worker needs a provider with a user-side return path (zcrx, devmem); "${name}" returns through the stack`,
      );
    this.name = name;
    this.#env = env;
    this.#stand = stand;
    this.bound = stand !== null;
    this.bufLen = shape.bufLen;
    this.frags = shape.frags;
    // Up to 64 KiB: a provider's large rx buffers (the queue's rx-buf-len).
    if (shape.bufLen < 4 || shape.bufLen > 65536)
      throw new PagePoolError("EINVAL", `${name}: buffer length must be in [4, 65536], got ${shape.bufLen}`);
    this.readable = shape.readable;
  }

  async open(): Promise<void> {
    if (this.#stand) {
      const inst = this.#stand();
      if (inst.user.kind !== "stack")
        throw new PagePoolError(
          "EINVAL",
          `${this.name}: its fixture's user side is ${inst.user.kind}, not the stack`,
        );
      this.#inst = inst;
      this.#mem = inst;
    } else this.#env.restartQueue();
    this.#env.ledger.ensure();
  }

  deliver(_pool: PagePool, ref: number, off: number, len: number, seq: number): boolean {
    // The driver builds an skb over the buffer and marks it for recycling; the skb owns the
    // driver's reference now and sits in the socket until the user reads it.
    const skb = allocSkb();
    skbAddRxFrag(skb, ref, off, len);
    skbMarkForRecycle(skb);
    this.#report.received++;
    // GRO: the packet's further buffers merge into its first skb (skb_gro_receive) while they
    // fit in MAX_SKB_FRAGS; the merged skb's stolen head is freed at once.
    if (seq === this.#lastSeq && this.#lastSkb !== null && skbGroReceive(this.#lastSkb, skb) === 0) {
      this.#groMerged++;
      return true;
    }
    this.#lastSeq = seq;
    this.#lastSkb = skb;
    // A packet tap (tcpdump): a clone shares the data; freeing it releases nothing.
    if (++this.#delivered % TAP_EVERY === 0) {
      kfreeSkb(skbClone(skb));
      this.#tapClones++;
    }
    const slot = this.#freeSlots.pop() ?? this.#skbs.length;
    this.#skbs[slot] = skb;
    this.#held.push(slot, off, seq);
    return true;
  }

  userStep(delivered: number): void {
    const policy = this.#env.policy;
    if (policy.delay === "never" || this.#held.length === 0) return;
    const due = delivered - policy.delay;
    onCpu(USER_CPU, () => this.#returnWhile(due));
  }

  /** Returns held buffers in arrival order while their packet seq <= `due`. */
  #returnWhile(due: number): void {
    const q = this.#held;
    const ledger = this.#env.ledger;
    while (q.length > 0) {
      const i = q.peek();
      const seq = q.seq[i];
      if (seq > due) break;
      const slot = q.a[i];
      const off = q.b[i];
      q.shift();
      const skb = this.#skbs[slot] as Skb;
      this.#skbs[slot] = null;
      this.#freeSlots.push(slot);
      if (skb === this.#lastSkb) this.#lastSkb = null;
      const ref = skb.shinfo.frags[0];
      if (this.readable) {
        const pool = poolsById.get(nm.pp[ref >>> 1]);
        if (
          pool &&
          readStamp(this.#mem.memory(pool, ref), this.#mem.byteOffset(pool, ref) + off) !== seq >>> 0
        )
          this.#report.corrupt++;
      }
      // recvmsg consumed the skb: kfree_skb from process context. skb_release_data puts the
      // frag back through napi_pp_put_page to the pool that owns it (netmem->pp), which may be
      // a detached pool after a teardown.
      const sh = skb.shinfo;
      let gone = 0;
      for (let f = 0; f < sh.nrFrags; f++) if (!poolsById.has(nm.pp[sh.frags[f] >>> 1])) gone++;
      if (gone > 0) {
        // Not pool pages any more: a bug the ledger reports; free the skb without its frags.
        this.#env.ledger.unheldReturns += gone;
        sh.nrFrags = 0;
        kfreeSkb(skb);
        continue;
      }
      for (let f = 0; f < sh.nrFrags; f++) ledger.drop(sh.frags[f]);
      this.#report.returned += sh.nrFrags;
      kfreeSkb(skb);
    }
  }

  waitUser(_ms: number): boolean {
    return false;
  }

  async close(advanceTimers: () => void): Promise<UserReport> {
    // Buffers (frags) the socket still holds: a GRO'd skb holds several.
    let held = 0;
    for (const skb of this.#skbs) if (skb) held += skb.shinfo.nrFrags;
    this.#report.heldAtClose = held;
    // Unbind (or restart) first: the driver destroys the pool while the user still holds buffers.
    if (this.#inst) this.#inst.unbind();
    else this.#env.restartQueue();
    advanceTimers();
    // The socket closes: every skb still queued is freed.
    onCpu(USER_CPU, () => this.#returnWhile(Number.POSITIVE_INFINITY));
    advanceTimers();
    try {
      this.#inst?.dispose();
    } catch (e) {
      // A provider that cannot end (buffers still out) is reported as lost, not thrown.
      if (!(e instanceof PagePoolError)) throw e;
      this.#env.log(`${this.name}: ${e.message}`);
    }
    return { ...this.#report, extra: { groMerged: this.#groMerged, tapClones: this.#tapClones } };
  }

  counters(): Record<string, unknown> {
    return this.#inst?.counters() ?? {};
  }
  shortfall(): number {
    return this.#inst?.shortfall() ?? 0;
  }
  lifecycle(): { inits: number; destroys: number } {
    return this.#inst?.lifecycle() ?? { inits: 0, destroys: 0 };
  }
  stamp(pool: PagePool, ref: number, off: number, seq: number): void {
    writeStamp(this.#mem.memory(pool, ref), this.#mem.byteOffset(pool, ref) + off, seq);
  }
}
