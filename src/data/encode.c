/* Spike encodings of analog inputs in [0, 1]. Direct encoding needs no code: the model takes the
 * analog sample itself at every step. */
#include <math.h>
#include <string.h>

#include "data/data_internal.h"

void sb_encode_rate(const float *v, long numel, int T, uint64_t seed, uint64_t stream,
                    uint64_t index, float *out, long t_stride) {
  const uint64_t blocks = (uint64_t)(numel + 3) / 4;
  for (int t = 0; t < T; t++) {
    float *o = out + (long)t * t_stride;
    for (long k = 0; k < numel; k += 4) {
      uint32_t w[4];
      sb_philox(seed, stream, index + (uint64_t)t * blocks + (uint64_t)k / 4, w);
      const long end = k + 4 < numel ? k + 4 : numel;
      /* u < v: 0 never fires, 1 always does, anything else with probability v. */
      for (long j = k; j < end; j++) o[j] = sb_u32_to_unit(w[j - k]) < v[j] ? 1.0f : 0.0f;
    }
  }
}

void sb_encode_latency(const float *v, long numel, int T, float *out, long t_stride) {
  for (int t = 0; t < T; t++) memset(out + (long)t * t_stride, 0, (size_t)numel * sizeof(float));
  for (long k = 0; k < numel; k++) {
    const float x = v[k] < 0.0f ? 0.0f : v[k] > 1.0f ? 1.0f : v[k];
    /* float arithmetic and round-half-even, as torch computes (T − 1)(1 − x).round(). */
    const int t = (int)nearbyintf((float)(T - 1) * (1.0f - x));
    out[(long)t * t_stride + k] = 1.0f;
  }
}
