/**
 * A dma-buf (drivers/dma-buf): a buffer exported by one device and imported by others, with its
 * own reference count (the file's). Two kinds are modelled:
 *
 * - "udmabuf": host memory wrapped as a dma-buf (drivers/dma-buf/udmabuf.c). The CPU can map
 *   and read it; ncdevmem's tests use it this way (mmap the dma-buf fd, then memcpy at the
 *   `frag_offset` each cmsg reports).
 * - "device": memory on an accelerator (a GPU's HBM). The NIC can DMA into it peer-to-peer but
 *   the CPU has no mapping: every CPU read or write is an EFAULT error.
 *
 * A dma-buf is described by a scatter-gather table; each entry becomes one gen_pool chunk of the
 * binding. Entries here are page multiples with their own (fake, non-contiguous) DMA base.
 */
import { PagePoolError } from "../../core/errors.ts";
import { PAGE_SIZE } from "../../core/netmem.ts";

export type DmaBufKind = "udmabuf" | "device";

export interface DmaBufOptions {
  /** Scatter-gather entry lengths in bytes (page multiples, summing to the size). Default: one entry. */
  sg?: readonly number[];
  /** A name for messages (the exporter's name in /sys/kernel/debug/dma_buf/bufinfo). */
  name?: string;
}

let nextInode = 1;
// IOVAs far above the host page allocator's physical addresses, so a dma-buf address is never
// mistaken for a page's. Each sg entry starts 1 MiB after the previous one ends (not contiguous).
let nextDmaBase = 2 ** 40;

export class DmaBuf {
  /** The buffer's identity (its inode number; the kernel's `dma_buf_get(fd)` resolves to it). */
  readonly inode: number;
  readonly name: string;
  readonly kind: DmaBufKind;
  readonly size: number;
  /** Whether the CPU can map it (udmabuf) or not (device memory). */
  readonly cpuReadable: boolean;
  /** Scatter-gather entries: byte length and device (DMA) address of each. */
  readonly sgLen: Float64Array;
  readonly sgDma: Float64Array;
  #refs = 1;
  /** The backing store. For "device" memory it stands for the device's own RAM: only DMA touches it. */
  #mem: Uint8Array | null;

  constructor(kind: DmaBufKind, size: number, opts: DmaBufOptions = {}) {
    if (kind !== "udmabuf" && kind !== "device")
      throw new PagePoolError("EINVAL", `dma-buf kind must be "udmabuf" or "device", got ${String(kind)}`);
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > 2 ** 31)
      throw new PagePoolError(
        "EINVAL",
        `dma-buf size must be a positive multiple of ${PAGE_SIZE} up to 2 GiB, got ${size}`,
      );
    const sg = opts.sg ?? [size];
    let total = 0;
    for (const len of sg) {
      if (!Number.isInteger(len) || len <= 0 || len % PAGE_SIZE !== 0)
        throw new PagePoolError(
          "EINVAL",
          `dma-buf sg entry must be a positive multiple of ${PAGE_SIZE}, got ${len}`,
        );
      total += len;
    }
    if (total !== size)
      throw new PagePoolError("EINVAL", `dma-buf sg entries sum to ${total}, size is ${size}`);
    this.inode = nextInode++;
    this.kind = kind;
    this.name = opts.name ?? `${kind}-${this.inode}`;
    this.size = size;
    this.cpuReadable = kind === "udmabuf";
    this.sgLen = Float64Array.from(sg);
    this.sgDma = new Float64Array(sg.length);
    for (let i = 0; i < sg.length; i++) {
      this.sgDma[i] = nextDmaBase;
      nextDmaBase += sg[i] + (1 << 20);
    }
    this.#mem = new Uint8Array(size);
  }

  /** The file's reference count (0 once the last holder put it). */
  get refcount(): number {
    return this.#refs;
  }

  /** dma_buf_get(): one more reference. EBADF once the buffer is gone. */
  get(): this {
    if (this.#refs === 0) throw new PagePoolError("EBADF", `dma-buf ${this.name} is already released`);
    this.#refs++;
    return this;
  }

  /** dma_buf_put(): drops a reference; the last one frees the memory. */
  put(): void {
    if (this.#refs === 0)
      throw new PagePoolError("EFAULT", `dma-buf ${this.name}: put with no reference left`);
    if (--this.#refs === 0) this.#mem = null;
  }

  /** close(fd) by the user who created it: the same as put(). */
  close(): void {
    this.put();
  }

  /**
   * A CPU read through the buffer's mmap (what ncdevmem does at each cmsg's frag_offset).
   * Copies `len` bytes at `offset` into `dst[dstOff…]` and returns `len`. Device memory has no
   * CPU mapping: EFAULT.
   */
  read(offset: number, len: number, dst: Uint8Array, dstOff = 0): number {
    const mem = this.#access(offset, len, "read");
    if (!this.cpuReadable)
      throw new PagePoolError("EFAULT", `dma-buf ${this.name} is device memory: the CPU cannot read it`);
    if (dstOff < 0 || dstOff + len > dst.length)
      throw new PagePoolError("EINVAL", `read: destination too small (${dst.length - dstOff} < ${len})`);
    dst.set(mem.subarray(offset, offset + len), dstOff);
    return len;
  }

  /** A CPU write through the mmap. Device memory: EFAULT. */
  write(offset: number, src: Uint8Array): void {
    const mem = this.#access(offset, src.length, "write");
    if (!this.cpuReadable)
      throw new PagePoolError("EFAULT", `dma-buf ${this.name} is device memory: the CPU cannot write it`);
    mem.set(src, offset);
  }

  /** A device (the NIC's DMA, or the accelerator itself) writes `src` at `offset`: any kind. */
  deviceWrite(offset: number, src: Uint8Array): void {
    this.#access(offset, src.length, "deviceWrite").set(src, offset);
  }

  /** A device reads (e.g. the GPU consuming received data in place): any kind. */
  deviceRead(offset: number, len: number, dst: Uint8Array, dstOff = 0): number {
    const mem = this.#access(offset, len, "deviceRead");
    dst.set(mem.subarray(offset, offset + len), dstOff);
    return len;
  }

  #access(offset: number, len: number, what: string): Uint8Array {
    const mem = this.#mem;
    if (mem === null) throw new PagePoolError("EBADF", `${what}: dma-buf ${this.name} is released`);
    if (
      !(
        Number.isInteger(offset) &&
        Number.isInteger(len) &&
        offset >= 0 &&
        len >= 0 &&
        offset + len <= this.size
      )
    )
      throw new PagePoolError(
        "EINVAL",
        `${what}: range [${offset}, ${offset + len}) is outside dma-buf ${this.name} of ${this.size} bytes`,
      );
    return mem;
  }
}

/** A udmabuf: host memory the CPU can read (the selftests' ncdevmem setup). */
export function createUdmabuf(size: number, opts: DmaBufOptions = {}): DmaBuf {
  return new DmaBuf("udmabuf", size, opts);
}

/** Device memory (an accelerator's RAM): the NIC can write it, the CPU cannot read it. */
export function createDeviceDmabuf(size: number, opts: DmaBufOptions = {}): DmaBuf {
  return new DmaBuf("device", size, opts);
}
