/**
 * What the simulator needs from a provider and its user side. One Backend instance is one
 * "generation" of a provider on one rx queue: bound at open(), torn down at close(). A
 * `--teardown-at` run closes a generation under load and opens a fresh one on the same queue.
 *
 * Ownership contract for the hot path: the driver owns one pp reference on every buffer it
 * delivers; deliver() takes it over (hands it to the user side, or drops it once the provider
 * took its own reference) and keeps the simulation's Ledger in step.
 */

import type { NetDevice } from "../../core/netdev.ts";
import type { DmaDevice } from "../../core/page-alloc.ts";
import type { PagePool } from "../../core/page-pool.ts";
import type { ManualTimers } from "../../core/timers.ts";
import type { Ledger } from "../ledger.ts";

/** When the user gives a buffer back: after `delay` more packets (0 = at once), or never. */
export type ReturnPolicy = { delay: number } | { delay: "never" };

export interface BackendEnv {
  netdev: NetDevice;
  queueIdx: number;
  dev: DmaDevice;
  timers: ManualTimers;
  ledger: Ledger;
  policy: ReturnPolicy;
  userMode: "inline" | "worker";
  seed: number;
  /** Per-provider options from the command line (`--opt name.key=value`). */
  opts: Record<string, string>;
  log: (msg: string) => void;
  /** How long (ms) a stalled delivery may wait for a Worker user before giving up. */
  waitMs: number;
  /** Restarts the queue the way a driver does on ifdown/ifup (for a backend without a provider). */
  restartQueue: () => void;
}

/** A user-side report from a generation (summed into the run's JSON). */
export interface UserReport {
  /** Buffers (fragments) the user read. */
  received: number;
  /** Buffers the user gave back. */
  returned: number;
  /** Payload stamps checked and found wrong (the user read someone else's bytes). */
  corrupt: number;
  /** The user was handed a buffer it already held (a duplicate hand-out). */
  duplicated: number;
  /** Buffers still held by the user when the generation closed (reclaimed by scrub/close). */
  heldAtClose: number;
  /** Valid returns the provider did not take (a token it did not know, a refill entry refused). */
  refused?: number;
  /** User-side counters specific to the provider (e.g. the zcrx adversary's bad entries). */
  extra?: Record<string, number>;
}

export interface Backend {
  readonly name: string;
  /** Whether a memory provider is bound (the driver then asks for PP_FLAG_ALLOW_UNREADABLE_NETMEM). */
  readonly bound: boolean;
  /** Driver buffer size: each rx descriptor holds one buffer of this many bytes. */
  readonly bufLen: number;
  /** Whether the driver carves buffers with the page frag API (else one whole netmem each). */
  readonly frags: boolean;
  /** Whether the CPU can read the buffers (the device then stamps each packet, the user checks). */
  readonly readable: boolean;
  /** Binds the provider to the queue (a queue restart) and starts the user side. */
  open(): Promise<void>;
  /**
   * NAPI context: one received fragment [off, off+len) of packet `seq`. Takes over the driver's
   * reference. Returns false when the user side could not take it (e.g. a full completion
   * queue); the buffer has then been put back and the caller drops the packet.
   */
  deliver(pool: PagePool, ref: number, off: number, len: number, seq: number): boolean;
  /**
   * After each NAPI poll, in process context: an inline user reads what arrived and returns what
   * is due (`delivered` packets so far); for a Worker user, the syscalls it sent are served.
   */
  userStep(delivered: number): void;
  /** Worker user: block up to `ms` for the user to give something back. False on timeout. */
  waitUser(ms: number): boolean;
  /**
   * Teardown under load: unbind the provider (the driver's pool is destroyed and defers while
   * the user holds buffers), let the timers show it stalled, then close the user side (scrub or
   * socket close) so every buffer goes home. Returns the user's report.
   */
  close(advanceTimers: () => void): Promise<UserReport>;
  /** The run failed: stop any user thread at once (no accounting). */
  abort?(): void;
  /** The provider's own counters. */
  counters(): Record<string, unknown>;
  /** After close and the deferred destroys: buffers of this generation not back with their owner. */
  shortfall(): number;
  /** Pools the provider's init accepted and destroy calls it saw (must be equal after close). */
  lifecycle(): { inits: number; destroys: number };
  /** Payload stamping for readable memory (device side) and checking (user side). */
  stamp(pool: PagePool, ref: number, off: number, seq: number): void;
}

export type BackendFactory = (env: BackendEnv) => Promise<Backend>;
