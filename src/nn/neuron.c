/* Neuron layers: the per-neuron recurrences over time and the layer that applies them to an
 * activation sequence. Neurons are independent, so the layer splits them into fixed blocks and
 * runs blocks in parallel; each block loops over t with the block in cache. */
#include "snnbench/neuron.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

enum { NEURON_BLOCK = 256 };

sb_neuron_coeffs sb_neuron_coefficients(const sb_neuron_cfg *cfg) {
  sb_neuron_coeffs c = {1.0f, 1.0f, 0.0f};
  if (cfg->kind == SB_NEURON_LIF) {
    c.beta = 1.0f - 1.0f / cfg->tau;
    if (cfg->charge == SB_CHARGE_DECAY_INPUT) {
      c.gamma = 1.0f / cfg->tau;
      if (cfg->reset == SB_RESET_HARD) c.delta = cfg->v_reset / cfg->tau;
    }
  }
  return c;
}

const char *sb_neuron_kind_name(sb_neuron_kind k) { return k == SB_NEURON_IF ? "if" : "lif"; }

void sb_neuron_describe(const sb_neuron_cfg *cfg, char *buf, unsigned long n) {
  char tau[64] = "";
  if (cfg->kind == SB_NEURON_LIF)
    snprintf(tau, sizeof tau, " tau=%g charge=%s", cfg->tau,
             cfg->charge == SB_CHARGE_X ? "x" : "decay_input");
  char reset[48];
  if (cfg->reset == SB_RESET_HARD)
    snprintf(reset, sizeof reset, "hard(v_reset=%g)", cfg->v_reset);
  else
    snprintf(reset, sizeof reset, "soft");
  snprintf(buf, n, "%s%s theta=%g reset=%s%s surrogate=%s(alpha=%g)",
           sb_neuron_kind_name(cfg->kind), tau, cfg->threshold, reset,
           cfg->detach_reset ? " detach_reset" : "", sb_surrogate_name(cfg->surrogate.kind),
           cfg->surrogate.alpha);
}

void sb_neuron_forward_block(const sb_neuron_cfg *cfg, int T, int n, const float *X,
                             long x_stride_t, float *S, float *H, long stride_t, int smooth) {
  const sb_neuron_coeffs k = sb_neuron_coefficients(cfg);
  const float th = cfg->threshold, vr = cfg->v_reset;
  const int hard = cfg->reset == SB_RESET_HARD;
  float v[NEURON_BLOCK], h[NEURON_BLOCK], s[NEURON_BLOCK], u[NEURON_BLOCK];
  for (int e0 = 0; e0 < n; e0 += NEURON_BLOCK) {
    const int nb = n - e0 < NEURON_BLOCK ? n - e0 : NEURON_BLOCK;
    for (int e = 0; e < nb; e++) v[e] = 0.0f;
    for (int t = 0; t < T; t++) {
      const float *x = X + t * x_stride_t + e0;
      for (int e = 0; e < nb; e++) h[e] = k.beta * v[e] + k.gamma * x[e] + k.delta;
      if (smooth) {
        for (int e = 0; e < nb; e++) u[e] = h[e] - th;
        sb_surrogate_primitive_block(cfg->surrogate, u, s, nb);
      } else {
        for (int e = 0; e < nb; e++) s[e] = h[e] >= th ? 1.0f : 0.0f;
      }
      if (hard) {
        for (int e = 0; e < nb; e++) v[e] = h[e] * (1.0f - s[e]) + s[e] * vr;
      } else {
        for (int e = 0; e < nb; e++) v[e] = h[e] - s[e] * th;
      }
      memcpy(S + t * stride_t + e0, s, (size_t)nb * sizeof(float));
      if (H) memcpy(H + t * stride_t + e0, h, (size_t)nb * sizeof(float));
    }
  }
}

void sb_neuron_backward_block(const sb_neuron_cfg *cfg, int T, int n, const float *S,
                              const float *H, const float *dS, long stride_t, float *dX,
                              long x_stride_t, int accumulate) {
  const sb_neuron_coeffs k = sb_neuron_coefficients(cfg);
  const float th = cfg->threshold, vr = cfg->v_reset;
  const int hard = cfg->reset == SB_RESET_HARD;
  const float keep = cfg->detach_reset ? 0.0f : 1.0f;  /* 1 − D in SpikingJelly's notation */
  const int static_x = x_stride_t == 0;
  float carry[NEURON_BLOCK], u[NEURON_BLOCK], sg[NEURON_BLOCK], sum[NEURON_BLOCK];
  for (int e0 = 0; e0 < n; e0 += NEURON_BLOCK) {
    const int nb = n - e0 < NEURON_BLOCK ? n - e0 : NEURON_BLOCK;
    for (int e = 0; e < nb; e++) carry[e] = sum[e] = 0.0f;
    for (int t = T - 1; t >= 0; t--) {
      const float *h = H + t * stride_t + e0;
      const float *s = S + t * stride_t + e0;
      const float *ds = dS + t * stride_t + e0;
      for (int e = 0; e < nb; e++) u[e] = h[e] - th;
      sb_surrogate_grad_block(cfg->surrogate, u, sg, nb);
      /* carry = dL/dV[t] from the future; dV/dH depends on the reset. */
      float gh[NEURON_BLOCK];
      if (hard) {
        for (int e = 0; e < nb; e++) {
          const float dvdh = (1.0f - s[e]) + (vr - h[e]) * sg[e] * keep;
          gh[e] = ds[e] * sg[e] + carry[e] * dvdh;
        }
      } else {
        for (int e = 0; e < nb; e++) {
          const float dvdh = 1.0f - th * sg[e] * keep;
          gh[e] = ds[e] * sg[e] + carry[e] * dvdh;
        }
      }
      for (int e = 0; e < nb; e++) carry[e] = k.beta * gh[e];
      if (static_x) {
        for (int e = 0; e < nb; e++) sum[e] += gh[e];
      } else {
        float *dx = dX + t * x_stride_t + e0;
        if (accumulate)
          for (int e = 0; e < nb; e++) dx[e] += k.gamma * gh[e];
        else
          for (int e = 0; e < nb; e++) dx[e] = k.gamma * gh[e];
      }
    }
    if (static_x) {
      float *dx = dX + e0;
      if (accumulate)
        for (int e = 0; e < nb; e++) dx[e] += k.gamma * sum[e];
      else
        for (int e = 0; e < nb; e++) dx[e] = k.gamma * sum[e];
    }
  }
}

/* ---------------------------------------------------------------- the layer */

typedef struct {
  sb_layer base;
  sb_neuron_cfg cfg;
  float *H;  /* charged potentials [T][B][N], kept for BPTT */
} neuron_layer;

static const char *const neuron_keys[] = {"neuron", "tau", "threshold", "reset", "v_reset",
                                          "charge", "detach_reset", "surrogate", "alpha",
                                          "override", NULL};

/* Parses a neuron description (the layer spec, or a config override) into cfg. */
sb_status sb_neuron_parse(sb_builder *b, const sb_layer *l, const cJSON *spec, sb_neuron_cfg *cfg) {
  char kind[16], reset[16], charge[16], sg[32];
  double tau, th, vr, alpha;
  sb_status st;
  if ((st = sb_spec_str(b, l, spec, "neuron", "lif", kind, sizeof kind))) return st;
  if (!strcmp(kind, "lif"))
    cfg->kind = SB_NEURON_LIF;
  else if (!strcmp(kind, "if"))
    cfg->kind = SB_NEURON_IF;
  else
    return sb_builder_error(b, l, "\"neuron\" is \"%s\"; expected \"lif\" or \"if\"", kind);
  if ((st = sb_spec_num(b, l, spec, "tau", 2.0, 1.0 + 1e-6, 1e6, &tau))) return st;
  if ((st = sb_spec_num(b, l, spec, "threshold", 1.0, 1e-6, 1e6, &th))) return st;
  if ((st = sb_spec_str(b, l, spec, "reset", "soft", reset, sizeof reset))) return st;
  if (!strcmp(reset, "soft"))
    cfg->reset = SB_RESET_SOFT;
  else if (!strcmp(reset, "hard"))
    cfg->reset = SB_RESET_HARD;
  else
    return sb_builder_error(b, l, "\"reset\" is \"%s\"; expected \"soft\" or \"hard\"", reset);
  if ((st = sb_spec_num(b, l, spec, "v_reset", 0.0, -1e6, 1e6, &vr))) return st;
  if ((st = sb_spec_str(b, l, spec, "charge", "x", charge, sizeof charge))) return st;
  if (!strcmp(charge, "x"))
    cfg->charge = SB_CHARGE_X;
  else if (!strcmp(charge, "decay_input"))
    cfg->charge = SB_CHARGE_DECAY_INPUT;
  else
    return sb_builder_error(b, l, "\"charge\" is \"%s\"; expected \"x\" or \"decay_input\"", charge);
  if ((st = sb_spec_bool(b, l, spec, "detach_reset", 0, &cfg->detach_reset))) return st;
  if ((st = sb_spec_str(b, l, spec, "surrogate", "atan", sg, sizeof sg))) return st;
  if (sb_surrogate_parse(sg, &cfg->surrogate.kind))
    return sb_builder_error(b, l, "unknown surrogate \"%s\" (see `snnbench list surrogates`)", sg);
  if ((st = sb_spec_num(b, l, spec, "alpha", sb_surrogate_default_alpha(cfg->surrogate.kind),
                        1e-6, 1e6, &alpha)))
    return st;
  cfg->tau = (float)tau;
  cfg->threshold = (float)th;
  cfg->v_reset = (float)vr;
  cfg->surrogate.alpha = (float)alpha;
  return SB_OK;
}

void sb_neuron_apply_override(sb_neuron_cfg *cfg, const sb_neuron_override *o) {
  if (!o) return;
  if (o->has_type) cfg->kind = strcmp(o->type, "if") ? SB_NEURON_LIF : SB_NEURON_IF;
  if (o->has_tau) cfg->tau = o->tau;
  if (o->has_threshold) cfg->threshold = o->threshold;
  if (o->has_reset) cfg->reset = strcmp(o->reset, "hard") ? SB_RESET_SOFT : SB_RESET_HARD;
  if (o->has_v_reset) cfg->v_reset = o->v_reset;
  if (o->has_charge) cfg->charge = strcmp(o->charge, "x") ? SB_CHARGE_DECAY_INPUT : SB_CHARGE_X;
  if (o->has_detach_reset) cfg->detach_reset = o->detach_reset;
  if (o->has_surrogate) {
    sb_surrogate_parse(o->surrogate, &cfg->surrogate.kind);
    /* A new surrogate without its own alpha takes that surrogate's default, not the old one's. */
    cfg->surrogate.alpha = sb_surrogate_default_alpha(cfg->surrogate.kind);
  }
  if (o->has_alpha) cfg->surrogate.alpha = o->alpha;
}

static sb_status neuron_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  neuron_layer *l = (neuron_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, neuron_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if ((st = sb_neuron_parse(b, base, spec, &l->cfg))) return st;
  int override;
  if ((st = sb_spec_bool(b, base, spec, "override", 1, &override))) return st;
  if (override) sb_neuron_apply_override(&l->cfg, sb_builder_opts(b)->neuron);
  base->out.shape = base->in[0]->shape;
  base->out.is_static = 0;
  base->out.is_binary = 1;
  base->is_neuron = 1;
  const sb_model_opts *o = sb_builder_opts(b);
  sb_builder_floats(b, &l->H, (long)o->T * o->B * sb_shape_numel(base->out.shape));
  return SB_OK;
}

static void neuron_forward(sb_layer *base, const sb_ctx *c) {
  neuron_layer *l = (neuron_layer *)base;
  const long E = (long)c->B * sb_shape_numel(base->out.shape);  /* neurons per step */
  const long x_stride = base->in[0]->is_static ? 0 : E;
  const int pieces = sb_pieces(E, NEURON_BLOCK, 1 << 20);
  float *H = c->train || c->smooth ? l->H : NULL;
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    const long lo = E * p / pieces, hi = E * (p + 1) / pieces;
    sb_neuron_forward_block(&l->cfg, c->T, (int)(hi - lo), base->in[0]->x + lo, x_stride,
                            base->out.x + lo, H ? H + lo : NULL, E, c->smooth);
  }
}

static void neuron_backward(sb_layer *base, const sb_ctx *c) {
  neuron_layer *l = (neuron_layer *)base;
  sb_act *in = base->in[0];
  if (!in->needs_grad) return;
  const long E = (long)c->B * sb_shape_numel(base->out.shape);
  const long x_stride = in->is_static ? 0 : E;
  const int pieces = sb_pieces(E, NEURON_BLOCK, 1 << 20);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < pieces; p++) {
    const long lo = E * p / pieces, hi = E * (p + 1) / pieces;
    sb_neuron_backward_block(&l->cfg, c->T, (int)(hi - lo), base->out.x + lo, l->H + lo,
                             base->out.g + lo, E, in->g + lo, x_stride, base->in_accumulate[0]);
  }
}

static void neuron_describe(const sb_layer *base, char *buf, size_t n) {
  sb_neuron_describe(&((const neuron_layer *)base)->cfg, buf, n);
}

const sb_layer_ops sb_neuron_ops = {"neuron", sizeof(neuron_layer), neuron_build, NULL,
                                    neuron_forward, neuron_backward, neuron_describe};
