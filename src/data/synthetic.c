/* The "synthetic" dataset: generated, never read, and only ever used when a config names it
 * (a missing real dataset is an error, not a reason to fall back to this). Each class has a
 * random prototype image; a sample is the mean of its class prototype and uniform noise, so a
 * model can learn it but not trivially. Everything comes from the counter RNG under a fixed key,
 * so every rank and every run generates the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum { SYNTHETIC_KEY = 0x5EED };

static void generate(const uint8_t *protos, int classes, long numel, long n, uint32_t split,
                     sb_split_builder *b) {
  uint8_t *img = sb_xmalloc((unsigned long)numel);
  const uint64_t blocks = (uint64_t)(numel + 3) / 4;
  for (long i = 0; i < n; i++) {
    const int label = (int)(i % classes);
    for (long k = 0; k < numel; k += 4) {
      uint32_t w[4];
      sb_philox(SYNTHETIC_KEY, sb_stream(SB_STREAM_SYNTHETIC, split), (uint64_t)i * blocks + k / 4,
                w);
      for (long j = k; j < k + 4 && j < numel; j++)
        img[j] = (uint8_t)((protos[(long)label * numel + j] + (w[j - k] & 0xFF) + 1) / 2);
    }
    sb_builder_add_image(b, img, label);
  }
  free(img);
}

sb_status sb_synthetic_load(const sb_data_source *src, sb_split *train, sb_split *test) {
  const int C = src->synthetic_shape[0], H = src->synthetic_shape[1], W = src->synthetic_shape[2];
  const long numel = (long)C * H * W;
  const int classes = src->synthetic_classes;
  uint8_t *protos = sb_xmalloc((unsigned long)(classes * numel));
  sb_rng r;
  sb_rng_init(&r, SYNTHETIC_KEY, sb_stream(SB_STREAM_SYNTHETIC, 2));
  for (long i = 0; i < classes * numel; i++) protos[i] = (uint8_t)(sb_rng_u32(&r) & 0xFF);
  sb_split_builder b;
  sb_builder_init_images(&b, numel);
  generate(protos, classes, numel, src->synthetic_samples, 0, &b);
  sb_builder_finish(&b, train);
  sb_builder_init_images(&b, numel);
  const long n_test = src->synthetic_samples / 5 > 0 ? src->synthetic_samples / 5 : 1;
  generate(protos, classes, numel, n_test, 1, &b);
  sb_builder_finish(&b, test);
  free(protos);
  train->shape = test->shape = (sb_shape){3, {C, H, W}};
  return SB_OK;
}
