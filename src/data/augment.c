/* Training-time augmentations, following torchvision's definitions (RandomAffine, RandomCrop
 * with padding, RandomHorizontalFlip, RandomErasing) with zero fill and nearest-neighbour
 * sampling, so recipes carry over. A sample is P planes of HxW (the C channels of an image, or
 * the T·2 polarity planes of an event sample) and every plane gets the same draw. All draws come
 * from the caller's sb_rng, which the pipeline keys by (seed, epoch, sample). */
#include <math.h>
#include <string.h>

#include "data/data_internal.h"

int sb_augment_geometric(const sb_augment_cfg *a) {
  return a->crop_padding > 0 || a->hflip > 0 || a->degrees > 0 || a->translate > 0 ||
         a->scale_min != 1.0f || a->scale_max != 1.0f;
}

/* out(x, y) = in(inverse map of (x, y)), about the image centre: rotate by angle (degrees),
 * scale, then shift by (tx, ty) pixels. Outside the input reads 0. */
void sb_affine_apply(const float *src, float *dst, int P, int H, int W, float angle, int tx,
                     int ty, float scale) {
  const float rad = angle * (float)(3.14159265358979323846 / 180.0);
  const float c = cosf(rad) / scale, s = sinf(rad) / scale;
  const float cx = 0.5f * (float)(W - 1), cy = 0.5f * (float)(H - 1);
  const long plane = (long)H * W;
  for (int y = 0; y < H; y++) {
    for (int x = 0; x < W; x++) {
      const float u = (float)x - cx - (float)tx, w = (float)y - cy - (float)ty;
      const int sx = (int)floorf(u * c - w * s + cx + 0.5f);
      const int sy = (int)floorf(u * s + w * c + cy + 0.5f);
      const int inside = sx >= 0 && sx < W && sy >= 0 && sy < H;
      for (int p = 0; p < P; p++)
        dst[p * plane + (long)y * W + x] = inside ? src[p * plane + (long)sy * W + sx] : 0.0f;
    }
  }
}

/* out(x, y) = in(x' + dx, y + dy) with x' = W − 1 − x when flipped: a padded crop (dx, dy in
 * [−pad, pad]) and a horizontal flip in one pass. */
void sb_shift_flip_apply(const float *src, float *dst, int P, int H, int W, int dx, int dy,
                         int flip) {
  const long plane = (long)H * W;
  for (int p = 0; p < P; p++)
    for (int y = 0; y < H; y++) {
      const int sy = y + dy;
      for (int x = 0; x < W; x++) {
        const int sx = (flip ? W - 1 - x : x) + dx;
        dst[p * plane + (long)y * W + x] =
            sy >= 0 && sy < H && sx >= 0 && sx < W ? src[p * plane + (long)sy * W + sx] : 0.0f;
      }
    }
}

float *sb_augment_geometry(const sb_augment_cfg *a, sb_rng *r, float *src, float *tmp, int P,
                           int H, int W) {
  float *cur = src, *other = tmp;
  if (a->degrees > 0 || a->translate > 0 || a->scale_min != 1.0f || a->scale_max != 1.0f) {
    /* torchvision's draw order: angle, translation, scale. */
    const float angle = sb_rng_uniform_range(r, -a->degrees, a->degrees);
    const float max_dx = a->translate * (float)W, max_dy = a->translate * (float)H;
    const int tx = (int)nearbyintf(sb_rng_uniform_range(r, -max_dx, max_dx));
    const int ty = (int)nearbyintf(sb_rng_uniform_range(r, -max_dy, max_dy));
    const float scale = sb_rng_uniform_range(r, a->scale_min, a->scale_max);
    sb_affine_apply(cur, other, P, H, W, angle, tx, ty, scale);
    float *t = cur;
    cur = other;
    other = t;
  }
  if (a->crop_padding > 0 || a->hflip > 0) {
    int dx = 0, dy = 0, flip = 0;
    if (a->crop_padding > 0) {
      /* Top-left corner of the crop in the padded image, minus the padding. */
      const uint32_t span = 2u * (uint32_t)a->crop_padding + 1u;
      dy = (int)sb_rng_below(r, span) - a->crop_padding;
      dx = (int)sb_rng_below(r, span) - a->crop_padding;
    }
    if (a->hflip > 0) flip = sb_rng_uniform(r) < a->hflip;
    if (dx || dy || flip) {
      sb_shift_flip_apply(cur, other, P, H, W, dx, dy, flip);
      cur = other;
    }
  }
  return cur;
}

void sb_augment_erase(const sb_augment_cfg *a, sb_rng *r, float *x, int P, int H, int W) {
  if (!(sb_rng_uniform(r) < a->erase)) return;
  /* torchvision defaults: area in [0.02, 0.33] of the image, aspect ratio in [0.3, 3.3]. */
  const double area = (double)H * W, log_lo = log(0.3), log_hi = log(3.3);
  for (int attempt = 0; attempt < 10; attempt++) {
    const double target = area * (0.02 + (0.33 - 0.02) * sb_rng_uniform(r));
    const double aspect = exp(log_lo + (log_hi - log_lo) * sb_rng_uniform(r));
    const int h = (int)nearbyint(sqrt(target * aspect)), w = (int)nearbyint(sqrt(target / aspect));
    if (!(h < H && w < W)) continue;
    const int top = (int)sb_rng_below(r, (uint32_t)(H - h + 1));
    const int left = (int)sb_rng_below(r, (uint32_t)(W - w + 1));
    const long plane = (long)H * W;
    for (int p = 0; p < P; p++)
      for (int y = top; y < top + h; y++)
        memset(x + p * plane + (long)y * W + left, 0, (size_t)w * sizeof(float));
    return;
  }
}

/* Marsaglia and Tsang (2000); shape < 1 via Gamma(a) = Gamma(a + 1) · U^(1/a). */
static double sample_gamma(sb_rng *r, double a) {
  if (a < 1.0) {
    const double u = 1.0 - sb_rng_uniform(r); /* (0, 1] */
    return sample_gamma(r, a + 1.0) * pow(u, 1.0 / a);
  }
  const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    const double z = sb_rng_normal(r);
    double v = 1.0 + c * z;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = sb_rng_uniform(r);
    if (u < 1.0 - 0.0331 * z * z * z * z) return d * v;
    if (log(u) < 0.5 * z * z + d * (1.0 - v + log(v))) return d * v;
  }
}

double sb_sample_beta(sb_rng *r, double a, double b) {
  const double x = sample_gamma(r, a), y = sample_gamma(r, b);
  /* Both can underflow to 0 for tiny shapes; the limit distribution puts its mass on {0, 1}. */
  if (x + y == 0.0) return sb_rng_uniform(r) < a / (a + b) ? 1.0 : 0.0;
  return x / (x + y);
}
