/*
 * harness.c: the native leg's measuring process (bench/native/README.md). Built by
 * bench/native/build.ts in four flavours, one binary each; launched several times by leg.ts.
 *
 * 1. Correctness first: every variant runs the same seeded work from the same fresh world (the
 *    dispatch sweep's sequence at every degree, each page_pool path, a random mix of alloc, hold,
 *    return and put), and its burst results, netmem hash and the whole world afterwards (pools,
 *    counters, provider states, netmems) must equal the baseline's. A variant that disagrees is
 *    refused: nothing is timed, a "REFUSED" line names it, exit status 3.
 * 2. Then, unless --check: paired interleaved timing. For each (path, degree, variant), `pairs`
 *    pairs of bursts of the baseline (ops-table) and the variant on the same slice of the sequence,
 *    in a seeded random order within each pair (AB or BA), after a short warm-up; combos run in a
 *    seeded random order. One line per combo: `combo <path> <degree> <variant> <aa> <ops> <b> <v>...`
 *    (timer units per burst). leg.ts turns them into ratios and intervals.
 *
 * Timer: rdtsc between lfences on x86-64 (TSC cycles, calibrated against CLOCK_MONOTONIC_RAW and
 * printed as tsc_ghz), else clock_gettime(CLOCK_MONOTONIC_RAW) in ns.
 *
 * usage: harness [--check] [--seed N] [--pairs N] [--burst N] [--warmup N] [--degrees 1,2,...]
 *        [--paths floor,fast,ring,slow] | --seq-hash DEGREE
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "generated/mp.generated.h"

struct pp_world pp_world;
int page_pool_mem_providers;
struct mp_calls mp_calls[PP_MAX_POOLS + 1];

static const struct pp_variant *const variants[] = {PP_VARIANT_LIST};

#define SEQ_LEN (1u << 16)
#define SEQ_PAD 256u
#define SEQ_SEED 42 /* codegen/emit-native.ts NATIVE_SEQ_SEED: the icall-pgo variant's profile */
#define MAX_BURST SEQ_PAD

static volatile uint64_t sink;

/* ---- the dispatch sweep's sequence: bench/lib/rng.ts interleaving(), same numbers ---------- */

struct mulberry {
  uint32_t s;
};

static double mulberry_next(struct mulberry *r) {
  uint32_t t = (r->s += 0x6d2b79f5u);
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}

/* Zipf(s = 1) over a seeded permutation of `degree` pools; SEQ_LEN + SEQ_PAD entries. */
static uint8_t *interleaving(uint32_t degree, uint32_t seed) {
  struct mulberry r;
  r.s = seed ^ (uint32_t)((uint64_t)degree * 0x9e3779b1u);
  if (r.s == 0) r.s = 0x9e3779b9u;
  uint8_t rank[256];
  for (uint32_t i = 0; i < degree; i++) rank[i] = (uint8_t)i;
  for (uint32_t i = degree - 1; i > 0; i--) {
    uint32_t j = (uint32_t)(mulberry_next(&r) * (i + 1));
    uint8_t t = rank[i];
    rank[i] = rank[j];
    rank[j] = t;
  }
  double cdf[256], sum = 0;
  for (uint32_t k = 0; k < degree; k++) cdf[k] = sum += 1.0 / (k + 1);
  uint8_t *out = malloc(SEQ_LEN + SEQ_PAD);
  if (!out) abort();
  for (uint32_t i = 0; i < SEQ_LEN + SEQ_PAD; i++) {
    double u = mulberry_next(&r) * sum;
    uint32_t k = 0;
    while (k < degree - 1 && cdf[k] <= u) k++;
    out[i] = rank[k];
  }
  return out;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

/* ---- timer -------------------------------------------------------------------------------- */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
#define TIMER_NAME "rdtsc"
/* lfence before: earlier instructions have completed; after: later ones have not started. */
static inline uint64_t now(void) {
  uint32_t lo, hi;
  __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
  return ((uint64_t)hi << 32) | lo;
}
#else
#define TIMER_NAME "clock_gettime"
static inline uint64_t now(void) { return mono_ns(); }
#endif

/* TSC ticks per ns, over ~50 ms of wall time (1.0 for the clock_gettime timer). */
static double calibrate(void) {
#if defined(__x86_64__)
  uint64_t t0 = mono_ns(), c0 = now();
  while (mono_ns() - t0 < 50000000ull) {
  }
  uint64_t t1 = mono_ns(), c1 = now();
  return (double)(c1 - c0) / (double)(t1 - t0);
#else
  return 1.0;
#endif
}

/* ---- world and the differential check ------------------------------------------------------ */

static void world_reset(void) {
  memset(&pp_world, 0, sizeof pp_world);
  memset(mp_calls, 0, sizeof mp_calls);
  pp_world.nm_next = 1; /* netmem_ref 0 means "none" */
  page_pool_mem_providers = 0;
}

struct check_result {
  uint64_t bursts, mix, world_bound, world_after;
  int init_err;
};

/* Pointers in the world (netmem->pp, pool->mp_ops, ->mp_priv) are the same addresses for every
 * variant in one process, so the world compares byte for byte. */
static uint64_t world_hash(void) {
  return fnv(fnv(fnv(14695981039346656037ull, &pp_world, sizeof pp_world), mp_calls, sizeof mp_calls),
             &page_pool_mem_providers, sizeof page_pool_mem_providers);
}

static void run_check(const struct pp_variant *v, uint8_t *const *seqs, uint32_t seed, struct check_result *r) {
  world_reset();
  memset(r, 0, sizeof *r);
  r->init_err = v->init_all();
  if (r->init_err) return;
  uint64_t h = 14695981039346656037ull;
  for (uint32_t d = 1; d <= MP_NPROVIDERS; d++) {
    if (!seqs[d]) continue;
    for (uint32_t at = 0; at < SEQ_LEN; at += MAX_BURST) h = (h ^ v->floor_burst(seqs[d] + at, MAX_BURST)) * 31;
  }
  h = (h ^ v->fast_burst(1000)) * 31;
  h = (h ^ v->ring_burst(1000)) * 31;
  h = (h ^ v->slow_burst(1000)) * 31;
  r->bursts = h;
  r->mix = v->check_mix(seed, 50000);
  r->world_bound = world_hash();
  v->destroy_all();
  r->world_after = world_hash();
}

/* Returns the number of variants that disagree with the baseline (each named on stderr). */
static int differential(uint8_t *const *seqs, uint32_t seed) {
  struct check_result base, r;
  run_check(variants[0], seqs, seed, &base);
  if (base.init_err) {
    fprintf(stderr, "harness: the baseline %s failed to bind its pools (%d)\n", variants[0]->name, base.init_err);
    return PP_NVARIANTS;
  }
  int bad = 0;
  for (int i = 1; i < PP_NVARIANTS; i++) {
    run_check(variants[i], seqs, seed, &r);
    const char *what = r.init_err                          ? "binding the pools failed"
                       : r.bursts != base.bursts           ? "the timed bursts returned other netmems"
                       : r.mix != base.mix                 ? "the random mix saw another netmem sequence"
                       : r.world_bound != base.world_bound ? "pools, counters or provider state differ"
                       : r.world_after != base.world_after ? "the state after destroy differs"
                                                           : 0;
    if (what) {
      fprintf(stderr, "REFUSED variant %s: disagrees with %s (seed %u): %s; not timing anything\n",
              variants[i]->name, variants[0]->name, seed, what);
      bad++;
    }
  }
  world_reset();
  return bad;
}

/* ---- timing ---------------------------------------------------------------------------------- */

enum path { P_FLOOR, P_FAST, P_RING, P_SLOW, P_COUNT };
static const char *const path_names[P_COUNT] = {"dispatch-floor", "page_pool01_fast_path", "page_pool02_ptr_ring",
                                                "page_pool03_slow"};
static const char *const path_flags[P_COUNT] = {"floor", "fast", "ring", "slow"};

struct combo {
  enum path path;
  uint32_t degree;
  int variant;
};

static uint64_t run_burst(const struct pp_variant *v, enum path p, const uint8_t *seq, uint32_t ops) {
  switch (p) {
  case P_FLOOR:
    return v->floor_burst(seq, ops);
  case P_FAST:
    return v->fast_burst(ops);
  case P_RING:
    return v->ring_burst(ops);
  default:
    return v->slow_burst(ops);
  }
}

static uint64_t timed(const struct pp_variant *v, enum path p, const uint8_t *seq, uint32_t ops) {
  uint64_t t0 = now();
  uint64_t s = run_burst(v, p, seq, ops);
  uint64_t t1 = now();
  sink += s;
  return t1 - t0;
}

static uint32_t xs(uint32_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

static int usage(const char *msg) {
  fprintf(stderr,
          "harness: %s\nusage: harness [--check] [--seed N] [--pairs N] [--burst N] [--warmup N] "
          "[--degrees 1,2,...] [--paths floor,fast,ring,slow] | --seq-hash DEGREE\n",
          msg);
  return 2;
}

int main(int argc, char **argv) {
  int check_only = 0;
  uint32_t seed = 42, pairs = 40, burst = 256, warmup = 4, seq_hash = 0;
  int want_degree[MP_NPROVIDERS + 1] = {0}, any_degree = 0;
  int want_path[P_COUNT] = {0}, any_path = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : 0;
    if (!strcmp(a, "--check")) {
      check_only = 1;
      continue;
    }
    if (!val) return usage("missing value");
    i++;
    if (!strcmp(a, "--seed")) seed = (uint32_t)strtoul(val, 0, 10);
    else if (!strcmp(a, "--pairs")) pairs = (uint32_t)strtoul(val, 0, 10);
    else if (!strcmp(a, "--burst")) burst = (uint32_t)strtoul(val, 0, 10);
    else if (!strcmp(a, "--warmup")) warmup = (uint32_t)strtoul(val, 0, 10);
    else if (!strcmp(a, "--seq-hash")) seq_hash = (uint32_t)strtoul(val, 0, 10);
    else if (!strcmp(a, "--degrees")) {
      char *s = strdup(val);
      for (char *t = strtok(s, ","); t; t = strtok(0, ",")) {
        unsigned long d = strtoul(t, 0, 10);
        if (d < 1 || d > MP_NPROVIDERS) return usage("degree out of range");
        want_degree[d] = any_degree = 1;
      }
      free(s);
    } else if (!strcmp(a, "--paths")) {
      char *s = strdup(val);
      for (char *t = strtok(s, ","); t; t = strtok(0, ",")) {
        int k = 0;
        while (k < P_COUNT && strcmp(t, path_flags[k])) k++;
        if (k == P_COUNT) return usage("unknown path");
        want_path[k] = any_path = 1;
      }
      free(s);
    } else return usage("unknown argument");
  }
  if (burst < 1 || burst > MAX_BURST || pairs < 1) return usage("--burst must be in [1, 256], --pairs >= 1");

  if (seq_hash) {
    /* For the test that the C sequence is the JS one (bench/native/native.test.ts). */
    if (seq_hash > MP_NPROVIDERS) return usage("degree out of range");
    uint8_t *s = interleaving(seq_hash, SEQ_SEED);
    printf("seq %u %016llx\n", seq_hash, (unsigned long long)fnv(14695981039346656037ull, s, SEQ_LEN));
    free(s);
    return 0;
  }

  if (!any_degree) {
    static const int def[] = {1, 2, 3, 4, 5, 6, 8, 9, 12, 16};
    for (size_t k = 0; k < sizeof def / sizeof def[0]; k++)
      if (def[k] <= MP_NPROVIDERS) want_degree[def[k]] = 1;
  }
  if (!any_path)
    for (int k = 0; k < P_COUNT; k++) want_path[k] = 1;

  uint8_t *seqs[MP_NPROVIDERS + 1] = {0};
  for (uint32_t d = 1; d <= MP_NPROVIDERS; d++)
    if (want_degree[d]) seqs[d] = interleaving(d, SEQ_SEED);

  int bad = differential(seqs, seed);
  if (bad) return 3;
  printf("check ok variants %d providers %d\n", PP_NVARIANTS, MP_NPROVIDERS);
  if (check_only) return 0;

  world_reset();
  int err = variants[0]->init_all();
  if (err) {
    fprintf(stderr, "harness: binding the pools failed (%d)\n", err);
    return 1;
  }
  printf("timer %s\n", TIMER_NAME);
  printf("tsc_ghz %.6f\n", calibrate());

  /* Every (path, degree, non-baseline variant), in a seeded random order. */
  static struct combo combos[P_COUNT * (MP_NPROVIDERS + 1) * PP_NVARIANTS];
  uint32_t nc = 0;
  for (int p = 0; p < P_COUNT; p++) {
    if (!want_path[p]) continue;
    for (uint32_t d = 1; d <= (p == P_FLOOR ? MP_NPROVIDERS : 1u); d++) {
      if (p == P_FLOOR && !seqs[d]) continue;
      for (int v = 1; v < PP_NVARIANTS; v++) combos[nc++] = (struct combo){(enum path)p, d, v};
    }
  }
  uint32_t x = seed * 2654435761u + 1;
  for (uint32_t i = nc - 1; i > 0; i--) {
    uint32_t j = xs(&x) % (i + 1);
    struct combo t = combos[i];
    combos[i] = combos[j];
    combos[j] = t;
  }

  static char line[1 << 16];
  uint32_t cursor = 0;
  for (uint32_t c = 0; c < nc; c++) {
    const struct combo *k = &combos[c];
    const struct pp_variant *a = variants[0], *b = variants[k->variant];
    const uint8_t *seq = k->path == P_FLOOR ? seqs[k->degree] : 0;
    for (uint32_t w = 0; w < warmup; w++) {
      sink += run_burst(a, k->path, seq ? seq + cursor : 0, burst);
      sink += run_burst(b, k->path, seq ? seq + cursor : 0, burst);
    }
    int n = snprintf(line, sizeof line, "combo %s %u %s %d %u", path_names[k->path], k->degree, b->name, b->aa, burst);
    for (uint32_t i = 0; i < pairs; i++) {
      cursor = (cursor + burst) & (SEQ_LEN - 1);
      const uint8_t *s = seq ? seq + cursor : 0;
      uint64_t ta, tb;
      if (xs(&x) & 1) {
        ta = timed(a, k->path, s, burst);
        tb = timed(b, k->path, s, burst);
      } else {
        tb = timed(b, k->path, s, burst);
        ta = timed(a, k->path, s, burst);
      }
      if (n < (int)sizeof line - 64)
        n += snprintf(line + n, sizeof line - n, " %llu %llu", (unsigned long long)ta, (unsigned long long)tb);
    }
    puts(line);
  }
  variants[0]->destroy_all();
  for (uint32_t d = 1; d <= MP_NPROVIDERS; d++) free(seqs[d]);
  return 0;
}
