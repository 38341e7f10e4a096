#include "snnbench/rng.h"

#include <math.h>

/* Philox4x32-10 (Salmon et al., SC'11): ten rounds of multiply-xor with a Weyl key schedule. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void sb_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
  uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
    uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void sb_rng_init(sb_rng *r, uint64_t seed, uint64_t stream) {
  r->seed = seed;
  r->stream = stream;
  r->index = 0;
  r->avail = 0;
}

uint32_t sb_rng_u32(sb_rng *r) {
  if (r->avail == 0) {
    sb_philox(r->seed, r->stream, r->index++, r->buf);
    r->avail = 4;
  }
  return r->buf[4 - r->avail--];
}

float sb_rng_uniform(sb_rng *r) { return sb_u32_to_unit(sb_rng_u32(r)); }

float sb_rng_uniform_range(sb_rng *r, float lo, float hi) {
  return lo + (hi - lo) * sb_rng_uniform(r);
}

float sb_rng_normal(sb_rng *r) {
  /* 1 - u keeps the log argument in (0, 1]. */
  double u1 = 1.0 - sb_u32_to_unit_d(sb_rng_u32(r));
  double u2 = sb_u32_to_unit_d(sb_rng_u32(r));
  return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2));
}

uint32_t sb_rng_below(sb_rng *r, uint32_t n) {
  /* Lemire's multiply-shift with rejection: unbiased and branch-light. */
  uint64_t m = (uint64_t)sb_rng_u32(r) * n;
  uint32_t low = (uint32_t)m;
  if (low < n) {
    uint32_t threshold = (uint32_t)(-n) % n;
    while (low < threshold) {
      m = (uint64_t)sb_rng_u32(r) * n;
      low = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

void sb_rng_shuffle(sb_rng *r, int32_t *a, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)sb_rng_below(r, (uint32_t)(i + 1));
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
