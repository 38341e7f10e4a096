/* Layers that merge several inputs: add (residuals), mul (gating, SDSA's Q ⊙ kv) and concat.
 *
 * Inputs may mix static and dynamic activations. The output is static only when every input is;
 * otherwise a static input is broadcast over t, and its gradient is the sum over t of what it
 * would receive at each step. Inputs are handled in index order in backward, so an activation
 * listed twice (add of x with itself) is overwritten once and then accumulated, as planned by
 * the model. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

static int shapes_equal(sb_shape a, sb_shape b) {
  if (a.ndim != b.ndim) return 0;
  for (int i = 0; i < a.ndim; i++)
    if (a.d[i] != b.d[i]) return 0;
  return 1;
}

static int all_static(const sb_layer *l) {
  int s = 1;
  for (int i = 0; i < l->n_in; i++) s &= l->in[i]->is_static;
  return s;
}

static int all_binary(const sb_layer *l) {
  int s = 1;
  for (int i = 0; i < l->n_in; i++) s &= l->in[i]->is_binary;
  return s;
}

static const char *const no_keys[] = {NULL};

/* ---------------------------------------------------------------- add */

static sb_status add_build(sb_layer *l, sb_builder *b, const cJSON *spec) {
  sb_status st;
  if ((st = sb_spec_check_keys(b, l, spec, no_keys))) return st;
  if (l->n_in < 2) return sb_builder_error(b, l, "needs 2 to 4 inputs (\"in\": [a, b, ...])");
  for (int i = 1; i < l->n_in; i++)
    if (!shapes_equal(l->in[i]->shape, l->in[0]->shape)) {
      char a[32], c[32];
      return sb_builder_error(b, l, "input %d is %s but input 0 is %s; add needs equal shapes", i,
                              sb_shape_str(l->in[i]->shape, a, sizeof a),
                              sb_shape_str(l->in[0]->shape, c, sizeof c));
    }
  l->out.shape = l->in[0]->shape;
  l->out.is_static = all_static(l);
  l->out.is_binary = 0;
  return SB_OK;
}

static void add_forward(sb_layer *l, const sb_ctx *c) {
  const long R = (long)c->B * sb_shape_numel(l->out.shape);
  const int steps = l->out.is_static ? 1 : c->T;
  for (int t = 0; t < steps; t++) {
    float *y = l->out.x + (long)t * R;
    const float *x[SB_MAX_INPUTS];
    for (int i = 0; i < l->n_in; i++) x[i] = l->in[i]->x + (l->in[i]->is_static ? 0 : (long)t * R);
    const int n = l->n_in;
#pragma omp parallel for schedule(static) if (R > 65536)
    for (long e = 0; e < R; e++) {
      float s = x[0][e];
      for (int i = 1; i < n; i++) s += x[i][e];
      y[e] = s;
    }
  }
}

static void add_backward(sb_layer *l, const sb_ctx *c) {
  const long R = (long)c->B * sb_shape_numel(l->out.shape);
  const int steps = l->out.is_static ? 1 : c->T;
  for (int i = 0; i < l->n_in; i++)
    if (l->in[i]->needs_grad) sb_grad_store_seq(l->in[i], l->out.g, steps, R, l->in_accumulate[i]);
}

static void merge_describe(const sb_layer *l, char *buf, size_t n) {
  int n_static = 0;
  for (int i = 0; i < l->n_in; i++) n_static += l->in[i]->is_static;
  if (n_static && !l->out.is_static)
    snprintf(buf, n, "%d inputs, %d static (broadcast over T)", l->n_in, n_static);
  else
    snprintf(buf, n, "%d inputs", l->n_in);
}

const sb_layer_ops sb_add_ops = {"add", sizeof(sb_layer), add_build, NULL, add_forward,
                                 add_backward, merge_describe, NULL, NULL};

/* ---------------------------------------------------------------- mul */

/* Elementwise product of two inputs. The inputs have equal shapes, or one of them is a channel
 * vector ([C] or [C,1,1]) that scales every position of the other's [C,H,W] channels. Both cases
 * are one loop over [C][S]: equal shapes are C = numel channels of spatial size S = 1. */
typedef struct {
  sb_layer base;
  int full;  /* index of the input with the larger shape (0 when shapes are equal) */
  long C, S;
} mul_layer;

/* [C] or [C,1,1]: one value per channel. */
static int channel_vector(sb_shape s) {
  return s.ndim == 1 || (s.ndim == 3 && s.d[1] == 1 && s.d[2] == 1);
}

static sb_status mul_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  mul_layer *l = (mul_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, no_keys))) return st;
  if (base->n_in != 2) return sb_builder_error(b, base, "needs exactly 2 inputs");
  const sb_shape a = base->in[0]->shape, v = base->in[1]->shape;
  if (shapes_equal(a, v) || (channel_vector(a) && channel_vector(v) && a.d[0] == v.d[0])) {
    /* Equal shapes, or [C] with [C,1,1]: elementwise, in the first input's shape. */
    l->full = 0;
    l->C = sb_shape_numel(a);
    l->S = 1;
  } else {
    l->full = sb_shape_numel(a) >= sb_shape_numel(v) ? 0 : 1;
    const sb_shape f = base->in[l->full]->shape, g = base->in[1 - l->full]->shape;
    if (f.ndim != 3 || !channel_vector(g) || g.d[0] != f.d[0]) {
      char s1[32], s2[32];
      return sb_builder_error(b, base, "cannot multiply %s by %s: shapes must be equal, or one a "
                              "[C] / [C,1,1] channel vector for a [C,H,W] map",
                              sb_shape_str(a, s1, sizeof s1), sb_shape_str(v, s2, sizeof s2));
    }
    l->C = f.d[0];
    l->S = (long)f.d[1] * f.d[2];
  }
  base->out.shape = base->in[l->full]->shape;
  base->out.is_static = all_static(base);
  base->out.is_binary = all_binary(base);
  return SB_OK;
}

static void mul_forward(sb_layer *base, const sb_ctx *c) {
  const mul_layer *l = (const mul_layer *)base;
  const sb_act *fa = base->in[l->full], *va = base->in[1 - l->full];
  const int steps = base->out.is_static ? 1 : c->T, B = c->B;
  const long C = l->C, S = l->S, rows = (long)steps * B;
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++) {
    const int t = (int)(r / B), b = (int)(r % B);
    const float *f = fa->x + sb_act_row(fa, t, b, B) * C * S;
    const float *v = va->x + sb_act_row(va, t, b, B) * C;
    float *y = base->out.x + r * C * S;
    for (long ch = 0; ch < C; ch++)
      for (long s = 0; s < S; s++) y[ch * S + s] = f[ch * S + s] * v[ch];
  }
}

static void mul_backward(sb_layer *base, const sb_ctx *c) {
  const mul_layer *l = (const mul_layer *)base;
  sb_act *fa = base->in[l->full], *va = base->in[1 - l->full];
  const int acc_f = base->in_accumulate[l->full], acc_v = base->in_accumulate[1 - l->full];
  const int steps = base->out.is_static ? 1 : c->T, B = c->B;
  const long C = l->C, S = l->S;
  const float *dY = base->out.g;
  /* One sample per iteration, steps inside: a static input's row sums its steps in order. The
   * lower-indexed input is written first, as the accumulation plan expects. */
  const int full_first = l->full == 0;
#pragma omp parallel for schedule(static) if ((long)steps * B * C * S > 65536)
  for (int b = 0; b < B; b++) {
    for (int pass = 0; pass < 2; pass++) {
      const int do_full = (pass == 0) == full_first;
      sb_act *dst = do_full ? fa : va;
      if (!dst->needs_grad) continue;
      const int acc = do_full ? acc_f : acc_v;
      const long len = do_full ? C * S : C;
      for (int t = 0; t < steps; t++) {
        const float *dy = dY + ((long)t * B + b) * C * S;
        const float *f = fa->x + sb_act_row(fa, t, b, B) * C * S;
        const float *v = va->x + sb_act_row(va, t, b, B) * C;
        float *g = dst->g + sb_act_row(dst, t, b, B) * len;
        /* Overwrite on the first step that touches this row unless another consumer wrote it. */
        const int add = acc || (dst->is_static && t > 0);
        if (do_full) {
          for (long ch = 0; ch < C; ch++)
            for (long s = 0; s < S; s++) {
              const float d = dy[ch * S + s] * v[ch];
              g[ch * S + s] = add ? g[ch * S + s] + d : d;
            }
        } else {
          for (long ch = 0; ch < C; ch++) {
            float d = 0.0f;
            for (long s = 0; s < S; s++) d += dy[ch * S + s] * f[ch * S + s];
            g[ch] = add ? g[ch] + d : d;
          }
        }
      }
    }
  }
}

static void mul_describe(const sb_layer *base, char *buf, size_t n) {
  const mul_layer *l = (const mul_layer *)base;
  if (l->S > 1)
    snprintf(buf, n, "input %d scales each of %ld channels over %ld positions", 1 - l->full, l->C,
             l->S);
  else
    snprintf(buf, n, "elementwise");
}

const sb_layer_ops sb_mul_ops = {"mul", sizeof(mul_layer), mul_build, NULL, mul_forward,
                                 mul_backward, mul_describe, NULL, NULL};

/* ---------------------------------------------------------------- concat */

/* Concatenation along the first per-sample axis: channels of [C,H,W] maps (equal H and W) or
 * features of [F] vectors. Per sample that is one block after another. */
typedef struct {
  sb_layer base;
  long len[SB_MAX_INPUTS], off[SB_MAX_INPUTS], total;
} concat_layer;

static const char *const concat_keys[] = {"dim", NULL};

static sb_status concat_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  concat_layer *l = (concat_layer *)base;
  sb_status st;
  char dim[16];
  if ((st = sb_spec_check_keys(b, base, spec, concat_keys))) return st;
  if (base->n_in < 2) return sb_builder_error(b, base, "needs 2 to 4 inputs (\"in\": [a, b, ...])");
  const sb_shape s0 = base->in[0]->shape;
  if ((st = sb_spec_str(b, base, spec, "dim", s0.ndim == 3 ? "channels" : "features", dim,
                        sizeof dim)))
    return st;
  const int want = !strcmp(dim, "channels") ? 3 : !strcmp(dim, "features") ? 1 : 0;
  if (!want)
    return sb_builder_error(b, base, "\"dim\" is \"%s\"; expected \"channels\" or \"features\"", dim);
  sb_shape out = s0;
  out.d[0] = 0;
  long off = 0;
  for (int i = 0; i < base->n_in; i++) {
    const sb_shape s = base->in[i]->shape;
    char a[32];
    if (s.ndim != want)
      return sb_builder_error(b, base, "input %d is %s: concat over %s needs %s inputs", i,
                              sb_shape_str(s, a, sizeof a), dim, want == 3 ? "CxHxW" : "[F]");
    if (want == 3 && (s.d[1] != s0.d[1] || s.d[2] != s0.d[2])) {
      char c[32];
      return sb_builder_error(b, base, "input %d is %s but input 0 is %s; channel concat needs "
                              "equal height and width", i, sb_shape_str(s, a, sizeof a),
                              sb_shape_str(s0, c, sizeof c));
    }
    out.d[0] += s.d[0];
    l->len[i] = sb_shape_numel(s);
    l->off[i] = off;
    off += l->len[i];
  }
  l->total = off;
  base->out.shape = out;
  base->out.is_static = all_static(base);
  base->out.is_binary = all_binary(base);
  return SB_OK;
}

static void concat_forward(sb_layer *base, const sb_ctx *c) {
  const concat_layer *l = (const concat_layer *)base;
  const int steps = base->out.is_static ? 1 : c->T, B = c->B;
  const long rows = (long)steps * B;
#pragma omp parallel for schedule(static) if (rows * l->total > 65536)
  for (long r = 0; r < rows; r++) {
    const int t = (int)(r / B), b = (int)(r % B);
    float *y = base->out.x + r * l->total;
    for (int i = 0; i < base->n_in; i++) {
      const sb_act *in = base->in[i];
      memcpy(y + l->off[i], in->x + sb_act_row(in, t, b, B) * l->len[i],
             (size_t)l->len[i] * sizeof(float));
    }
  }
}

static void concat_backward(sb_layer *base, const sb_ctx *c) {
  const concat_layer *l = (const concat_layer *)base;
  const int steps = base->out.is_static ? 1 : c->T, B = c->B;
  for (int i = 0; i < base->n_in; i++) {
    sb_act *in = base->in[i];
    if (!in->needs_grad) continue;
    const long len = l->len[i], off = l->off[i];
    const int acc = base->in_accumulate[i];
#pragma omp parallel for schedule(static) if ((long)steps * B * len > 65536)
    for (int b = 0; b < B; b++)
      for (int t = 0; t < steps; t++) {
        const float *dy = base->out.g + ((long)t * B + b) * l->total + off;
        float *g = in->g + sb_act_row(in, t, b, B) * len;
        if (acc || (in->is_static && t > 0))
          for (long e = 0; e < len; e++) g[e] += dy[e];
        else
          memcpy(g, dy, (size_t)len * sizeof(float));
      }
  }
}

static void concat_describe(const sb_layer *base, char *buf, size_t n) {
  size_t used = (size_t)snprintf(buf, n, "%s", base->out.shape.ndim == 3 ? "channels" : "features");
  for (int i = 0; i < base->n_in && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, "%s%d", i ? "+" : " ",
                             base->in[i]->shape.d[0]);
}

const sb_layer_ops sb_concat_ops = {"concat", sizeof(concat_layer), concat_build, NULL,
                                    concat_forward, concat_backward, concat_describe, NULL, NULL};
