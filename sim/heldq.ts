/**
 * A FIFO of buffers the user holds, as parallel typed-array columns: four 32-bit words that name
 * the buffer (their meaning is the caller's: ref and offset, or a completion's off words, length
 * and payload stamp) and the arrival number used for the return delay. No per-packet objects; grows
 * by doubling on the rare occasion a "never return" user holds more than it did before.
 */
export class HeldQueue {
  a: Uint32Array;
  b: Uint32Array;
  c: Uint32Array;
  d: Uint32Array;
  seq: Float64Array;
  #head = 0;
  #tail = 0;
  #mask: number;

  constructor(capacity = 1024) {
    let cap = 1;
    while (cap < capacity) cap <<= 1;
    this.a = new Uint32Array(cap);
    this.b = new Uint32Array(cap);
    this.c = new Uint32Array(cap);
    this.d = new Uint32Array(cap);
    this.seq = new Float64Array(cap);
    this.#mask = cap - 1;
  }
  get length(): number {
    return this.#tail - this.#head;
  }
  push(a: number, b: number, seq: number, c = 0, d = 0): void {
    if (this.#tail - this.#head > this.#mask) this.#grow();
    const i = this.#tail++ & this.#mask;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.d[i] = d;
    this.seq[i] = seq;
  }
  /** Index (into a/b/seq) of the oldest entry; caller checks length first. */
  peek(): number {
    return this.#head & this.#mask;
  }
  shift(): void {
    this.#head++;
  }
  /** Puts the oldest entry back at the head (its return was refused, e.g. a full ring). */
  unshift(): void {
    this.#head--;
  }
  clear(): void {
    this.#head = this.#tail = 0;
  }
  #grow(): void {
    const n = this.#mask + 1;
    const a = new Uint32Array(n * 2);
    const b = new Uint32Array(n * 2);
    const c = new Uint32Array(n * 2);
    const d = new Uint32Array(n * 2);
    const seq = new Float64Array(n * 2);
    for (let k = 0; k < n; k++) {
      const i = (this.#head + k) & this.#mask;
      a[k] = this.a[i];
      b[k] = this.b[i];
      c[k] = this.c[i];
      d[k] = this.d[i];
      seq[k] = this.seq[i];
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    this.seq = seq;
    this.#tail = n;
    this.#head = 0;
    this.#mask = n * 2 - 1;
  }
}
