/**
 * Payload stamps: the simulated device writes the packet's sequence number into the first four
 * bytes of each received fragment (little-endian), and the user checks them. Shared by the main
 * thread and the Worker users, so it imports nothing.
 */
export function writeStamp(mem: Uint8Array, at: number, seq: number): void {
  mem[at] = seq & 0xff;
  mem[at + 1] = (seq >>> 8) & 0xff;
  mem[at + 2] = (seq >>> 16) & 0xff;
  mem[at + 3] = (seq >>> 24) & 0xff;
}

export function readStamp(mem: Uint8Array, at: number): number {
  return (mem[at] | (mem[at + 1] << 8) | (mem[at + 2] << 16) | (mem[at + 3] << 24)) >>> 0;
}
