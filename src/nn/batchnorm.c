/* Batch normalisation over channels, with statistics taken over all T·B rows at once (the
 * multi-step convention of SpikingJelly's SeqToANNContainer) and over space for [C,H,W] inputs.
 * A static input keeps its statistics over B, which equal those over T·B copies. Running
 * statistics follow PyTorch: momentum 0.1, unbiased variance, eps 1e-5. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "nn/layers.h"

typedef struct {
  sb_layer base;
  int C, S;  /* channels, spatial size per channel */
  float eps, momentum;
  float *gamma, *dgamma, *beta, *dbeta;
  float *running_mean, *running_var;
  float *mean, *invstd;  /* batch statistics of the last training forward */
} bn_layer;

static const char *const bn_keys[] = {"eps", "momentum", NULL};

static sb_status bn_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  bn_layer *l = (bn_layer *)base;
  sb_status st;
  double eps, momentum;
  if ((st = sb_spec_check_keys(b, base, spec, bn_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if ((st = sb_spec_num(b, base, spec, "eps", 1e-5, 0.0, 1.0, &eps))) return st;
  if ((st = sb_spec_num(b, base, spec, "momentum", 0.1, 0.0, 1.0, &momentum))) return st;
  const sb_shape s = base->in[0]->shape;
  l->C = s.d[0];
  l->S = (int)(sb_shape_numel(s) / s.d[0]);
  l->eps = (float)eps;
  l->momentum = (float)momentum;
  base->out.shape = s;
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  sb_builder_param(b, base, "weight", &l->gamma, &l->dgamma, l->C);
  sb_builder_param(b, base, "bias", &l->beta, &l->dbeta, l->C);
  sb_builder_buffer(b, base, "running_mean", &l->running_mean, l->C);
  sb_builder_buffer(b, base, "running_var", &l->running_var, l->C);
  sb_builder_floats(b, &l->mean, l->C);
  sb_builder_floats(b, &l->invstd, l->C);
  return SB_OK;
}

static void bn_init(sb_layer *base, uint64_t seed) {
  (void)seed;
  bn_layer *l = (bn_layer *)base;
  for (int c = 0; c < l->C; c++) {
    l->gamma[c] = 1.0f;
    l->beta[c] = 0.0f;
    l->running_mean[c] = 0.0f;
    l->running_var[c] = 1.0f;
  }
}

enum { BN_MIN_CHANNELS = 16 };

/* Per-channel sums over rows and space, each channel summed in a fixed order. */
static void channel_moments(const bn_layer *l, const float *x, long rows, double *mean,
                            double *var) {
  const int C = l->C, S = l->S;
  const int pieces = sb_pieces(C, BN_MIN_CHANNELS, 64);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    const int c0 = (int)((long)C * p / pieces), c1 = (int)((long)C * (p + 1) / pieces);
    for (int c = c0; c < c1; c++) mean[c] = var[c] = 0.0;
    for (long r = 0; r < rows; r++)
      for (int c = c0; c < c1; c++) {
        const float *xc = x + (r * C + c) * S;
        double s = 0.0;
        for (int k = 0; k < S; k++) s += xc[k];
        mean[c] += s;
      }
    const double n = (double)rows * S;
    for (int c = c0; c < c1; c++) mean[c] /= n;
    for (long r = 0; r < rows; r++)
      for (int c = c0; c < c1; c++) {
        const float *xc = x + (r * C + c) * S;
        double s = 0.0;
        for (int k = 0; k < S; k++) {
          const double d = xc[k] - mean[c];
          s += d * d;
        }
        var[c] += s;
      }
    for (int c = c0; c < c1; c++) var[c] /= n;
  }
}

static void bn_forward(sb_layer *base, const sb_ctx *c) {
  bn_layer *l = (bn_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const int C = l->C, S = l->S;
  float scale[C], shift[C];
  if (c->train || c->smooth) {
    double mean[C], var[C];
    channel_moments(l, in->x, rows, mean, var);
    const double n = (double)rows * S;
    for (int k = 0; k < C; k++) {
      l->mean[k] = (float)mean[k];
      l->invstd[k] = (float)(1.0 / sqrt(var[k] + l->eps));
      if (c->train) {
        const double unbiased = n > 1 ? var[k] * n / (n - 1) : var[k];
        l->running_mean[k] = (1 - l->momentum) * l->running_mean[k] + l->momentum * (float)mean[k];
        l->running_var[k] = (1 - l->momentum) * l->running_var[k] + l->momentum * (float)unbiased;
      }
      scale[k] = l->gamma[k] * l->invstd[k];
      shift[k] = l->beta[k] - l->mean[k] * scale[k];
    }
  } else {
    for (int k = 0; k < C; k++) {
      scale[k] = l->gamma[k] / sqrtf(l->running_var[k] + l->eps);
      shift[k] = l->beta[k] - l->running_mean[k] * scale[k];
    }
  }
  const float *x = in->x;
  float *y = base->out.x;
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++)
    for (int k = 0; k < C; k++) {
      const long o = (r * C + k) * S;
      for (int s = 0; s < S; s++) y[o + s] = x[o + s] * scale[k] + shift[k];
    }
}

static void bn_backward(sb_layer *base, const sb_ctx *c) {
  bn_layer *l = (bn_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const int C = l->C, S = l->S;
  const float *x = in->x, *dy = base->out.g;
  double sum_dy[C], sum_dy_xhat[C];
  const int pieces = sb_pieces(C, BN_MIN_CHANNELS, 64);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    const int c0 = (int)((long)C * p / pieces), c1 = (int)((long)C * (p + 1) / pieces);
    for (int k = c0; k < c1; k++) sum_dy[k] = sum_dy_xhat[k] = 0.0;
    for (long r = 0; r < rows; r++)
      for (int k = c0; k < c1; k++) {
        const long o = (r * C + k) * S;
        double a = 0.0, b = 0.0;
        for (int s = 0; s < S; s++) {
          a += dy[o + s];
          b += dy[o + s] * (x[o + s] - l->mean[k]) * l->invstd[k];
        }
        sum_dy[k] += a;
        sum_dy_xhat[k] += b;
      }
  }
  for (int k = 0; k < C; k++) {
    l->dbeta[k] = (float)sum_dy[k];
    l->dgamma[k] = (float)sum_dy_xhat[k];
  }
  if (!in->needs_grad) return;
  const double n = (double)rows * S;
  float a[C], m_dy[C], m_dyx[C];
  for (int k = 0; k < C; k++) {
    a[k] = l->gamma[k] * l->invstd[k];
    m_dy[k] = (float)(sum_dy[k] / n);
    m_dyx[k] = (float)(sum_dy_xhat[k] / n);
  }
  float *dx = in->g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++)
    for (int k = 0; k < C; k++) {
      const long o = (r * C + k) * S;
      for (int s = 0; s < S; s++) {
        const float xhat = (x[o + s] - l->mean[k]) * l->invstd[k];
        const float v = a[k] * (dy[o + s] - m_dy[k] - xhat * m_dyx[k]);
        dx[o + s] = acc ? dx[o + s] + v : v;
      }
    }
}

static void bn_describe(const sb_layer *base, char *buf, size_t n) {
  const bn_layer *l = (const bn_layer *)base;
  snprintf(buf, n, "%d channels, stats over T*B%s, eps=%g momentum=%g", l->C,
           l->S > 1 ? "*H*W" : "", l->eps, l->momentum);
}

const sb_layer_ops sb_batchnorm_ops = {"batchnorm", sizeof(bn_layer), bn_build, bn_init,
                                       bn_forward, bn_backward, bn_describe, NULL, NULL};
