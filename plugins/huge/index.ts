/**
 * @module huge: order-9 (2 MiB) folios from the host page allocator, carved into 2 KiB or 4 KiB (or 16-64 KiB large rx buffer)
 * net_iov chunks; a folio goes back only when all its chunks are free. See README.md.
 */
export * from "./provider.ts";
