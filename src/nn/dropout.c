/* Inverted dropout: in training each value is kept with probability 1 - p and scaled by
 * 1 / (1 - p); in evaluation the layer is the identity.
 *
 * The mask is a pure function of (trial seed, layer, global step, element) through the fast
 * counter generator (sb_fast_draw, keyed by seed, layer stream and step), so it is the same for
 * any thread count or rank and a replayed step draws the same mask. Element e of the
 * [T][B][numel] output uses 16-bit field e % 4 of draw e / 4: keep when the field, as a
 * fraction of 65536, is at least p (p is thus resolved to 1/65536). A static input becomes a
 * dynamic output when p > 0: PyTorch draws a fresh mask at every step of the time loop, and
 * so does this layer. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"
#include "snnbench/rng.h"

typedef struct {
  sb_layer base;
  float p, keep_scale;
  uint8_t *mask;   /* 1 where the last training forward kept the value */
  int masked;      /* whether the last forward applied a mask (training with p > 0) */
} dropout_layer;

static const char *const dropout_keys[] = {"p", NULL};

/* The draw index is 64-bit; a bound keeps the element count far from overflow. */
#define DROPOUT_MAX_ELEMENTS (4.0 * 4294967296.0)

static sb_status dropout_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  dropout_layer *l = (dropout_layer *)base;
  sb_status st;
  double p;
  if ((st = sb_spec_check_keys(b, base, spec, dropout_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if (!cJSON_GetObjectItemCaseSensitive(spec, "p"))
    return sb_builder_error(b, base, "\"p\" (the drop probability) is required");
  if ((st = sb_spec_num(b, base, spec, "p", 0.5, 0.0, 0.999, &p))) return st;
  l->p = (float)p;
  l->keep_scale = 1.0f / (1.0f - l->p);
  const sb_act *in = base->in[0];
  base->out.shape = in->shape;
  base->out.is_static = in->is_static && l->p == 0.0f;
  base->out.is_binary = in->is_binary && l->p == 0.0f;
  const sb_model_opts *o = sb_builder_opts(b);
  const double n = (double)(base->out.is_static ? 1 : o->T) * o->B * sb_shape_numel(in->shape);
  if (n > DROPOUT_MAX_ELEMENTS)
    return sb_builder_error(b, base, "%.0f values per step exceed the mask counter's range", n);
  sb_builder_bytes(b, (void **)&l->mask, (size_t)n);
  return SB_OK;
}

static void dropout_forward(sb_layer *base, const sb_ctx *c) {
  dropout_layer *l = (dropout_layer *)base;
  const sb_act *in = base->in[0];
  const long numel = sb_shape_numel(base->out.shape);
  const long R = (long)c->B * numel;  /* values per step */
  const long n = sb_act_rows(&base->out, c->T, c->B) * numel;
  /* A static input is read at every step: element e of the output reads element e mod R. */
  const long in_period = in->is_static ? R : n;
  const float *x = in->x;
  float *y = base->out.x;
  l->masked = c->train && l->p > 0.0f;
  if (!l->masked) {
    for (long off = 0; off < n; off += in_period) memcpy(y + off, x, (size_t)in_period * sizeof(float));
    return;
  }
  const uint64_t key = sb_fast_key(c->seed, sb_stream(SB_STREAM_DROPOUT, (uint32_t)base->index),
                                   c->step);
  const uint32_t threshold = (uint32_t)(l->p * 65536.0f + 0.5f);
  const float s = l->keep_scale;
  uint8_t *mask = l->mask;
  const long blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long blk = 0; blk < blocks; blk++) {
    const uint64_t z = sb_fast_draw(key, (uint64_t)blk);
    const long e0 = blk * 4, e1 = e0 + 4 < n ? e0 + 4 : n;
    const long xe0 = in_period == n ? e0 : e0 % in_period; /* static input: read step-periodic */
    for (long e = e0; e < e1; e++) {
      const uint8_t keep = ((z >> (16 * (e - e0))) & 0xffff) >= threshold;
      long xe = xe0 + (e - e0);
      if (xe >= in_period) xe -= in_period;
      mask[e] = keep;
      y[e] = keep ? x[xe] * s : 0.0f;
    }
  }
}

static void dropout_backward(sb_layer *base, const sb_ctx *c) {
  dropout_layer *l = (dropout_layer *)base;
  sb_act *in = base->in[0];
  if (!in->needs_grad) return;
  const long numel = sb_shape_numel(base->out.shape);
  const long R = (long)c->B * numel;
  const int steps = base->out.is_static ? 1 : c->T;
  const float *dy = base->out.g;
  const int acc = base->in_accumulate[0];
  if (!l->masked) {
    sb_grad_store_seq(in, dy, steps, R, acc);
    return;
  }
  const float s = l->keep_scale;
  const uint8_t *mask = l->mask;
  if (!in->is_static) {
    const long n = (long)steps * R;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long e = 0; e < n; e++) {
      const float v = mask[e] ? dy[e] * s : 0.0f;
      in->g[e] = acc ? in->g[e] + v : v;
    }
    return;
  }
  /* Broadcast input: the sum over steps of the masked gradients, each in step order. */
#pragma omp parallel for schedule(static) if ((long)steps * R > 65536)
  for (long e = 0; e < R; e++) {
    float sum = 0.0f;
    for (int t = 0; t < steps; t++) {
      const long o = (long)t * R + e;
      sum += mask[o] ? dy[o] * s : 0.0f;
    }
    in->g[e] = acc ? in->g[e] + sum : sum;
  }
}

static void dropout_describe(const sb_layer *base, char *buf, size_t n) {
  const dropout_layer *l = (const dropout_layer *)base;
  snprintf(buf, n, "p=%g, inverted (x%.4g when kept)%s", l->p, l->keep_scale,
           base->in[0]->is_static && !base->out.is_static ? ", fresh mask per step" : "");
}

const sb_layer_ops sb_dropout_ops = {"dropout", sizeof(dropout_layer), dropout_build, NULL,
                                     dropout_forward, dropout_backward, dropout_describe, NULL, NULL};
