/**
 * State of a "floor" provider (bench/templates/floor-provider.ts.hbs): the least a provider can
 * do and still honour the contract, so that what the dispatch-floor scenario measures is the
 * dispatch itself plus the core's slow-path bookkeeping. One class for every floor provider, so
 * every provider's loads see the same object shape and only the call sites differ between variants.
 *
 * The provider fills `stack` with pages (refcount 1, mapped for DMA, not attached to any pool) at
 * its first init and gives them back at its last destroy; allocNetmems pops one and attaches it,
 * releaseNetmem detaches it and pushes it back. Imported by the generated providers and the bench,
 * never by the measured loops directly.
 */
/** Pages each floor provider owns: one stays in flight for good (the pin), one cycles per op. */
export const FLOOR_PAGES = 8;

export class FloorState {
  /** Free page refs, [0, top) valid. */
  stack: Int32Array = new Int32Array(FLOOR_PAGES);
  top = 0;
  /** Pools initialised on this state and not yet destroyed (pages are freed when it drops to 0). */
  users = 0;
  /** Pages the provider owns in total (on the stack or handed to a pool). */
  owned = 0;
}
