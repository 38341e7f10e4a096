/* scale: y = f(s) * x with a learnable scalar s (or one per channel / feature), in the three
 * forms the seed models use:
 *   "mul"      f(s) = s              (notebook 001 NEXUS skip weight, 0.2)
 *   "abs"      f(s) = |s|            (NEXUS v2 residual weight 0.3, APEX skip weight 0.2)
 *   "inv_abs"  f(s) = 1 / (|s| + c)  (APEX output temperature, s = 1, c = 0.1)
 * The derivative of |s| at 0 is 0, as torch.abs's.
 * With "learnable": false, s is the constant "init" and the layer has no parameter: APEX's
 * hidden wiring h = clamp(h_new + 0.3 * Linear(h_prev), 0, 1) multiplies by a literal 0.3. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

typedef enum { SCALE_MUL, SCALE_ABS, SCALE_INV_ABS } scale_mode;
static const char *const k_mode_names[] = {"mul", "abs", "inv_abs"};

typedef struct {
  sb_layer base;
  scale_mode mode;
  float init, c;
  int per_channel;
  int learnable;
  int C;     /* number of factors: 1, or the channels */
  long S;    /* values each factor multiplies per sample */
  float *s, *ds;  /* the learnable values, or `fixed` when not learnable */
  float fixed;
  float *f;  /* f(s) of the last forward */
  double *partial;
} scale_layer;

static const char *const scale_keys[] = {"mode", "init", "c", "per_channel", "learnable", NULL};

static sb_status scale_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  scale_layer *l = (scale_layer *)base;
  sb_status st;
  char mode[16];
  double init, c;
  if ((st = sb_spec_check_keys(b, base, spec, scale_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if ((st = sb_spec_str(b, base, spec, "mode", "mul", mode, sizeof mode))) return st;
  int m = -1;
  for (int i = 0; i < 3; i++)
    if (!strcmp(mode, k_mode_names[i])) m = i;
  if (m < 0)
    return sb_builder_error(b, base, "\"mode\" is \"%s\"; expected \"mul\", \"abs\" or \"inv_abs\"", mode);
  l->mode = (scale_mode)m;
  if (l->mode != SCALE_INV_ABS && cJSON_GetObjectItemCaseSensitive(spec, "c"))
    return sb_builder_error(b, base, "\"c\" only applies to mode \"inv_abs\"");
  if ((st = sb_spec_num(b, base, spec, "init", 1.0, -1e6, 1e6, &init))) return st;
  if ((st = sb_spec_num(b, base, spec, "c", 0.1, 1e-6, 1e6, &c))) return st;
  if ((st = sb_spec_bool(b, base, spec, "per_channel", 0, &l->per_channel))) return st;
  if ((st = sb_spec_bool(b, base, spec, "learnable", 1, &l->learnable))) return st;
  if (!l->learnable && l->per_channel)
    return sb_builder_error(b, base, "a fixed scale (\"learnable\": false) is one constant; "
                            "\"per_channel\" needs a learnable one");
  l->init = (float)init;
  l->c = (float)c;
  const sb_shape s = base->in[0]->shape;
  l->C = l->per_channel ? sb_shape_channels(s) : 1;
  l->S = sb_shape_numel(s) / l->C;
  base->out.shape = s;
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  if (l->learnable) {
    sb_builder_param(b, base, "weight", &l->s, &l->ds, l->C);
  } else {
    l->fixed = l->init;
    l->s = &l->fixed;
  }
  sb_builder_floats(b, &l->f, l->C);
  if (l->learnable) sb_builder_partials(b, &l->partial, l->C);
  return SB_OK;
}

static void scale_init(sb_layer *base, uint64_t seed) {
  (void)seed;
  scale_layer *l = (scale_layer *)base;
  if (!l->learnable) return;
  for (int i = 0; i < l->C; i++) l->s[i] = l->init;
}

static inline float factor(const scale_layer *l, float s) {
  switch (l->mode) {
    case SCALE_ABS: return fabsf(s);
    case SCALE_INV_ABS: return 1.0f / (fabsf(s) + l->c);
    default: return s;
  }
}

/* df/ds, with sign(0) = 0. */
static inline float factor_grad(const scale_layer *l, float s) {
  const float sign = (float)((s > 0.0f) - (s < 0.0f));
  switch (l->mode) {
    case SCALE_ABS: return sign;
    case SCALE_INV_ABS: {
      const float d = fabsf(s) + l->c;
      return -sign / (d * d);
    }
    default: return 1.0f;
  }
}

static void scale_forward(sb_layer *base, const sb_ctx *c) {
  scale_layer *l = (scale_layer *)base;
  for (int i = 0; i < l->C; i++) l->f[i] = factor(l, l->s[i]);
  const long rows = sb_act_rows(&base->out, c->T, c->B), C = l->C, S = l->S;
  const float *x = base->in[0]->x, *f = l->f;
  float *y = base->out.x;
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++)
    for (long ch = 0; ch < C; ch++) {
      const long o = (r * C + ch) * S;
      for (long k = 0; k < S; k++) y[o + k] = f[ch] * x[o + k];
    }
}

/* dL/ds per factor: sum of dy * x over the rows of each piece, then over pieces in order. */
static void scale_param_grad(scale_layer *l, const float *x, const float *dy, long rows) {
  const long C = l->C, S = l->S;
  const int pieces = sb_partial_pieces(rows);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    long r0, r1;
    sb_piece_range(rows, pieces, p, &r0, &r1);
    double *acc = l->partial + (long)p * C;
    for (long ch = 0; ch < C; ch++) acc[ch] = 0.0;
    for (long r = r0; r < r1; r++)
      for (long ch = 0; ch < C; ch++) {
        const long o = (r * C + ch) * S;
        float sum = 0.0f;
        for (long k = 0; k < S; k++) sum += dy[o + k] * x[o + k];
        acc[ch] += sum;
      }
  }
  sb_partials_reduce(l->partial, pieces, C, l->ds);
  for (long ch = 0; ch < C; ch++) l->ds[ch] *= factor_grad(l, l->s[ch]);
}

static void scale_backward(sb_layer *base, const sb_ctx *c) {
  scale_layer *l = (scale_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(&base->out, c->T, c->B), C = l->C, S = l->S;
  const float *x = in->x, *dy = base->out.g, *f = l->f;
  if (l->learnable) scale_param_grad(l, x, dy, rows);
  if (!in->needs_grad) return;
  float *dx = in->g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (rows * C * S > 65536)
  for (long r = 0; r < rows; r++)
    for (long ch = 0; ch < C; ch++) {
      const long o = (r * C + ch) * S;
      if (acc)
        for (long k = 0; k < S; k++) dx[o + k] += f[ch] * dy[o + k];
      else
        for (long k = 0; k < S; k++) dx[o + k] = f[ch] * dy[o + k];
    }
}

static void scale_describe(const sb_layer *base, char *buf, size_t n) {
  const scale_layer *l = (const scale_layer *)base;
  char form[32];
  if (l->mode == SCALE_INV_ABS)
    snprintf(form, sizeof form, "x/(|s|+%g)", l->c);
  else
    snprintf(form, sizeof form, "%s", l->mode == SCALE_ABS ? "|s|*x" : "s*x");
  snprintf(buf, n, "y = %s, s %s %g%s", form, l->learnable ? "init" : "fixed at", l->init,
           l->per_channel ? ", per channel" : "");
}

const sb_layer_ops sb_scale_ops = {"scale", sizeof(scale_layer), scale_build, scale_init,
                                   scale_forward, scale_backward, scale_describe, NULL, NULL};
