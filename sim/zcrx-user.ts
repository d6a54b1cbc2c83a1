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

export interface ZcrxSimUserConfig {
  desc: ZcrxUserDescriptor;
  /**
   * A hostile or buggy application: after about one legitimate return in `every`, it also writes
   * a bad refill entry (seeded choice of kind). The kernel must skip each one and lose nothing.
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
   * Writes one bad entry right after the legitimate return of (lo, hi): forged (a net_iov this
   * user does not hold), doubled (the same buffer again), an index beyond the area, another
   * area's id, or a non-zero pad. A full ring just skips it (nothing written, nothing counted).
   */
  #misbehave(lo: number, hi: number, len: number): void {
    const u = this.user;
    const kind = this.#rand() % 5;
    const ownHi = (hi & 0xffff) | this.#tokenHi;
    let ok = false;
    if (kind === 0) {
      // A net_iov of the area this user was never given, from the cold bottom of the area
      // (`forgeBelow`; the freelist hands out the highest indices first, so with the area much
      // larger than what can ever circulate, those are never in flight). Forging a buffer the
      // NIC may have handed out is not something the kernel can refuse: it only refuses what the
      // user does not hold, and a completion posted but not yet read counts as held.
      const below = this.#adv!.forgeBelow;
      if (below <= 0) return;
      const idx = this.#rand() % Math.min(below, this.#numNiovs);
      if (this.seen[idx] !== 0) return;
      const off = idx * this.#niovSize;
      ok = u.returnRaw(off >>> 0, (Math.floor(off / 2 ** 32) & 0xffff) | this.#tokenHi, this.#niovSize, 0);
      if (ok) this.bad.forged++;
    } else if (kind === 1) {
      ok = u.returnRaw(lo, ownHi, len, 0);
      if (ok) this.bad.doubled++;
    } else if (kind === 2) {
      const off = (this.#numNiovs + (this.#rand() % 1024)) * this.#niovSize;
      ok = u.returnRaw(off >>> 0, (Math.floor(off / 2 ** 32) & 0xffff) | this.#tokenHi, this.#niovSize, 0);
      if (ok) this.bad.badIndex++;
    } else if (kind === 3) {
      const otherArea = ((this.#tokenHi >>> 16) + 1 + (this.#rand() % 0xfffe)) & 0xffff;
      ok = u.returnRaw(lo, (hi & 0xffff) | (otherArea << 16), len, 0);
      if (ok) this.bad.badArea++;
    } else {
      ok = u.returnRaw(lo, ownHi, len, 1 + (this.#rand() % 0xffff));
      if (ok) this.bad.badPad++;
    }
    if (ok) this.written++;
  }

  get holding(): number {
    return this.#q.length;
  }

  /** Reads every pending completion and returns what is due. Returns how much it did. */
  step(): number {
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
    if (this.#delay < 0) return work;
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

  /** Hands entry `i` of the FIFO back through the refill ring; false when the ring is full. */
  #giveBack(i: number): boolean {
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
      extra: { ...this.bad, written: this.written, rqFullRetries: this.rqFullRetries },
    };
  }
}
