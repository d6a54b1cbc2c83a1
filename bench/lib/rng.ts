/**
 * Seeded randomness for the scenarios and the runner. Everything a bench consumes per operation
 * is precomputed into typed arrays here, at setup, so the measured loops draw no random numbers
 * and allocate nothing.
 */

/** mulberry32: a small, fast, well-mixed 32-bit generator; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

/** The end-to-end loop's packet-size mix, as precomputed sizes (bytes on the wire, <= PAGE_SIZE). */
export const PACKET_MIX: ReadonlyArray<readonly [size: number, weight: number]> = [
  [64, 0.3], // ACKs and small requests
  [576, 0.15],
  [1500, 0.45], // full MTU frames
  [4096, 0.1], // header-split payload filling a page
];

export function packetSizes(seed: number, n = SEQ_LEN): Uint16Array {
  const rand = mulberry32(seed);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    let u = rand();
    let k = 0;
    while (k < PACKET_MIX.length - 1 && u >= PACKET_MIX[k][1]) u -= PACKET_MIX[k++][1];
    out[i] = PACKET_MIX[k][0];
  }
  return out;
}
