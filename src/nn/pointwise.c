/* Stateless elementwise activations: clamp (APEX keeps its mixed spike/analog hidden state in
 * [0, 1]) and sigmoid (gates). Static inputs stay static. */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>

#include "nn/layers.h"

static long values(const sb_layer *l, const sb_ctx *c) {
  return sb_act_rows(&l->out, c->T, c->B) * sb_shape_numel(l->out.shape);
}

static sb_status same_shape_output(sb_layer *l, sb_builder *b) {
  if (l->n_in != 1) return sb_builder_error(b, l, "takes exactly one input");
  l->out.shape = l->in[0]->shape;
  l->out.is_static = l->in[0]->is_static;
  l->out.is_binary = 0;
  return SB_OK;
}

/* ---------------------------------------------------------------- clamp */

typedef struct {
  sb_layer base;
  float lo, hi;
} clamp_layer;

static const char *const clamp_keys[] = {"min", "max", NULL};

static sb_status clamp_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  clamp_layer *l = (clamp_layer *)base;
  sb_status st;
  double lo, hi;
  if ((st = sb_spec_check_keys(b, base, spec, clamp_keys))) return st;
  if ((st = same_shape_output(base, b))) return st;
  if (!cJSON_GetObjectItemCaseSensitive(spec, "min") && !cJSON_GetObjectItemCaseSensitive(spec, "max"))
    return sb_builder_error(b, base, "needs \"min\", \"max\" or both");
  if ((st = sb_spec_num(b, base, spec, "min", -FLT_MAX, -FLT_MAX, FLT_MAX, &lo))) return st;
  if ((st = sb_spec_num(b, base, spec, "max", FLT_MAX, -FLT_MAX, FLT_MAX, &hi))) return st;
  if (lo > hi) return sb_builder_error(b, base, "\"min\" %g is above \"max\" %g", lo, hi);
  l->lo = (float)lo;
  l->hi = (float)hi;
  /* Spikes stay spikes when the range contains both 0 and 1. */
  base->out.is_binary = base->in[0]->is_binary && l->lo <= 0.0f && l->hi >= 1.0f;
  return SB_OK;
}

static void clamp_forward(sb_layer *base, const sb_ctx *c) {
  const clamp_layer *l = (const clamp_layer *)base;
  const long n = values(base, c);
  const float *x = base->in[0]->x, lo = l->lo, hi = l->hi;
  float *y = base->out.x;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long i = 0; i < n; i++) y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}

/* PyTorch passes the gradient where lo <= x <= hi, bounds included: APEX's clamp(spike + 0.3 *
 * residual, 0, 1) lets gradients through spikes that sit exactly at 0 or 1. */
static void clamp_backward(sb_layer *base, const sb_ctx *c) {
  const clamp_layer *l = (const clamp_layer *)base;
  sb_act *in = base->in[0];
  if (!in->needs_grad) return;
  const long n = values(base, c);
  const float *x = in->x, *g = base->out.g, lo = l->lo, hi = l->hi;
  float *d = in->g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long i = 0; i < n; i++) {
    const float v = x[i] >= lo && x[i] <= hi ? g[i] : 0.0f;
    d[i] = acc ? d[i] + v : v;
  }
}

static void clamp_describe(const sb_layer *base, char *buf, size_t n) {
  const clamp_layer *l = (const clamp_layer *)base;
  if (l->lo == -FLT_MAX)
    snprintf(buf, n, "at most %g", l->hi);
  else if (l->hi == FLT_MAX)
    snprintf(buf, n, "at least %g", l->lo);
  else
    snprintf(buf, n, "to [%g, %g]", l->lo, l->hi);
}

const sb_layer_ops sb_clamp_ops = {"clamp", sizeof(clamp_layer), clamp_build, NULL,
                                   clamp_forward, clamp_backward, clamp_describe, NULL, NULL};

/* ---------------------------------------------------------------- sigmoid */

static const char *const no_keys[] = {NULL};

static sb_status sigmoid_build(sb_layer *l, sb_builder *b, const cJSON *spec) {
  sb_status st;
  if ((st = sb_spec_check_keys(b, l, spec, no_keys))) return st;
  return same_shape_output(l, b);
}

static void sigmoid_forward(sb_layer *l, const sb_ctx *c) {
  const long n = values(l, c);
  const float *x = l->in[0]->x;
  float *y = l->out.x;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (long i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

/* dy/dx = y (1 - y), from the saved output. */
static void sigmoid_backward(sb_layer *l, const sb_ctx *c) {
  sb_act *in = l->in[0];
  if (!in->needs_grad) return;
  const long n = values(l, c);
  const float *y = l->out.x, *g = l->out.g;
  float *d = in->g;
  const int acc = l->in_accumulate[0];
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long i = 0; i < n; i++) {
    const float v = g[i] * y[i] * (1.0f - y[i]);
    d[i] = acc ? d[i] + v : v;
  }
}

const sb_layer_ops sb_sigmoid_ops = {"sigmoid", sizeof(sb_layer), sigmoid_build, NULL,
                                     sigmoid_forward, sigmoid_backward, NULL, NULL, NULL};
