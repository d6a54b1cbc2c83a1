/*
 * pp.h: the minimal C page_pool the native leg measures (bench/native/README.md).
 *
 * Written from the kernel's documented behaviour (/work/shared/reference/kernel-facts.md sections
 * 1 and 7; net/core/page_pool.c as described there), not copied from it. What is kept is the shape
 * the dispatch debate is about: a 128-entry LIFO alloc cache, a refill of up to 64 from a ring, a
 * slow path that calls the memory provider through the dispatcher, and a return path that calls
 * the provider's release. Everything else (DMA, NUMA, per-CPU stats, page fragments) is left out.
 *
 * Deliberate differences from the kernel, said here once:
 *  - netmem_ref is a 32-bit index into one global array of struct netmem (0 = none), not a tagged
 *    pointer; the providers' "pages" are entries of that array.
 *  - The static key page_pool_mem_providers is a global int tested with __builtin_expect: the
 *    kernel patches a jump into the code instead (no load). With a provider bound, both branch the
 *    same way every time, so the predicted test costs about a cycle (netdev, March 2024: 8 vs 9).
 *  - The ring is a single-threaded array ring with the kernel's producer lock modelled by an
 *    uncontended test-and-set spinlock (the 02_ptr_ring figure pays a lock, as the kernel's does).
 *
 * Contract of the per-variant code (pool-impl.h, included by each generated dispatch TU): all
 * pools and netmems live in `struct pp_world`; a variant only ever changes how the slow path and
 * the return path reach the provider.
 */
#ifndef PP_H
#define PP_H

#include <stdbool.h>
#include <stdint.h>

typedef uint32_t netmem_ref;
typedef unsigned int gfp_t;

#define GFP_ATOMIC 0x20u
#define PP_ALLOC_CACHE_SIZE 128
#define PP_ALLOC_CACHE_REFILL 64
#define PP_RING_SIZE 1024
/* Pages each floor provider owns (bench/lib/floor-state.ts FLOOR_PAGES). */
#define FLOOR_PAGES 8
/* Pools the dispatch sweep can use at once (the highest degree): one per provider. */
#ifndef MP_NPROVIDERS
#error "include generated/mp.generated.h, which defines MP_NPROVIDERS before including pp.h"
#endif
#define PP_MAX_POOLS MP_NPROVIDERS
#define PP_MAX_NETMEMS 4096

struct page_pool;

struct netmem {
  struct page_pool *pp; /* the pool this netmem is attached to, NULL when detached */
  uint32_t pp_ref_count; /* page_pool references (1 while allocated) */
  uint32_t refcount;     /* the page's own refcount: > 1 makes it non-recyclable (03_slow) */
  uint64_t dma_addr;
};

/* Floor provider state (bench/lib/floor-state.ts): a stack of pre-mapped netmems. */
struct floor_state {
  netmem_ref stack[FLOOR_PAGES];
  uint32_t top;
  uint32_t users;
  uint32_t owned;
};

/* The kernel's memory_provider_ops as of v6.15 (include/net/page_pool/memory_provider.h), minus
 * nl_fill and uninstall, which no benchmarked path calls. */
struct memory_provider_ops {
  netmem_ref (*alloc_netmems)(struct page_pool *pool, gfp_t gfp);
  bool (*release_netmem)(struct page_pool *pool, netmem_ref netmem);
  int (*init)(struct page_pool *pool);
  void (*destroy)(struct page_pool *pool);
};

struct pp_stats {
  uint64_t fast, slow, empty, refill, cached, cache_full, ring, ring_full, released_refcnt;
};

struct pp_ring {
  netmem_ref q[PP_RING_SIZE];
  uint32_t head, tail; /* consumer, producer; tail - head = items */
  int producer_lock;
};

struct page_pool {
  struct {
    uint32_t count;
    netmem_ref cache[PP_ALLOC_CACHE_SIZE];
  } alloc;
  const struct memory_provider_ops *mp_ops;
  void *mp_priv;
  uint32_t mp_kind; /* 1-based provider index (the if-chain's key), 0 = none */
  uint32_t id;
  struct pp_stats st;
  uint64_t hold_cnt, release_cnt;
  struct pp_ring ring;
};

/* Every piece of mutable state a run touches, so the differential check can reset and compare. */
struct pp_world {
  struct netmem nm[PP_MAX_NETMEMS];
  uint32_t nm_next; /* bump allocator over nm[] (index 0 is never handed out) */
  struct floor_state fs[PP_MAX_POOLS + 1]; /* by provider kind */
  struct page_pool pools[PP_MAX_POOLS];    /* dispatch sweep: pool i bound to provider kind i+1 */
  struct page_pool path_pool;              /* 01_fast_path / 02_ptr_ring: provider kind 1, never reached */
  struct page_pool slow_pool;              /* 03_slow: provider kind 1, cache and ring kept empty */
};

extern struct pp_world pp_world;
/* The static key (see the top of this file). */
extern int page_pool_mem_providers;

/* Provider-side helpers (the kernel's netmem_set_pp / net_mp_niov_* idea). */
static inline void netmem_attach(struct page_pool *pool, netmem_ref ref) {
  struct netmem *n = &pp_world.nm[ref];
  n->pp = pool;
  n->pp_ref_count = 1;
  pool->hold_cnt++;
}

static inline void netmem_detach(netmem_ref ref) {
  struct netmem *n = &pp_world.nm[ref];
  n->pp = 0;
  n->pp_ref_count = 0;
}

/* The page allocator behind a pool without a provider. Every pool in this bench has one, so
 * these are never reached; they stand for __page_pool_alloc_netmems_slow and the DMA unmap. */
static inline netmem_ref pp_alloc_pages_slow(struct page_pool *pool, gfp_t gfp) {
  (void)pool;
  (void)gfp;
  return 0;
}

static inline bool pp_release_page_dma(struct page_pool *pool, netmem_ref netmem) {
  (void)pool;
  pp_world.nm[netmem].dma_addr = 0;
  return true;
}

/* Control path of a floor provider: the first pool on a state takes FLOOR_PAGES netmems from the
 * world and "maps" them; later pools share them. Returns 0, or -12 (ENOMEM) when the world ran out. */
static inline int floor_init(struct floor_state *s) {
  s->users++;
  if (s->owned > 0) return 0;
  for (int i = 0; i < FLOOR_PAGES; i++) {
    if (pp_world.nm_next >= PP_MAX_NETMEMS) return -12;
    netmem_ref ref = pp_world.nm_next++;
    pp_world.nm[ref].refcount = 1;
    pp_world.nm[ref].dma_addr = (uint64_t)ref << 12;
    s->stack[s->top++] = ref;
    s->owned++;
  }
  return 0;
}

/* The last pool gone: unmap the netmems (they stay in the world; nothing is freed). */
static inline void floor_destroy(struct floor_state *s) {
  if (--s->users > 0) return;
  while (s->top > 0) {
    netmem_ref ref = s->stack[--s->top];
    pp_world.nm[ref].dma_addr = 0;
    s->owned--;
  }
}

/* Per-provider call counters (written by the generated providers; compared by the check). */
struct mp_calls {
  uint64_t alloc, release, init, destroy;
};
extern struct mp_calls mp_calls[PP_MAX_POOLS + 1];

/* What one variant's translation unit exports to the harness (pool-impl.h defines it). */
struct pp_variant {
  const char *name;
  int aa; /* an identical, separately compiled twin of the baseline */
  /* Timed bursts: `ops` alloc + release operations; return a value the caller keeps (so the
   * compiler cannot drop the work). */
  uint64_t (*floor_burst)(const uint8_t *seq, uint32_t ops);
  uint64_t (*fast_burst)(uint32_t ops);
  uint64_t (*ring_burst)(uint32_t ops);
  uint64_t (*slow_burst)(uint32_t ops);
  /* Control path: bind every pool (mp_ops->init through the dispatcher) and unbind them. */
  int (*init_all)(void);
  void (*destroy_all)(void);
  /* The differential check's random mix (seeded): returns a hash of every netmem handed out. */
  uint64_t (*check_mix)(uint32_t seed, uint32_t steps);
};

#endif
