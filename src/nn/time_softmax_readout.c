/* time_softmax_readout: reduces per-step logits z_t [B][C] to one static [B][C] by a learned
 * softmax over time, the output aggregation of NEXUS v2 and APEX (their TemporalAttention):
 *
 *   s_t = Linear(C→1)(z_t)                           hidden: []   (NEXUS v2, run_nexus_v2.py)
 *   s_t = Linear(h→1)(ReLU(Linear(C→h)(z_t)))        hidden: [h]  (APEX, h = C // 4 = 2)
 *   w   = softmax over t of s_t (per sample),  y = Σ_t w_t z_t
 *
 * Both seeds return z_0 when T = 1, which equals the softmax form (one weight of 1). A static
 * input has z_t = z for every t, so y = z exactly and the scorer gets no gradient. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

enum { TSR_MAX_HIDDEN = 256 };  /* the backward keeps one row of hidden gradients on the stack */

typedef struct {
  sb_layer base;
  int C, H;                      /* classes, hidden width (0: a single Linear) */
  float *W1, *dW1, *b1, *db1;    /* [C][H], [H] when H > 0 */
  float *w2, *dw2, *b2, *db2;    /* [H or C], [1] */
  float *act;                    /* ReLU outputs [T*B][H] */
  float *score;                  /* s_t, then the weights w_t, [T][B] */
  float *dscore;                 /* dL/ds_t [T][B] */
  double *partial;
  long n_grad;                   /* values in one partial slot */
} tsr_layer;

static const char *const tsr_keys[] = {"hidden", NULL};

static sb_status tsr_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  tsr_layer *l = (tsr_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, tsr_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  const cJSON *hidden = cJSON_GetObjectItemCaseSensitive(spec, "hidden");
  l->H = 0;
  if (hidden) {
    const int n = cJSON_GetArraySize(hidden);
    const cJSON *h = cJSON_GetArrayItem(hidden, 0);
    if (!cJSON_IsArray(hidden) || n > 1 ||
        (n == 1 && (!cJSON_IsNumber(h) || h->valuedouble != (double)h->valueint || h->valueint < 1 ||
                     h->valueint > TSR_MAX_HIDDEN)))
      return sb_builder_error(b, base, "\"hidden\" must be [] or [width] with a width of 1 to %d",
                              TSR_MAX_HIDDEN);
    if (n == 1) l->H = h->valueint;
  }
  const sb_act *in = base->in[0];
  if (in->shape.ndim != 1) {
    char s[32];
    return sb_builder_error(b, base, "needs per-step logits [C], got %s",
                            sb_shape_str(in->shape, s, sizeof s));
  }
  l->C = in->shape.d[0];
  base->out.shape = in->shape;
  base->out.is_static = 1;
  base->out.is_binary = 0;
  const int fan = l->H ? l->H : l->C;
  if (l->H) {
    sb_builder_param(b, base, "hidden.weight", &l->W1, &l->dW1, (long)l->C * l->H);
    sb_builder_quantizable(b, l->H, 1, l->H, l->C); /* [C][H]: int8 per hidden unit */
    sb_builder_param(b, base, "hidden.bias", &l->b1, &l->db1, l->H);
  }
  sb_builder_param(b, base, "score.weight", &l->w2, &l->dw2, fan);
  sb_builder_quantizable(b, 1, 0, 1, fan); /* Linear(fan -> 1): one output channel */
  sb_builder_param(b, base, "score.bias", &l->b2, &l->db2, 1);
  const sb_model_opts *o = sb_builder_opts(b);
  const long rows = (long)o->T * o->B;
  if (l->H) sb_builder_floats(b, &l->act, rows * l->H);
  sb_builder_floats(b, &l->score, rows);
  sb_builder_floats(b, &l->dscore, rows);
  l->n_grad = (l->H ? (long)l->C * l->H + l->H : 0) + fan + 1;
  sb_builder_partials(b, &l->partial, l->n_grad);
  return SB_OK;
}

static void tsr_init(sb_layer *base, uint64_t seed) {
  tsr_layer *l = (tsr_layer *)base;
  const uint32_t li = (uint32_t)base->index;
  if (l->H) {
    const float bound1 = 1.0f / sqrtf((float)l->C);
    sb_init_uniform(l->W1, (long)l->C * l->H, bound1, seed, li, 0);
    sb_init_uniform(l->b1, l->H, bound1, seed, li, 1);
  }
  const float bound2 = 1.0f / sqrtf((float)(l->H ? l->H : l->C));
  sb_init_uniform(l->w2, l->H ? l->H : l->C, bound2, seed, li, 2);
  sb_init_uniform(l->b2, 1, bound2, seed, li, 3);
}

/* Score of one row of logits; keeps the ReLU activations for backward. */
static float score_row(const tsr_layer *l, const float *z, float *act) {
  float s = l->b2[0];
  if (!l->H) {
    for (int c = 0; c < l->C; c++) s += z[c] * l->w2[c];
    return s;
  }
  for (int j = 0; j < l->H; j++) act[j] = l->b1[j];
  for (int c = 0; c < l->C; c++)
    for (int j = 0; j < l->H; j++) act[j] += z[c] * l->W1[(long)c * l->H + j];
  for (int j = 0; j < l->H; j++) {
    act[j] = act[j] > 0.0f ? act[j] : 0.0f;
    s += act[j] * l->w2[j];
  }
  return s;
}

static void tsr_forward(sb_layer *base, const sb_ctx *c) {
  tsr_layer *l = (tsr_layer *)base;
  const sb_act *in = base->in[0];
  const int T = c->T, B = c->B, C = l->C;
  if (in->is_static) {
    memcpy(base->out.x, in->x, (size_t)B * C * sizeof(float));
    return;
  }
  const long rows = (long)T * B;
#pragma omp parallel for schedule(static) if (rows * C * (l->H + 1) > 65536)
  for (long r = 0; r < rows; r++)
    l->score[r] = score_row(l, in->x + r * C, l->H ? l->act + r * l->H : NULL);
  /* Softmax over t per sample; the scores become the weights in place. */
  float *Y = base->out.x;
#pragma omp parallel for schedule(static) if ((long)B * T * C > 65536)
  for (int b = 0; b < B; b++) {
    float mx = -INFINITY, sum = 0.0f;
    for (int t = 0; t < T; t++) mx = fmaxf(mx, l->score[(long)t * B + b]);
    for (int t = 0; t < T; t++) sum += l->score[(long)t * B + b] = expf(l->score[(long)t * B + b] - mx);
    float *y = Y + (long)b * C;
    for (int k = 0; k < C; k++) y[k] = 0.0f;
    for (int t = 0; t < T; t++) {
      const float w = l->score[(long)t * B + b] /= sum;
      const float *z = in->x + ((long)t * B + b) * C;
      for (int k = 0; k < C; k++) y[k] += w * z[k];
    }
  }
}

static void tsr_backward(sb_layer *base, const sb_ctx *c) {
  tsr_layer *l = (tsr_layer *)base;
  sb_act *in = base->in[0];
  const int T = c->T, B = c->B, C = l->C, H = l->H;
  const float *dY = base->out.g;
  const long n_w1 = H ? (long)C * H : 0, n_b1 = H, n_w2 = H ? H : C;
  if (in->is_static) {
    /* y = z: the weights sum to one whatever the scores, so the scorer has no gradient. */
    if (H) {
      memset(l->dW1, 0, (size_t)n_w1 * sizeof(float));
      memset(l->db1, 0, (size_t)n_b1 * sizeof(float));
    }
    memset(l->dw2, 0, (size_t)n_w2 * sizeof(float));
    l->db2[0] = 0.0f;
    if (in->needs_grad) sb_grad_store(in->g, dY, (long)B * C, base->in_accumulate[0]);
    return;
  }
  const float *Z = in->x, *w = l->score;
  const int acc = base->in_accumulate[0];
  /* ds_t = w_t (dy · z_t − Σ_t' w_t' dy · z_t'), and the direct part dz_t = w_t dy. */
#pragma omp parallel for schedule(static) if ((long)B * T * C > 65536)
  for (int b = 0; b < B; b++) {
    const float *dy = dY + (long)b * C;
    float mean = 0.0f;
    for (int t = 0; t < T; t++) {
      const long r = (long)t * B + b;
      float g = 0.0f;
      for (int k = 0; k < C; k++) g += dy[k] * Z[r * C + k];
      l->dscore[r] = g;
      mean += w[r] * g;
    }
    for (int t = 0; t < T; t++) {
      const long r = (long)t * B + b;
      l->dscore[r] = w[r] * (l->dscore[r] - mean);
      if (!in->needs_grad) continue;
      float *dz = in->g + r * C;
      for (int k = 0; k < C; k++) dz[k] = acc ? dz[k] + w[r] * dy[k] : w[r] * dy[k];
    }
  }
  /* Through the scorer: parameter sums over rows in fixed pieces, input gradients per row. */
  const long rows = (long)T * B;
  const int pieces = sb_partial_pieces(rows);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    long r0, r1;
    sb_piece_range(rows, pieces, p, &r0, &r1);
    double *g = l->partial + p * l->n_grad;
    double *gW1 = g, *gb1 = g + n_w1, *gw2 = g + n_w1 + n_b1, *gb2 = gw2 + n_w2;
    memset(g, 0, (size_t)l->n_grad * sizeof(double));
    for (long r = r0; r < r1; r++) {
      const float ds = l->dscore[r], *z = Z + r * C;
      float *dz = in->needs_grad ? in->g + r * C : NULL;
      gb2[0] += ds;
      if (!H) {
        for (int k = 0; k < C; k++) {
          gw2[k] += (double)ds * z[k];
          if (dz) dz[k] += ds * l->w2[k];
        }
        continue;
      }
      const float *a = l->act + r * H;
      float da[TSR_MAX_HIDDEN];
      for (int j = 0; j < H; j++) {
        gw2[j] += (double)ds * a[j];
        da[j] = a[j] > 0.0f ? ds * l->w2[j] : 0.0f;
        gb1[j] += da[j];
      }
      for (int k = 0; k < C; k++) {
        float back = 0.0f;
        for (int j = 0; j < H; j++) {
          gW1[(long)k * H + j] += (double)z[k] * da[j];
          back += da[j] * l->W1[(long)k * H + j];
        }
        if (dz) dz[k] += back;
      }
    }
  }
  float *out[4] = {l->dW1, l->db1, l->dw2, l->db2};
  const long len[4] = {n_w1, n_b1, n_w2, 1};
  long off = 0;
  for (int q = 0; q < 4; q++) {
    if (!len[q]) continue;
    for (long i = 0; i < len[q]; i++) {
      double s = 0.0;
      for (int p = 0; p < pieces; p++) s += l->partial[p * l->n_grad + off + i];
      out[q][i] = (float)s;
    }
    off += len[q];
  }
}

static void tsr_describe(const sb_layer *base, char *buf, size_t n) {
  const tsr_layer *l = (const tsr_layer *)base;
  if (l->H)
    snprintf(buf, n, "softmax over t of Linear(%d->1)(ReLU(Linear(%d->%d)(z_t)))", l->H, l->C, l->H);
  else
    snprintf(buf, n, "softmax over t of Linear(%d->1)(z_t)", l->C);
}

/* NeuroBench counts the scorer's nn.Linear calls on every step's logits: Linear(C->1), or
 * Linear(C->h) and then Linear(h->1) on its ReLU outputs (kept by the forward). The model files
 * both under the class of the logits (real-valued: MACs). A static input is passed through as
 * y = z without scoring (T equal scores give uniform weights, and both seeds return z_0 at
 * T = 1), so nothing is computed and nothing is counted. */
static void tsr_count(const sb_layer *base, const sb_ctx *c, double *effective, double *dense) {
  const tsr_layer *l = (const tsr_layer *)base;
  const sb_act *in = base->in[0];
  *effective = *dense = 0.0;
  if (in->is_static) return;
  const long rows = (long)c->T * c->B;
  if (!l->H) {
    *effective = sb_count_rowwise(in, rows, l->C, l->w2, 1);
    *dense = (double)rows * l->C;
    return;
  }
  double e = sb_count_rowwise(in, rows, l->C, l->W1, l->H);
  for (int j = 0; j < l->H; j++) {
    if (l->w2[j] == 0.0f) continue;
    long active = 0;
    for (long r = 0; r < rows; r++) active += l->act[r * l->H + j] != 0.0f;
    e += (double)active;
  }
  *effective = e;
  *dense = (double)rows * ((double)l->C * l->H + l->H);
}

const sb_layer_ops sb_time_softmax_readout_ops = {"time_softmax_readout", sizeof(tsr_layer),
                                                  tsr_build, tsr_init, tsr_forward, tsr_backward,
                                                  tsr_describe, NULL, tsr_count};
