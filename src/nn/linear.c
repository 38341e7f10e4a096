/* Linear: Y = X W + b over every (t, b) row at once (T folded into the batch).
 *
 * W is stored input-major, [in][out], so that one nonzero input selects one contiguous row of
 * W: with mostly-zero inputs (spike trains, pooled spikes) the forward pass and the weight
 * gradient become sums of selected rows (sb_sparse_gemm), which skips the zeros. Parameter
 * counts and initialisation match PyTorch's nn.Linear. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

/* Above this fraction of rows to add, BLAS on the dense matrix beats summing selected rows. */
#define SPARSE_MAX_DENSITY 0.25

/* How the last training forward multiplied, so the backward uses the matching kernel. */
typedef enum { KERNEL_DENSE, KERNEL_SPARSE, KERNEL_DELTA } linear_kernel;

typedef struct {
  sb_layer base;
  int in_f, out_f, bias;
  float *W, *dW, *b, *db;
  int32_t *idx, *cnt;  /* active (sparse) or switched (delta) inputs per row, from the forward */
  int32_t *n_off;      /* delta: switch-offs per row (cnt holds the switch-ons) */
  int32_t *col_start, *col_rows; /* the same lists by input, for the weight gradient */
  float *G;            /* delta: reverse running sum of the output gradient over time */
  int allow_sparse;    /* spec "sparse": false forces BLAS (benchmarks, tests) */
  linear_kernel used;  /* which kernel the last forward used */
} linear_layer;

static const char *const linear_keys[] = {"out", "bias", "sparse", NULL};

static sb_status linear_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  linear_layer *l = (linear_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, linear_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  const cJSON *out = cJSON_GetObjectItemCaseSensitive(spec, "out");
  if (cJSON_IsString(out) && strcmp(out->valuestring, "classes") == 0) {
    l->out_f = sb_builder_opts(b)->n_classes;
  } else if ((st = sb_spec_int(b, base, spec, "out", 0, 1, 1 << 24, &l->out_f))) {
    return st;
  } else if (l->out_f == 0) {
    return sb_builder_error(b, base, "\"out\" (number of output features or \"classes\") is required");
  }
  if ((st = sb_spec_bool(b, base, spec, "bias", 1, &l->bias))) return st;
  if ((st = sb_spec_bool(b, base, spec, "sparse", 1, &l->allow_sparse))) return st;
  const long in_f = sb_shape_numel(base->in[0]->shape);
  if (in_f > (1 << 24)) return sb_builder_error(b, base, "input has %ld features, too many", in_f);
  l->in_f = (int)in_f;
  base->out.shape = (sb_shape){1, {l->out_f, 0, 0}};
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  sb_builder_param(b, base, "weight", &l->W, &l->dW, (long)l->in_f * l->out_f);
  sb_builder_quantizable(b, l->out_f, 1, l->out_f, l->in_f); /* W is [in][out] */
  if (l->bias) sb_builder_param(b, base, "bias", &l->b, &l->db, l->out_f);
  if (l->allow_sparse) {
    const sb_model_opts *o = sb_builder_opts(b);
    const long rows = (long)(base->in[0]->is_static ? 1 : o->T) * o->B;
    sb_builder_bytes(b, (void **)&l->idx, (size_t)rows * l->in_f * sizeof(int32_t));
    sb_builder_bytes(b, (void **)&l->cnt, (size_t)rows * sizeof(int32_t));
    sb_builder_bytes(b, (void **)&l->col_start, (size_t)(2 * l->in_f + 1) * sizeof(int32_t));
    sb_builder_bytes(b, (void **)&l->col_rows, (size_t)rows * l->in_f * sizeof(int32_t));
    if (base->in[0]->is_binary && !base->in[0]->is_static) {
      sb_builder_bytes(b, (void **)&l->n_off, (size_t)rows * sizeof(int32_t));
      sb_builder_floats(b, &l->G, rows * l->out_f);
    }
  }
  return SB_OK;
}

static void linear_init(sb_layer *base, uint64_t seed) {
  linear_layer *l = (linear_layer *)base;
  const float bound = 1.0f / sqrtf((float)l->in_f);
  sb_init_uniform(l->W, (long)l->in_f * l->out_f, bound, seed, (uint32_t)base->index, 0);
  if (l->bias) sb_init_uniform(l->b, l->out_f, bound, seed, (uint32_t)base->index, 1);
}


static void add_bias(float *Y, long rows, int n, const float *bias) {
#pragma omp parallel for schedule(static) if (rows * n > 65536)
  for (long r = 0; r < rows; r++)
    for (int j = 0; j < n; j++) Y[r * n + j] += bias[j];
}

/* The cheapest product for this input: rows of W added per spike (sparse), per spike that
 * switched since the step before (delta), or BLAS. A pure function of the data, so every run
 * and thread count picks the same kernel. */
static linear_kernel choose_kernel(const linear_layer *l, const sb_act *in, const sb_ctx *c,
                                   long rows) {
  if (!l->allow_sparse || l->out_f < SB_SPARSE_MIN_OUTPUTS) return KERNEL_DENSE;
  const double fired = sb_density(in->x, rows * l->in_f);
  const int binary = in->is_binary && !c->smooth;
  const double switched = binary && l->G && c->T > 1
                              ? sb_change_density(in->x, c->T, (long)c->B * l->in_f)
                              : 1.0;
  if (switched < fired && switched <= SPARSE_MAX_DENSITY) return KERNEL_DELTA;
  return fired <= SPARSE_MAX_DENSITY ? KERNEL_SPARSE : KERNEL_DENSE;
}

/* dW = X^T dY with the kernel the forward used; `split` lets a dense product use the threads
 * (the sparse kernels split themselves when not already inside a parallel region). */
static void weight_grad(linear_layer *l, const sb_act *in, const sb_ctx *c, int rows,
                        const float *dY, int split) {
  if (l->used == KERNEL_DELTA)
    sb_delta_gemm_wgrad(c->T, c->B, l->out_f, l->in_f, l->idx, l->cnt, l->n_off, dY, l->G, l->dW,
                        l->col_start, l->col_rows);
  else if (l->used == KERNEL_SPARSE)
    sb_sparse_gemm_wgrad(rows, l->out_f, l->in_f, in->x, in->is_binary && !c->smooth, l->idx,
                         l->cnt, dY, 0.0f, l->dW, l->col_start, l->col_rows);
  else
    (split ? sb_gemm : sb_gemm_serial)(1, 0, l->in_f, l->out_f, rows, 1.0f, in->x, l->in_f, dY,
                                       l->out_f, 0.0f, l->dW, l->out_f);
}

static void linear_forward(sb_layer *base, const sb_ctx *c) {
  linear_layer *l = (linear_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  l->used = choose_kernel(l, in, c, rows);
  if (l->used == KERNEL_DELTA)
    sb_delta_gemm(c->T, c->B, l->out_f, l->in_f, in->x, l->W, base->out.x, l->idx, l->cnt,
                  l->n_off);
  else if (l->used == KERNEL_SPARSE)
    sb_sparse_gemm((int)rows, l->out_f, l->in_f, in->x, in->is_binary && !c->smooth, l->W, 0.0f,
                   base->out.x, l->idx, l->cnt);
  else
    sb_gemm(0, 0, (int)rows, l->out_f, l->in_f, 1.0f, in->x, l->in_f, l->W, l->out_f, 0.0f,
            base->out.x, l->out_f);
  if (l->bias) add_bias(base->out.x, rows, l->out_f, l->b);
}

static void linear_backward(sb_layer *base, const sb_ctx *c) {
  linear_layer *l = (linear_layer *)base;
  sb_act *in = base->in[0];
  const int rows = (int)sb_act_rows(in, c->T, c->B);
  const float *dY = base->out.g;
  if (l->bias) sb_sum_rows(rows, l->out_f, dY, 0.0f, l->db);
  const float beta_dx = base->in_accumulate[0] ? 1.0f : 0.0f;
  if (!in->needs_grad || l->used != KERNEL_DENSE) {
    /* A spike kernel's weight gradient is cheap next to the dense input gradient: run each
     * over all threads in turn. */
    weight_grad(l, in, c, rows, dY, 1);
    if (in->needs_grad)
      sb_gemm(0, 1, rows, l->in_f, l->out_f, 1.0f, dY, l->out_f, l->W, l->out_f, beta_dx, in->g,
              l->in_f);
    return;
  }
  /* Two dense products of equal size: two threads take one each, and each is a single call
   * whose result does not depend on how many threads run. */
#pragma omp parallel sections
  {
#pragma omp section
    weight_grad(l, in, c, rows, dY, 0);
#pragma omp section
    sb_gemm_serial(0, 1, rows, l->in_f, l->out_f, 1.0f, dY, l->out_f, l->W, l->out_f, beta_dx,
                   in->g, l->in_f);
  }
}

static void linear_describe(const sb_layer *base, char *buf, size_t n) {
  const linear_layer *l = (const linear_layer *)base;
  snprintf(buf, n, "%d -> %d%s", l->in_f, l->out_f, l->bias ? "" : " (no bias)");
}

/* NeuroBench counting: an input that is nonzero feeds every nonzero weight of its row of W. */
static void linear_count(const sb_layer *base, const sb_ctx *c, double *effective,
                         double *dense) {
  const linear_layer *l = (const linear_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const double e = sb_count_rowwise(in, rows, l->in_f, l->W, l->out_f);
  *effective = e;
  *dense = (double)rows * l->in_f * l->out_f;
}

static double linear_macs(const sb_layer *base) {
  const linear_layer *l = (const linear_layer *)base;
  return (double)l->in_f * l->out_f;
}

const sb_layer_ops sb_linear_ops = {"linear",        sizeof(linear_layer), linear_build,
                                    linear_init,     linear_forward,       linear_backward,
                                    linear_describe, linear_macs,         linear_count};
