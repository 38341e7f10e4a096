/* sparsity_mask: APEX's progressive sparsity (run_apex_snn.py::SparsityLayer, notebook 001).
 * A learnable importance per channel (per feature of a [F] vector), initialised to 1.
 *   training:   y = x · sigmoid(importance)                 (soft mask, 0.731 at init)
 *   evaluation: y = x · [sigmoid(imp) >= quantile(sigmoid(imp), sparsity)]
 * with sparsity = start + progress · (end − start), progress = epoch / (n_epochs + 1), and
 * torch.quantile's linear interpolation between the sorted values. The hard mask has no gradient
 * with respect to the importance (a comparison), so a backward after an evaluation forward passes
 * dy · mask to the input and zero to the importance. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "nn/layers.h"

typedef struct {
  sb_layer base;
  float start, end;
  int C;
  long S;
  float *imp, *dimp;
  float *mask;     /* [C] multiplier of the last forward */
  float *sorted;   /* [C] scratch for the quantile */
  int hard;        /* the last forward used the evaluation mask */
  float last_sparsity, last_threshold;
  double *partial;
} sparsity_layer;

static const char *const sparsity_keys[] = {"start", "end", NULL};

static sb_status sparsity_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  sparsity_layer *l = (sparsity_layer *)base;
  sb_status st;
  double start, end;
  if ((st = sb_spec_check_keys(b, base, spec, sparsity_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if ((st = sb_spec_num(b, base, spec, "start", 0.2, 0.0, 1.0, &start))) return st;
  if ((st = sb_spec_num(b, base, spec, "end", 0.7, 0.0, 1.0, &end))) return st;
  l->start = (float)start;
  l->end = (float)end;
  const sb_shape s = base->in[0]->shape;
  l->C = sb_shape_channels(s);
  l->S = sb_shape_spatial(s);
  base->out.shape = s;
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  sb_builder_param(b, base, "importance", &l->imp, &l->dimp, l->C);
  sb_builder_floats(b, &l->mask, l->C);
  sb_builder_floats(b, &l->sorted, l->C);
  sb_builder_partials(b, &l->partial, l->C);
  return SB_OK;
}

static void sparsity_init(sb_layer *base, uint64_t seed) {
  (void)seed;
  sparsity_layer *l = (sparsity_layer *)base;
  for (int i = 0; i < l->C; i++) l->imp[i] = 1.0f;
}

/* In-place heapsort: no allocation (qsort may allocate), and C is at most a few thousand. */
static void sift_down(float *a, long root, long n) {
  for (;;) {
    long child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && a[child + 1] > a[child]) child++;
    if (a[root] >= a[child]) return;
    const float t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

static void sort_floats(float *a, long n) {
  for (long i = n / 2 - 1; i >= 0; i--) sift_down(a, i, n);
  for (long end = n - 1; end > 0; end--) {
    const float t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift_down(a, 0, end);
  }
}

/* torch.quantile(v, q), 'linear': position q (n − 1) between the sorted values, interpolated
 * with torch.lerp's two-sided formula, in float32 as torch computes it. */
float sb_quantile_linear(float *values, long n, float q) {
  sort_floats(values, n);
  const float rank = q * (float)(n - 1);
  const long lo = (long)floorf(rank), hi = (long)ceilf(rank);
  const float w = rank - (float)lo, a = values[lo], b = values[hi];
  return w < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
}

static void sparsity_forward(sb_layer *base, const sb_ctx *c) {
  sparsity_layer *l = (sparsity_layer *)base;
  const int C = l->C;
  for (int i = 0; i < C; i++) l->mask[i] = 1.0f / (1.0f + expf(-l->imp[i]));
  l->hard = !c->train;
  if (l->hard) {
    const double progress = c->n_epochs > 0 ? (double)c->epoch / (c->n_epochs + 1.0) : 0.0;
    l->last_sparsity = (float)(l->start + progress * ((double)l->end - l->start));
    for (int i = 0; i < C; i++) l->sorted[i] = l->mask[i];
    l->last_threshold = sb_quantile_linear(l->sorted, C, l->last_sparsity);
    for (int i = 0; i < C; i++) l->mask[i] = l->mask[i] >= l->last_threshold ? 1.0f : 0.0f;
  }
  const long rows = sb_act_rows(&base->out, c->T, c->B), S = l->S;
  const float *x = base->in[0]->x, *m = l->mask;
  float *y = base->out.x;
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++)
    for (long ch = 0; ch < C; ch++) {
      const long o = (r * C + ch) * S;
      for (long k = 0; k < S; k++) y[o + k] = x[o + k] * m[ch];
    }
}

static void sparsity_backward(sb_layer *base, const sb_ctx *c) {
  sparsity_layer *l = (sparsity_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(&base->out, c->T, c->B), C = l->C, S = l->S;
  const float *x = in->x, *dy = base->out.g, *m = l->mask;
  if (l->hard) {
    for (long ch = 0; ch < C; ch++) l->dimp[ch] = 0.0f;
  } else {
    const int pieces = sb_partial_pieces(rows);
#pragma omp parallel for schedule(static)
    for (int p = 0; p < pieces; p++) {
      long r0, r1;
      sb_piece_range(rows, pieces, p, &r0, &r1);
      double *acc = l->partial + (long)p * C;
      for (long ch = 0; ch < C; ch++) acc[ch] = 0.0;
      for (long r = r0; r < r1; r++)
        for (long ch = 0; ch < C; ch++) {
          const long o = (r * C + ch) * S;
          float s = 0.0f;
          for (long k = 0; k < S; k++) s += dy[o + k] * x[o + k];
          acc[ch] += s;
        }
    }
    sb_partials_reduce(l->partial, pieces, C, l->dimp);
    for (long ch = 0; ch < C; ch++) l->dimp[ch] *= m[ch] * (1.0f - m[ch]);
  }
  if (!in->needs_grad) return;
  float *dx = in->g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++)
    for (long ch = 0; ch < C; ch++) {
      const long o = (r * C + ch) * S;
      if (acc)
        for (long k = 0; k < S; k++) dx[o + k] += dy[o + k] * m[ch];
      else
        for (long k = 0; k < S; k++) dx[o + k] = dy[o + k] * m[ch];
    }
}

static void sparsity_describe(const sb_layer *base, char *buf, size_t n) {
  const sparsity_layer *l = (const sparsity_layer *)base;
  snprintf(buf, n, "x*sigmoid(importance) per %s; eval keeps the top, sparsity %g -> %g by epoch",
           base->in[0]->shape.ndim == 3 ? "channel" : "feature", l->start, l->end);
}

const sb_layer_ops sb_sparsity_mask_ops = {"sparsity_mask", sizeof(sparsity_layer), sparsity_build,
                                           sparsity_init, sparsity_forward, sparsity_backward,
                                           sparsity_describe, NULL, NULL};
