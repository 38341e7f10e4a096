/* Counter-based random numbers (Philox4x32-10). A value is a pure function of
 * (seed, stream, index), so any rank or thread can draw the same number without shared state:
 * the property that makes a cell's results independent of how the grid was scheduled. */
#ifndef SNNBENCH_RNG_H
#define SNNBENCH_RNG_H

#include <stdint.h>

/* Streams keep independent purposes from ever sharing draws: the purpose sits in the high 32
 * bits and a sub-index (layer number, epoch) in the low 32. */
enum {
  SB_STREAM_INIT = 1,      /* parameter initialisation, sub = layer index */
  SB_STREAM_SHUFFLE = 2,   /* epoch order, sub = epoch */
  SB_STREAM_SPLIT = 3,     /* train/validation split */
  SB_STREAM_DROPOUT = 4,   /* sub = layer index; index counts (batch, element) */
  SB_STREAM_ENCODE = 5,    /* input encodings (rate) */
  SB_STREAM_AUGMENT = 6,   /* data augmentation */
  SB_STREAM_SUBSET = 7,    /* stratified subsets */
  SB_STREAM_BOOTSTRAP = 8, /* reduce: bootstrap resampling */
  SB_STREAM_TEST = 9,      /* tests only */
  SB_STREAM_SYNTHETIC = 10 /* the synthetic dataset, sub = split */
};
static inline uint64_t sb_stream(uint32_t purpose, uint32_t sub) {
  return ((uint64_t)purpose << 32) | sub;
}

/* The raw generator: four 32-bit words for one (seed, stream, index). */
void sb_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);

/* Uniform in [0, 1) with 24 random bits, from word `lane` (0..3) of the block. */
static inline float sb_u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
static inline double sb_u32_to_unit_d(uint32_t x) { return (double)x * (1.0 / 4294967296.0); }

/* A cheaper counter-based generator for per-element randomness (dropout masks, Bernoulli
 * encodings), where millions of draws per batch make Philox's ten rounds the bottleneck:
 * SplitMix64's output function applied to key + (index + 1)·γ, with the key itself a mix of
 * (seed, stream, sub). Pure and position-addressed like sb_philox. */
static inline uint64_t sb_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static inline uint64_t sb_fast_key(uint64_t seed, uint64_t stream, uint64_t sub) {
  return sb_mix64(seed ^ sb_mix64(stream ^ sb_mix64(sub + 0x9e3779b97f4a7c15ull)));
}
static inline uint64_t sb_fast_draw(uint64_t key, uint64_t index) {
  return sb_mix64(key + (index + 1) * 0x9e3779b97f4a7c15ull);
}

/* A sequential view on one stream for code that draws many numbers in order. */
typedef struct {
  uint64_t seed, stream, index;
  uint32_t buf[4];
  int avail;
} sb_rng;

void sb_rng_init(sb_rng *r, uint64_t seed, uint64_t stream);
uint32_t sb_rng_u32(sb_rng *r);
float sb_rng_uniform(sb_rng *r);                 /* [0, 1) */
float sb_rng_uniform_range(sb_rng *r, float lo, float hi);
float sb_rng_normal(sb_rng *r);                  /* standard normal, Box-Muller */
uint32_t sb_rng_below(sb_rng *r, uint32_t n);    /* uniform integer in [0, n), unbiased */
void sb_rng_shuffle(sb_rng *r, int32_t *a, int n);

#endif
