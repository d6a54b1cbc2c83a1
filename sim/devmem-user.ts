/**
 * The simulated devmem TCP application's bookkeeping: what it was given (SO_DEVMEM_DMABUF
 * records: a token per fragment) and when each token goes back (SO_DEVMEM_DONTNEED after the
 * return delay). The same core runs inline (calling the socket directly) or in a Worker (calling
 * it through the message channel that stands for the syscalls, sim/workers/devmem-user.worker.ts).
 *
 * Its accounting per net_iov of the dma-buf proves nothing was handed out twice: a record for a
 * net_iov the user still holds a token on is a duplicate (the driver gives each net_iov whole,
 * one fragment per packet, so a second live token on one net_iov cannot be legitimate).
 */
import { PAGE_SHIFT } from "../core/netmem.ts";
import { SO_DEVMEM_DMABUF, splitDontneed, tokensToRanges } from "../plugins/devmem/socket.ts";
import type { UserReport } from "./backends/types.ts";
import { HeldQueue } from "./heldq.ts";

/** The fields of a recvmsg answer the user reads (DevmemCmsgBuffer or a RecvmsgReply). */
export interface CmsgRecords {
  type: ArrayLike<number>;
  fragOffset: ArrayLike<number>;
  fragToken: ArrayLike<number>;
}

export class DevmemUserCore {
  readonly #delay: number;
  /** Tokens held per net_iov index of the dma-buf. */
  readonly held: Int32Array;
  readonly #q = new HeldQueue(8192);
  readonly report: UserReport = {
    received: 0,
    returned: 0,
    corrupt: 0,
    duplicated: 0,
    heldAtClose: 0,
    refused: 0,
  };
  #due: number[] = [];

  constructor(numNiovs: number, delay: number) {
    this.held = new Int32Array(numNiovs);
    this.#delay = delay;
  }

  get holding(): number {
    return this.#q.length;
  }

  /** Takes in `count` records of a recvmsg answer. */
  take(r: CmsgRecords, count: number): void {
    const rep = this.report;
    for (let i = 0; i < count; i++) {
      if (r.type[i] !== SO_DEVMEM_DMABUF) continue;
      rep.received++;
      const idx = Math.floor(r.fragOffset[i] / 2 ** PAGE_SHIFT);
      if (idx < 0 || idx >= this.held.length) {
        rep.corrupt++;
        continue;
      }
      if (this.held[idx]++ > 0) rep.duplicated++;
      this.#q.push(r.fragToken[i], idx, rep.received);
    }
  }

  /**
   * The dontneed calls for every token now due (coalesced ranges, cut to the kernel's limits),
   * or [] when nothing is due. `all` returns everything held (the user is done). The tokens are
   * counted as returned; confirm() checks the kernel's answer.
   */
  dueCalls(all = false): Uint32Array[] {
    if (this.#delay < 0 && !all) return [];
    const q = this.#q;
    const due = all ? Number.POSITIVE_INFINITY : this.report.received - this.#delay;
    const toks = this.#due;
    toks.length = 0;
    while (q.length > 0) {
      const i = q.peek();
      if (q.seq[i] > due) break;
      toks.push(q.a[i]);
      this.held[q.b[i]]--;
      q.shift();
    }
    if (toks.length === 0) return [];
    this.report.returned += toks.length;
    return splitDontneed(tokensToRanges(toks));
  }

  /** The kernel freed `freed` of the `asked` tokens of one call; every one of ours is valid. */
  confirm(asked: Uint32Array, freed: number): void {
    let n = 0;
    for (let i = 1; i < asked.length; i += 2) n += asked[i];
    if (freed !== n) this.report.refused! += n - freed;
  }

  finish(): UserReport {
    this.report.heldAtClose = this.#q.length;
    return { ...this.report };
  }
}
