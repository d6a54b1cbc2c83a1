/**
 * Seeded randomness for the simulator: a small, fast PRNG and the packet-size mix. Everything a
 * run does follows from `--seed`, so two runs with the same flags make the same decisions on the
 * main thread (a Worker user adds real thread timing on top, which is the point of that mode).
 */
import { PagePoolError } from "../core/errors.ts";

/** mulberry32: 32-bit state, good enough for workload shapes, allocation-free. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + (this.nextU32() % (hi - lo + 1));
  }
}

export const MTU = 1500;
export const MAX_PACKET = 4096;

/**
 * Packet sizes: `fixed` (every packet `size` bytes) or `mix`, a seeded distribution shaped like a
 * bulk TCP receive: 40 % small (64..1499 B: acks, tails of messages), 40 % full MTU frames
 * (1500 B) and 20 % 4 KiB frames (a jumbo-ish MTU that fills a whole page).
 */
export type SizeSpec = { kind: "fixed"; size: number } | { kind: "mix" };

export function parseSizeSpec(s: string): SizeSpec {
  if (s === "mix") return { kind: "mix" };
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PACKET)
    throw new PagePoolError("EINVAL", `--size must be "mix" or an integer in [1, ${MAX_PACKET}], got ${s}`);
  return { kind: "fixed", size: n };
}

export class PacketSizes {
  readonly #spec: SizeSpec;
  readonly #rng: Rng;
  constructor(spec: SizeSpec, rng: Rng) {
    this.#spec = spec;
    this.#rng = rng;
  }
  next(): number {
    const spec = this.#spec;
    if (spec.kind === "fixed") return spec.size;
    const r = this.#rng.nextU32() % 10;
    if (r < 4) return this.#rng.int(64, MTU - 1);
    if (r < 8) return MTU;
    return MAX_PACKET;
  }
}
