/* weighted_sum: y = Σ_i softmax(w)_i · x_i over 2..4 inputs of equal shape, with learnable
 * logits w initialised to 1/N each (the APEX multi-scale readout ensemble,
 * `F.softmax(self.ensemble_w)` with `torch.ones(N) / N`).
 *
 * Backward: dx_i = p_i dy; with G_i = Σ dy · x_i over every value, dw_j = p_j (G_j − Σ_i p_i G_i).
 * Static inputs are broadcast over t like add's. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "nn/layers.h"

typedef struct {
  sb_layer base;
  float *w, *dw;
  float p[SB_MAX_INPUTS];  /* softmax(w) of the last forward */
  double *partial;
} wsum_layer;

static const char *const no_keys[] = {NULL};

static sb_status wsum_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  wsum_layer *l = (wsum_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, no_keys))) return st;
  if (base->n_in < 2) return sb_builder_error(b, base, "needs 2 to 4 inputs (\"in\": [a, b, ...])");
  const sb_shape s0 = base->in[0]->shape;
  int is_static = 1;
  for (int i = 0; i < base->n_in; i++) {
    const sb_shape s = base->in[i]->shape;
    int same = s.ndim == s0.ndim;
    for (int k = 0; same && k < s.ndim; k++) same = s.d[k] == s0.d[k];
    if (!same) {
      char a[32], c[32];
      return sb_builder_error(b, base, "input %d is %s but input 0 is %s; weighted_sum needs equal "
                              "shapes", i, sb_shape_str(s, a, sizeof a), sb_shape_str(s0, c, sizeof c));
    }
    is_static &= base->in[i]->is_static;
  }
  base->out.shape = s0;
  base->out.is_static = is_static;
  base->out.is_binary = 0;
  sb_builder_param(b, base, "weight", &l->w, &l->dw, base->n_in);
  sb_builder_partials(b, &l->partial, base->n_in);
  return SB_OK;
}

static void wsum_init(sb_layer *base, uint64_t seed) {
  (void)seed;
  wsum_layer *l = (wsum_layer *)base;
  for (int i = 0; i < base->n_in; i++) l->w[i] = 1.0f / (float)base->n_in;
}

static void softmax_weights(wsum_layer *l, int n) {
  float mx = l->w[0], sum = 0.0f;
  for (int i = 1; i < n; i++) mx = l->w[i] > mx ? l->w[i] : mx;
  for (int i = 0; i < n; i++) sum += l->p[i] = expf(l->w[i] - mx);
  for (int i = 0; i < n; i++) l->p[i] /= sum;
}

static void wsum_forward(sb_layer *base, const sb_ctx *c) {
  wsum_layer *l = (wsum_layer *)base;
  const int n = base->n_in;
  softmax_weights(l, n);
  const long R = (long)c->B * sb_shape_numel(base->out.shape);
  const int steps = base->out.is_static ? 1 : c->T;
  float p[SB_MAX_INPUTS];
  for (int i = 0; i < n; i++) p[i] = l->p[i];
  for (int t = 0; t < steps; t++) {
    const float *x[SB_MAX_INPUTS];
    for (int i = 0; i < n; i++) x[i] = base->in[i]->x + (base->in[i]->is_static ? 0 : (long)t * R);
    float *y = base->out.x + (long)t * R;
#pragma omp parallel for schedule(static) if (R > 65536)
    for (long e = 0; e < R; e++) {
      float s = p[0] * x[0][e];
      for (int i = 1; i < n; i++) s += p[i] * x[i][e];
      y[e] = s;
    }
  }
}

static void wsum_backward(sb_layer *base, const sb_ctx *c) {
  wsum_layer *l = (wsum_layer *)base;
  const int n = base->n_in, steps = base->out.is_static ? 1 : c->T;
  const long R = (long)c->B * sb_shape_numel(base->out.shape);
  const long rows = (long)steps * c->B, row_len = R / c->B;
  const float *dy = base->out.g;
  /* G_i = Σ dy · x_i, with the output rows split into fixed pieces. */
  const int pieces = sb_partial_pieces(rows);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    long r0, r1;
    sb_piece_range(rows, pieces, p, &r0, &r1);
    double *acc = l->partial + (long)p * n;
    for (int i = 0; i < n; i++) acc[i] = 0.0;
    for (long r = r0; r < r1; r++) {
      const int t = (int)(r / c->B), b = (int)(r % c->B);
      const float *g = dy + r * row_len;
      for (int i = 0; i < n; i++) {
        const sb_act *in = base->in[i];
        const float *x = in->x + sb_act_row(in, t, b, c->B) * row_len;
        float s = 0.0f;
        for (long e = 0; e < row_len; e++) s += g[e] * x[e];
        acc[i] += s;
      }
    }
  }
  float G[SB_MAX_INPUTS];
  sb_partials_reduce(l->partial, pieces, n, G);
  double mean = 0.0;
  for (int i = 0; i < n; i++) mean += (double)l->p[i] * G[i];
  for (int j = 0; j < n; j++) l->dw[j] = (float)(l->p[j] * (G[j] - mean));

  for (int i = 0; i < n; i++) {
    sb_act *in = base->in[i];
    if (!in->needs_grad) continue;
    const float p = l->p[i];
    const int acc = base->in_accumulate[i];
    if (!in->is_static || steps == 1) {
      const long m = (long)steps * R;
#pragma omp parallel for schedule(static) if (m > 65536)
      for (long e = 0; e < m; e++) in->g[e] = acc ? in->g[e] + p * dy[e] : p * dy[e];
    } else {
#pragma omp parallel for schedule(static) if ((long)steps * R > 65536)
      for (long e = 0; e < R; e++) {
        float s = 0.0f;
        for (int t = 0; t < steps; t++) s += dy[(long)t * R + e];
        in->g[e] = acc ? in->g[e] + p * s : p * s;
      }
    }
  }
}

static void wsum_describe(const sb_layer *base, char *buf, size_t n) {
  snprintf(buf, n, "softmax(w) over %d inputs, w init 1/%d", base->n_in, base->n_in);
}

const sb_layer_ops sb_weighted_sum_ops = {"weighted_sum", sizeof(wsum_layer), wsum_build,
                                          wsum_init, wsum_forward, wsum_backward, wsum_describe, NULL, NULL};
