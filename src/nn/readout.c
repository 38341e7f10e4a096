/* Readouts that reduce the time axis. mean_time: logits averaged over T (the seeds' readout). */
#include <cjson/cJSON.h>
#include <string.h>

#include "nn/layers.h"

static const char *const no_keys[] = {NULL};

static sb_status mean_time_build(sb_layer *l, sb_builder *b, const cJSON *spec) {
  sb_status st;
  if ((st = sb_spec_check_keys(b, l, spec, no_keys))) return st;
  if (l->n_in != 1) return sb_builder_error(b, l, "takes exactly one input");
  l->out.shape = l->in[0]->shape;
  l->out.is_static = 1;
  l->out.is_binary = 0;
  return SB_OK;
}

static void mean_time_forward(sb_layer *l, const sb_ctx *c) {
  const long R = (long)c->B * sb_shape_numel(l->out.shape);
  if (l->in[0]->is_static) {
    memcpy(l->out.x, l->in[0]->x, (size_t)R * sizeof(float));
    return;
  }
  sb_sum_time(c->T, R, l->in[0]->x, l->out.x, 0);
  sb_scale(l->out.x, R, 1.0f / (float)c->T);
}

static void mean_time_backward(sb_layer *l, const sb_ctx *c) {
  sb_act *in = l->in[0];
  if (!in->needs_grad) return;
  const long R = (long)c->B * sb_shape_numel(l->out.shape);
  if (in->is_static) {
    sb_grad_store(in->g, l->out.g, R, l->in_accumulate[0]);
    return;
  }
  const float inv = 1.0f / (float)c->T;
  const int acc = l->in_accumulate[0];
#pragma omp parallel for schedule(static) if (R * c->T > 65536)
  for (long r = 0; r < R; r++) {
    const float g = l->out.g[r] * inv;
    for (int t = 0; t < c->T; t++) {
      float *d = in->g + (long)t * R + r;
      *d = acc ? *d + g : g;
    }
  }
}

const sb_layer_ops sb_mean_time_ops = {"mean_time", sizeof(sb_layer), mean_time_build, NULL,
                                       mean_time_forward, mean_time_backward, NULL, NULL, NULL};

/* ---------------------------------------------------------------- flatten */

static sb_status flatten_build(sb_layer *l, sb_builder *b, const cJSON *spec) {
  sb_status st;
  if ((st = sb_spec_check_keys(b, l, spec, no_keys))) return st;
  if (l->n_in != 1) return sb_builder_error(b, l, "takes exactly one input");
  l->out.shape = (sb_shape){1, {(int)sb_shape_numel(l->in[0]->shape), 0, 0}};
  l->out.is_static = l->in[0]->is_static;
  l->out.is_binary = l->in[0]->is_binary;
  return SB_OK;
}

static void flatten_forward(sb_layer *l, const sb_ctx *c) {
  const long n = sb_act_rows(&l->out, c->T, c->B) * sb_shape_numel(l->out.shape);
  memcpy(l->out.x, l->in[0]->x, (size_t)n * sizeof(float));
}

static void flatten_backward(sb_layer *l, const sb_ctx *c) {
  if (!l->in[0]->needs_grad) return;
  const long n = sb_act_rows(&l->out, c->T, c->B) * sb_shape_numel(l->out.shape);
  sb_grad_store(l->in[0]->g, l->out.g, n, l->in_accumulate[0]);
}

const sb_layer_ops sb_flatten_ops = {"flatten", sizeof(sb_layer), flatten_build, NULL,
                                     flatten_forward, flatten_backward, NULL, NULL, NULL};

/* ---------------------------------------------------------------- relu (the ANN twins) */

static sb_status relu_build(sb_layer *l, sb_builder *b, const cJSON *spec) {
  sb_status st;
  if ((st = sb_spec_check_keys(b, l, spec, no_keys))) return st;
  if (l->n_in != 1) return sb_builder_error(b, l, "takes exactly one input");
  l->out.shape = l->in[0]->shape;
  l->out.is_static = l->in[0]->is_static;
  l->out.is_binary = 0;
  return SB_OK;
}

static void relu_forward(sb_layer *l, const sb_ctx *c) {
  const long n = sb_act_rows(&l->out, c->T, c->B) * sb_shape_numel(l->out.shape);
  const float *x = l->in[0]->x;
  float *y = l->out.x;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_backward(sb_layer *l, const sb_ctx *c) {
  sb_act *in = l->in[0];
  if (!in->needs_grad) return;
  const long n = sb_act_rows(&l->out, c->T, c->B) * sb_shape_numel(l->out.shape);
  const float *x = in->x, *g = l->out.g;
  float *d = in->g;
  const int acc = l->in_accumulate[0];
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long i = 0; i < n; i++) {
    const float v = x[i] > 0.0f ? g[i] : 0.0f;
    d[i] = acc ? d[i] + v : v;
  }
}

const sb_layer_ops sb_relu_ops = {"relu", sizeof(sb_layer), relu_build, NULL, relu_forward,
                                  relu_backward, NULL, NULL, NULL};
