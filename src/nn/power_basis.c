/* power_basis: a polynomial per (input, output) pair over raw powers of the input,
 *
 *   y_o = Σ_i Σ_{p = p0..p1} c[i, p, o] · x_i^p
 *
 * with no squashing of x and no linear path. Seed notebook 000's SpikingKANLayer is the case
 * powers [1, 4]: `einsum('bi,iod,bid->bo', x, coeffs, powers)` with powers x^0..x^3 multiplies
 * each power by x once more, so degree 3 gives x^1..x^4 (and its coefficients start as
 * randn · 0.1, the "init_std"). x^0 is 1, also at x = 0, as torch.pow gives.
 * Parameters: in · (p1 − p0 + 1) · out, stored [in][p][out] so the layer is one GEMM over the
 * basis expansion P[row][i·n + k] = x_i^(p0+k).
 *
 * Backward: dC = Pᵀ dY; dP = dY Cᵀ, then dx_i = Σ_k dP[i,k] · (p0+k) · x_i^(p0+k−1). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

enum { POWER_BASIS_MAX = 12 };

typedef struct {
  sb_layer base;
  int in_f, out_f, p0, p1, n;  /* n = p1 − p0 + 1 terms */
  float init_std;
  float *c, *dc;               /* [in][n][out] */
  float *basis;                /* P [rows][in·n]; backward reuses it for dP */
} power_basis_layer;

static const char *const power_basis_keys[] = {"out", "powers", "init_std", NULL};

static sb_status power_basis_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  power_basis_layer *l = (power_basis_layer *)base;
  sb_status st;
  double std;
  if ((st = sb_spec_check_keys(b, base, spec, power_basis_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if (!cJSON_GetObjectItemCaseSensitive(spec, "out"))
    return sb_builder_error(b, base, "\"out\" (number of output features) is required");
  if ((st = sb_spec_int(b, base, spec, "out", 1, 1, 1 << 20, &l->out_f))) return st;
  const cJSON *pw = cJSON_GetObjectItemCaseSensitive(spec, "powers");
  l->p0 = 1;
  l->p1 = 4;
  if (pw) {
    const cJSON *a = cJSON_GetArrayItem(pw, 0), *z = cJSON_GetArrayItem(pw, 1);
    if (!cJSON_IsArray(pw) || cJSON_GetArraySize(pw) != 2 || !cJSON_IsNumber(a) ||
        !cJSON_IsNumber(z) || a->valuedouble != (double)a->valueint ||
        z->valuedouble != (double)z->valueint || a->valueint < 0 || z->valueint < a->valueint ||
        z->valueint > POWER_BASIS_MAX)
      return sb_builder_error(b, base, "\"powers\" must be [first, last] with 0 <= first <= last "
                              "<= %d", POWER_BASIS_MAX);
    l->p0 = a->valueint;
    l->p1 = z->valueint;
  }
  if ((st = sb_spec_num(b, base, spec, "init_std", 0.1, 0.0, 1e3, &std))) return st;
  l->init_std = (float)std;
  l->n = l->p1 - l->p0 + 1;
  const long in_f = sb_shape_numel(base->in[0]->shape);
  if (in_f * l->n > (1 << 24) || in_f * l->n * (long)l->out_f > (1L << 28))
    return sb_builder_error(b, base, "input has %ld features, too many for %d powers", in_f, l->n);
  l->in_f = (int)in_f;
  base->out.shape = (sb_shape){1, {l->out_f, 0, 0}};
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  sb_builder_param(b, base, "coeff", &l->c, &l->dc, (long)l->in_f * l->n * l->out_f);
  /* The coefficients are the layer's synapses (input i, power p, output o): int8 per output
   * o, whose in·n values sit `out` apart in [in][n][out]. */
  sb_builder_quantizable(b, l->out_f, 1, l->out_f, (long)l->in_f * l->n);
  const sb_model_opts *o = sb_builder_opts(b);
  const long rows = (long)(base->out.is_static ? 1 : o->T) * o->B;
  sb_builder_floats(b, &l->basis, rows * l->in_f * l->n);
  return SB_OK;
}

static void power_basis_init(sb_layer *base, uint64_t seed) {
  power_basis_layer *l = (power_basis_layer *)base;
  sb_init_normal(l->c, (long)l->in_f * l->n * l->out_f, 0.0f, l->init_std, seed,
                 (uint32_t)base->index, 0);
}

/* x^p by repeated multiplication, as the basis and its derivative both need. */
static inline float ipow(float x, int p) {
  float r = 1.0f;
  for (int k = 0; k < p; k++) r *= x;
  return r;
}

static void power_basis_forward(sb_layer *base, const sb_ctx *c) {
  power_basis_layer *l = (power_basis_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const int in_f = l->in_f, n = l->n, p0 = l->p0;
  const float *X = in->x;
  float *P = l->basis;
#pragma omp parallel for schedule(static) if (rows * in_f > 16384)
  for (long r = 0; r < rows; r++)
    for (int i = 0; i < in_f; i++) {
      const float x = X[r * in_f + i];
      float *p = P + (r * in_f + i) * n, pw = ipow(x, p0);
      for (int k = 0; k < n; k++) {
        p[k] = pw;
        pw *= x;
      }
    }
  sb_gemm(0, 0, (int)rows, l->out_f, in_f * n, 1.0f, P, in_f * n, l->c, l->out_f, 0.0f,
          base->out.x, l->out_f);
}

static void power_basis_backward(sb_layer *base, const sb_ctx *c) {
  power_basis_layer *l = (power_basis_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const int in_f = l->in_f, n = l->n, p0 = l->p0, out_f = l->out_f;
  const float *dY = base->out.g, *X = in->x;
  float *P = l->basis;
  sb_gemm(1, 0, in_f * n, out_f, (int)rows, 1.0f, P, in_f * n, dY, out_f, 0.0f, l->dc, out_f);
  if (!in->needs_grad) return;
  /* dP overwrites the basis, then folds back through d(x^p)/dx = p x^(p−1). */
  sb_gemm(0, 1, (int)rows, in_f * n, out_f, 1.0f, dY, out_f, l->c, out_f, 0.0f, P, in_f * n);
  float *dX = in->g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (rows * in_f > 16384)
  for (long r = 0; r < rows; r++)
    for (int i = 0; i < in_f; i++) {
      const float x = X[r * in_f + i];
      const float *dp = P + (r * in_f + i) * n;
      float d = 0.0f;
      int k = 0;
      if (p0 == 0) k = 1; /* x^0 is constant */
      float pw = ipow(x, p0 + k - 1);
      for (; k < n; k++) {
        d += dp[k] * (float)(p0 + k) * pw;
        pw *= x;
      }
      dX[r * in_f + i] = acc ? dX[r * in_f + i] + d : d;
    }
}

static void power_basis_describe(const sb_layer *base, char *buf, size_t n) {
  const power_basis_layer *l = (const power_basis_layer *)base;
  snprintf(buf, n, "%d -> %d, sum c x^%d..x^%d per input, c ~ N(0, %g^2)", l->in_f, l->out_f,
           l->p0, l->p1, l->init_std);
}

/* Each nonzero input feeds its coefficients for every power: a row of `n·out` weights. */
static void power_basis_count(const sb_layer *base, const sb_ctx *c, double *effective,
                              double *dense) {
  const power_basis_layer *l = (const power_basis_layer *)base;
  const long rows = sb_act_rows(base->in[0], c->T, c->B);
  *effective = sb_count_rowwise(base->in[0], rows, l->in_f, l->c, (long)l->n * l->out_f);
  *dense = (double)rows * l->in_f * l->n * l->out_f;
}

static double power_basis_macs(const sb_layer *base) {
  const power_basis_layer *l = (const power_basis_layer *)base;
  return (double)l->in_f * l->n * l->out_f;
}

const sb_layer_ops sb_power_basis_ops = {"power_basis",         sizeof(power_basis_layer),
                                         power_basis_build,     power_basis_init,
                                         power_basis_forward,   power_basis_backward,
                                         power_basis_describe,  power_basis_macs, power_basis_count};
