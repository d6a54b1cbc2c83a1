/**
 * The project's one seeded PRNG and one packet-size mix, shared by the simulator, the bench
 * (bench/lib/rng.ts re-exports these) and the differential workload. Everything a run does
 * follows from its seed, so two runs with the same flags make the same decisions on the main
 * thread (a Worker user adds real thread timing on top, which is the point of that mode).
 * Importable from anywhere: it depends on core/errors.ts only.
 */
import { PagePoolError } from "../core/errors.ts";

/**
 * mulberry32: 32-bit state, well mixed, allocation-free, identical on every engine (integer
 * arithmetic through Math.imul). Not cryptographic; good enough for workload shapes.
 */
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
  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + (this.nextU32() % (hi - lo + 1));
  }
}

/** The same generator as a float source in [0, 1) (for code that takes a `() => number`). */
export function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextFloat();
}

export const MTU = 1500;
/**
 * Largest packet the simulator offers: 64 KiB, a hardware-GRO (or LRO) aggregate, which is what
 * large rx buffers are for; IMIX packets stay at most 1500 bytes.
 */
export const MAX_PACKET = 65536;

/**
 * The packet-size mix, by packet count: the simple IMIX, 7:4:1 of 64, 576 and 1500 bytes. Why
 * this one: it is the de-facto standard mix of the test-equipment vendors (Agilent, Spirent,
 * Ixia; RFC 6985's "IMIX genome" describes such mixes), derived from router captures like
 * CAIDA's NASA Ames AIX traces (median IP packet 93 B, 75th percentile 576 B, 95th 1500 B), so
 * figures are comparable with published ones and the choice is not ours. For a page pool it is
 * also the harder mix than MTU-dominated bulk TCP: most packets are small, so a 4 KiB page (or a
 * 2 KiB fragment) per packet is mostly empty and the pool's turnover per byte is high, which is
 * what the recycle paths are for. Bulk TCP (MTU frames and 64 B ACKs) is `--size 1500`; a packet
 * larger than a buffer (spanning two) is `--size N` with N above the buffer length.
 */
export const PACKET_MIX: ReadonlyArray<readonly [size: number, weight: number]> = [
  [64, 7], // ACKs, small requests
  [576, 4], // the classic minimum datagram size every host must accept (RFC 791)
  [MTU, 1], // full Ethernet MTU frames
];
const MIX_TOTAL = PACKET_MIX.reduce((s, [, w]) => s + w, 0);

/** One size drawn from PACKET_MIX. */
export function mixSize(rng: Rng): number {
  let u = rng.nextU32() % MIX_TOTAL;
  let k = 0;
  while (u >= PACKET_MIX[k][1]) u -= PACKET_MIX[k++][1];
  return PACKET_MIX[k][0];
}

/** `n` sizes from PACKET_MIX, precomputed (the bench's measured loops draw nothing). */
export function packetSizes(seed: number, n: number): Uint16Array {
  const rng = new Rng(seed);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = mixSize(rng);
  return out;
}

/** Packet sizes: `fixed` (every packet `size` bytes) or `mix` (PACKET_MIX). */
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
    return spec.kind === "fixed" ? spec.size : mixSize(this.#rng);
  }
}
