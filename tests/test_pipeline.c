/* The input pipeline: normalisation, rate and latency encodings, the augmentations, mixup,
 * event frames in the model's time-major layout, subsets, the checks that refuse bad data
 * settings, and bitwise determinism whatever the thread count. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/data_internal.h"
#include "snnbench/pipeline.h"
#include "writers.h"

static char g_dir[256];

/* A cell config with the schema's defaults for the data keys. */
static sb_cell_config base_config(int T, int batch) {
  sb_cell_config c;
  memset(&c, 0, sizeof c);
  c.timesteps = T;
  snprintf(c.data.encoding, sizeof c.data.encoding, "direct");
  snprintf(c.data.subset, sizeof c.data.subset, "random");
  snprintf(c.data.frames.split_by, sizeof c.data.frames.split_by, "number");
  snprintf(c.data.frames.normalize, sizeof c.data.frames.normalize, "none");
  c.data.normalize = 1;
  c.data.augment.affine.scale_min = c.data.augment.affine.scale_max = 1.0;
  c.data.mixup.prob = 1.0;
  c.train.batch_size = batch;
  c.eval.batch_size = batch;
  return c;
}

static const sb_dataset *synthetic(int C, int H, int W, int classes, long samples) {
  sb_data_source src = {.name = "synthetic", .synthetic_shape = {C, H, W},
                        .synthetic_classes = classes, .synthetic_samples = samples};
  const sb_dataset *d = NULL;
  CHECK_MSG(sb_dataset_get(&src, &d) == SB_OK, "%s", sb_errmsg());
  return d;
}

static sb_pipeline *make(const sb_cell_config *c, const sb_dataset *d) {
  sb_pipeline *p = NULL;
  sb_status st = sb_pipeline_create(c, d, &p);
  CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
  return p;
}

/* ------------------------------------------------------------------ encodings */

static void direct_and_normalise(void) {
  const sb_dataset *d = synthetic(3, 4, 5, 4, 40);
  if (!d) return;
  CHECK(d->train.n == 40 && d->test.n == 8 && d->n_classes == 4);
  CHECK(d->std[0] > 0.05f && d->mean[1] > 0.2f && d->mean[1] < 0.8f);
  sb_cell_config c = base_config(3, 4);
  sb_pipeline *p = make(&c, d);
  if (!p) return;
  CHECK(sb_pipeline_static(p) && !sb_pipeline_binary(p));
  CHECK(sb_pipeline_batch_floats(p, 3, 4) == 4 * 60);
  const int32_t idx[2] = {7, 3};
  float x[2 * 60];
  int32_t y[2];
  sb_batch_key key = {.train = 1, .T = 3, .seed = 1};
  CHECK(sb_pipeline_batch(p, &d->train, idx, 2, &key, x, y, NULL) == 0);
  CHECK(y[0] == 7 % 4 && y[1] == 3 % 4);
  int ok = 1;
  for (int b = 0; b < 2; b++)
    for (int k = 0; k < 60; k++) {
      const int ch = k / 20;
      const float want = (d->train.u8[idx[b] * 60 + k] / 255.0f - d->mean[ch]) / d->std[ch];
      ok &= fabsf(x[b * 60 + k] - want) < 1e-5f;
      /* Bitwise the decode-then-normalise arithmetic (the lookup table must change no bit). */
      const float v = (float)d->train.u8[idx[b] * 60 + k] / 255.0f;
      ok &= x[b * 60 + k] == (v - d->mean[ch]) * (1.0f / d->std[ch]);
    }
  CHECK(ok);
  sb_pipeline_free(p);
  /* Without normalisation the input is the intensity itself. */
  c.data.normalize = 0;
  p = make(&c, d);
  sb_pipeline_batch(p, &d->test, idx + 1, 1, &key, x, y, NULL);
  CHECK(x[17] == d->test.u8[3 * 60 + 17] / 255.0f && y[0] == d->test.y[3]);
  sb_pipeline_free(p);
}

static void rate(void) {
  const sb_dataset *d = synthetic(1, 6, 6, 4, 40);
  if (!d) return;
  const int T = 400;
  sb_cell_config c = base_config(T, 3);
  snprintf(c.data.encoding, sizeof c.data.encoding, "rate");
  sb_pipeline *p = make(&c, d);
  if (!p) return;
  CHECK(!sb_pipeline_static(p) && sb_pipeline_binary(p));
  const long floats = sb_pipeline_batch_floats(p, T, 3);
  CHECK(floats == (long)T * 3 * 36);
  float *x = malloc((size_t)floats * sizeof(float)), *x2 = malloc((size_t)floats * sizeof(float));
  const int32_t idx[3] = {4, 9, 0};
  int32_t y[3];
  sb_batch_key key = {.train = 1, .T = T, .seed = 11, .epoch = 2, .batch = 5};
  sb_pipeline_batch(p, &d->train, idx, 3, &key, x, y, NULL);
  /* Spikes only; each pixel's firing rate over T steps tracks its intensity. */
  int binary = 1;
  double worst = 0, total_err = 0;
  for (int b = 0; b < 3; b++)
    for (int k = 0; k < 36; k++) {
      double count = 0;
      for (int t = 0; t < T; t++) {
        const float v = x[((long)t * 3 + b) * 36 + k];
        binary &= v == 0.0f || v == 1.0f;
        count += v;
      }
      const double want = d->train.u8[idx[b] * 36 + k] / 255.0;
      const double err = fabs(count / T - want);
      total_err += err;
      if (err > worst) worst = err;
    }
  CHECK(binary);
  /* Binomial(400, v): sd <= 0.025, so 0.1 is four sd for the worst of 108 pixels. */
  CHECK_MSG(worst < 0.1 && total_err / 108 < 0.03, "worst %g, mean %g", worst, total_err / 108);
  /* Deterministic; keyed by the sample, not its position in the batch. */
  const int32_t idx2[2] = {0, 4};
  sb_pipeline_batch(p, &d->train, idx2, 2, &key, x2, y, NULL);
  int same = 1;
  for (int t = 0; t < T; t++) {
    same &= !memcmp(x + ((long)t * 3 + 0) * 36, x2 + ((long)t * 2 + 1) * 36, 36 * sizeof(float));
    same &= !memcmp(x + ((long)t * 3 + 2) * 36, x2 + ((long)t * 2 + 0) * 36, 36 * sizeof(float));
  }
  CHECK(same);
  /* A new epoch draws new spikes. */
  key.epoch = 3;
  sb_pipeline_batch(p, &d->train, idx, 3, &key, x2, y, NULL);
  CHECK(memcmp(x, x2, (size_t)floats * sizeof(float)) != 0);
  free(x);
  free(x2);
  sb_pipeline_free(p);
}

static void latency(void) {
  const sb_dataset *d = synthetic(1, 5, 5, 3, 30);
  if (!d) return;
  const int T = 7;
  sb_cell_config c = base_config(T, 2);
  snprintf(c.data.encoding, sizeof c.data.encoding, "latency");
  sb_pipeline *p = make(&c, d);
  if (!p) return;
  float x[7 * 2 * 25];
  int32_t y[2];
  const int32_t idx[2] = {1, 2};
  sb_batch_key key = {.train = 0, .T = T, .seed = 0};
  sb_pipeline_batch(p, &d->train, idx, 2, &key, x, y, NULL);
  int ok = 1;
  for (int b = 0; b < 2; b++)
    for (int k = 0; k < 25; k++) {
      const float v = d->train.u8[idx[b] * 25 + k] / 255.0f;
      const int when = (int)nearbyintf(6.0f * (1.0f - v));
      for (int t = 0; t < T; t++) ok &= x[(t * 2 + b) * 25 + k] == (t == when ? 1.0f : 0.0f);
    }
  CHECK(ok);
  /* The encoder's edge values at T = 4: 1 fires first, 0 last, 0.5 at 1.5 rounds to even (2). */
  const float v[3] = {1.0f, 0.0f, 0.5f};
  float out[3 * 4];
  sb_encode_latency(v, 3, 4, out, 3);
  CHECK(out[0 * 3 + 0] == 1 && out[3 * 3 + 1] == 1 && out[2 * 3 + 2] == 1);
  float sum = 0;
  for (int k = 0; k < 12; k++) sum += out[k];
  CHECK(sum == 3);
  sb_pipeline_free(p);
}

/* ------------------------------------------------------------------ augmentations */

static void geometry(void) {
  /* 2 planes of 3x4, values 1..24. */
  float src[24], dst[24];
  for (int i = 0; i < 24; i++) src[i] = (float)(i + 1);
  /* Shift by (dx, dy) = (1, -1) and flip: out(x, y) = in(3 - x + 1, y - 1). */
  sb_shift_flip_apply(src, dst, 2, 3, 4, 1, -1, 1);
  int ok = 1;
  for (int p = 0; p < 2; p++)
    for (int y = 0; y < 3; y++)
      for (int x = 0; x < 4; x++) {
        const int sx = 3 - x + 1, sy = y - 1;
        const float want = sx >= 0 && sx < 4 && sy >= 0 && sy < 3 ? src[p * 12 + sy * 4 + sx] : 0;
        ok &= dst[p * 12 + y * 4 + x] == want;
      }
  CHECK(ok);
  /* Affine: identity, 180 degrees (both axes flipped), and a pure shift. */
  sb_affine_apply(src, dst, 2, 3, 4, 0.0f, 0, 0, 1.0f);
  CHECK(!memcmp(src, dst, sizeof src));
  sb_affine_apply(src, dst, 2, 3, 4, 180.0f, 0, 0, 1.0f);
  ok = 1;
  for (int p = 0; p < 2; p++)
    for (int i = 0; i < 12; i++) ok &= dst[p * 12 + i] == src[p * 12 + 11 - i];
  CHECK(ok);
  sb_affine_apply(src, dst, 1, 3, 4, 0.0f, 1, 0, 1.0f);
  CHECK(dst[0] == 0 && dst[1] == src[0] && dst[3] == src[2] && dst[4] == 0 && dst[5] == src[4]);
  /* Scale 2 about the centre of a 5x5 image: the centre stays, (0,0) samples (1,1). */
  float a[25], b[25];
  for (int i = 0; i < 25; i++) a[i] = (float)i;
  sb_affine_apply(a, b, 1, 5, 5, 0.0f, 0, 0, 2.0f);
  CHECK(b[12] == a[12] && b[0] == a[6] && b[24] == a[18]);

  /* Padded crop: every one of the (2·pad + 1)^2 offsets occurs, and only those. */
  sb_augment_cfg cfg = {.crop_padding = 1, .scale_min = 1, .scale_max = 1};
  int seen[3][3] = {{0}};
  float img[16], tmp[16], out[16];
  for (int i = 0; i < 16; i++) img[i] = (float)(i + 1);
  int flips = 0, bad = 0;
  for (int trial = 0; trial < 300; trial++) {
    sb_rng r;
    sb_rng_init(&r, 5, sb_stream(SB_STREAM_TEST, (uint32_t)trial));
    float in[16];
    memcpy(in, img, sizeof in);
    const float *res = sb_augment_geometry(&cfg, &r, in, tmp, 1, 4, 4);
    int found = 0;
    for (int dy = -1; dy <= 1 && !found; dy++)
      for (int dx = -1; dx <= 1 && !found; dx++) {
        sb_shift_flip_apply(img, out, 1, 4, 4, dx, dy, 0);
        if (!memcmp(out, res, sizeof out)) {
          seen[dy + 1][dx + 1]++;
          found = 1;
        }
      }
    bad += !found;
  }
  CHECK(bad == 0);
  for (int i = 0; i < 9; i++) CHECK_MSG(seen[i / 3][i % 3] > 10, "offset %d seen %d times", i, seen[i / 3][i % 3]);
  /* Flip probability 0.5. */
  sb_augment_cfg fcfg = {.hflip = 0.5f, .scale_min = 1, .scale_max = 1};
  for (int trial = 0; trial < 400; trial++) {
    sb_rng r;
    sb_rng_init(&r, 6, sb_stream(SB_STREAM_TEST, (uint32_t)trial));
    float in[16];
    memcpy(in, img, sizeof in);
    const float *res = sb_augment_geometry(&fcfg, &r, in, tmp, 1, 4, 4);
    flips += res[0] == img[3];
  }
  CHECK_MSG(flips > 160 && flips < 240, "%d flips in 400", flips);
}

static void erasing(void) {
  sb_augment_cfg cfg = {.erase = 1.0f, .scale_min = 1, .scale_max = 1};
  const int H = 20, W = 20;
  float x[2 * 400];
  int erased = 0;
  for (int trial = 0; trial < 100; trial++) {
    for (int i = 0; i < 800; i++) x[i] = 1.0f;
    sb_rng r;
    sb_rng_init(&r, 9, sb_stream(SB_STREAM_TEST, (uint32_t)trial));
    sb_augment_erase(&cfg, &r, x, 2, H, W);
    /* The zeros form one rectangle, the same in both planes, of area 2%..33% (rounded sides). */
    int y0 = H, y1 = -1, x0 = W, x1 = -1, zeros = 0;
    for (int y = 0; y < H; y++)
      for (int k = 0; k < W; k++)
        if (x[y * W + k] == 0) {
          zeros++;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
          if (k < x0) x0 = k;
          if (k > x1) x1 = k;
        }
    if (!zeros) continue;
    erased++;
    CHECK(zeros == (y1 - y0 + 1) * (x1 - x0 + 1));
    CHECK(!memcmp(x, x + 400, 400 * sizeof(float)));
    CHECK_MSG(zeros >= 4 && zeros <= 160, "erased %d of 400", zeros);
  }
  CHECK(erased > 90);
  /* Probability 0: never. */
  cfg.erase = 0;
  for (int i = 0; i < 800; i++) x[i] = 1.0f;
  sb_rng r;
  sb_rng_init(&r, 9, 0);
  sb_augment_erase(&cfg, &r, x, 2, H, W);
  int ones = 0;
  for (int i = 0; i < 800; i++) ones += x[i] == 1.0f;
  CHECK(ones == 800);
}

static void beta(void) {
  sb_rng r;
  sb_rng_init(&r, 3, sb_stream(SB_STREAM_TEST, 77));
  const double shapes[3][2] = {{0.2, 0.2}, {2.0, 5.0}, {1.0, 1.0}};
  for (int s = 0; s < 3; s++) {
    double sum = 0, sq = 0;
    int inside = 1;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
      const double v = sb_sample_beta(&r, shapes[s][0], shapes[s][1]);
      inside &= v >= 0 && v <= 1;
      sum += v;
      sq += v * v;
    }
    const double a = shapes[s][0], b = shapes[s][1], mean = a / (a + b);
    const double var = a * b / ((a + b) * (a + b) * (a + b + 1));
    CHECK(inside);
    CHECK_MSG(fabs(sum / n - mean) < 0.01, "Beta(%g,%g) mean %g, want %g", a, b, sum / n, mean);
    CHECK_MSG(fabs(sq / n - (sum / n) * (sum / n) - var) < 0.01, "Beta(%g,%g) variance", a, b);
  }
}

static void mixup(void) {
  const sb_dataset *d = synthetic(1, 4, 4, 4, 40);
  if (!d) return;
  sb_cell_config c = base_config(2, 4);
  c.data.mixup.alpha = 1.0;
  sb_pipeline *p = make(&c, d);
  sb_cell_config plain = base_config(2, 4);
  sb_pipeline *q = make(&plain, d);
  if (!p || !q) return;
  const int32_t idx[4] = {0, 1, 2, 3};  /* labels 0..3, all different */
  float x[64], u[64], soft[16];
  int32_t y[4];
  int mixed_batches = 0;
  for (long batch = 0; batch < 20; batch++) {
    sb_batch_key key = {.train = 1, .T = 2, .seed = 4, .epoch = 1, .batch = batch};
    const int mixed = sb_pipeline_batch(p, &d->train, idx, 4, &key, x, y, soft);
    sb_pipeline_batch(q, &d->train, idx, 4, &key, u, y, NULL);
    CHECK(mixed == 1);
    mixed_batches += mixed;
    for (int b = 0; b < 4; b++) {
      /* Row sums to 1; its mass sits on the sample's label and its partner's. */
      float sum = 0;
      int partner = b;
      for (int k = 0; k < 4; k++) {
        sum += soft[b * 4 + k];
        if (k != y[b] && soft[b * 4 + k] > 0) partner = k;
      }
      CHECK_NEAR(sum, 1.0, 1e-6);
      const float lam = partner == b ? 1.0f : soft[b * 4 + y[b]];
      int ok = 1;
      for (int k = 0; k < 16; k++)
        ok &= fabsf(x[b * 16 + k] - (lam * u[b * 16 + k] + (1 - lam) * u[partner * 16 + k])) < 1e-5f;
      CHECK_MSG(ok, "batch %ld sample %d is not lambda-blended with sample %d", batch, b, partner);
    }
  }
  CHECK(mixed_batches == 20);
  /* Evaluation batches are never mixed; prob 0 never mixes. */
  sb_batch_key eval = {.train = 0, .T = 2, .seed = 4};
  CHECK(sb_pipeline_batch(p, &d->train, idx, 4, &eval, x, y, soft) == 0);
  sb_pipeline_free(p);
  c.data.mixup.prob = 0.0;
  p = make(&c, d);
  sb_batch_key key = {.train = 1, .T = 2, .seed = 4};
  CHECK(sb_pipeline_batch(p, &d->train, idx, 4, &key, x, y, soft) == 0);
  sb_pipeline_free(p);
  sb_pipeline_free(q);
}

/* Everything on at once: the batch must not depend on the number of threads. */
static void thread_independence(void) {
  /* Large enough that the pipeline's OpenMP loops really run in parallel (> 65536 floats). */
  const sb_dataset *d = synthetic(3, 32, 32, 5, 300);
  if (!d) return;
  sb_cell_config c = base_config(4, 64);
  snprintf(c.data.encoding, sizeof c.data.encoding, "rate");
  c.data.augment.crop_padding = 2;
  c.data.augment.hflip = 0.5;
  c.data.augment.erase = 0.5;
  c.data.augment.affine.degrees = 15;
  c.data.augment.affine.translate = 0.1;
  c.data.augment.affine.scale_min = 0.9;
  c.data.augment.affine.scale_max = 1.1;
  c.data.mixup.alpha = 0.2;
  c.data.mixup.prob = 0.5;
  sb_pipeline *p = make(&c, d);
  if (!p) return;
  const long floats = sb_pipeline_batch_floats(p, 4, 64);
  float *x1 = malloc((size_t)floats * sizeof(float)), *x4 = malloc((size_t)floats * sizeof(float));
  float s1[64 * 5], s4[64 * 5];
  int32_t idx[64], y1[64], y4[64];
  for (int i = 0; i < 64; i++) idx[i] = (i * 37) % 300;
  int differs = 0;
  for (long batch = 0; batch < 3; batch++) {
    sb_batch_key key = {.train = 1, .T = 4, .seed = 21, .epoch = 2, .batch = batch};
    omp_set_num_threads(1);
    const int m1 = sb_pipeline_batch(p, &d->train, idx, 64, &key, x1, y1, s1);
    omp_set_num_threads(4);
    const int m4 = sb_pipeline_batch(p, &d->train, idx, 64, &key, x4, y4, s4);
    differs |= m1 != m4 || memcmp(x1, x4, (size_t)floats * sizeof(float)) ||
               memcmp(y1, y4, sizeof y1) || (m1 && memcmp(s1, s4, sizeof s1));
  }
  CHECK(!differs);
  free(x1);
  free(x4);
  sb_pipeline_free(p);
}

/* ------------------------------------------------------------------ events */

static void event_frames(void) {
  char root[400];
  snprintf(root, sizeof root, "%s/nmnist", g_dir);
  for (int s = 0; s < 2; s++)
    for (int k = 0; k < 10; k++) tw_mkdir("%s/%s/%d", root, s ? "Test" : "Train", k);
  uint8_t buf[64];
  char path[600];
  const tw_event a[3] = {{0, 0, 1, 100}, {33, 33, 0, 500}, {5, 6, 1, 900}};
  snprintf(path, sizeof path, "%s/Train/2/a.bin", root);
  tw_write(path, buf, tw_nmnist(buf, a, 3));
  const tw_event b[2] = {{1, 1, 0, 7}, {1, 1, 0, 8}};  /* spans 1 µs */
  snprintf(path, sizeof path, "%s/Train/5/b.bin", root);
  tw_write(path, buf, tw_nmnist(buf, b, 2));
  snprintf(path, sizeof path, "%s/Test/5/c.bin", root);
  tw_write(path, buf, tw_nmnist(buf, b, 2));
  sb_data_source src = {.name = "nmnist"};
  snprintf(src.path, sizeof src.path, "%s", root);
  const sb_dataset *d = NULL;
  CHECK_MSG(sb_dataset_get(&src, &d) == SB_OK, "%s", sb_errmsg());
  if (!d) return;
  CHECK(d->kind == SB_DATA_EVENTS && d->n_classes == 10 && d->train.n == 2);

  sb_cell_config c = base_config(2, 2);
  sb_pipeline *p = make(&c, d);
  if (!p) return;
  CHECK(!sb_pipeline_static(p) && !sb_pipeline_binary(p));
  const sb_shape sh = sb_pipeline_shape(p);
  CHECK(sh.ndim == 3 && sh.d[0] == 2 && sh.d[1] == 34 && sh.d[2] == 34);
  const long numel = 2 * 34 * 34;
  float *x = malloc((size_t)(2 * 2 * numel) * sizeof(float));
  float *f = malloc((size_t)(2 * numel) * sizeof(float));
  const int32_t idx[2] = {1, 0};
  int32_t y[2];
  sb_batch_key key = {.train = 0, .T = 2, .seed = 0};
  sb_pipeline_batch(p, &d->train, idx, 2, &key, x, y, NULL);
  CHECK(y[0] == 5 && y[1] == 2);
  /* x is [T][B][2·34·34]: step t of batch row b is frame t of sample idx[b]. */
  int ok = 1;
  for (int r = 0; r < 2; r++) {
    const int64_t o = d->train.ev_off[idx[r]], n = d->train.ev_off[idx[r] + 1] - o;
    sb_events_to_frames(d->train.ev_xyp + o, d->train.ev_t + o, n, 2, SB_SPLIT_BY_NUMBER, 34, 34, f,
                        numel);
    for (int t = 0; t < 2; t++)
      ok &= !memcmp(x + ((long)t * 2 + r) * numel, f + (long)t * numel, (size_t)numel * sizeof(float));
  }
  CHECK(ok);
  /* Sample 0 (row 1): event 0 in frame 0 at (p1, 0, 0); events 1, 2 in frame 1. */
  CHECK(x[(0 * 2 + 1) * numel + 34 * 34] == 1 && x[(1 * 2 + 1) * numel + 33 * 34 + 33] == 1);
  sb_pipeline_free(p);
  /* Augmented training batches: a certain flip mirrors every frame; evaluation batches of the
   * same pipeline are not augmented. */
  c.data.augment.hflip = 1.0;
  p = make(&c, d);
  key.train = 1;
  sb_pipeline_batch(p, &d->train, idx, 2, &key, x, y, NULL);
  ok = 1;
  for (int r = 0; r < 2; r++) {
    const int64_t o = d->train.ev_off[idx[r]], n = d->train.ev_off[idx[r] + 1] - o;
    sb_events_to_frames(d->train.ev_xyp + o, d->train.ev_t + o, n, 2, SB_SPLIT_BY_NUMBER, 34, 34, f,
                        numel);
    for (int t = 0; t < 2; t++)
      for (int pl = 0; pl < 2; pl++)
        for (int yy = 0; yy < 34; yy++)
          for (int xx = 0; xx < 34; xx++)
            ok &= x[((long)t * 2 + r) * numel + (pl * 34 + yy) * 34 + xx] ==
                  f[(long)t * numel + (pl * 34 + yy) * 34 + 33 - xx];
  }
  CHECK(ok);
  key.train = 0;
  sb_pipeline_batch(p, &d->train, idx, 2, &key, x, y, NULL);
  CHECK(x[(0 * 2 + 1) * numel + 34 * 34] == 1);  /* unflipped: (p1, 0, 0) as before */
  sb_pipeline_free(p);
  c.data.augment.hflip = 0.0;
  /* Clipped at one count, the frames are spikes. */
  c.data.frames.clip = 1;
  p = make(&c, d);
  CHECK(p && sb_pipeline_binary(p));
  sb_pipeline_free(p);
  c.data.frames.clip = 0;

  /* Settings that cannot work are refused, naming the key. */
  sb_pipeline *none = NULL;
  snprintf(c.data.frames.split_by, sizeof c.data.frames.split_by, "time");
  CHECK(sb_pipeline_create(&c, d, &none) == SB_EINPUT);
  CHECK_MSG(strstr(sb_errmsg(), "data.frames.split_by: \"time\" needs every sample to span at "
                   "least T = 2 µs, but training sample 1") != NULL, "%s", sb_errmsg());
  sb_clear_error();
  snprintf(c.data.frames.split_by, sizeof c.data.frames.split_by, "number");
  snprintf(c.data.frames.normalize, sizeof c.data.frames.normalize, "clip");
  CHECK(sb_pipeline_create(&c, d, &none) == SB_EINPUT);
  CHECK(strstr(sb_errmsg(), "data.frames.normalize") != NULL);
  sb_clear_error();
  snprintf(c.data.frames.normalize, sizeof c.data.frames.normalize, "none");
  snprintf(c.data.encoding, sizeof c.data.encoding, "rate");
  CHECK(sb_pipeline_create(&c, d, &none) == SB_EINPUT);
  CHECK(strstr(sb_errmsg(), "data.encoding: \"rate\" encodes analog images, but nmnist is an "
                "event dataset") != NULL);
  sb_clear_error();
  free(x);
  free(f);
}

/* ------------------------------------------------------------------ subsets */

static void subsets(void) {
  /* A hand-made dataset with unequal classes: 50 / 30 / 20 training, 10 / 6 / 4 test. */
  static int32_t ytr[100], yte[20];
  for (int i = 0; i < 100; i++) ytr[i] = i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2;
  for (int i = 0; i < 20; i++) yte[i] = ytr[i];
  sb_dataset d;
  memset(&d, 0, sizeof d);
  snprintf(d.name, sizeof d.name, "hand-made");
  d.n_classes = 3;
  d.train.n = 100;
  d.train.y = ytr;
  d.test.n = 20;
  d.test.y = yte;

  sb_split_view v;
  CHECK(sb_split_view_make(&d, "stratified", 7, 10, 10, 3, &v) == SB_OK);
  long cls[3][3] = {{0}};
  for (long i = 0; i < v.n_val; i++) cls[0][ytr[v.val[i]]]++;
  for (long i = 0; i < v.n_train; i++) cls[1][ytr[v.train[i]]]++;
  for (long i = 0; i < v.n_test; i++) cls[2][yte[v.test[i]]]++;
  /* val: 10 of 50/30/20 -> 5/3/2. train: 7 of the remaining 45/27/18 (n 90): 3.5/2.1/1.4 ->
   * 3/2/1 + the leftover to the largest remainder (class 0) -> 4/2/1. test: 10 of 10/6/4. */
  CHECK(cls[0][0] == 5 && cls[0][1] == 3 && cls[0][2] == 2);
  CHECK(cls[1][0] == 4 && cls[1][1] == 2 && cls[1][2] == 1);
  CHECK(cls[2][0] == 5 && cls[2][1] == 3 && cls[2][2] == 2);
  int disjoint = 1, sorted = 1;
  for (long i = 0; i < v.n_val; i++)
    for (long j = 0; j < v.n_train; j++) disjoint &= v.val[i] != v.train[j];
  for (long i = 1; i < v.n_train; i++) sorted &= v.train[i - 1] < v.train[i];
  CHECK(disjoint && sorted);
  sb_split_view w;
  CHECK(sb_split_view_make(&d, "stratified", 7, 10, 10, 3, &w) == SB_OK);
  CHECK(!memcmp(v.train, w.train, 7 * sizeof(int32_t)) && !memcmp(v.val, w.val, 10 * sizeof(int32_t)));
  sb_split_view_free(&w);
  CHECK(sb_split_view_make(&d, "stratified", 7, 10, 10, 4, &w) == SB_OK);
  CHECK(memcmp(v.val, w.val, 10 * sizeof(int32_t)) != 0);  /* another seed, another draw */
  sb_split_view_free(&w);
  sb_split_view_free(&v);

  /* "first": the validation set is the seeded carve; training is the first N of the rest. */
  CHECK(sb_split_view_make(&d, "first", 20, 10, 5, 3, &v) == SB_OK);
  int in_val[100] = {0};
  for (long i = 0; i < v.n_val; i++) in_val[v.val[i]] = 1;
  long next = 0, ok = 1;
  for (long i = 0; i < v.n_train; i++) {
    while (in_val[next]) next++;
    ok &= v.train[i] == next++;
  }
  CHECK(ok && v.n_test == 5 && v.test[4] == 4);
  sb_split_view_free(&v);
  /* "random" and "first" carve the same validation set from the same seed. */
  CHECK(sb_split_view_make(&d, "random", 20, 10, 5, 3, &w) == SB_OK);
  CHECK(sb_split_view_make(&d, "first", 20, 10, 5, 3, &v) == SB_OK);
  CHECK(!memcmp(v.val, w.val, 10 * sizeof(int32_t)));
  sb_split_view_free(&v);
  sb_split_view_free(&w);
  /* Sizes that do not fit. */
  CHECK(sb_split_view_make(&d, "stratified", 95, 10, 0, 3, &v) == SB_EINPUT);
  CHECK(strstr(sb_errmsg(), "data.train_size: 95 + val_size 10 exceeds the 100") != NULL);
  sb_clear_error();
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/snnbench-test-pipeline-%ld", (long)getpid());
  tw_mkdir("%s", g_dir);
  direct_and_normalise();
  rate();
  latency();
  geometry();
  erasing();
  beta();
  mixup();
  thread_independence();
  event_frames();
  subsets();
  sb_dataset_cache_clear();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  if (system(cmd)) return 1;
  return check_exit("test_pipeline");
}
