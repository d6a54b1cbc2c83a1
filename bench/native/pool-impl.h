/*
 * pool-impl.h: the page_pool paths (pp.h's minimal pool) and the timed bursts, compiled once per
 * dispatcher variant. Each generated dispatch TU (generated/dispatch-*.generated.c) defines
 * PPV(x), PPV_NAME, PPV_AA and the static inline mp_dispatch_{alloc,release,init,destroy}, then
 * includes this file, which exports one `const struct pp_variant PPV(pp_variant)`. So the pool code
 * is the same text in every variant and calls its own variant's dispatcher directly; only the
 * dispatch differs between the binaries' variants. The harness reaches a variant through its
 * pp_variant once per burst (one indirect call per few hundred operations).
 *
 * Kernel correspondence (net/core/page_pool.c as described in kernel-facts.md section 1):
 * pp_alloc_netmems = page_pool_alloc_netmems, pp_refill_alloc_cache = page_pool_refill_alloc_cache,
 * pp_put_netmem = page_pool_put_unrefed_netmem with the unref, pp_return_netmem =
 * page_pool_return_netmem. The ones the kernel exports or marks noinline are PP_EXPORTED here:
 * never inlined into the bursts and not specialised for them, as a driver calling into page_pool.c
 * sees them.
 */
#ifndef PPV
#error "pool-impl.h is included by a generated dispatch translation unit only"
#endif

#include <string.h>

#if defined(__clang__)
#define PP_EXPORTED __attribute__((noinline))
#else
#define PP_EXPORTED __attribute__((noipa))
#endif

/* The ring's consumer side needs no lock: the pool (its NAPI context) is the only consumer. */
static PP_EXPORTED netmem_ref pp_refill_alloc_cache(struct page_pool *pool) {
  struct pp_ring *r = &pool->ring;
  if (r->tail == r->head) {
    pool->st.empty++;
    return 0;
  }
  do {
    pool->alloc.cache[pool->alloc.count++] = r->q[r->head++ & (PP_RING_SIZE - 1)];
  } while (pool->alloc.count < PP_ALLOC_CACHE_REFILL && r->tail != r->head);
  pool->st.refill++;
  return pool->alloc.cache[--pool->alloc.count];
}

static inline netmem_ref pp_alloc_slow(struct page_pool *pool, gfp_t gfp) {
#ifdef PP_BROKEN
  /* The test hook (see the generated file): every 1000th slow-path allocation comes back empty. */
  static uint32_t broken_n;
  if (++broken_n % 1000 == 0) return 0;
#endif
  return mp_dispatch_alloc(pool, gfp);
}

static PP_EXPORTED netmem_ref pp_alloc_netmems(struct page_pool *pool, gfp_t gfp) {
  if (__builtin_expect(pool->alloc.count > 0, 1)) {
    pool->st.fast++;
    return pool->alloc.cache[--pool->alloc.count];
  }
  netmem_ref ref = pp_refill_alloc_cache(pool);
  if (ref) return ref;
  return pp_alloc_slow(pool, gfp);
}

/* A netmem leaves the pool: the provider decides whether the page goes back to the allocator. */
static PP_EXPORTED void pp_return_netmem(struct page_pool *pool, netmem_ref netmem) {
  bool put = mp_dispatch_release(pool, netmem);
  pool->release_cnt++;
  if (put) netmem_detach(netmem);
}

/* The kernel skips the atomic when the caller holds the last pp reference; single-threaded here,
 * so the other case is a plain decrement. */
static inline bool pp_unref_and_test(struct netmem *n) {
  if (n->pp_ref_count == 1) return true;
  return --n->pp_ref_count == 0;
}

/* The producer side takes the ring's lock, as the kernel's ptr_ring producer does (uncontended). */
static inline bool pp_ring_produce(struct page_pool *pool, netmem_ref netmem) {
  struct pp_ring *r = &pool->ring;
  while (__atomic_exchange_n(&r->producer_lock, 1, __ATOMIC_ACQUIRE)) {
  }
  bool ok = r->tail - r->head < PP_RING_SIZE;
  if (ok) r->q[r->tail++ & (PP_RING_SIZE - 1)] = netmem;
  __atomic_store_n(&r->producer_lock, 0, __ATOMIC_RELEASE);
  return ok;
}

static PP_EXPORTED void pp_put_netmem(struct page_pool *pool, netmem_ref netmem, bool allow_direct) {
  struct netmem *n = &pp_world.nm[netmem];
  if (!pp_unref_and_test(n)) return;
  if (n->refcount != 1) {
    /* Not recyclable (someone else holds the page): back to the provider. */
    pool->st.released_refcnt++;
    pp_return_netmem(pool, netmem);
    return;
  }
  if (allow_direct) {
    if (pool->alloc.count < PP_ALLOC_CACHE_SIZE) {
      pool->alloc.cache[pool->alloc.count++] = netmem;
      pool->st.cached++;
      return;
    }
    pool->st.cache_full++;
  }
  if (pp_ring_produce(pool, netmem)) {
    pool->st.ring++;
    return;
  }
  pool->st.ring_full++;
  pp_return_netmem(pool, netmem);
}

/* The dispatch sweep ("dispatch-floor"): alloc + release on the sequence's pools, cache and ring
 * empty, so both go to the provider through the dispatcher (the JS floor's loop). */
static uint64_t floor_burst(const uint8_t *seq, uint32_t ops) {
  struct page_pool *pools = pp_world.pools;
  uint64_t s = 0;
  for (uint32_t i = 0; i < ops; i++) {
    struct page_pool *pool = &pools[seq[i]];
    netmem_ref ref = pp_alloc_netmems(pool, GFP_ATOMIC);
    s += ref;
    if (ref) pp_return_netmem(pool, ref);
  }
  return s;
}

/* The path pool's alloc + put, inlined with a constant allow_direct into each burst below. */
static inline __attribute__((always_inline)) uint64_t path_burst(uint32_t ops, bool allow_direct) {
  struct page_pool *pool = &pp_world.path_pool;
  uint64_t s = 0;
  for (uint32_t i = 0; i < ops; i++) {
    netmem_ref ref = pp_alloc_netmems(pool, GFP_ATOMIC);
    s += ref;
    pp_put_netmem(pool, ref, allow_direct);
  }
  return s;
}

/* page_pool01_fast_path: alloc from the cache + recycle_direct back into it. */
static uint64_t fast_burst(uint32_t ops) { return path_burst(ops, true); }

/* page_pool02_ptr_ring: alloc + put without direct recycling, so every netmem goes through the
 * ring and the cache is refilled from it 64 at a time. */
static uint64_t ring_burst(uint32_t ops) { return path_burst(ops, false); }

/* page_pool03_slow: the kernel's bench takes a page reference (get_page) before the put, so the
 * page is not recyclable; here that sends the netmem back to the provider, and the next alloc finds
 * cache and ring empty and calls the provider: slow path into the dispatcher, both ways. */
static uint64_t slow_burst(uint32_t ops) {
  struct page_pool *pool = &pp_world.slow_pool;
  uint64_t s = 0;
  for (uint32_t i = 0; i < ops; i++) {
    netmem_ref ref = pp_alloc_netmems(pool, GFP_ATOMIC);
    s += ref;
    if (!ref) continue;
    pp_world.nm[ref].refcount++;
    pp_put_netmem(pool, ref, false);
    pp_world.nm[ref].refcount--;
  }
  return s;
}

static int pool_bind(struct page_pool *pool, uint32_t id, uint32_t kind) {
  pool->id = id;
  pool->mp_ops = mp_ops_by_kind[kind];
  pool->mp_priv = &pp_world.fs[kind];
  pool->mp_kind = kind;
  int err = mp_dispatch_init(pool);
  if (err == 0) page_pool_mem_providers++;
  return err;
}

/* Binds pools[i] to provider kind i+1, and the path pools to kind 1; the path pool's ring gets
 * PP_ALLOC_CACHE_REFILL netmems of its own (the kernel bench prefills its ring with 64). */
static int init_all(void) {
  int err = 0;
  for (uint32_t i = 0; i < MP_NPROVIDERS && err == 0; i++) err = pool_bind(&pp_world.pools[i], i, i + 1);
  if (err == 0) err = pool_bind(&pp_world.path_pool, 100, 1);
  if (err == 0) err = pool_bind(&pp_world.slow_pool, 101, 1);
  for (int i = 0; i < PP_ALLOC_CACHE_REFILL && err == 0; i++) {
    if (pp_world.nm_next >= PP_MAX_NETMEMS) return -12;
    netmem_ref ref = pp_world.nm_next++;
    pp_world.nm[ref].refcount = 1;
    netmem_attach(&pp_world.path_pool, ref);
    if (!pp_ring_produce(&pp_world.path_pool, ref)) err = -28;
  }
  return err;
}

/* page_pool_release's scrub, then the provider's destroy. The path pool's own netmems go back to
 * the (modelled) page allocator; every other pool's go back to its provider. */
static void pool_unbind(struct page_pool *pool, bool own_pages) {
  netmem_ref ref;
  while ((ref = pool->alloc.count ? pool->alloc.cache[--pool->alloc.count] : pp_refill_alloc_cache(pool))) {
    if (own_pages) netmem_detach(ref);
    else pp_return_netmem(pool, ref);
  }
  mp_dispatch_destroy(pool);
  page_pool_mem_providers--;
}

static void destroy_all(void) {
  for (uint32_t i = 0; i < MP_NPROVIDERS; i++) pool_unbind(&pp_world.pools[i], false);
  pool_unbind(&pp_world.path_pool, true);
  pool_unbind(&pp_world.slow_pool, false);
}

/* The differential check's random mix over every pool: allocations held (so LIFO order and a
 * provider running dry both show), returns to the provider, and puts with and without direct
 * recycling (so cache, ring and refill take part). Returns an order-sensitive hash of every
 * netmem seen; everything held is returned at the end. */
static uint64_t check_mix(uint32_t seed, uint32_t steps) {
  netmem_ref held[MP_NPROVIDERS][FLOOR_PAGES];
  uint32_t nheld[MP_NPROVIDERS];
  memset(nheld, 0, sizeof nheld);
  uint64_t h = 14695981039346656037ull;
  uint32_t x = seed | 1;
  for (uint32_t step = 0; step < steps; step++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    uint32_t p = x % MP_NPROVIDERS;
    struct page_pool *pool = &pp_world.pools[p];
    uint32_t action = (x >> 8) & 3;
    if (action < 2 && nheld[p] < FLOOR_PAGES) {
      netmem_ref ref = pp_alloc_netmems(pool, GFP_ATOMIC);
      h = (h ^ ref) * 1099511628211ull;
      if (ref) held[p][nheld[p]++] = ref;
    } else if (nheld[p] > 0) {
      uint32_t j = (x >> 11) % nheld[p];
      netmem_ref ref = held[p][j];
      held[p][j] = held[p][--nheld[p]];
      h = (h ^ (ref + 0x9e3779b9u * (action + 1))) * 1099511628211ull;
      if (action == 3) pp_return_netmem(pool, ref);
      else pp_put_netmem(pool, ref, (x >> 10) & 1);
    }
  }
  for (uint32_t p = 0; p < MP_NPROVIDERS; p++)
    while (nheld[p] > 0) pp_return_netmem(&pp_world.pools[p], held[p][--nheld[p]]);
  return h;
}

const struct pp_variant PPV(pp_variant) = {
  .name = PPV_NAME,
  .aa = PPV_AA,
  .floor_burst = floor_burst,
  .fast_burst = fast_burst,
  .ring_burst = ring_burst,
  .slow_burst = slow_burst,
  .init_all = init_all,
  .destroy_all = destroy_all,
  .check_mix = check_mix,
};
