/**
 * @module devmem: devmem TCP's dma-buf memory provider. A dma-buf (udmabuf or device memory) is
 * bound to rx queues; its 4 KiB net_iovs are handed to page pools one per slow-path call; a
 * socket hands the reader a token per fragment and takes them back with SO_DEVMEM_DONTNEED.
 * See README.md.
 */
export * from "./bind.ts";
export * from "./binding.ts";
export * from "./dmabuf.ts";
export * from "./provider.ts";
export * from "./socket.ts";
export * from "./user-port.ts";
