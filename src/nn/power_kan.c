/* power_kan: the Spiking-KAN layer as it was run (run_triple_comparison.py::SpikingKANLayer):
 *
 *   I = σ(a) · (W x + b) + (1 − σ(a)) · Σ_i Σ_{k=0..D} φ[i,k,o] · tanh(x_i)^k
 *
 * a power basis of degree D = 4 (5 terms; tanh(x)^0 = 1 even at x = 0, as torch.pow gives).
 * Initialisation follows that script, not nn.Linear: W ~ N(0, 1/in) (randn / sqrt(in)), b = 0,
 * φ ~ N(0, 0.1²), a = 0.5. For 512 -> 256: 131,072 + 256 + 655,360 + 1 = 786,689 parameters.
 *
 * General inputs run the φ term as one GEMM over the basis expansion P[row][i·(D+1) + k]. Spike
 * inputs take a shortcut: with x ∈ {0, 1}, u = tanh(x) is 0 or tanh(1), so the whole layer
 * collapses to one GEMM with folded weights σW + (1−σ) Σ_{k≥1} tanh(1)^k φ_k (plus the k = 0
 * column sums in the bias), and the backward needs X^T dY and two dY-sized products instead of
 * the (D+1)-times-wider ones. Smooth mode (gradient checks) always takes the general path. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

enum { POWER_MAX_DEGREE = 8 };
#define SPARSE_MAX_DENSITY 0.30

typedef struct {
  sb_layer base;
  int in_f, out_f, degree, n;  /* n = degree + 1 basis terms */
  float *W, *dW, *b, *db, *phi, *dphi, *alpha, *dalpha;  /* W [in][out], phi [in*n][out] */
  float *basis;       /* general: P [rows][in*n]; backward reuses it for dP (or D0, D1) */
  float *lin, *kan;   /* general: W x + b and the φ term, [rows][out] */
  double *partial;
  /* spike-input path */
  float *w_eff, *w_fold, *w_fold2, *phi0, *bias_fold, *colsum, *xty;
  int32_t *idx, *cnt;
  int32_t *col_start, *col_rows; /* the spike lists by input, for X^T dY */
  int fast, used_sparse;  /* which path the last forward took */
} power_kan_layer;

static const char *const power_keys[] = {"out", "degree", NULL};

static sb_status power_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  power_kan_layer *l = (power_kan_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, power_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if (!cJSON_GetObjectItemCaseSensitive(spec, "out"))
    return sb_builder_error(b, base, "\"out\" (number of output features) is required");
  if ((st = sb_spec_int(b, base, spec, "out", 1, 1, 1 << 20, &l->out_f))) return st;
  if ((st = sb_spec_int(b, base, spec, "degree", 4, 1, POWER_MAX_DEGREE, &l->degree))) return st;
  const long in_f = sb_shape_numel(base->in[0]->shape);
  if (in_f * (l->degree + 1) > (1 << 24))
    return sb_builder_error(b, base, "input has %ld features, too many", in_f);
  l->in_f = (int)in_f;
  l->n = l->degree + 1;
  base->out.shape = (sb_shape){1, {l->out_f, 0, 0}};
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  const long io = (long)l->in_f * l->out_f;
  /* Both weight matrices multiply the input (W directly, phi its basis expansion): int8 per
   * output channel (column o of [in][out] and of [in·n][out]). Bias and alpha stay float32. */
  sb_builder_param(b, base, "weight", &l->W, &l->dW, io);
  sb_builder_quantizable(b, l->out_f, 1, l->out_f, l->in_f);
  sb_builder_param(b, base, "bias", &l->b, &l->db, l->out_f);
  sb_builder_param(b, base, "phi", &l->phi, &l->dphi, io * l->n);
  sb_builder_quantizable(b, l->out_f, 1, l->out_f, (long)l->in_f * l->n);
  sb_builder_param(b, base, "alpha", &l->alpha, &l->dalpha, 1);
  const sb_model_opts *o = sb_builder_opts(b);
  const long rows = (long)(base->out.is_static ? 1 : o->T) * o->B;
  sb_builder_floats(b, &l->basis, rows * l->in_f * l->n);
  sb_builder_floats(b, &l->lin, rows * l->out_f);
  sb_builder_floats(b, &l->kan, rows * l->out_f);
  sb_builder_partials(b, &l->partial, 1);
  if (base->in[0]->is_binary) {
    sb_builder_floats(b, &l->w_eff, io);
    sb_builder_floats(b, &l->w_fold, io);
    sb_builder_floats(b, &l->w_fold2, io);
    sb_builder_floats(b, &l->xty, io);
    sb_builder_floats(b, &l->phi0, l->out_f);
    sb_builder_floats(b, &l->bias_fold, l->out_f);
    sb_builder_floats(b, &l->colsum, l->out_f);
    sb_builder_bytes(b, (void **)&l->idx, (size_t)rows * l->in_f * sizeof(int32_t));
    sb_builder_bytes(b, (void **)&l->cnt, (size_t)rows * sizeof(int32_t));
    sb_builder_bytes(b, (void **)&l->col_start, (size_t)(l->in_f + 1) * sizeof(int32_t));
    sb_builder_bytes(b, (void **)&l->col_rows, (size_t)rows * l->in_f * sizeof(int32_t));
  }
  return SB_OK;
}

static void power_init(sb_layer *base, uint64_t seed) {
  power_kan_layer *l = (power_kan_layer *)base;
  const long io = (long)l->in_f * l->out_f;
  const uint32_t li = (uint32_t)base->index;
  sb_init_normal(l->W, io, 0.0f, 1.0f / sqrtf((float)l->in_f), seed, li, 0);
  memset(l->b, 0, (size_t)l->out_f * sizeof(float));
  sb_init_normal(l->phi, io * l->n, 0.0f, 0.1f, seed, li, 2);
  l->alpha[0] = 0.5f;
}

static inline float sigmoidf(float a) { return 1.0f / (1.0f + expf(-a)); }


/* ---------------------------------------------------------------- general inputs */

static void general_forward(power_kan_layer *l, const float *X, long rows, float sg, float *Y) {
  const int in_f = l->in_f, out_f = l->out_f, n = l->n;
  float *P = l->basis;
#pragma omp parallel for schedule(static) if (rows * in_f > 16384)
  for (long r = 0; r < rows; r++)
    for (int i = 0; i < in_f; i++) {
      const float u = tanhf(X[r * in_f + i]);
      float *p = P + (r * in_f + i) * n, pw = 1.0f;
      for (int k = 0; k < n; k++) {
        p[k] = pw;
        pw *= u;
      }
    }
  sb_gemm(0, 0, (int)rows, out_f, in_f, 1.0f, X, in_f, l->W, out_f, 0.0f, l->lin, out_f);
  sb_gemm(0, 0, (int)rows, out_f, in_f * n, 1.0f, P, in_f * n, l->phi, out_f, 0.0f, l->kan, out_f);
  const float *lin = l->lin, *kan = l->kan, *bias = l->b;
#pragma omp parallel for schedule(static) if (rows * out_f > 65536)
  for (long r = 0; r < rows; r++)
    for (int o = 0; o < out_f; o++) {
      const long e = r * out_f + o;
      Y[e] = sg * (lin[e] + bias[o]) + (1.0f - sg) * kan[e];
    }
}

static void general_backward(power_kan_layer *l, sb_act *in, const float *dY, long rows, float sg,
                             int acc) {
  const int in_f = l->in_f, out_f = l->out_f, n = l->n;
  const float *X = in->x;
  float *P = l->basis;
  sb_gemm(1, 0, in_f, out_f, (int)rows, sg, X, in_f, dY, out_f, 0.0f, l->dW, out_f);
  sb_sum_rows((int)rows, out_f, dY, 0.0f, l->db);
  for (int o = 0; o < out_f; o++) l->db[o] *= sg;
  sb_gemm(1, 0, in_f * n, out_f, (int)rows, 1.0f - sg, P, in_f * n, dY, out_f, 0.0f, l->dphi, out_f);
  /* dL/da = σ'(a) Σ dY · (W x + b − φ term). */
  const int pieces = sb_partial_pieces(rows);
  const float *lin = l->lin, *kan = l->kan, *bias = l->b;
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    long r0, r1;
    sb_piece_range(rows, pieces, p, &r0, &r1);
    double s = 0.0;
    for (long r = r0; r < r1; r++) {
      float row = 0.0f;
      for (int o = 0; o < out_f; o++) {
        const long e = r * out_f + o;
        row += dY[e] * (lin[e] + bias[o] - kan[e]);
      }
      s += row;
    }
    l->partial[p] = s;
  }
  sb_partials_reduce(l->partial, pieces, 1, l->dalpha);
  l->dalpha[0] *= sg * (1.0f - sg);
  if (!in->needs_grad) return;
  /* dP = (1 − σ) dY φ^T overwrites the basis, then folds back through d(u^k)/dx. */
  sb_gemm(0, 1, (int)rows, in_f * n, out_f, 1.0f - sg, dY, out_f, l->phi, out_f, 0.0f, P, in_f * n);
  float *dX = in->g;
#pragma omp parallel for schedule(static) if (rows * in_f > 16384)
  for (long r = 0; r < rows; r++)
    for (int i = 0; i < in_f; i++) {
      const float u = tanhf(X[r * in_f + i]);
      const float *dp = P + (r * in_f + i) * n;
      float d = 0.0f, pw = 1.0f;  /* pw = u^(k-1) */
      for (int k = 1; k < n; k++) {
        d += dp[k] * (float)k * pw;
        pw *= u;
      }
      const float v = d * (1.0f - u * u);
      dX[r * in_f + i] = acc ? dX[r * in_f + i] + v : v;
    }
  sb_gemm(0, 1, (int)rows, in_f, out_f, sg, dY, out_f, l->W, out_f, 1.0f, dX, in_f);
}

/* ---------------------------------------------------------------- spike inputs */

/* Powers of tanh(1), computed as the general path computes u^k. */
static void spike_powers(int n, float *pw) {
  const float t = tanhf(1.0f);
  pw[0] = 1.0f;
  for (int k = 1; k < n; k++) pw[k] = pw[k - 1] * t;
}

static void spike_forward(power_kan_layer *l, const float *X, long rows, float sg, float *Y) {
  const int in_f = l->in_f, out_f = l->out_f, n = l->n;
  float pw[POWER_MAX_DEGREE + 1];
  spike_powers(n, pw);
  /* w_eff = Σ_{k≥1} tanh(1)^k φ_k; w_fold = σ W + (1 − σ) w_eff; phi0 = Σ_i φ[i,0]. */
#pragma omp parallel for schedule(static) if ((long)in_f * out_f * n > 65536)
  for (int i = 0; i < in_f; i++) {
    const float *ph = l->phi + (long)i * n * out_f;
    float *we = l->w_eff + (long)i * out_f, *wf = l->w_fold + (long)i * out_f;
    const float *w = l->W + (long)i * out_f;
    for (int o = 0; o < out_f; o++) we[o] = pw[1] * ph[out_f + o];
    for (int k = 2; k < n; k++)
      for (int o = 0; o < out_f; o++) we[o] += pw[k] * ph[(long)k * out_f + o];
    for (int o = 0; o < out_f; o++) wf[o] = sg * w[o] + (1.0f - sg) * we[o];
  }
  /* Column sums of φ_0 over inputs: each output sums its inputs in order. */
  for (int o = 0; o < out_f; o++) l->phi0[o] = 0.0f;
  for (int i = 0; i < in_f; i++) {
    const float *ph = l->phi + (long)i * n * out_f;
    for (int o = 0; o < out_f; o++) l->phi0[o] += ph[o];
  }
  l->used_sparse = sb_density(X, rows * in_f) <= SPARSE_MAX_DENSITY;
  if (l->used_sparse)
    sb_sparse_gemm((int)rows, out_f, in_f, X, 1, l->w_fold, 0.0f, Y, l->idx, l->cnt);
  else
    sb_gemm(0, 0, (int)rows, out_f, in_f, 1.0f, X, in_f, l->w_fold, out_f, 0.0f, Y, out_f);
  float *bias = l->bias_fold;
  for (int o = 0; o < out_f; o++) bias[o] = sg * l->b[o] + (1.0f - sg) * l->phi0[o];
#pragma omp parallel for schedule(static) if (rows * out_f > 65536)
  for (long r = 0; r < rows; r++)
    for (int o = 0; o < out_f; o++) Y[r * out_f + o] += bias[o];
}

static void spike_backward(power_kan_layer *l, sb_act *in, const float *dY, long rows, float sg,
                           int acc) {
  const int in_f = l->in_f, out_f = l->out_f, n = l->n;
  const float *X = in->x;
  float pw[POWER_MAX_DEGREE + 1];
  spike_powers(n, pw);
  const float t = pw[1], dtanh = 1.0f - t * t;
  /* X^T dY: with spikes, the sums of the gradient rows each input fired in. */
  if (l->used_sparse)
    sb_sparse_gemm_wgrad((int)rows, out_f, in_f, X, 1, l->idx, l->cnt, dY, 0.0f, l->xty,
                         l->col_start, l->col_rows);
  else
    sb_gemm(1, 0, in_f, out_f, (int)rows, 1.0f, X, in_f, dY, out_f, 0.0f, l->xty, out_f);
  sb_sum_rows((int)rows, out_f, dY, 0.0f, l->colsum);
  const float *M = l->xty, *cs = l->colsum;
  const int pieces = sb_partial_pieces(in_f);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    long i0, i1;
    sb_piece_range(in_f, pieces, p, &i0, &i1);
    double s = 0.0;
    for (long i = i0; i < i1; i++) {
      const float *m = M + i * out_f, *w = l->W + i * out_f, *we = l->w_eff + i * out_f;
      float *dw = l->dW + i * out_f, *dph = l->dphi + i * n * out_f;
      float row = 0.0f;
      for (int o = 0; o < out_f; o++) {
        dw[o] = sg * m[o];
        dph[o] = (1.0f - sg) * cs[o];
        row += m[o] * (w[o] - we[o]);
      }
      for (int k = 1; k < n; k++)
        for (int o = 0; o < out_f; o++) dph[(long)k * out_f + o] = (1.0f - sg) * pw[k] * m[o];
      s += row;
    }
    l->partial[p] = s;
  }
  double da = 0.0;
  for (int p = 0; p < pieces; p++) da += l->partial[p];
  for (int o = 0; o < out_f; o++) {
    l->db[o] = sg * cs[o];
    da += (double)(l->b[o] - l->phi0[o]) * cs[o];
  }
  l->dalpha[0] = (float)(da * sg * (1.0f - sg));
  if (!in->needs_grad) return;
  /* dI/dx_i for x_i = 0 (only the k = 1 term survives) and for x_i = 1, folded with σ W. */
  float *H0 = l->w_fold, *H1 = l->w_fold2;
#pragma omp parallel for schedule(static) if ((long)in_f * out_f * n > 65536)
  for (int i = 0; i < in_f; i++) {
    const float *ph = l->phi + (long)i * n * out_f, *w = l->W + (long)i * out_f;
    float *h0 = H0 + (long)i * out_f, *h1 = H1 + (long)i * out_f;
    for (int o = 0; o < out_f; o++) h1[o] = 0.0f;
    for (int k = 1; k < n; k++) {
      const float c = (float)k * pw[k - 1] * dtanh;
      for (int o = 0; o < out_f; o++) h1[o] += c * ph[(long)k * out_f + o];
    }
    for (int o = 0; o < out_f; o++) {
      h0[o] = sg * w[o] + (1.0f - sg) * ph[out_f + o];
      h1[o] = sg * w[o] + (1.0f - sg) * h1[o];
    }
  }
  float *D0 = l->basis, *D1 = l->basis + rows * in_f;
  sb_gemm(0, 1, (int)rows, in_f, out_f, 1.0f, dY, out_f, H0, out_f, 0.0f, D0, in_f);
  sb_gemm(0, 1, (int)rows, in_f, out_f, 1.0f, dY, out_f, H1, out_f, 0.0f, D1, in_f);
  float *dX = in->g;
  const long m = rows * in_f;
#pragma omp parallel for schedule(static) if (m > 65536)
  for (long e = 0; e < m; e++) {
    const float v = X[e] != 0.0f ? D1[e] : D0[e];
    dX[e] = acc ? dX[e] + v : v;
  }
}

/* ---------------------------------------------------------------- the layer */

static void power_forward(sb_layer *base, const sb_ctx *c) {
  power_kan_layer *l = (power_kan_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const float sg = sigmoidf(l->alpha[0]);
  l->fast = in->is_binary && !c->smooth;
  if (l->fast)
    spike_forward(l, in->x, rows, sg, base->out.x);
  else
    general_forward(l, in->x, rows, sg, base->out.x);
}

static void power_backward(sb_layer *base, const sb_ctx *c) {
  power_kan_layer *l = (power_kan_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const float sg = sigmoidf(l->alpha[0]);
  if (l->fast)
    spike_backward(l, in, base->out.g, rows, sg, base->in_accumulate[0]);
  else
    general_backward(l, in, base->out.g, rows, sg, base->in_accumulate[0]);
}

static void power_describe(const sb_layer *base, char *buf, size_t n) {
  const power_kan_layer *l = (const power_kan_layer *)base;
  snprintf(buf, n, "%d -> %d, s(a)(Wx+b) + (1-s(a)) sum phi tanh(x)^0..%d, a init 0.5", l->in_f,
           l->out_f, l->degree);
}

static double power_macs(const sb_layer *base) {
  const power_kan_layer *l = (const power_kan_layer *)base;
  return (double)l->in_f * l->out_f * (l->n + 1); /* the linear term and the basis product */
}

/* The linear path (W, [in][out]) and the basis coefficients (phi, [in·n][out]): every nonzero
 * input feeds its row of each. */
static void power_count(const sb_layer *base, const sb_ctx *c, double *effective, double *dense) {
  const power_kan_layer *l = (const power_kan_layer *)base;
  const long rows = sb_act_rows(base->in[0], c->T, c->B);
  *effective = sb_count_rowwise(base->in[0], rows, l->in_f, l->W, l->out_f) +
               sb_count_rowwise(base->in[0], rows, l->in_f, l->phi, (long)l->n * l->out_f);
  *dense = (double)rows * l->in_f * l->out_f * (l->n + 1);
}

const sb_layer_ops sb_power_kan_ops = {"power_kan",    sizeof(power_kan_layer), power_build,
                                       power_init,     power_forward,           power_backward,
                                       power_describe, power_macs, power_count};
