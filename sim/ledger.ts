/**
 * The simulator's own accounting of buffers, independent of the pool's: how many references the
 * simulated driver and user hold on each netmem descriptor, in typed arrays indexed like the
 * core's metadata. It catches a buffer handed out while still held (a pool or provider handing
 * the same memory to two owners: "duplicated") and a return of something not held.
 *
 * Overlap is checked at byte granularity within a page for fragments: a fragment handed out at
 * an offset below the end of the previous fragment of the same page, while that page is held,
 * is a duplicate. A whole buffer (offset 0) handed out while any reference is held is a duplicate.
 */
import { descriptorLimit } from "../core/netmem.ts";

export class Ledger {
  /** References held by the simulated driver and user, per descriptor. */
  held = new Int32Array(0);
  /** End (exclusive) of the last fragment handed out on the descriptor's current use. */
  fragEnd = new Int32Array(0);
  /** Descriptors the run ever handled (for the final "back with its owner" scan). */
  touched = new Uint8Array(0);
  /** A buffer handed out while still held, or the same bytes handed out twice. */
  duplicated = 0;
  /** A return of a buffer the simulation did not hold. */
  unheldReturns = 0;
  /** Number of references currently held. */
  outstanding = 0;

  constructor() {
    this.ensure();
  }

  /** Grows the tables to cover every descriptor the core has reserved (control path: call after binds). */
  ensure(): void {
    const need = descriptorLimit() + 1;
    if (need <= this.held.length) return;
    let cap = Math.max(1024, this.held.length);
    while (cap < need) cap *= 2;
    const grow = <T extends Int32Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.held = grow(this.held, new Int32Array(cap));
    this.fragEnd = grow(this.fragEnd, new Int32Array(cap));
    this.touched = grow(this.touched, new Uint8Array(cap));
  }

  /** A buffer (or fragment [off, off+len)) was handed to the driver. */
  take(ref: number, off: number, len: number): void {
    const d = ref >>> 1;
    if (d >= this.held.length) this.ensure();
    if (off === 0) {
      if (this.held[d] > 0) this.duplicated++;
    } else if (off < this.fragEnd[d]) {
      this.duplicated++;
    }
    this.fragEnd[d] = off + len;
    this.held[d]++;
    this.touched[d] = 1;
    this.outstanding++;
  }

  /** One reference on the buffer came back to the pool or provider. */
  drop(ref: number): void {
    const d = ref >>> 1;
    if (d >= this.held.length || this.held[d] <= 0) {
      this.unheldReturns++;
      return;
    }
    this.held[d]--;
    this.outstanding--;
  }

  /** Count of descriptors still held by the simulation. */
  stillHeld(): number {
    let n = 0;
    for (let d = 0; d < this.held.length; d++) if (this.held[d] !== 0) n++;
    return n;
  }

  /** Forget every hold (after a teardown reclaimed what the user held, e.g. zcrx scrub). */
  forget(pred: (desc: number) => boolean): void {
    for (let d = 0; d < this.held.length; d++) {
      if (this.held[d] !== 0 && pred(d)) {
        this.outstanding -= this.held[d];
        this.held[d] = 0;
      }
    }
  }
}
