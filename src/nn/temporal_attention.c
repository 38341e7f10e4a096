/* temporal_attention: the causal attention over time of seed notebook 000's NEXUS-SNN
 * (class TemporalAttention). At step t it attends from the current hidden state to every state
 * so far:
 *
 *   q, k, v = Linear(dim, dim)(h)        (three nn.Linear layers with bias)
 *   out_t   = Σ_{j≤t} softmax_j(q_t · k_j · dim^-½) v_j        for t ≥ 1
 *   out_0   = h_0
 *
 * The notebook returns `x_list[0]` itself when only one state exists, so step 0 bypasses the
 * projections entirely: out_0 is the raw h_0, not v_0. This layer reproduces that quirk. (The
 * notebook recomputes q, k, v of all earlier states at every step and keeps the last row of the
 * attention; that is exactly the causal form above, computed once here.)
 *
 * The three projections run as GEMMs over all T·B rows; the attention itself is independent per
 * sample, so samples are split over threads and each walks its steps in order.
 *
 * A static input (the same state at every step, as in a non-spiking twin under direct
 * encoding) is attended as T copies of itself: the projections run once on its B rows, every
 * step reads those rows, and their gradients sum the steps. The output is still per step
 * (out_0 = h, out_t = v for t ≥ 1, since equal keys give equal weights). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

typedef struct {
  sb_layer base;
  int D;
  float scale;
  float *W[3], *dW[3], *bias[3], *dbias[3];  /* query, key, value; W is [in][out] */
  float *proj[3], *dproj[3];                 /* Q, K, V and their gradients, [T][B][D] */
  float *P;                                  /* attention weights [B][T][T] (row t: j ≤ t) */
} tattn_layer;

static const char *const tattn_keys[] = {"dim", NULL};
static const char *const k_proj_names[3] = {"query", "key", "value"};

static sb_status tattn_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  tattn_layer *l = (tattn_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, tattn_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  const sb_act *in = base->in[0];
  const long numel = sb_shape_numel(in->shape);
  if ((st = sb_spec_int(b, base, spec, "dim", (int)numel, 1, 1 << 16, &l->D))) return st;
  if (l->D != numel)
    return sb_builder_error(b, base, "\"dim\" is %d but the input has %ld features", l->D, numel);
  l->scale = (float)(1.0 / sqrt((double)l->D));
  base->out.shape = in->shape;
  base->out.is_static = 0;
  base->out.is_binary = 0;
  const sb_model_opts *o = sb_builder_opts(b);
  const long rows = (long)(in->is_static ? 1 : o->T) * o->B, DD = (long)l->D * l->D;
  for (int p = 0; p < 3; p++) {
    char name[32];
    snprintf(name, sizeof name, "%s.weight", k_proj_names[p]);
    sb_builder_param(b, base, name, &l->W[p], &l->dW[p], DD);
    sb_builder_quantizable(b, l->D, 1, l->D, l->D); /* int8 per output column of [in][out] */
    snprintf(name, sizeof name, "%s.bias", k_proj_names[p]);
    sb_builder_param(b, base, name, &l->bias[p], &l->dbias[p], l->D);
    sb_builder_floats(b, &l->proj[p], rows * l->D);
    sb_builder_floats(b, &l->dproj[p], rows * l->D);
  }
  sb_builder_floats(b, &l->P, (long)o->B * o->T * o->T);
  return SB_OK;
}

static void tattn_init(sb_layer *base, uint64_t seed) {
  tattn_layer *l = (tattn_layer *)base;
  const float bound = 1.0f / sqrtf((float)l->D);
  for (int p = 0; p < 3; p++) {
    sb_init_uniform(l->W[p], (long)l->D * l->D, bound, seed, (uint32_t)base->index, 2u * p);
    sb_init_uniform(l->bias[p], l->D, bound, seed, (uint32_t)base->index, 2u * p + 1);
  }
}

static inline float dot(const float *a, const float *b, int n) {
  float s = 0.0f;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Row of step t, sample b in the input and in the projections (one row per sample if static). */
static inline long xrow(const sb_act *in, int t, int b, int B) { return sb_act_row(in, t, b, B); }

static void tattn_forward(sb_layer *base, const sb_ctx *c) {
  tattn_layer *l = (tattn_layer *)base;
  const sb_act *in = base->in[0];
  const int T = c->T, B = c->B, D = l->D;
  const long rows = sb_act_rows(in, T, B);
  const float *X = in->x;
  for (int p = 0; p < 3; p++) {
    sb_gemm(0, 0, (int)rows, D, D, 1.0f, X, D, l->W[p], D, 0.0f, l->proj[p], D);
    float *y = l->proj[p];
    const float *bias = l->bias[p];
#pragma omp parallel for schedule(static) if (rows * D > 65536)
    for (long r = 0; r < rows; r++)
      for (int j = 0; j < D; j++) y[r * D + j] += bias[j];
  }
  const float *Q = l->proj[0], *K = l->proj[1], *V = l->proj[2];
  float *Y = base->out.x;
#pragma omp parallel for schedule(static) if (rows * D > 16384)
  for (int b = 0; b < B; b++) {
    memcpy(Y + (long)b * D, X + (long)b * D, (size_t)D * sizeof(float));
    for (int t = 1; t < T; t++) {
      float *p = l->P + ((long)b * T + t) * T;
      const float *q = Q + xrow(in, t, b, B) * D;
      float mx = -INFINITY, sum = 0.0f;
      for (int j = 0; j <= t; j++) {
        p[j] = dot(q, K + xrow(in, j, b, B) * D, D) * l->scale;
        mx = p[j] > mx ? p[j] : mx;
      }
      for (int j = 0; j <= t; j++) sum += p[j] = expf(p[j] - mx);
      for (int j = 0; j <= t; j++) p[j] /= sum;
      float *y = Y + ((long)t * B + b) * D;
      for (int e = 0; e < D; e++) y[e] = 0.0f;
      for (int j = 0; j <= t; j++) {
        const float *v = V + xrow(in, j, b, B) * D, w = p[j];
        for (int e = 0; e < D; e++) y[e] += w * v[e];
      }
    }
  }
}

static void tattn_backward(sb_layer *base, const sb_ctx *c) {
  tattn_layer *l = (tattn_layer *)base;
  sb_act *in = base->in[0];
  const int T = c->T, B = c->B, D = l->D;
  const long rows = sb_act_rows(in, T, B);
  const float *Q = l->proj[0], *K = l->proj[1], *V = l->proj[2], *dY = base->out.g;
  float *dQ = l->dproj[0], *dK = l->dproj[1], *dV = l->dproj[2];
  const int steps = in->is_static ? 1 : T;
#pragma omp parallel for schedule(static) if ((long)T * B * D > 16384)
  for (int b = 0; b < B; b++) {
    for (int t = 0; t < steps; t++) {
      const long o = ((long)t * B + b) * D;
      memset(dQ + o, 0, (size_t)D * sizeof(float));
      memset(dK + o, 0, (size_t)D * sizeof(float));
      memset(dV + o, 0, (size_t)D * sizeof(float));
    }
    float ds[T];
    for (int t = 1; t < T; t++) {
      const float *p = l->P + ((long)b * T + t) * T;
      const float *dy = dY + ((long)t * B + b) * D, *q = Q + xrow(in, t, b, B) * D;
      float mean = 0.0f;
      for (int j = 0; j <= t; j++) {
        ds[j] = dot(dy, V + xrow(in, j, b, B) * D, D);  /* dL/dp_j */
        mean += p[j] * ds[j];
      }
      float *dq = dQ + xrow(in, t, b, B) * D;
      for (int j = 0; j <= t; j++) {
        const long oj = xrow(in, j, b, B) * D;
        const float g = p[j] * (ds[j] - mean) * l->scale;  /* dL/d(q·k_j) */
        const float *k = K + oj;
        float *dk = dK + oj, *dv = dV + oj;
        for (int e = 0; e < D; e++) {
          dq[e] += g * k[e];
          dk[e] += g * q[e];
          dv[e] += p[j] * dy[e];
        }
      }
    }
  }
  const float *X = in->x;
  for (int p = 0; p < 3; p++) {
    sb_gemm(1, 0, D, D, (int)rows, 1.0f, X, D, l->dproj[p], D, 0.0f, l->dW[p], D);
    sb_sum_rows((int)rows, D, l->dproj[p], 0.0f, l->dbias[p]);
  }
  if (!in->needs_grad) return;
  for (int p = 0; p < 3; p++)
    sb_gemm(0, 1, (int)rows, D, D, 1.0f, l->dproj[p], D, l->W[p], D,
            p == 0 && !base->in_accumulate[0] ? 0.0f : 1.0f, in->g, D);
  /* Step 0 passed h_0 straight through. */
  const long n0 = (long)B * D;
  for (long e = 0; e < n0; e++) in->g[e] += dY[e];
}

static void tattn_describe(const sb_layer *base, char *buf, size_t n) {
  const tattn_layer *l = (const tattn_layer *)base;
  snprintf(buf, n, "causal over t, dim %d, scale dim^-1/2; step 0 passes h_0 through", l->D);
}

/* The query, key and value projections are Linear maps ([in][out]) of every step's input. */
static void tattn_count(const sb_layer *base, const sb_ctx *c, double *effective,
                        double *dense) {
  const tattn_layer *l = (const tattn_layer *)base;
  const long rows = sb_act_rows(base->in[0], c->T, c->B);
  double e = 0.0;
  for (int k = 0; k < 3; k++) e += sb_count_rowwise(base->in[0], rows, l->D, l->W[k], l->D);
  *effective = e;
  *dense = 3.0 * rows * l->D * l->D;
}

const sb_layer_ops sb_temporal_attention_ops = {"temporal_attention", sizeof(tattn_layer),
                                                tattn_build, tattn_init, tattn_forward,
                                                tattn_backward, tattn_describe, NULL, tattn_count};
