/* chebyshev_kan: a learnable activation per channel (per feature of a [F] vector, per channel of
 * a [C,H,W] map), the KAN activations of the seed models:
 *
 *   u = tanh(a x),   y = s[ch] · Σ_{k=0..K} c[ch,k] T_k(u)  +  r · x
 *
 * with Chebyshev polynomials T_0 = 1, T_1 = u, T_k = 2u T_{k-1} − T_{k-2}. The variants:
 *   notebook 001 ChebyshevKAN   K=3, a=0.3, no s, r learnable (0.3), c std 0.01
 *   NEXUS v2 EnhancedKAN        K=4, a=0.3, s learnable (1), r learnable (0.3), c std 0.02
 *   APEX ChebyshevKAN           K=3, a=0.5, s learnable (1), no r, c std 0.01
 * Coefficients start as the identity on u: c0 = 0, c1 = 1, c_k≥2 ~ N(0, std) ("identity"), or all
 * ~ N(0, std) ("normal").
 *
 * Backward: T'_0 = 0, T'_1 = 1, T'_k = 2 T_{k-1} + 2u T'_{k-1} − T'_{k-2};
 * dy/dx = s Σ c_k T'_k(u) · a (1 − u²) + r. Nothing is saved: u and T_k are recomputed. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"
#include "snnbench/rng.h"

enum { KAN_MAX_DEGREE = 12 };
typedef enum { RESIDUAL_NONE, RESIDUAL_FIXED, RESIDUAL_LEARNABLE } residual_kind;

typedef struct {
  sb_layer base;
  int K, C;
  long S;
  float a, coeff_std, residual_init;
  int coeff_identity, has_scale;
  residual_kind residual;
  float *c, *dc;        /* [C][K+1] */
  float *s, *ds;        /* [C] when has_scale */
  float *r, *dr;        /* [1] when the residual is learnable */
  double *partial;      /* per piece: [C][K+2] (coefficients, scale) then the residual sum */
} cheb_layer;

static const char *const cheb_keys[] = {"degree", "input_scale", "coeff_init", "coeff_std", "scale",
                                        "residual", "residual_init", NULL};

static sb_status cheb_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  cheb_layer *l = (cheb_layer *)base;
  sb_status st;
  double a, std, rinit;
  char init[16], residual[16];
  if ((st = sb_spec_check_keys(b, base, spec, cheb_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if ((st = sb_spec_int(b, base, spec, "degree", 3, 1, KAN_MAX_DEGREE, &l->K))) return st;
  if ((st = sb_spec_num(b, base, spec, "input_scale", 0.3, 1e-6, 1e6, &a))) return st;
  if ((st = sb_spec_str(b, base, spec, "coeff_init", "identity", init, sizeof init))) return st;
  if (strcmp(init, "identity") && strcmp(init, "normal"))
    return sb_builder_error(b, base, "\"coeff_init\" is \"%s\"; expected \"identity\" or \"normal\"", init);
  if ((st = sb_spec_num(b, base, spec, "coeff_std", 0.01, 0.0, 1e3, &std))) return st;
  if ((st = sb_spec_bool(b, base, spec, "scale", 0, &l->has_scale))) return st;
  if ((st = sb_spec_str(b, base, spec, "residual", "none", residual, sizeof residual))) return st;
  if (!strcmp(residual, "none"))
    l->residual = RESIDUAL_NONE;
  else if (!strcmp(residual, "fixed"))
    l->residual = RESIDUAL_FIXED;
  else if (!strcmp(residual, "learnable"))
    l->residual = RESIDUAL_LEARNABLE;
  else
    return sb_builder_error(b, base, "\"residual\" is \"%s\"; expected \"none\", \"fixed\" or "
                            "\"learnable\"", residual);
  if (l->residual == RESIDUAL_NONE && cJSON_GetObjectItemCaseSensitive(spec, "residual_init"))
    return sb_builder_error(b, base, "\"residual_init\" needs \"residual\": \"fixed\" or \"learnable\"");
  if ((st = sb_spec_num(b, base, spec, "residual_init", 0.3, -1e6, 1e6, &rinit))) return st;
  l->a = (float)a;
  l->coeff_std = (float)std;
  l->coeff_identity = !strcmp(init, "identity");
  l->residual_init = (float)rinit;
  const sb_shape s = base->in[0]->shape;
  l->C = sb_shape_channels(s);
  l->S = sb_shape_spatial(s);
  base->out.shape = s;
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  /* The coefficients shape one channel's activation function; they connect no input to any
   * other output. Like BatchNorm's affine and the neurons' thresholds they stay float32 under
   * int8 quantisation, and the layer has no synaptic operations (NeuroBench counts none for an
   * activation function). */
  sb_builder_param(b, base, "coeff", &l->c, &l->dc, (long)l->C * (l->K + 1));
  if (l->has_scale) sb_builder_param(b, base, "scale", &l->s, &l->ds, l->C);
  if (l->residual == RESIDUAL_LEARNABLE) sb_builder_param(b, base, "residual", &l->r, &l->dr, 1);
  sb_builder_partials(b, &l->partial, (long)l->C * (l->K + 2) + 1);
  return SB_OK;
}

static void cheb_init(sb_layer *base, uint64_t seed) {
  cheb_layer *l = (cheb_layer *)base;
  const int n = l->K + 1;
  sb_rng r;
  sb_rng_init(&r, seed, sb_stream(SB_STREAM_INIT, (uint32_t)base->index * 16u));
  for (int ch = 0; ch < l->C; ch++)
    for (int k = 0; k < n; k++) {
      float *c = &l->c[(long)ch * n + k];
      if (l->coeff_identity && k < 2)
        *c = k == 1 ? 1.0f : 0.0f;
      else
        *c = l->coeff_std * sb_rng_normal(&r);
    }
  if (l->has_scale)
    for (int ch = 0; ch < l->C; ch++) l->s[ch] = 1.0f;
  if (l->r) l->r[0] = l->residual_init;
}

static inline float residual_weight(const cheb_layer *l) {
  return l->residual == RESIDUAL_NONE ? 0.0f : l->r ? l->r[0] : l->residual_init;
}

/* Σ_k c_k T_k(u) by the recurrence. */
static inline float series(const float *c, int K, float u) {
  float t0 = 1.0f, t1 = u, sum = c[0] + c[1] * u;
  for (int k = 2; k <= K; k++) {
    const float t2 = 2.0f * u * t1 - t0;
    sum += c[k] * t2;
    t0 = t1;
    t1 = t2;
  }
  return sum;
}

static void cheb_forward(sb_layer *base, const sb_ctx *c) {
  const cheb_layer *l = (const cheb_layer *)base;
  const long rows = sb_act_rows(&base->out, c->T, c->B), C = l->C, S = l->S;
  const int K = l->K;
  const float a = l->a, rw = residual_weight(l);
  const float *X = base->in[0]->x;
  float *Y = base->out.x;
#pragma omp parallel for schedule(static) if (rows * C * S > 16384)
  for (long r = 0; r < rows; r++)
    for (long ch = 0; ch < C; ch++) {
      const float *coef = l->c + ch * (K + 1);
      const float s = l->has_scale ? l->s[ch] : 1.0f;
      const long o = (r * C + ch) * S;
      for (long k = 0; k < S; k++) {
        const float x = X[o + k];
        Y[o + k] = s * series(coef, K, tanhf(a * x)) + rw * x;
      }
    }
}

static void cheb_backward(sb_layer *base, const sb_ctx *c) {
  cheb_layer *l = (cheb_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(&base->out, c->T, c->B), C = l->C, S = l->S;
  const int K = l->K, n = K + 1, m = K + 2;
  const long per_piece = C * m + 1;
  const float a = l->a, rw = residual_weight(l);
  const float *X = in->x, *dY = base->out.g;
  float *dX = in->needs_grad ? in->g : NULL;
  const int acc = base->in_accumulate[0];
  const int pieces = sb_partial_pieces(rows);
  /* Each piece owns its rows: input gradients per value, parameter sums into its own slot. */
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    long r0, r1;
    sb_piece_range(rows, pieces, p, &r0, &r1);
    double *part = l->partial + p * per_piece;
    memset(part, 0, (size_t)per_piece * sizeof(double));
    for (long r = r0; r < r1; r++)
      for (long ch = 0; ch < C; ch++) {
        const float *coef = l->c + ch * n;
        const float s = l->has_scale ? l->s[ch] : 1.0f;
        const long o = (r * C + ch) * S;
        float gT[KAN_MAX_DEGREE + 1] = {0}, g_series = 0.0f, g_res = 0.0f;
        for (long k = 0; k < S; k++) {
          const float x = X[o + k], dy = dY[o + k];
          const float u = tanhf(a * x);
          /* T_k and T'_k together, accumulating dL/dc_k = dy s T_k and Σ c_k T'_k. */
          float t0 = 1.0f, t1 = u, d0 = 0.0f, d1 = 1.0f;
          float sum = coef[0] + coef[1] * u, dsum = coef[1];
          gT[0] += dy;
          gT[1] += dy * u;
          for (int j = 2; j <= K; j++) {
            const float t2 = 2.0f * u * t1 - t0;
            const float d2 = 2.0f * t1 + 2.0f * u * d1 - d0;
            sum += coef[j] * t2;
            dsum += coef[j] * d2;
            gT[j] += dy * t2;
            t0 = t1;
            t1 = t2;
            d0 = d1;
            d1 = d2;
          }
          g_series += dy * sum;
          g_res += dy * x;
          if (dX) {
            const float v = dy * (s * dsum * a * (1.0f - u * u) + rw);
            dX[o + k] = acc ? dX[o + k] + v : v;
          }
        }
        double *pc = part + ch * m;
        for (int j = 0; j <= K; j++) pc[j] += (double)s * gT[j];
        pc[n] += g_series;
        part[C * m] += g_res;
      }
  }
  /* Reduce every slot in piece order, then scatter to the parameter gradients. The [C][K+2]
   * layout keeps a channel's sums together; the coefficient block is copied out of it. */
  for (long ch = 0; ch < C; ch++) {
    for (int j = 0; j <= K + 1; j++) {
      double sum = 0.0;
      for (int p = 0; p < pieces; p++) sum += l->partial[p * per_piece + ch * m + j];
      if (j <= K)
        l->dc[ch * n + j] = (float)sum;
      else if (l->has_scale)
        l->ds[ch] = (float)sum;
    }
  }
  if (l->dr) {
    double sum = 0.0;
    for (int p = 0; p < pieces; p++) sum += l->partial[p * per_piece + C * m];
    l->dr[0] = (float)sum;
  }
}

static void cheb_describe(const sb_layer *base, char *buf, size_t n) {
  const cheb_layer *l = (const cheb_layer *)base;
  char res[48] = "";
  if (l->residual != RESIDUAL_NONE)
    snprintf(res, sizeof res, " + %s r*x (r=%g)", l->residual == RESIDUAL_FIXED ? "fixed" : "learnable",
             l->residual_init);
  snprintf(buf, n, "%sT0..T%d(tanh(%g x)) per %s%s, c %s std %g", l->has_scale ? "s*" : "", l->K,
           l->a, base->in[0]->shape.ndim == 3 ? "channel" : "feature", res,
           l->coeff_identity ? "identity +" : "normal", l->coeff_std);
}

const sb_layer_ops sb_chebyshev_kan_ops = {"chebyshev_kan", sizeof(cheb_layer), cheb_build,
                                           cheb_init, cheb_forward, cheb_backward, cheb_describe, NULL, NULL};
