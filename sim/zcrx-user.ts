/**
 * The simulated zcrx application: reads completions, checks what it got, and hands buffers back
 * through the refill ring after its return delay. The same class runs inline (between NAPI
 * polls, on the pool's thread) or in a Worker (sim/workers/zcrx-user.worker.ts), where the refill
 * ring is then a real single-producer single-consumer ring across threads.
 *
 * Its own accounting, per net_iov of the area, is how the run proves nothing was handed out
 * twice: a completion for a buffer it still holds is a duplicate, and the payload stamp the
 * device wrote is read when the buffer arrives and again just before it goes back: if the bytes
 * changed in between, the NIC wrote into a buffer the user held (a duplicate hand-out).
 *
 * Imports only the zcrx user side, so a Worker loads nothing of the pool.
 */

import type { ZcrxUserDescriptor } from "../plugins/zcrx/uapi.ts";
import { ZcrxUser } from "../plugins/zcrx/user.ts";
import type { UserReport } from "./backends/types.ts";
import { HeldQueue } from "./heldq.ts";
import { Rng } from "./rng.ts";
import { readStamp } from "./stamp.ts";

/** The adversary's kinds of bad refill entry, by the index its seeded draw picks. */
export const BAD_KINDS = ["forged", "doubled", "badIndex", "badArea", "badPad"] as const;

export interface ZcrxSimUserConfig {
  desc: ZcrxUserDescriptor;
  /**
   * A hostile or buggy application: after about one legitimate return in `every`, it also writes
   * a bad refill entry (seeded choice of kind). The kernel must skip each one and lose nothing.
   * Every entry decided on is written: one the full ring refused is retried before the next
   * legitimate return, so how many are written depends on the seed and the returns, not on timing.
   */
  adversary?: { seed: number; every: number; forgeBelow: number };
  /** Return a buffer this many completions after it arrived; -1 = never. */
  delay: number;
  /** Whether the device stamps payloads (the area is readable user memory: always for zcrx). */
  checkStamps: boolean;
}

export class ZcrxSimUser {
  readonly user: ZcrxUser;
  readonly #delay: number;
  readonly #check: boolean;
  /** Completions held per net_iov index. */
  readonly held: Int32Array;
  /** 1 for every net_iov index this user was ever given. */
  readonly seen: Uint8Array;
  readonly #q = new HeldQueue(8192);
  readonly #tokenHi: number;
  /** Highest stamp seen so far (stamps are the queue's packet numbers: strictly increasing). */
  #lastStamp = -1;
  readonly report: UserReport = { received: 0, returned: 0, corrupt: 0, duplicated: 0, heldAtClose: 0 };
  /** Returns deferred because the refill ring was full. */
  rqFullRetries = 0;
  /** Bad entries written, by kind (adversary mode). */
  readonly bad = { forged: 0, doubled: 0, badIndex: 0, badArea: 0, badPad: 0 };
  /** Bad entries decided on, by kind: written, or the one still pending (ring full) at close. */
  readonly decided = { forged: 0, doubled: 0, badIndex: 0, badArea: 0, badPad: 0 };
  /** The decided bad entry not yet written (the ring was full): its kind (-1 = none) and fields. */
  #pKind = -1;
  #pLo = 0;
  #pHi = 0;
  #pLen = 0;
  #pPad = 0;
  /** The adversary's forgeBelow (0 = none), and how many net_iovs below it were never seen. */
  readonly #forgeBelow: number;
  #unseenBelow: number;
  /** Every refill entry written, good or bad (to bound what the kernel had not consumed at teardown). */
  written = 0;
  readonly #adv: { every: number; forgeBelow: number; rng: Rng } | null;
  readonly #numNiovs: number;
  /** Bytes per net_iov (the ifq's rx buffer length). */
  readonly #niovSize: number;

  constructor(cfg: ZcrxSimUserConfig) {
    this.user = new ZcrxUser(cfg.desc);
    this.#delay = cfg.delay;
    this.#check = cfg.checkStamps;
    this.#niovSize = 2 ** cfg.desc.niovShift;
    this.#numNiovs = cfg.desc.areaSize / this.#niovSize;
    this.held = new Int32Array(this.#numNiovs);
    this.seen = new Uint8Array(this.#numNiovs);
    this.#tokenHi = (cfg.desc.areaId << 16) >>> 0;
    this.#forgeBelow = Math.min(cfg.adversary?.forgeBelow ?? 0, this.#numNiovs);
    this.#unseenBelow = this.#forgeBelow;
    this.#adv = cfg.adversary
      ? {
          every: Math.max(1, cfg.adversary.every),
          forgeBelow: cfg.adversary.forgeBelow,
          rng: new Rng(cfg.adversary.seed),
        }
      : null;
  }

  /** The adversary's choices: the project's seeded PRNG (sim/rng.ts), seeded per generation. */
  #rand(): number {
    return this.#adv!.rng.nextU32();
  }

  /**
   * Decides one bad entry right after the legitimate return of (lo, hi): forged (a net_iov this
   * user does not hold), doubled (the same buffer again), an index beyond the area, another
   * area's id, or a non-zero pad; then writes it (#writePending). The draws happen here, once per
   * decision, so the seeded sequence of kinds does not depend on when the ring had room.
   */
  #misbehave(lo: number, hi: number, len: number): void {
    const kind = this.#rand() % 5;
    const ownHi = (hi & 0xffff) | this.#tokenHi;
    let pad = 0;
    if (kind === 0) {
      // A net_iov this user was never given, from the cold bottom of the area (`forgeBelow`; the
      // freelist hands out the highest indices first): the drawn one or the next one up not yet
      // seen. Once the pool has handed out all of them (a user lagging behind the NIC makes it
      // dig through the whole area, sooner on a loaded machine), one this user holds no
      // completion of: always finding one makes the number of forged entries a function of the
      // seed, not of timing. The kernel refuses what the user does not hold; one posted but not
      // yet read counts as held and is taken like a doubled return (the user's own later return
      // is then refused instead), so the completions are read first.
      const below = this.#forgeBelow;
      if (below <= 0) return;
      let idx = this.#rand() % below;
      if (this.#unseenBelow > 0) while (this.seen[idx] !== 0) idx = (idx + 1) % below;
      else {
        this.#readCompletions();
        for (let n = 0; this.held[idx] !== 0; idx = (idx + 1) % this.#numNiovs)
          if (++n === this.#numNiovs) return; // the user holds the whole area: nothing to forge
      }
      const off = idx * this.#niovSize;
      lo = off >>> 0;
      hi = (Math.floor(off / 2 ** 32) & 0xffff) | this.#tokenHi;
      len = this.#niovSize;
    } else if (kind === 1) {
      hi = ownHi;
    } else if (kind === 2) {
      const off = (this.#numNiovs + (this.#rand() % 1024)) * this.#niovSize;
      lo = off >>> 0;
      hi = (Math.floor(off / 2 ** 32) & 0xffff) | this.#tokenHi;
      len = this.#niovSize;
    } else if (kind === 3) {
      const otherArea = ((this.#tokenHi >>> 16) + 1 + (this.#rand() % 0xfffe)) & 0xffff;
      hi = (hi & 0xffff) | (otherArea << 16);
    } else {
      hi = ownHi;
      pad = 1 + (this.#rand() % 0xffff);
    }
    this.decided[BAD_KINDS[kind]]++;
    this.#pKind = kind;
    this.#pLo = lo;
    this.#pHi = hi;
    this.#pLen = len;
    this.#pPad = pad;
    this.#writePending();
  }

  /** Writes the pending bad entry, if any; false when the ring is full (it stays pending). */
  #writePending(): boolean {
    if (this.#pKind < 0) return true;
    if (!this.user.returnRaw(this.#pLo, this.#pHi, this.#pLen, this.#pPad)) return false;
    this.bad[BAD_KINDS[this.#pKind]]++;
    this.written++;
    this.#pKind = -1;
    return true;
  }

  get holding(): number {
    return this.#q.length;
  }

  /** Reads every pending completion and returns what is due. Returns how much it did. */
  step(): number {
    let work = this.#readCompletions();
    if (this.#delay < 0) return work;
    const q = this.#q;
    const due = this.report.received - this.#delay;
    while (q.length > 0) {
      const i = q.peek();
      if (q.seq[i] > due) break;
      if (!this.#giveBack(i)) {
        this.rqFullRetries++;
        break;
      }
      q.shift();
      work++;
    }
    return work;
  }

  /** Reads every pending completion into the held FIFO; returns how many. */
  #readCompletions(): number {
    const u = this.user;
    const q = this.#q;
    const area = u.area;
    let work = 0;
    while (u.readCompletion()) {
      work++;
      const rep = this.report;
      rep.received++;
      const idx = Math.floor(u.off / this.#niovSize);
      if (this.held[idx]++ > 0) rep.duplicated++;
      if (this.seen[idx] === 0 && idx < this.#forgeBelow) this.#unseenBelow--;
      this.seen[idx] = 1;
      let stamp = 0;
      if (this.#check && u.len >= 4) {
        stamp = readStamp(area, u.off);
        // Equal is fine: the fragments of one packet carry the same number.
        if (stamp < this.#lastStamp) rep.corrupt++;
        this.#lastStamp = stamp;
      }
      q.push(u.offLo, u.offHi, rep.received, u.len, stamp);
    }
    return work;
  }

  /** Hands entry `i` of the FIFO back through the refill ring; false when the ring is full. */
  #giveBack(i: number): boolean {
    // A bad entry the ring refused goes first: at most one is ever pending.
    if (!this.#writePending()) return false;
    const q = this.#q;
    const lo = q.a[i];
    const hi = q.b[i];
    const len = q.c[i];
    const off = (hi & 0xffff) * 2 ** 32 + lo;
    if (this.#check && len >= 4 && readStamp(this.user.area, off) !== q.d[i]) this.report.corrupt++;
    // rqe.off = (off & ~IORING_ZCRX_AREA_MASK) | rq_area_token
    if (!this.user.returnRaw(lo, (hi & 0xffff) | this.#tokenHi, len, 0)) return false;
    this.written++;
    this.held[Math.floor(off / this.#niovSize)]--;
    this.report.returned++;
    if (this.#adv !== null && this.#rand() % this.#adv.every === 0) this.#misbehave(lo, hi, len);
    return true;
  }

  /** The user stops: what it still holds is left to the kernel's scrub. */
  finish(): UserReport {
    this.report.heldAtClose = this.#q.length;
    return {
      ...this.report,
      extra: {
        ...this.bad,
        written: this.written,
        rqFullRetries: this.rqFullRetries,
        ...Object.fromEntries(BAD_KINDS.map((k) => [`decided.${k}`, this.decided[k]])),
        pendingKind: this.#pKind,
      },
    };
  }
}
