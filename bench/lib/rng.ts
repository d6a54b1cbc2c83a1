/**
 * Seeded randomness for the scenarios and the runner. Everything a bench consumes per operation
 * is precomputed into typed arrays here, at setup, so the measured loops draw no random numbers
 * and allocate nothing. The generator and the packet-size mix are the project's one pair
 * (sim/rng.ts, shared with the simulator); this file adds what only the bench needs.
 */
import { packetSizes as mixSizes, mulberry32, PACKET_MIX } from "../../sim/rng.ts";

export { mulberry32, PACKET_MIX };

/** Fisher-Yates shuffle in place with a seeded generator (the runner shuffles process order). */
export function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}

/** Length of every precomputed interleaving (a power of two, so a cursor wraps with a mask). */
export const SEQ_LEN = 1 << 16;

/**
 * The dispatch sweep's interleaving over `degree` pools: a Zipf(s = 1) popularity (a few hot
 * queues, a long tail, as traffic over several queues usually is) over a seeded permutation of
 * the pools, so the hottest pool is not simply the first provider in registry order (which would
 * favour the if-chain's first branch and the icall-wrapper's default order for free).
 * Returns SEQ_LEN + pad entries so a bench reading `pad` entries from any cursor < SEQ_LEN never wraps.
 */
export function interleaving(degree: number, seed: number, pad = 256): Uint8Array {
  if (!Number.isInteger(degree) || degree < 1 || degree > 255)
    throw new RangeError(`degree must be an integer in [1, 255], got ${degree}`);
  const rand = mulberry32(seed ^ (degree * 0x9e3779b1));
  const rank = shuffle(
    Array.from({ length: degree }, (_, i) => i),
    rand,
  );
  const cdf = new Float64Array(degree);
  let sum = 0;
  for (let r = 0; r < degree; r++) cdf[r] = sum += 1 / (r + 1);
  const out = new Uint8Array(SEQ_LEN + pad);
  for (let i = 0; i < out.length; i++) {
    const u = rand() * sum;
    let r = 0;
    while (r < degree - 1 && cdf[r] <= u) r++;
    out[i] = rank[r];
  }
  return out;
}

/** How often each pool index occurs in the first SEQ_LEN entries (the profile the runner writes). */
export function interleavingCounts(seq: Uint8Array, degree: number): number[] {
  const c = new Array<number>(degree).fill(0);
  for (let i = 0; i < SEQ_LEN; i++) c[seq[i]]++;
  return c;
}

/** The end-to-end and return-path loops' sizes: PACKET_MIX, precomputed (SEQ_LEN by default). */
export function packetSizes(seed: number, n = SEQ_LEN): Uint16Array {
  return mixSizes(seed, n);
}
