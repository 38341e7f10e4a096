/* The input pipeline. Per batch:
 *   1. each sample to analog floats: image bytes / 255, or events binned into T frames;
 *   2. training only: geometric augmentation (affine, padded crop, flip);
 *   3. direct-encoded images: per-channel normalisation;
 *   4. training only: random erasing, then mixup across the batch;
 *   5. into the model's layout: the analog sample (direct), its frames, or spikes (rate, latency).
 * Steps 1-3 and 5 run in parallel over samples; each sample's draws depend only on (seed, epoch,
 * sample index), so the result is bitwise the same for any thread count. */
#include "snnbench/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

typedef enum { ENC_DIRECT, ENC_RATE, ENC_LATENCY } encoding;

struct sb_pipeline {
  const sb_dataset *d;
  encoding enc;
  int events;            /* event dataset: its frames are the input */
  int T;
  sb_shape shape;        /* per step */
  long numel;            /* per step */
  long sample_floats;    /* analog floats per sample: numel, or T·numel for events */
  int planes, H, W;      /* the sample as planes of HxW, for the augmentations */
  int normalize;
  float mean[4], inv_std[4];
  float pixel[4][256];   /* byte -> input value of each plane: /255, then normalised if asked */
  sb_augment_cfg aug;
  int augment, geometric;
  double mixup_alpha, mixup_prob;
  sb_split_by split_by;
  int clip;
  sb_frame_norm frame_norm;
  int binary;
  int max_batch, train_batch;
  int ws_rows, tmp_rows; /* samples the scratch buffers hold */
  float *ws, *tmp;       /* [rows][sample_floats] */
  int32_t *partner;      /* mixup partner of each sample */
};

sb_status sb_pipeline_source(const sb_experiment *e, const sb_cell_config *cfg,
                             sb_data_source *src) {
  memset(src, 0, sizeof *src);
  snprintf(src->name, sizeof src->name, "%s", cfg->data.name);
  snprintf(src->labels, sizeof src->labels, "%s", cfg->data.cifar100_labels);
  if (!strcmp(cfg->data.name, "synthetic")) {
    if (cfg->data.path[0])
      return sb_fail(SB_EINPUT, "%s: data.path: the synthetic dataset is generated, not read; "
                     "remove data.path (\"%s\")", e->path, cfg->data.path);
    int *s = src->synthetic_shape;
    if (sscanf(cfg->data.synthetic.shape, "%dx%dx%d", &s[0], &s[1], &s[2]) != 3)
      return sb_fail(SB_EINPUT, "%s: data.synthetic.shape: \"%s\" is not CxHxW", e->path,
                     cfg->data.synthetic.shape);
    src->synthetic_classes = cfg->data.synthetic.classes;
    src->synthetic_samples = cfg->data.synthetic.samples;
    return SB_OK;
  }
  sb_experiment_path(e, cfg->data.path, src->path, sizeof src->path);
  return SB_OK;
}

/* Under split_by "time" every frame window is span / T µs wide, so a sample shorter than T µs
 * has no valid windows (SpikingJelly fails on it too): refuse it before training starts. A
 * sample without events (an empty N-MNIST .bin) has no span at all and is refused alike; under
 * "number" it is read as T empty frames. */
static sb_status check_time_windows(const sb_dataset *d, const sb_split *s, const char *which,
                                    int T) {
  for (long i = 0; i < s->n; i++) {
    const int64_t a = s->ev_off[i], n = s->ev_off[i + 1] - a;
    if (n == 0)
      return sb_fail(SB_EINPUT, "data.frames.split_by: \"time\" needs events to measure time "
                     "windows, but %s sample %ld of %s (label %d) has no events; use \"number\" "
                     "(empty frames) or remove the recording", which, i, d->name, s->y[i]);
    const uint32_t span = sb_events_span(s->ev_t + a, n);
    if (span < (uint32_t)T)
      return sb_fail(SB_EINPUT, "data.frames.split_by: \"time\" needs every sample to span at "
                     "least T = %d µs, but %s sample %ld of %s (label %d, %lld events) spans "
                     "%u µs; use \"number\"", T, which, i, d->name, s->y[i], (long long)n, span);
  }
  return SB_OK;
}

sb_status sb_pipeline_create(const sb_cell_config *cfg, const sb_dataset *d, sb_pipeline **out) {
  *out = NULL;
  const char *enc = cfg->data.encoding;
  const encoding e = !strcmp(enc, "rate") ? ENC_RATE : !strcmp(enc, "latency") ? ENC_LATENCY
                     : !strcmp(enc, "direct")   ? ENC_DIRECT
                                                : (encoding)-1;
  if ((int)e < 0) return sb_fail(SB_EINPUT, "data.encoding: \"%s\" is not available", enc);
  const int events = d->kind == SB_DATA_EVENTS;
  if (events && e != ENC_DIRECT)
    return sb_fail(SB_EINPUT, "data.encoding: \"%s\" encodes analog images, but %s is an event "
                   "dataset whose frames are the input; use \"direct\"", enc, d->name);
  const char *fn = cfg->data.frames.normalize;
  const sb_frame_norm norm = !strcmp(fn, "clip") ? SB_FRAMES_BY_CLIP
                             : !strcmp(fn, "max") ? SB_FRAMES_BY_MAX
                                                  : SB_FRAMES_COUNTS;
  if (events && norm == SB_FRAMES_BY_CLIP && cfg->data.frames.clip == 0)
    return sb_fail(SB_EINPUT, "data.frames.normalize: \"clip\" divides by data.frames.clip, which "
                   "is 0 (no clipping); set data.frames.clip");
  const double smin = cfg->data.augment.affine.scale_min, smax = cfg->data.augment.affine.scale_max;
  if (smin <= 0.0)
    return sb_fail(SB_EINPUT, "data.augment.affine.scale_min: %g must be above 0", smin);
  if (smin > smax)
    return sb_fail(SB_EINPUT, "data.augment.affine.scale_min: %g is above scale_max %g", smin,
                   smax);
  const sb_split_by by = strcmp(cfg->data.frames.split_by, "time") ? SB_SPLIT_BY_NUMBER
                                                                    : SB_SPLIT_BY_TIME;
  const int T = cfg->timesteps;
  if (events && by == SB_SPLIT_BY_TIME) {
    sb_status st = check_time_windows(d, &d->train, "training", T);
    if (!st) st = check_time_windows(d, &d->test, "test", T);
    if (st) return st;
  }

  sb_pipeline *p = sb_xcalloc(1, sizeof *p);
  p->d = d;
  p->enc = e;
  p->events = events;
  p->T = T;
  p->shape = d->train.shape;
  p->numel = sb_shape_numel(p->shape);
  p->sample_floats = events ? (long)T * p->numel : p->numel;
  p->H = p->shape.d[1];
  p->W = p->shape.d[2];
  p->planes = (int)(p->sample_floats / ((long)p->H * p->W));
  p->normalize = !events && e == ENC_DIRECT && cfg->data.normalize;
  for (int c = 0; c < 4; c++) {
    p->mean[c] = p->normalize ? d->mean[c] : 0.0f;
    p->inv_std[c] = p->normalize ? 1.0f / d->std[c] : 1.0f;
    /* The same two roundings as decoding then normalising (v = px/255, (v − mean)·inv_std),
     * so the table changes no bit, only the cost. */
    for (int i = 0; i < 256; i++) {
      const float v = (float)i / 255.0f;
      p->pixel[c][i] = p->normalize ? (v - p->mean[c]) * p->inv_std[c] : v;
    }
  }
  p->aug = (sb_augment_cfg){.crop_padding = cfg->data.augment.crop_padding,
                            .hflip = (float)cfg->data.augment.hflip,
                            .degrees = (float)cfg->data.augment.affine.degrees,
                            .translate = (float)cfg->data.augment.affine.translate,
                            .scale_min = (float)smin,
                            .scale_max = (float)smax,
                            .erase = (float)cfg->data.augment.erase};
  p->geometric = sb_augment_geometric(&p->aug);
  p->augment = p->geometric || p->aug.erase > 0;
  p->mixup_alpha = cfg->data.mixup.alpha;
  p->mixup_prob = cfg->data.mixup.prob;
  p->split_by = by;
  p->clip = cfg->data.frames.clip;
  p->frame_norm = norm;
  /* Spikes: the encoders' outputs, and event frames clipped at one count unless mixup blends
   * them (geometry and erasing only move or zero values). */
  p->binary = e != ENC_DIRECT || (events && p->clip == 1 && p->mixup_alpha == 0);
  p->max_batch = cfg->train.batch_size > cfg->eval.batch_size ? cfg->train.batch_size
                                                              : cfg->eval.batch_size;
  p->train_batch = cfg->train.batch_size;
  /* Scratch only where it is needed: event frames are binned straight into the batch unless a
   * training batch is augmented or mixed, and only training batches use the second buffer. At
   * DVS sizes a frame sample is T·32768 floats, so this is the difference between megabytes and
   * gigabytes for a large eval.batch_size. */
  const int mixes = p->mixup_alpha > 0;
  p->ws_rows = !events ? p->max_batch : (p->augment || mixes) ? p->train_batch : 0;
  p->tmp_rows = (p->geometric || mixes) ? p->train_batch : 0;
  p->ws = sb_xmalloc((unsigned long)p->ws_rows * (unsigned long)p->sample_floats * sizeof(float));
  p->tmp = sb_xmalloc((unsigned long)p->tmp_rows * (unsigned long)p->sample_floats * sizeof(float));
  p->partner = sb_xmalloc((unsigned long)p->max_batch * sizeof(int32_t));
  *out = p;
  return SB_OK;
}

void sb_pipeline_free(sb_pipeline *p) {
  if (!p) return;
  free(p->ws);
  free(p->tmp);
  free(p->partner);
  free(p);
}

sb_shape sb_pipeline_shape(const sb_pipeline *p) { return p->shape; }
int sb_pipeline_static(const sb_pipeline *p) { return !p->events && p->enc == ENC_DIRECT; }
int sb_pipeline_binary(const sb_pipeline *p) { return p->binary; }

long sb_pipeline_batch_floats(const sb_pipeline *p, int T, int B) {
  return (long)(sb_pipeline_static(p) ? 1 : T) * B * p->numel;
}

/* Step 1: sample i of s as analog floats; event frames go to v + t·stride. */
static void load_sample(const sb_pipeline *p, const sb_split *s, long i, float *v, long stride) {
  if (!p->events) {
    const uint8_t *px = s->u8 + i * p->numel;
    for (long k = 0; k < p->numel; k++) v[k] = px[k] / 255.0f;
    return;
  }
  const int64_t a = s->ev_off[i];
  sb_events_to_frames(s->ev_xyp + a, s->ev_t + a, s->ev_off[i + 1] - a, p->T, p->split_by, p->H,
                      p->W, v, stride);
  sb_frames_finish(v, p->T, p->numel, stride, p->clip, p->frame_norm);
}

int sb_pipeline_batch(const sb_pipeline *cp, const sb_split *s, const int32_t *idx, int n,
                      const sb_batch_key *key, float *x, int32_t *y, float *soft) {
  sb_pipeline *p = (sb_pipeline *)cp;  /* only the scratch buffers change */
  SB_ASSERT(n >= 1 && n <= p->max_batch);
  SB_ASSERT(sb_pipeline_static(p) || key->T == p->T);
  const long sf = p->sample_floats, numel = p->numel;
  const int T = p->T;
  /* Keeps every (epoch, train/eval, split) apart: a sample index means different data in the
   * training and the test split, and validation reuses training indices without augmentation. */
  const uint32_t tag = (uint32_t)key->epoch * 4u + (key->train ? 0u : 2u) + (s == &p->d->test);
  const int augment = key->train && p->augment;
  const int mixes = key->train && p->mixup_alpha > 0;

  if (p->events && !augment && !mixes) {
    /* Frames straight into the time-major batch: frame t of row b at x + (t·n + b)·numel. */
#pragma omp parallel for schedule(static) if ((long)n * sf > 65536)
    for (int b = 0; b < n; b++) {
      load_sample(p, s, idx[b], x + (long)b * numel, (long)n * numel);
      y[b] = s->y[idx[b]];
    }
    return 0;
  }
  SB_ASSERT(n <= p->ws_rows && ((!(augment && p->geometric) && !mixes) || n <= p->tmp_rows));

  /* A byte image that no geometric augmentation resamples is decoded and normalised in one
   * table lookup per pixel. */
  const int lookup = !p->events && !(augment && p->geometric);
#pragma omp parallel for schedule(static) if ((long)n * sf > 65536)
  for (int b = 0; b < n; b++) {
    float *v = p->ws + b * sf;
    if (lookup) {
      const uint8_t *px = s->u8 + (long)idx[b] * numel;
      const long plane = (long)p->H * p->W;
      for (int c = 0; c < p->planes; c++)
        for (long k = c * plane; k < (c + 1) * plane; k++) v[k] = p->pixel[c][px[k]];
    } else {
      load_sample(p, s, idx[b], v, numel);
    }
    sb_rng r;
    sb_rng_init(&r, key->seed, sb_stream(SB_STREAM_AUGMENT, tag));
    r.index = (uint64_t)(uint32_t)idx[b] << 32;
    if (augment && p->geometric) {
      const float *res = sb_augment_geometry(&p->aug, &r, v, p->tmp + b * sf, p->planes, p->H,
                                             p->W);
      if (res != v) memcpy(v, res, (size_t)sf * sizeof(float));
    }
    if (p->normalize && !lookup) {
      const long plane = (long)p->H * p->W;
      for (int c = 0; c < p->planes; c++)
        for (long k = c * plane; k < (c + 1) * plane; k++)
          v[k] = (v[k] - p->mean[c]) * p->inv_std[c];
    }
    if (augment && p->aug.erase > 0) sb_augment_erase(&p->aug, &r, v, p->planes, p->H, p->W);
    y[b] = s->y[idx[b]];
  }

  /* Mixup (Zhang et al.): one draw per batch decides whether it is mixed, then
   * x_i = λ·x_i + (1 − λ)·x_π(i) and the same blend of one-hot targets, π a random permutation. */
  const float *src = p->ws;
  int mixed = 0;
  if (mixes) {
    sb_rng r;
    sb_rng_init(&r, key->seed, sb_stream(SB_STREAM_AUGMENT, tag));
    r.index = (1ull << 63) | (uint64_t)key->batch << 32;
    if (sb_rng_uniform(&r) < p->mixup_prob) {
      const float lam = (float)sb_sample_beta(&r, p->mixup_alpha, p->mixup_alpha);
      for (int b = 0; b < n; b++) p->partner[b] = b;
      sb_rng_shuffle(&r, p->partner, n);
      const int C = p->d->n_classes;
#pragma omp parallel for schedule(static) if ((long)n * sf > 65536)
      for (int b = 0; b < n; b++) {
        const float *u = p->ws + b * sf, *w = p->ws + (long)p->partner[b] * sf;
        float *o = p->tmp + b * sf;
        for (long k = 0; k < sf; k++) o[k] = lam * u[k] + (1.0f - lam) * w[k];
      }
      for (int b = 0; b < n; b++) {
        float *t = soft + (long)b * C;
        for (int k = 0; k < C; k++) t[k] = 0.0f;
        t[y[b]] += lam;
        t[y[p->partner[b]]] += 1.0f - lam;
      }
      src = p->tmp;
      mixed = 1;
    }
  }

#pragma omp parallel for schedule(static) if ((long)n * sf > 65536)
  for (int b = 0; b < n; b++) {
    const float *v = src + b * sf;
    switch (p->events ? -1 : (int)p->enc) {
      case -1:  /* frames: time-major */
        for (int t = 0; t < T; t++)
          memcpy(x + ((long)t * n + b) * numel, v + (long)t * numel, (size_t)numel * sizeof(float));
        break;
      case ENC_DIRECT:
        memcpy(x + (long)b * numel, v, (size_t)numel * sizeof(float));
        break;
      case ENC_RATE:
        sb_encode_rate(v, numel, T, key->seed, sb_stream(SB_STREAM_ENCODE, tag),
                       (uint64_t)(uint32_t)idx[b] << 32, x + (long)b * numel, (long)n * numel);
        break;
      case ENC_LATENCY:
        sb_encode_latency(v, numel, T, x + (long)b * numel, (long)n * numel);
        break;
    }
  }
  return mixed;
}
