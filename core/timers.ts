/**
 * Time for the control path (deferred destroy, its retries and warnings). Injectable so tests
 * and the simulator are deterministic: pass a `ManualTimers` and `advance()` it.
 */
export interface Timers {
  /** Milliseconds since an arbitrary origin (CLOCK_BOOTTIME stand-in). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers; unref'd so a deferred pool never keeps the process alive on its own. */
export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimeout(h) {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

/** A virtual clock: callbacks run only inside `advance()`, in due-time order. */
export class ManualTimers implements Timers {
  #now = 0;
  #seq = 0;
  #pending = new Map<number, { due: number; seq: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.#seq;
    this.#pending.set(id, { due: this.#now + Math.max(0, ms), seq: id, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }
  get pending(): number {
    return this.#pending.size;
  }
  /** Moves the clock forward by `ms`, running every callback that falls due (including ones they schedule). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: { id: number; due: number; seq: number; fn: () => void } | undefined;
      for (const [id, t] of this.#pending)
        if (t.due <= end && (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq)))
          next = { id, ...t };
      if (!next) break;
      this.#pending.delete(next.id);
      this.#now = next.due;
      next.fn();
    }
    this.#now = end;
  }
}
