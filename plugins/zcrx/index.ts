/**
 * @module zcrx: io_uring zero-copy receive. A user memory area in a SharedArrayBuffer, a refill
 * ring the NAPI context drains without locks, completions with the area id in `off`'s top bits,
 * a copy fallback and scrub at teardown. `registerZcrxIfq` binds it to an rx queue;
 * `ZcrxUser` is the user's side (any thread, from `ifq.userDescriptor()`).
 */
export * from "./ifq.ts";
export * from "./provider.ts";
export * from "./register.ts";
export { cqEntriesFor, rqEntriesFor } from "./ring.ts";
export * from "./uapi.ts";
export * from "./user.ts";
