/* Batch normalisation over channels (and over space for [C,H,W] inputs). How an SNN calls it
 * over time decides its statistics, so the "stats" key names the seed convention:
 *
 *   "folded" (default): SpikingJelly's multi-step SeqToANNContainer (the Spike-driven
 *     Transformer): one call on the [T·B] rows of the whole sequence, statistics over all T·B
 *     rows, one running-statistics update per batch. A static input stands for its T identical
 *     copies: the batch statistics are those of B rows, and the unbiased variance of the running
 *     update counts n = T·B·S values, as BatchNorm on the repeated input does.
 *   "per_step": the module called once per time step inside the model's loop over t (the seed
 *     MNIST scripts and notebooks 000/001, in the snnTorch style): each step is normalised with
 *     the statistics of its own B rows, and the running statistics are updated after each step,
 *     T times per batch in step order (n = B·S). A static input gives the same statistics at
 *     every step and still T updates.
 *   "single_pass": a network that runs once per sample (the seeds' ANN baselines, notebook
 *     001's ANN_Baseline): a static input is that one pass, statistics over B rows and one
 *     update per batch (n = B·S); a sequence input is normalised as "folded".
 *
 * Running statistics follow PyTorch: momentum 0.1, unbiased variance, eps 1e-5; evaluation
 * normalises with them. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

typedef enum { BN_FOLDED, BN_PER_STEP, BN_SINGLE_PASS } bn_stats;

typedef struct {
  sb_layer base;
  int C, S;  /* channels, spatial size per channel */
  bn_stats stats;
  float eps, momentum;
  float *gamma, *dgamma, *beta, *dbeta;
  float *running_mean, *running_var;
  float *mean, *invstd;  /* batch statistics of the last training forward, [groups][C] */
  float *scale, *shift;  /* the affine map each group applied, [groups][C] */
} bn_layer;

static const char *const bn_keys[] = {"eps", "momentum", "stats", NULL};
static const char *const bn_stats_names[] = {"folded", "per_step", "single_pass", NULL};

static sb_status bn_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  bn_layer *l = (bn_layer *)base;
  sb_status st;
  double eps, momentum;
  char mode[32];
  if ((st = sb_spec_check_keys(b, base, spec, bn_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if ((st = sb_spec_num(b, base, spec, "eps", 1e-5, 0.0, 1.0, &eps))) return st;
  if ((st = sb_spec_num(b, base, spec, "momentum", 0.1, 0.0, 1.0, &momentum))) return st;
  if ((st = sb_spec_str(b, base, spec, "stats", "folded", mode, sizeof mode))) return st;
  int k = 0;
  while (bn_stats_names[k] && strcmp(mode, bn_stats_names[k])) k++;
  if (!bn_stats_names[k])
    return sb_builder_error(b, base, "\"stats\" is \"%s\"; expected one of \"folded\", "
                            "\"per_step\", \"single_pass\"", mode);
  l->stats = (bn_stats)k;
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
  const long groups = l->stats == BN_PER_STEP ? sb_builder_opts(b)->T : 1;
  sb_builder_floats(b, &l->mean, groups * l->C);
  sb_builder_floats(b, &l->invstd, groups * l->C);
  sb_builder_floats(b, &l->scale, groups * l->C);
  sb_builder_floats(b, &l->shift, groups * l->C);
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

/* The statistics groups of a call: `groups` runs of `rows` consecutive rows each. A static
 * input is one group of B rows in every mode; per_step splits a sequence into its T steps. */
static void bn_groups(const bn_layer *l, const sb_act *in, const sb_ctx *c, int *groups,
                      long *rows) {
  const int per_step = l->stats == BN_PER_STEP && !in->is_static && (c->train || c->smooth);
  *groups = per_step ? c->T : 1;
  *rows = per_step ? c->B : sb_act_rows(in, c->T, c->B);
}

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

/* PyTorch's running update with one group's statistics, `times` times in a row. */
static void update_running(bn_layer *l, const double *mean, const double *var, double n,
                           int times) {
  for (int k = 0; k < l->C; k++) {
    const double unbiased = n > 1 ? var[k] * n / (n - 1) : var[k];
    for (int i = 0; i < times; i++) {
      l->running_mean[k] = (1 - l->momentum) * l->running_mean[k] + l->momentum * (float)mean[k];
      l->running_var[k] = (1 - l->momentum) * l->running_var[k] + l->momentum * (float)unbiased;
    }
  }
}

static void bn_forward(sb_layer *base, const sb_ctx *c) {
  bn_layer *l = (bn_layer *)base;
  const sb_act *in = base->in[0];
  const int C = l->C, S = l->S;
  int groups;
  long grows;
  bn_groups(l, in, c, &groups, &grows);
  if (c->train || c->smooth) {
    double mean[C], var[C];
    for (int g = 0; g < groups; g++) {
      channel_moments(l, in->x + g * grows * C * S, grows, mean, var);
      float *gm = l->mean + (long)g * C, *gi = l->invstd + (long)g * C;
      for (int k = 0; k < C; k++) {
        gm[k] = (float)mean[k];
        gi[k] = (float)(1.0 / sqrt(var[k] + l->eps));
        l->scale[(long)g * C + k] = l->gamma[k] * gi[k];
        l->shift[(long)g * C + k] = l->beta[k] - gm[k] * l->scale[(long)g * C + k];
      }
      if (!c->train) continue;
      /* How many values the running variance is unbiased over, and how many updates. */
      double n = (double)grows * S;
      int times = 1;
      if (in->is_static && l->stats == BN_FOLDED) n *= c->T;
      if (in->is_static && l->stats == BN_PER_STEP) times = c->T;
      update_running(l, mean, var, n, times);
    }
  } else {
    for (int k = 0; k < C; k++) {
      l->scale[k] = l->gamma[k] / sqrtf(l->running_var[k] + l->eps);
      l->shift[k] = l->beta[k] - l->running_mean[k] * l->scale[k];
    }
  }
  const long rows = (long)groups * grows;
  const float *x = in->x;
  float *y = base->out.x;
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++) {
    const float *scale = l->scale + (r / grows) * C, *shift = l->shift + (r / grows) * C;
    for (int k = 0; k < C; k++) {
      const long o = (r * C + k) * S;
      for (int s = 0; s < S; s++) y[o + s] = x[o + s] * scale[k] + shift[k];
    }
  }
}

/* The gradient of one statistics group (rows consecutive rows from x, dy, dx). */
static void bn_backward_group(bn_layer *l, const float *x, const float *dy, float *dx, long rows,
                              const float *mean, const float *invstd, double *sum_dy,
                              double *sum_dy_xhat, int acc) {
  const int C = l->C, S = l->S;
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
          b += dy[o + s] * (x[o + s] - mean[k]) * invstd[k];
        }
        sum_dy[k] += a;
        sum_dy_xhat[k] += b;
      }
  }
  if (!dx) return;
  const double n = (double)rows * S;
  float a[C], m_dy[C], m_dyx[C];
  for (int k = 0; k < C; k++) {
    a[k] = l->gamma[k] * invstd[k];
    m_dy[k] = (float)(sum_dy[k] / n);
    m_dyx[k] = (float)(sum_dy_xhat[k] / n);
  }
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++)
    for (int k = 0; k < C; k++) {
      const long o = (r * C + k) * S;
      for (int s = 0; s < S; s++) {
        const float xhat = (x[o + s] - mean[k]) * invstd[k];
        const float v = a[k] * (dy[o + s] - m_dy[k] - xhat * m_dyx[k]);
        dx[o + s] = acc ? dx[o + s] + v : v;
      }
    }
}

/* A static input (one group) receives the gradient summed over the steps its output stood for:
 * the normalisation is the same at every step and linear in dy, so the summed output gradient
 * gives the summed input gradient, in every mode. */
static void bn_backward(sb_layer *base, const sb_ctx *c) {
  bn_layer *l = (bn_layer *)base;
  sb_act *in = base->in[0];
  const int C = l->C, S = l->S;
  int groups;
  long grows;
  bn_groups(l, in, c, &groups, &grows);
  double sum_dy[C], sum_dy_xhat[C], tot_dy[C], tot_dy_xhat[C];
  for (int k = 0; k < C; k++) tot_dy[k] = tot_dy_xhat[k] = 0.0;
  for (int g = 0; g < groups; g++) {
    const long off = g * grows * C * S;
    bn_backward_group(l, in->x + off, base->out.g + off, in->needs_grad ? in->g + off : NULL,
                      grows, l->mean + (long)g * C, l->invstd + (long)g * C, sum_dy, sum_dy_xhat,
                      base->in_accumulate[0]);
    for (int k = 0; k < C; k++) {
      tot_dy[k] += sum_dy[k];
      tot_dy_xhat[k] += sum_dy_xhat[k];
    }
  }
  for (int k = 0; k < C; k++) {
    l->dbeta[k] = (float)tot_dy[k];
    l->dgamma[k] = (float)tot_dy_xhat[k];
  }
}

static void bn_describe(const sb_layer *base, char *buf, size_t n) {
  const bn_layer *l = (const bn_layer *)base;
  static const char *const how[] = {"stats over T*B (folded)", "stats per step, T updates",
                                    "stats per pass (single_pass)"};
  snprintf(buf, n, "%d channels, %s%s, eps=%g momentum=%g", l->C, how[l->stats],
           l->S > 1 ? " and H*W" : "", l->eps, l->momentum);
}

const sb_layer_ops sb_batchnorm_ops = {"batchnorm", sizeof(bn_layer), bn_build, bn_init,
                                       bn_forward, bn_backward, bn_describe, NULL, NULL};
