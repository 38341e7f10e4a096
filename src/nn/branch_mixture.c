/* branch_mixture: a softmax-gated sum of K Linear branches,
 *
 *   p = softmax(x G + g)                    one gate per branch, per row
 *   y = Σ_k p_k (x W_k + b_k)
 *
 * the input current of seed notebook 000's DendriticNeuron (`gates = softmax(self.gate(x))`,
 * `(stack([b(x) for b in branches], -1) * gates.unsqueeze(1)).sum(-1)`), which then drives a
 * LIF layer of its own in the spec. Every branch and the gate are nn.Linear with bias, so the
 * count is K (in·out + out) + in·K + K and every tensor starts at U(±1/√in).
 *
 * The K branches share one GEMM (W is [in][K·out], input-major like Linear) and the gate is a
 * second one. The layer is stateless: T folds into the rows and a static input stays static.
 *
 * Backward, with A = x W + b and Z = x G + g:
 *   dA_k = p_k dy,   dp_k = dy · A_k,   dZ_k = p_k (dp_k − Σ_j p_j dp_j)
 *   dW = xᵀ dA, db = Σ_rows dA, dG = xᵀ dZ, dg = Σ_rows dZ, dx = dA Wᵀ + dZ Gᵀ. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

enum { MIXTURE_MAX_BRANCHES = 16 };

typedef struct {
  sb_layer base;
  int in_f, out_f, K;   /* K branches of out_f features */
  float *W, *dW, *b, *db, *G, *dG, *g, *dg;
  float *A, *dA;        /* branch outputs and their gradients [rows][K·out] */
  float *P, *dZ;        /* gate softmax and the gradient of its logits [rows][K] */
} mixture_layer;

static const char *const mixture_keys[] = {"out", "branches", NULL};

static sb_status mixture_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  mixture_layer *l = (mixture_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, mixture_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if (!cJSON_GetObjectItemCaseSensitive(spec, "out"))
    return sb_builder_error(b, base, "\"out\" (features per branch and of the output) is required");
  if ((st = sb_spec_int(b, base, spec, "out", 1, 1, 1 << 20, &l->out_f))) return st;
  if ((st = sb_spec_int(b, base, spec, "branches", 4, 2, MIXTURE_MAX_BRANCHES, &l->K))) return st;
  const long in_f = sb_shape_numel(base->in[0]->shape);
  if (in_f * l->K * (long)l->out_f > (1L << 28))
    return sb_builder_error(b, base, "%ld inputs x %d branches x %d outputs is too large", in_f,
                            l->K, l->out_f);
  l->in_f = (int)in_f;
  base->out.shape = (sb_shape){1, {l->out_f, 0, 0}};
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  const long KO = (long)l->K * l->out_f;
  /* The branches and the gate are Linear weights ([in][out]): int8 per output column. */
  sb_builder_param(b, base, "weight", &l->W, &l->dW, (long)l->in_f * KO);
  sb_builder_quantizable(b, (int)KO, 1, KO, l->in_f);
  sb_builder_param(b, base, "bias", &l->b, &l->db, KO);
  sb_builder_param(b, base, "gate.weight", &l->G, &l->dG, (long)l->in_f * l->K);
  sb_builder_quantizable(b, l->K, 1, l->K, l->in_f);
  sb_builder_param(b, base, "gate.bias", &l->g, &l->dg, l->K);
  const sb_model_opts *o = sb_builder_opts(b);
  const long rows = (long)(base->out.is_static ? 1 : o->T) * o->B;
  sb_builder_floats(b, &l->A, rows * KO);
  sb_builder_floats(b, &l->dA, rows * KO);
  sb_builder_floats(b, &l->P, rows * l->K);
  sb_builder_floats(b, &l->dZ, rows * l->K);
  return SB_OK;
}

static void mixture_init(sb_layer *base, uint64_t seed) {
  mixture_layer *l = (mixture_layer *)base;
  const float bound = 1.0f / sqrtf((float)l->in_f);  /* every branch and the gate: fan_in = in */
  const long KO = (long)l->K * l->out_f;
  const uint32_t li = (uint32_t)base->index;
  sb_init_uniform(l->W, (long)l->in_f * KO, bound, seed, li, 0);
  sb_init_uniform(l->b, KO, bound, seed, li, 1);
  sb_init_uniform(l->G, (long)l->in_f * l->K, bound, seed, li, 2);
  sb_init_uniform(l->g, l->K, bound, seed, li, 3);
}

static void mixture_forward(sb_layer *base, const sb_ctx *c) {
  mixture_layer *l = (mixture_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const int K = l->K, O = l->out_f, KO = K * O;
  sb_gemm(0, 0, (int)rows, KO, l->in_f, 1.0f, in->x, l->in_f, l->W, KO, 0.0f, l->A, KO);
  sb_gemm(0, 0, (int)rows, K, l->in_f, 1.0f, in->x, l->in_f, l->G, K, 0.0f, l->P, K);
  float *Y = base->out.x;
#pragma omp parallel for schedule(static) if (rows * KO > 65536)
  for (long r = 0; r < rows; r++) {
    float *p = l->P + r * K, *a = l->A + r * KO, *y = Y + r * O;
    float mx = -INFINITY, sum = 0.0f;
    for (int k = 0; k < K; k++) {
      p[k] += l->g[k];
      mx = fmaxf(mx, p[k]);
    }
    for (int k = 0; k < K; k++) sum += p[k] = expf(p[k] - mx);
    for (int k = 0; k < K; k++) p[k] /= sum;
    for (int j = 0; j < KO; j++) a[j] += l->b[j];
    for (int o = 0; o < O; o++) y[o] = p[0] * a[o];
    for (int k = 1; k < K; k++)
      for (int o = 0; o < O; o++) y[o] += p[k] * a[(long)k * O + o];
  }
}

static void mixture_backward(sb_layer *base, const sb_ctx *c) {
  mixture_layer *l = (mixture_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const int K = l->K, O = l->out_f, KO = K * O;
  const float *dY = base->out.g;
  /* Per row: the branch gradients and the gate logits' gradient through the softmax. */
#pragma omp parallel for schedule(static) if (rows * KO > 65536)
  for (long r = 0; r < rows; r++) {
    const float *p = l->P + r * K, *a = l->A + r * KO, *dy = dY + r * O;
    float *da = l->dA + r * KO, *dz = l->dZ + r * K;
    float dp[MIXTURE_MAX_BRANCHES], mean = 0.0f;
    for (int k = 0; k < K; k++) {
      const float *ak = a + (long)k * O;
      float *dak = da + (long)k * O, s = 0.0f;
      for (int o = 0; o < O; o++) {
        dak[o] = p[k] * dy[o];
        s += dy[o] * ak[o];
      }
      dp[k] = s;
      mean += p[k] * s;
    }
    for (int k = 0; k < K; k++) dz[k] = p[k] * (dp[k] - mean);
  }
  /* Parameter gradients: GEMMs and column sums whose results do not depend on the threads. */
  sb_gemm(1, 0, l->in_f, KO, (int)rows, 1.0f, in->x, l->in_f, l->dA, KO, 0.0f, l->dW, KO);
  sb_sum_rows((int)rows, KO, l->dA, 0.0f, l->db);
  sb_gemm(1, 0, l->in_f, K, (int)rows, 1.0f, in->x, l->in_f, l->dZ, K, 0.0f, l->dG, K);
  sb_sum_rows((int)rows, K, l->dZ, 0.0f, l->dg);
  if (!in->needs_grad) return;
  sb_gemm(0, 1, (int)rows, l->in_f, KO, 1.0f, l->dA, KO, l->W, KO,
          base->in_accumulate[0] ? 1.0f : 0.0f, in->g, l->in_f);
  sb_gemm(0, 1, (int)rows, l->in_f, K, 1.0f, l->dZ, K, l->G, K, 1.0f, in->g, l->in_f);
}

static void mixture_describe(const sb_layer *base, char *buf, size_t n) {
  const mixture_layer *l = (const mixture_layer *)base;
  snprintf(buf, n, "%d -> %d, sum of %d Linear branches weighted by softmax(Linear(%d->%d))",
           l->in_f, l->out_f, l->K, l->in_f, l->K);
}

/* The branches and the gate are linear maps of the input: counted as NeuroBench counts Linear. */
static void mixture_count(const sb_layer *base, const sb_ctx *c, double *effective,
                          double *dense) {
  const mixture_layer *l = (const mixture_layer *)base;
  const long rows = sb_act_rows(base->in[0], c->T, c->B);
  *effective = sb_count_rowwise(base->in[0], rows, l->in_f, l->W, (long)l->K * l->out_f) +
               sb_count_rowwise(base->in[0], rows, l->in_f, l->G, l->K);
  *dense = (double)rows * l->in_f * l->K * (l->out_f + 1);
}

static double mixture_macs(const sb_layer *base) {
  const mixture_layer *l = (const mixture_layer *)base;
  return (double)l->in_f * l->K * (l->out_f + 1); /* the branches and the gate */
}

const sb_layer_ops sb_branch_mixture_ops = {"branch_mixture", sizeof(mixture_layer), mixture_build,
                                            mixture_init,     mixture_forward,       mixture_backward,
                                            mixture_describe, mixture_macs, mixture_count};
