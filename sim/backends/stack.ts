/**
 * Backends whose user side is the ordinary kernel stack: the packet becomes an skb, the user
 * reads it (recvmsg copies the bytes out) and the skb is freed, which puts the page-pool
 * reference back from process context on another CPU (so it goes through the ptr_ring, not the
 * NAPI-owned cache). Used for the provider-less queue ("none") and for providers that have no
 * user-side return protocol of their own (basic, limited, huge).
 */

import { PagePoolError } from "../../core/errors.ts";
import { onCpu } from "../../core/netdev.ts";
import { nm } from "../../core/netmem.ts";
import { type PagePool, poolsById } from "../../core/page-pool.ts";
import type { MemoryProviderOps } from "../../core/provider.ts";
import { HeldQueue } from "../heldq.ts";
import { readStamp, writeStamp } from "../stamp.ts";
import type { Backend, BackendEnv, UserReport } from "./types.ts";

/** What a provider plugs into the stack backend. */
export interface StackProvider {
  ops: MemoryProviderOps | null;
  priv: unknown;
  bufLen: number;
  /** Whether the driver may carve buffers with the page frag API (pages), or takes whole netmems. */
  frags: boolean;
  readable: boolean;
  /** Bytes of a buffer for stamping: the backing array and the byte offset of `ref`'s start. */
  memory(pool: PagePool, ref: number): Uint8Array;
  byteOffset(pool: PagePool, ref: number): number;
  counters(): Record<string, unknown>;
  lifecycle(): { inits: number; destroys: number };
  /** Provider-owned memory not back home (0 for providers over plain host pages). */
  shortfall(): number;
  /** Frees what the provider instance owns after close (areas, folios…). */
  dispose?(): void;
}

/** The user CPU: returns from here are process context on another CPU (never napi-local). */
export const USER_CPU = 1;

export class StackBackend implements Backend {
  readonly name: string;
  readonly bound: boolean;
  readonly bufLen: number;
  readonly frags: boolean;
  readonly readable: boolean;
  readonly #env: BackendEnv;
  readonly #p: StackProvider;
  readonly #held = new HeldQueue(4096);
  readonly #report: UserReport = { received: 0, returned: 0, corrupt: 0, duplicated: 0, heldAtClose: 0 };

  constructor(name: string, env: BackendEnv, p: StackProvider) {
    if (env.userMode === "worker")
      throw new PagePoolError(
        "EOPNOTSUPP",
        `--user worker needs a provider with a user-side return path (zcrx, devmem); "${name}" returns through the stack`,
      );
    this.name = name;
    this.#env = env;
    this.#p = p;
    this.bound = p.ops !== null;
    this.bufLen = p.bufLen;
    this.frags = p.frags;
    if (p.bufLen < 4 || p.bufLen > 4096)
      throw new PagePoolError("EINVAL", `${name}: buffer length must be in [4, 4096], got ${p.bufLen}`);
    this.readable = p.readable;
  }

  async open(): Promise<void> {
    const { netdev, queueIdx } = this.#env;
    if (this.#p.ops) netdev.bindRxQueue(queueIdx, this.#p.ops, this.#p.priv);
    else this.#env.restartQueue();
    this.#env.ledger.ensure();
  }

  deliver(_pool: PagePool, ref: number, off: number, _len: number, seq: number): boolean {
    // The skb owns the driver's reference now; it sits in the socket until the user reads it.
    this.#held.push(ref, off, seq);
    this.#report.received++;
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
      const ref = q.a[i];
      const off = q.b[i];
      q.shift();
      if (this.readable) {
        const pool = poolsById.get(nm.pp[ref >>> 1]);
        if (pool && readStamp(this.#p.memory(pool, ref), this.#p.byteOffset(pool, ref) + off) !== seq >>> 0)
          this.#report.corrupt++;
      }
      // kfree_skb -> page_pool put, from process context: the pool that owns it (netmem->pp),
      // which may be a detached pool after a teardown.
      const pool = poolsById.get(nm.pp[ref >>> 1]);
      if (!pool) {
        this.#env.ledger.unheldReturns++;
        continue;
      }
      ledger.drop(ref);
      pool.putFullNetmem(ref, false);
      this.#report.returned++;
    }
  }

  waitUser(_ms: number): boolean {
    return false;
  }

  async close(advanceTimers: () => void): Promise<UserReport> {
    const { netdev, queueIdx } = this.#env;
    this.#report.heldAtClose = this.#held.length;
    // Unbind (or restart) first: the driver destroys the pool while the user still holds buffers.
    if (this.#p.ops) netdev.unbindRxQueue(queueIdx, this.#p.priv);
    else this.#env.restartQueue();
    advanceTimers();
    // The socket closes: every skb still queued is freed.
    onCpu(USER_CPU, () => this.#returnWhile(Number.POSITIVE_INFINITY));
    advanceTimers();
    try {
      this.#p.dispose?.();
    } catch (e) {
      // A provider that cannot end (buffers still out) is reported as lost, not thrown.
      if (!(e instanceof PagePoolError)) throw e;
      this.#env.log(`${this.name}: ${e.message}`);
    }
    return { ...this.#report };
  }

  counters(): Record<string, unknown> {
    return this.#p.counters();
  }
  shortfall(): number {
    return this.#p.shortfall();
  }
  lifecycle(): { inits: number; destroys: number } {
    return this.#p.lifecycle();
  }
  stamp(pool: PagePool, ref: number, off: number, seq: number): void {
    writeStamp(this.#p.memory(pool, ref), this.#p.byteOffset(pool, ref) + off, seq);
  }
}
