/* Neuron layers: the per-neuron recurrences over time and the layer that applies them to an
 * activation sequence.
 *
 * Independent neurons run in blocks of NEURON_BLOCK, each block looping over t with its
 * membrane in cache (forward) or its carried gradient in cache (backward). NEXUS v2's adaptive
 * threshold couples the neurons of one step through a batch mean, so that variant runs t in the
 * outer loop instead. Learnable τ and θ collect per-element gradients first and reduce them per
 * channel in a fixed order, so results do not depend on the thread count. */
#include "snnbench/neuron.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

enum { NEURON_BLOCK = 256 };

void sb_neuron_defaults(sb_neuron_cfg *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->kind = SB_NEURON_LIF;
  cfg->tau = 2.0f;
  cfg->threshold = 1.0f;
  cfg->reset = SB_RESET_SOFT;
  cfg->charge = SB_CHARGE_X;
  cfg->surrogate.kind = SB_SG_ATAN;
  cfg->surrogate.alpha = sb_surrogate_default_alpha(SB_SG_ATAN);
  cfg->reset_scale = 1.0f;
  cfg->adapt_decay = 0.95f;
}

void sb_neuron_charge(const sb_neuron_cfg *cfg, float tau, float *beta, float *gamma,
                      float *delta) {
  *beta = 1.0f;
  *gamma = 1.0f;
  *delta = 0.0f;
  if (cfg->kind != SB_NEURON_LIF) return;
  *beta = 1.0f - 1.0f / tau;
  if (cfg->charge == SB_CHARGE_DECAY_INPUT) *gamma = 1.0f / tau;
  /* Both forms leak toward the reset potential: −(V − V_reset)/τ = (β − 1)V + V_reset/τ. */
  if (cfg->reset == SB_RESET_HARD) *delta = cfg->v_reset / tau;
}

const char *sb_neuron_kind_name(sb_neuron_kind k) { return k == SB_NEURON_IF ? "if" : "lif"; }

void sb_neuron_describe(const sb_neuron_cfg *cfg, char *buf, unsigned long n) {
  static const char *const tau_names[] = {"", "sigmoid", "log", "abs"};
  static const char *const theta_names[] = {"", "abs", "offset", "softplus"};
  char tau[96] = "", reset[64], extra[160] = "";
  if (cfg->kind == SB_NEURON_LIF)
    snprintf(tau, sizeof tau, " tau=%g%s%s charge=%s", cfg->tau, cfg->learn_tau ? " learned:" : "",
             tau_names[cfg->learn_tau], cfg->charge == SB_CHARGE_X ? "x" : "decay_input");
  if (cfg->reset == SB_RESET_HARD)
    snprintf(reset, sizeof reset, "hard(v_reset=%g)", cfg->v_reset);
  else if (cfg->reset_scale != 1.0f)
    snprintf(reset, sizeof reset, "soft(x%g)", cfg->reset_scale);
  else
    snprintf(reset, sizeof reset, "soft");
  size_t k = 0;
  if (cfg->learn_threshold)
    k += (size_t)snprintf(extra + k, sizeof extra - k, " theta learned:%s%s",
                          theta_names[cfg->learn_threshold],
                          cfg->per_channel ? " per channel" : "");
  if (cfg->adapt > 0)
    k += (size_t)snprintf(extra + k, sizeof extra - k, " adapt=%g decay=%g", cfg->adapt,
                          cfg->adapt_decay);
  if (cfg->detach_threshold)
    k += (size_t)snprintf(extra + k, sizeof extra - k, " detach_threshold");
  if (cfg->single_spike) k += (size_t)snprintf(extra + k, sizeof extra - k, " single_spike");
  if (cfg->strict) k += (size_t)snprintf(extra + k, sizeof extra - k, " strict");
  if (cfg->detach_reset) snprintf(extra + k, sizeof extra - k, " detach_reset");
  snprintf(buf, n, "%s%s theta=%g reset=%s%s surrogate=%s(alpha=%g)",
           sb_neuron_kind_name(cfg->kind), tau, cfg->threshold, reset, extra,
           sb_surrogate_name(cfg->surrogate.kind), cfg->surrogate.alpha);
}

void sb_neuron_print_list(FILE *out) {
  static const char *const lines[][2] = {
      {"kinds", NULL},
      {"lif", "leaky: H = beta V + gamma X + delta, beta = 1 - 1/tau"},
      {"if", "integrate-and-fire: H = V + X (no leak; tau unused)"},
      {"resets (\"reset\")", NULL},
      {"soft", "V = H - reset_scale * S * theta (default)"},
      {"hard", "V = H (1 - S) + S * v_reset"},
      {"charge forms of lif (\"charge\")", NULL},
      {"x", "gamma = 1: V = beta V + X (snnTorch Leaky, seed notebook 000; default)"},
      {"decay_input", "gamma = 1/tau: V + (X - V)/tau (SpikingJelly LIF, MNIST scripts, nb 001)"},
      {"", "with a hard reset both forms leak toward v_reset: delta = v_reset/tau"},
      {"options of a \"neuron\" layer (and config keys neuron.*)", NULL},
      {"tau", "membrane time constant, > 1 (default 2)"},
      {"threshold", "firing threshold theta; S = [H - theta >= 0] (default 1)"},
      {"v_reset", "potential of a hard reset (default 0)"},
      {"detach_reset", "no gradient through S in the reset (default false)"},
      {"surrogate, alpha", "backward of the step: snnbench list surrogates (default atan, 2)"},
      {"strict", "fire on H - theta > 0 instead of >= 0 (Quantized_SNN)"},
      {"reset_scale", "soft reset subtracts reset_scale * theta (NEXUS v2: 0.9)"},
      {"single_spike", "at most one spike per neuron over T (APEX's TTFS neuron)"},
      {"learn_tau", "tau is a parameter: sigmoid (PLIF), log (APEX ParametricLIF), abs"},
      {"learn_threshold", "theta is a parameter: abs, offset (NEXUS v2), softplus (APEX)"},
      {"detach_threshold", "the spike function gives theta no gradient (APEX's TTFSSpikeFunction)"},
      {"per_channel", "learned tau/theta per channel (default) or one per layer"},
      {"adapt, adapt_decay", "NEXUS v2's running-rate threshold term |a| r in training"},
      {"override", "how the config's neuron.* apply: true (default), false, \"except_threshold\""},
  };
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
    if (!lines[i][1])
      fprintf(out, "%s%s\n", i ? "\n" : "", lines[i][0]);
    else
      fprintf(out, "  %-20s %s\n", lines[i][0], lines[i][1]);
  }
  fprintf(out, "\nother neuron layers: dendritic_conv (DASNN's multi-branch LIF; takes\n"
               "  neuron.threshold, neuron.surrogate and neuron.alpha), dendritic_mlp (leaky\n"
               "  branches, no spikes)\n");
}

/* ---------------------------------------------------------------- block recurrences */

static inline float fire(const sb_neuron_cfg *cfg, float u) {
  return (cfg->strict ? u > 0.0f : u >= 0.0f) ? 1.0f : 0.0f;
}

void sb_neuron_forward_block(const sb_neuron_cfg *cfg, const sb_neuron_block *p, int T, int n,
                             const float *X, long x_stride_t, float *S, float *H, long stride_t,
                             int smooth, long *updates) {
  const float vr = cfg->v_reset, rho = cfg->reset_scale;
  const int hard = cfg->reset == SB_RESET_HARD, once = cfg->single_spike;
  const int detach = cfg->detach_reset;
  float v[NEURON_BLOCK], h[NEURON_BLOCK], s[NEURON_BLOCK], u[NEURON_BLOCK], fired[NEURON_BLOCK];
  float sr[NEURON_BLOCK];
  for (int e0 = 0; e0 < n; e0 += NEURON_BLOCK) {
    const int nb = n - e0 < NEURON_BLOCK ? n - e0 : NEURON_BLOCK;
    const float *beta = p->beta + e0, *gamma = p->gamma + e0, *delta = p->delta + e0;
    const float *theta = p->theta + e0;
    for (int e = 0; e < nb; e++) v[e] = fired[e] = 0.0f;
    for (int t = 0; t < T; t++) {
      const float *x = X + t * x_stride_t + e0;
      for (int e = 0; e < nb; e++) {
        h[e] = beta[e] * v[e] + gamma[e] * x[e] + delta[e];
        u[e] = h[e] - theta[e];
      }
      if (smooth)
        sb_surrogate_primitive_block(cfg->surrogate, u, s, nb);
      else if (cfg->strict)
        for (int e = 0; e < nb; e++) s[e] = u[e] > 0.0f ? 1.0f : 0.0f;
      else
        for (int e = 0; e < nb; e++) s[e] = u[e] >= 0.0f ? 1.0f : 0.0f;
      /* sr: the spike the reset uses. A detached reset sees a constant, so it uses the hard
       * decision, which in smooth mode keeps the forward consistent with the gradient. The
       * single-spike mask follows the hard decisions in every mode for the same reason. */
      const float *spk = s;
      if (once || detach) {
        for (int e = 0; e < nb; e++) {
          const float mask = 1.0f - fired[e], decided = fire(cfg, u[e]);
          if (once) {
            s[e] *= mask;
            fired[e] = fmaxf(fired[e], decided);
          }
          sr[e] = detach ? decided * mask : s[e];
        }
        spk = sr;
      }
      if (updates) {
        long changed = 0;
        for (int e = 0; e < nb; e++) {
          const float vn = hard ? h[e] * (1.0f - spk[e]) + spk[e] * vr : h[e] - rho * spk[e] * theta[e];
          changed += t == 0 || vn != v[e];
        }
        *updates += changed;
      }
      if (hard)
        for (int e = 0; e < nb; e++) v[e] = h[e] * (1.0f - spk[e]) + spk[e] * vr;
      else
        for (int e = 0; e < nb; e++) v[e] = h[e] - rho * spk[e] * theta[e];
      memcpy(S + t * stride_t + e0, s, (size_t)nb * sizeof(float));
      if (H) memcpy(H + t * stride_t + e0, h, (size_t)nb * sizeof(float));
    }
  }
}

/* The spike the reset used at a step (see the forward pass). */
static inline float reset_spike(const sb_neuron_cfg *cfg, float s, float u, int unmasked) {
  return cfg->detach_reset ? fire(cfg, u) * (unmasked ? 1.0f : 0.0f) : s;
}

/* The backward recurrence of one block. S and H are read at [t * sh_stride + e]; dS at
 * [t * ds_stride + e]. */
static void backward_core(const sb_neuron_cfg *cfg, const sb_neuron_block *p, int T, int n,
                          const float *X, long x_stride_t, const float *S, const float *H,
                          long sh_stride, const float *dS, long ds_stride, float *dX,
                          int accumulate, float *dtheta, float *dbeta) {
  const float vr = cfg->v_reset, rho = cfg->reset_scale;
  const int hard = cfg->reset == SB_RESET_HARD, once = cfg->single_spike;
  const float keep = cfg->detach_reset ? 0.0f : 1.0f; /* 1 − D in SpikingJelly's notation */
  const int static_x = x_stride_t == 0, strict = cfg->strict;
  const int decay_input = cfg->kind == SB_NEURON_LIF && cfg->charge == SB_CHARGE_DECAY_INPUT;
  const int spike_dtheta = !cfg->detach_threshold; /* whether dS/dθ = −g reaches θ */
  float carry[NEURON_BLOCK], u[NEURON_BLOCK], sg[NEURON_BLOCK], sum[NEURON_BLOCK];
  float gth[NEURON_BLOCK], gbe[NEURON_BLOCK];
  int first[NEURON_BLOCK];
  for (int e0 = 0; e0 < n; e0 += NEURON_BLOCK) {
    const int nb = n - e0 < NEURON_BLOCK ? n - e0 : NEURON_BLOCK;
    const float *beta = p->beta + e0, *gamma = p->gamma + e0, *theta = p->theta + e0;
    for (int e = 0; e < nb; e++) carry[e] = sum[e] = gth[e] = gbe[e] = 0.0f;
    if (once) {
      /* First step at which each neuron crossed threshold; the mask at t is [first >= t]. */
      for (int e = 0; e < nb; e++) first[e] = T;
      for (int t = T - 1; t >= 0; t--) {
        const float *h = H + t * sh_stride + e0;
        for (int e = 0; e < nb; e++)
          if (fire(cfg, h[e] - theta[e]) > 0.0f) first[e] = t;
      }
    }
    for (int t = T - 1; t >= 0; t--) {
      const float *h = H + t * sh_stride + e0;
      const float *s = S + t * sh_stride + e0;
      const float *ds = dS + t * ds_stride + e0;
      for (int e = 0; e < nb; e++) u[e] = h[e] - theta[e];
      sb_surrogate_grad_block(cfg->surrogate, u, sg, nb);
      if (once)
        for (int e = 0; e < nb; e++) sg[e] *= first[e] >= t ? 1.0f : 0.0f;
      /* sr: the spike the reset used (the hard decision when detached, as in forward). */
      float srv[NEURON_BLOCK], gh[NEURON_BLOCK];
      const float *sr = s;
      if (cfg->detach_reset) {
        for (int e = 0; e < nb; e++)
          srv[e] = (strict ? u[e] > 0.0f : u[e] >= 0.0f) && (!once || first[e] >= t) ? 1.0f : 0.0f;
        sr = srv;
      }
      /* carry = dL/dV[t] from the future; dV/dH and dV/dθ depend on the reset. */
      if (hard) {
        for (int e = 0; e < nb; e++)
          gh[e] = ds[e] * sg[e] + carry[e] * ((1.0f - sr[e]) + (vr - h[e]) * sg[e] * keep);
        if (dtheta && spike_dtheta) /* every θ path of a hard reset runs through S */
          for (int e = 0; e < nb; e++)
            gth[e] += -ds[e] * sg[e] - carry[e] * (vr - h[e]) * sg[e] * keep;
      } else {
        for (int e = 0; e < nb; e++)
          gh[e] = ds[e] * sg[e] + carry[e] * (1.0f - rho * keep * theta[e] * sg[e]);
        if (dtheta && spike_dtheta)
          for (int e = 0; e < nb; e++)
            gth[e] += -ds[e] * sg[e] + carry[e] * rho * (theta[e] * sg[e] * keep - sr[e]);
        else if (dtheta) /* only the reset's −ρ S θ with S held constant */
          for (int e = 0; e < nb; e++) gth[e] += -carry[e] * rho * sr[e];
      }
      if (dbeta) {
        /* dH/dβ = V[t−1] − V_reset (δ = (1 − β) V_reset with a hard reset), − X[t] for the
         * decay-input charge, where γ = 1 − β. */
        const float *x = X + t * x_stride_t + e0;
        for (int e = 0; e < nb; e++) {
          float vprev = 0.0f;
          if (t > 0) {
            const float hp = H[(t - 1) * sh_stride + e0 + e];
            const float sp = reset_spike(cfg, S[(t - 1) * sh_stride + e0 + e], hp - theta[e],
                                         !once || first[e] >= t - 1);
            vprev = hard ? hp * (1.0f - sp) + sp * vr : hp - rho * sp * theta[e];
          }
          const float dhdb = decay_input ? vprev - x[e] - (hard ? vr : 0.0f)
                                         : vprev - (hard ? vr : 0.0f);
          gbe[e] += gh[e] * dhdb;
        }
      }
      for (int e = 0; e < nb; e++) carry[e] = beta[e] * gh[e];
      if (!dX) continue;
      if (static_x) {
        for (int e = 0; e < nb; e++) sum[e] += gamma[e] * gh[e];
      } else {
        float *dx = dX + t * x_stride_t + e0;
        if (accumulate)
          for (int e = 0; e < nb; e++) dx[e] += gamma[e] * gh[e];
        else
          for (int e = 0; e < nb; e++) dx[e] = gamma[e] * gh[e];
      }
    }
    if (dX && static_x) {
      float *dx = dX + e0;
      if (accumulate)
        for (int e = 0; e < nb; e++) dx[e] += sum[e];
      else
        for (int e = 0; e < nb; e++) dx[e] = sum[e];
    }
    if (dtheta) memcpy(dtheta + e0, gth, (size_t)nb * sizeof(float));
    if (dbeta) memcpy(dbeta + e0, gbe, (size_t)nb * sizeof(float));
  }
}

void sb_neuron_backward_block(const sb_neuron_cfg *cfg, const sb_neuron_block *p, int T, int n,
                              const float *X, long x_stride_t, const float *S, const float *H,
                              const float *dS, long stride_t, float *dX, int accumulate,
                              float *dtheta, float *dbeta, int smooth) {
  if (H) {
    backward_core(cfg, p, T, n, X, x_stride_t, S, H, stride_t, dS, stride_t, dX, accumulate,
                  dtheta, dbeta);
    return;
  }
  /* Recompute: the forward recurrence again, block by block, into buffers that stay in L1. It
   * is the same function on the same inputs and blocks, so it gives the forward's bits. */
  SB_ASSERT(T <= SB_NEURON_RECOMPUTE_MAX_T);
  float h[SB_NEURON_RECOMPUTE_MAX_T * NEURON_BLOCK], s[SB_NEURON_RECOMPUTE_MAX_T * NEURON_BLOCK];
  for (int e0 = 0; e0 < n; e0 += NEURON_BLOCK) {
    const int nb = n - e0 < NEURON_BLOCK ? n - e0 : NEURON_BLOCK;
    const sb_neuron_block q = {p->beta + e0, p->gamma + e0, p->delta + e0, p->theta + e0};
    sb_neuron_forward_block(cfg, &q, T, nb, X + e0, x_stride_t, s, h, nb, smooth, NULL);
    backward_core(cfg, &q, T, nb, X + e0, x_stride_t, s, h, nb, dS + e0, stride_t,
                  dX ? dX + e0 : NULL, accumulate, dtheta ? dtheta + e0 : NULL,
                  dbeta ? dbeta + e0 : NULL);
  }
}

/* ---------------------------------------------------------------- the layer */

typedef struct {
  sb_layer base;
  sb_neuron_cfg cfg;
  int n_ch;        /* channels with their own learnable values (1 when shared by the layer) */
  long inner;      /* elements per channel per sample (H*W for images, 1 for features) */
  long numel;
  float *H;        /* charged potentials [T][B][numel], kept for BPTT */
  float *tau_p, *dtau_p, *theta_p, *dtheta_p, *adapt_p, *dadapt_p;
  float *beta_c, *gamma_c, *delta_c, *theta_c;  /* per channel, resolved each forward */
  float uniform[4][NEURON_BLOCK]; /* β, γ, δ, θ of every neuron when n_ch == 1 */
  float *dtheta_e, *dbeta_e, *dadapt_e;         /* per element, summed over t */
  float *rate;      /* adapt: running spike rate per neuron (a saved buffer) */
  float *rate_hist; /* adapt: the rate each step used [T][numel] */
  float *v, *carry; /* adapt: state across the t-outer loop [B][numel] */
} neuron_layer;

/* Whether the backward pass reruns the forward recurrence instead of reading stored H and S
 * (the adaptive neuron couples its neurons through time and always keeps H). */
static int recomputes(const neuron_layer *l, int T) {
  return l->cfg.adapt <= 0 && T <= SB_NEURON_RECOMPUTE_MAX_T;
}

static const char *const neuron_keys[] = {
    "neuron", "tau",          "threshold",       "reset",       "v_reset", "charge",
    "detach_reset", "surrogate", "alpha",        "override",    "strict",  "reset_scale",
    "single_spike", "learn_tau", "learn_threshold", "per_channel", "adapt", "adapt_decay",
    "detach_threshold", NULL};

static sb_status parse_choice(sb_builder *b, const sb_layer *l, const cJSON *spec,
                              const char *key, const char *const *choices, int def, int *out) {
  char v[32];
  sb_status st = sb_spec_str(b, l, spec, key, choices[def], v, sizeof v);
  if (st) return st;
  for (int i = 0; choices[i]; i++)
    if (!strcmp(v, choices[i])) {
      *out = i;
      return SB_OK;
    }
  char list[128] = "";
  size_t k = 0;
  for (int i = 0; choices[i]; i++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s\"%s\"", i ? ", " : "", choices[i]);
  return sb_builder_error(b, l, "\"%s\" is \"%s\"; expected one of %s", key, v, list);
}

/* Parses a neuron description (the layer spec) into cfg. */
sb_status sb_neuron_parse(sb_builder *b, const sb_layer *l, const cJSON *spec, sb_neuron_cfg *cfg) {
  static const char *const kinds[] = {"lif", "if", NULL};
  static const char *const resets[] = {"soft", "hard", NULL};
  static const char *const charges[] = {"x", "decay_input", NULL};
  static const char *const taus[] = {"none", "sigmoid", "log", "abs", NULL};
  static const char *const thetas[] = {"none", "abs", "offset", "softplus", NULL};
  sb_neuron_defaults(cfg);
  int kind, reset, charge, lt, lth;
  char sg[32];
  double tau, th, vr, alpha, rs, adapt, decay;
  sb_status st;
  if ((st = parse_choice(b, l, spec, "neuron", kinds, 0, &kind))) return st;
  if ((st = sb_spec_num(b, l, spec, "tau", 2.0, 1.0 + 1e-6, 1e6, &tau))) return st;
  if ((st = sb_spec_num(b, l, spec, "threshold", 1.0, 1e-6, 1e6, &th))) return st;
  if ((st = parse_choice(b, l, spec, "reset", resets, 0, &reset))) return st;
  if ((st = sb_spec_num(b, l, spec, "v_reset", 0.0, -1e6, 1e6, &vr))) return st;
  if ((st = parse_choice(b, l, spec, "charge", charges, 0, &charge))) return st;
  if ((st = sb_spec_bool(b, l, spec, "detach_reset", 0, &cfg->detach_reset))) return st;
  if ((st = sb_spec_str(b, l, spec, "surrogate", "atan", sg, sizeof sg))) return st;
  if (sb_surrogate_parse(sg, &cfg->surrogate.kind))
    return sb_builder_error(b, l, "unknown surrogate \"%s\" (see `snnbench list surrogates`)", sg);
  if ((st = sb_spec_num(b, l, spec, "alpha", sb_surrogate_default_alpha(cfg->surrogate.kind),
                        1e-6, 1e6, &alpha)))
    return st;
  if ((st = sb_spec_bool(b, l, spec, "strict", 0, &cfg->strict))) return st;
  if ((st = sb_spec_num(b, l, spec, "reset_scale", 1.0, 0.0, 10.0, &rs))) return st;
  if ((st = sb_spec_bool(b, l, spec, "single_spike", 0, &cfg->single_spike))) return st;
  if ((st = parse_choice(b, l, spec, "learn_tau", taus, 0, &lt))) return st;
  if ((st = parse_choice(b, l, spec, "learn_threshold", thetas, 0, &lth))) return st;
  if ((st = sb_spec_bool(b, l, spec, "per_channel", 1, &cfg->per_channel))) return st;
  if ((st = sb_spec_bool(b, l, spec, "detach_threshold", 0, &cfg->detach_threshold))) return st;
  if ((st = sb_spec_num(b, l, spec, "adapt", 0.0, 0.0, 100.0, &adapt))) return st;
  if ((st = sb_spec_num(b, l, spec, "adapt_decay", 0.95, 0.0, 1.0, &decay))) return st;
  cfg->kind = (sb_neuron_kind)kind;
  cfg->reset = (sb_reset_kind)reset;
  cfg->charge = (sb_charge_kind)charge;
  cfg->tau = (float)tau;
  cfg->threshold = (float)th;
  cfg->v_reset = (float)vr;
  cfg->surrogate.alpha = (float)alpha;
  cfg->reset_scale = (float)rs;
  cfg->learn_tau = (sb_tau_param)lt;
  cfg->learn_threshold = (sb_theta_param)lth;
  cfg->adapt = (float)adapt;
  cfg->adapt_decay = (float)decay;
  if (cfg->learn_tau && cfg->kind == SB_NEURON_IF)
    return sb_builder_error(b, l, "\"learn_tau\" needs a leaky neuron (\"neuron\": \"lif\")");
  if (cfg->learn_tau && cfg->adapt > 0)
    return sb_builder_error(b, l, "\"adapt\" cannot be combined with \"learn_tau\"");
  if (cfg->adapt > 0 && cfg->single_spike)
    return sb_builder_error(b, l, "\"adapt\" cannot be combined with \"single_spike\"");
  if (cfg->detach_threshold && !cfg->learn_threshold)
    return sb_builder_error(b, l, "\"detach_threshold\" needs a learnable threshold "
                            "(\"learn_threshold\")");
  if (cfg->detach_threshold && cfg->adapt > 0)
    return sb_builder_error(b, l, "\"detach_threshold\" cannot be combined with \"adapt\"");
  return SB_OK;
}

/* The config's neuron settings as a layer takes them, by its "override" key: true (the default:
 * every field the config sets), false (none: the layer keeps its spec), or "except_threshold"
 * (every field but θ). The last is SDT's talking-heads neuron in the FPT fork (ms_conv.py): its
 * type and reset follow the study's spike mode (MultiStepIFNode(v_threshold=0.5, v_reset=0.0
 * or None) for "if" and "if_soft") while θ stays 0.5. *any is 0 when nothing applies. */
sb_status sb_neuron_layer_override(sb_builder *b, const sb_layer *l, const cJSON *spec,
                                   sb_neuron_override *out, int *any) {
  const sb_neuron_override *o = sb_builder_opts(b)->neuron;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, "override");
  int mode = 1; /* 0 none, 1 all, 2 all but θ */
  if (cJSON_IsBool(v))
    mode = cJSON_IsTrue(v);
  else if (cJSON_IsString(v) && !strcmp(v->valuestring, "except_threshold"))
    mode = 2;
  else if (v)
    return sb_builder_error(b, l, "\"override\" must be true, false or \"except_threshold\"");
  memset(out, 0, sizeof *out);
  *any = o != NULL && mode != 0;
  if (!*any) return SB_OK;
  *out = *o;
  if (mode == 2) out->has_threshold = 0;
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
  /* An IF neuron has no time constant to learn. */
  if (cfg->kind == SB_NEURON_IF) cfg->learn_tau = SB_LEARN_NONE;
}

static sb_status neuron_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  neuron_layer *l = (neuron_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, neuron_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if ((st = sb_neuron_parse(b, base, spec, &l->cfg))) return st;
  sb_neuron_override ov;
  int any;
  if ((st = sb_neuron_layer_override(b, base, spec, &ov, &any))) return st;
  if (any) sb_neuron_apply_override(&l->cfg, &ov);
  const sb_shape shape = base->in[0]->shape;
  base->out.shape = shape;
  base->out.is_static = 0;
  base->out.is_binary = 1;
  base->is_neuron = 1;
  l->numel = sb_shape_numel(shape);
  const int learn = l->cfg.learn_tau || l->cfg.learn_threshold;
  l->n_ch = learn && l->cfg.per_channel ? shape.d[0] : 1;
  l->inner = l->numel / shape.d[0];
  const sb_model_opts *o = sb_builder_opts(b);
  const long E = (long)o->B * l->numel;
  if (!recomputes(l, o->T)) sb_builder_floats(b, &l->H, (long)o->T * E);
  if (l->cfg.learn_tau) sb_builder_param(b, base, "tau", &l->tau_p, &l->dtau_p, l->n_ch);
  if (l->cfg.learn_threshold)
    sb_builder_param(b, base, "threshold", &l->theta_p, &l->dtheta_p, l->n_ch);
  if (l->cfg.adapt > 0) {
    sb_builder_param(b, base, "adapt", &l->adapt_p, &l->dadapt_p, 1);
    sb_builder_buffer(b, base, "rate", &l->rate, l->numel);
    sb_builder_floats(b, &l->rate_hist, (long)o->T * l->numel);
    sb_builder_floats(b, &l->v, E);
    sb_builder_floats(b, &l->carry, E);
    sb_builder_floats(b, &l->dadapt_e, E);
  }
  if (l->cfg.learn_threshold || l->cfg.adapt > 0) sb_builder_floats(b, &l->dtheta_e, E);
  if (l->cfg.learn_tau) sb_builder_floats(b, &l->dbeta_e, E);
  sb_builder_floats(b, &l->beta_c, l->n_ch);
  sb_builder_floats(b, &l->gamma_c, l->n_ch);
  sb_builder_floats(b, &l->delta_c, l->n_ch);
  sb_builder_floats(b, &l->theta_c, l->n_ch);
  return SB_OK;
}

static void neuron_init(sb_layer *base, uint64_t seed) {
  (void)seed;
  neuron_layer *l = (neuron_layer *)base;
  for (int c = 0; c < l->n_ch; c++) {
    if (l->tau_p) {
      const float tau = l->cfg.tau;
      l->tau_p[c] = l->cfg.learn_tau == SB_TAU_SIGMOID ? -logf(tau - 1.0f)
                    : l->cfg.learn_tau == SB_TAU_LOG   ? logf(tau)
                                                       : tau;
    }
    if (l->theta_p) l->theta_p[c] = l->cfg.learn_threshold == SB_THETA_ABS ? l->cfg.threshold : 0.0f;
  }
  if (l->adapt_p) {
    l->adapt_p[0] = l->cfg.adapt;
    memset(l->rate, 0, (size_t)l->numel * sizeof(float));
  }
}

static float softplusf(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* τ of channel c from its parameter, and dβ/dp for the backward. */
static float channel_tau(const neuron_layer *l, int c, float *dbeta_dp) {
  const float p = l->tau_p[c];
  float tau, d = 0.0f;
  switch (l->cfg.learn_tau) {
    case SB_TAU_SIGMOID: {
      const float s = sigmoidf(p); /* 1/τ */
      tau = 1.0f / s;
      d = -s * (1.0f - s);          /* β = 1 − s */
      break;
    }
    case SB_TAU_LOG: {
      const float e = expf(p);
      tau = fminf(20.0f, fmaxf(1.1f, e));
      if (e > 1.1f && e < 20.0f) d = 1.0f / tau; /* β = 1 − e^−p */
      break;
    }
    default: {
      tau = fmaxf(fabsf(p), 1.1f);
      if (fabsf(p) > 1.1f) d = copysignf(1.0f, p) / (tau * tau);
      break;
    }
  }
  if (dbeta_dp) *dbeta_dp = d;
  return tau;
}

static float channel_theta(const neuron_layer *l, int c, float *dtheta_dp) {
  float th = l->cfg.threshold, d = 1.0f;
  if (l->theta_p) {
    const float p = l->theta_p[c];
    switch (l->cfg.learn_threshold) {
      case SB_THETA_ABS:
        th = fabsf(p);
        d = copysignf(1.0f, p);
        break;
      case SB_THETA_OFFSET:
        th = l->cfg.threshold + p;
        break;
      default:
        th = l->cfg.threshold + softplusf(p);
        d = sigmoidf(p);
        break;
    }
  }
  if (dtheta_dp) *dtheta_dp = d;
  return th;
}

static void resolve_channels(neuron_layer *l) {
  for (int c = 0; c < l->n_ch; c++) {
    const float tau = l->tau_p ? channel_tau(l, c, NULL) : l->cfg.tau;
    sb_neuron_charge(&l->cfg, tau, &l->beta_c[c], &l->gamma_c[c], &l->delta_c[c]);
    l->theta_c[c] = channel_theta(l, c, NULL);
  }
  if (l->n_ch == 1) /* one block's worth, shared by every block of the call */
    for (int i = 0; i < NEURON_BLOCK; i++) {
      l->uniform[0][i] = l->beta_c[0];
      l->uniform[1][i] = l->gamma_c[0];
      l->uniform[2][i] = l->delta_c[0];
      l->uniform[3][i] = l->theta_c[0];
    }
}

static inline int channel_of(const neuron_layer *l, long e) {
  return l->n_ch == 1 ? 0 : (int)((e / l->inner) % l->n_ch);
}

/* Per-element coefficients for elements [lo, lo + n): the layer's shared block when every
 * neuron has the same values, else filled into the caller's scratch. */
static sb_neuron_block block_coefficients(const neuron_layer *l, long lo, int n,
                                          float (*scratch)[NEURON_BLOCK]) {
  if (l->n_ch == 1) return (sb_neuron_block){l->uniform[0], l->uniform[1], l->uniform[2],
                                             l->uniform[3]};
  for (int i = 0; i < n; i++) {
    const int c = channel_of(l, lo + i);
    scratch[0][i] = l->beta_c[c];
    scratch[1][i] = l->gamma_c[c];
    scratch[2][i] = l->delta_c[c];
    scratch[3][i] = l->theta_c[c];
  }
  return (sb_neuron_block){scratch[0], scratch[1], scratch[2], scratch[3]};
}

/* Sums per-element gradients into per channel values, each channel in ascending element order. */
static void reduce_channels(const neuron_layer *l, const float *per_element, long E, float *out) {
  if (l->n_ch == 1) {
    double s = 0.0;
    for (long e = 0; e < E; e++) s += per_element[e];
    out[0] = (float)s;
    return;
  }
  const long rows = E / l->numel;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < l->n_ch; c++) {
    double s = 0.0;
    for (long r = 0; r < rows; r++) {
      const float *p = per_element + r * l->numel + (long)c * l->inner;
      for (long i = 0; i < l->inner; i++) s += p[i];
    }
    out[c] = (float)s;
  }
}

/* NEXUS v2's adaptive threshold in training: the running rate couples the neurons of a step,
 * so t is the outer loop; every element of a step runs in parallel, then the rate updates. */
static void adaptive_forward(neuron_layer *l, const sb_ctx *c, float *H) {
  const long E = (long)c->B * l->numel;
  const sb_act *in = l->base.in[0];
  const long xs = in->is_static ? 0 : E;
  const float a = fabsf(l->adapt_p[0]), vr = l->cfg.v_reset, rho = l->cfg.reset_scale;
  const int hard = l->cfg.reset == SB_RESET_HARD;
  memset(l->v, 0, (size_t)E * sizeof(float));
  for (int t = 0; t < c->T; t++) {
    memcpy(l->rate_hist + (long)t * l->numel, l->rate, (size_t)l->numel * sizeof(float));
    const float *x = in->x + t * xs;
    float *s = l->base.out.x + t * E, *h = H + t * E;
#pragma omp parallel for schedule(static)
    for (long e = 0; e < E; e++) {
      const int ch = channel_of(l, e);
      const float th = l->theta_c[ch] + a * l->rate[e % l->numel];
      const float he = l->beta_c[ch] * l->v[e] + l->gamma_c[ch] * x[e] + l->delta_c[ch];
      const float u = he - th;
      const float se = c->smooth ? sb_surrogate_primitive(l->cfg.surrogate, u) : fire(&l->cfg, u);
      const float sr = reset_spike(&l->cfg, se, u, 1);
      l->v[e] = hard ? he * (1.0f - sr) + sr * vr : he - rho * sr * th;
      s[e] = se;
      h[e] = he;
    }
    /* The rate is a detached running statistic: it counts the hard spike decisions (the
     * spikes themselves except in smooth mode) and carries no gradient. */
    const float keep = l->cfg.adapt_decay, add = (1.0f - keep) / (float)c->B;
    const float *r = l->rate_hist + (long)t * l->numel;
#pragma omp parallel for schedule(static)
    for (long k = 0; k < l->numel; k++) {
      const float th = l->theta_c[channel_of(l, k)] + a * r[k];
      float sum = 0.0f;
      for (int b = 0; b < c->B; b++) sum += fire(&l->cfg, h[(long)b * l->numel + k] - th);
      l->rate[k] = keep * l->rate[k] + add * sum;
    }
  }
}

static void adaptive_backward(neuron_layer *l, const sb_ctx *c) {
  const long E = (long)c->B * l->numel;
  sb_act *in = l->base.in[0];
  const long xs = in->is_static ? 0 : E;
  const float a = fabsf(l->adapt_p[0]), vr = l->cfg.v_reset, rho = l->cfg.reset_scale;
  const int hard = l->cfg.reset == SB_RESET_HARD;
  const float keep = l->cfg.detach_reset ? 0.0f : 1.0f;
  memset(l->carry, 0, (size_t)E * sizeof(float));
  memset(l->dtheta_e, 0, (size_t)E * sizeof(float));
  memset(l->dadapt_e, 0, (size_t)E * sizeof(float));
  const int write_dx = in->needs_grad;
  for (int t = c->T - 1; t >= 0; t--) {
    const float *s = l->base.out.x + t * E, *h = l->H + t * E, *ds = l->base.out.g + t * E;
    const float *r = l->rate_hist + (long)t * l->numel;
    float *dx = write_dx ? in->g + t * xs : NULL;
    const int first_write = !l->base.in_accumulate[0] && (xs != 0 || t == c->T - 1);
#pragma omp parallel for schedule(static)
    for (long e = 0; e < E; e++) {
      const int ch = channel_of(l, e);
      const float th = l->theta_c[ch] + a * r[e % l->numel];
      const float sg = sb_surrogate_grad(l->cfg.surrogate, h[e] - th);
      const float sr = reset_spike(&l->cfg, s[e], h[e] - th, 1);
      float dvdh, dvdth;
      if (hard) {
        dvdh = (1.0f - sr) + (vr - h[e]) * sg * keep;
        dvdth = -(vr - h[e]) * sg * keep;
      } else {
        dvdh = 1.0f - rho * th * sg * keep;
        dvdth = -rho * sr + rho * th * sg * keep;
      }
      const float gv = l->carry[e];
      const float gh = ds[e] * sg + gv * dvdh;
      const float gth = -ds[e] * sg + gv * dvdth;
      l->dtheta_e[e] += gth;
      l->dadapt_e[e] += gth * r[e % l->numel];
      l->carry[e] = l->beta_c[ch] * gh;
      if (dx) {
        const float v = l->gamma_c[ch] * gh;
        dx[e] = first_write ? v : dx[e] + v;
      }
    }
  }
}

static void neuron_forward(sb_layer *base, const sb_ctx *c) {
  neuron_layer *l = (neuron_layer *)base;
  resolve_channels(l);
  const long E = (long)c->B * l->numel; /* neurons per step */
  const long x_stride = base->in[0]->is_static ? 0 : E;
  /* H is kept for the backward only when it cannot rerun the recurrence (long sequences). */
  float *H = (c->train || c->smooth) && !recomputes(l, c->T) ? l->H : NULL;
  if (l->cfg.adapt > 0 && c->train) {
    adaptive_forward(l, c, l->H);
    return;
  }
  const long pieces = (E + NEURON_BLOCK - 1) / NEURON_BLOCK;
  long updates = 0;
#pragma omp parallel for schedule(static) reduction(+ : updates)
  for (long p = 0; p < pieces; p++) {
    const long lo = p * NEURON_BLOCK;
    const int n = (int)(E - lo < NEURON_BLOCK ? E - lo : NEURON_BLOCK);
    float scratch[4][NEURON_BLOCK];
    const sb_neuron_block blk = block_coefficients(l, lo, n, scratch);
    sb_neuron_forward_block(&l->cfg, &blk, c->T, n, base->in[0]->x + lo, x_stride,
                            base->out.x + lo, H ? H + lo : NULL, E, c->smooth,
                            c->collect_stats ? &updates : NULL);
  }
  if (c->collect_stats) {
    base->op_stats.membrane_updates += (double)updates;
    base->op_stats.samples += c->B;
  }
}

static void neuron_backward(sb_layer *base, const sb_ctx *c) {
  neuron_layer *l = (neuron_layer *)base;
  sb_act *in = base->in[0];
  const long E = (long)c->B * l->numel;
  if (l->cfg.adapt > 0 && c->train) {
    adaptive_backward(l, c);
  } else {
    if (!in->needs_grad && !l->theta_p && !l->tau_p) return;
    SB_ASSERT(recomputes(l, c->T) || l->H); /* H is planned for the build's T */
    const long x_stride = in->is_static ? 0 : E;
    const long pieces = (E + NEURON_BLOCK - 1) / NEURON_BLOCK;
#pragma omp parallel for schedule(static)
    for (long p = 0; p < pieces; p++) {
      const long lo = p * NEURON_BLOCK;
      const int n = (int)(E - lo < NEURON_BLOCK ? E - lo : NEURON_BLOCK);
      float scratch[4][NEURON_BLOCK];
      const sb_neuron_block blk = block_coefficients(l, lo, n, scratch);
      sb_neuron_backward_block(&l->cfg, &blk, c->T, n, in->x + lo, x_stride, base->out.x + lo,
                               recomputes(l, c->T) ? NULL : l->H + lo, base->out.g + lo, E,
                               in->needs_grad ? in->g + lo : NULL, base->in_accumulate[0],
                               l->dtheta_e ? l->dtheta_e + lo : NULL,
                               l->dbeta_e ? l->dbeta_e + lo : NULL, c->smooth);
    }
  }
  /* Chain the per-channel sums through each parameterisation. */
  if (l->theta_p) {
    reduce_channels(l, l->dtheta_e, E, l->dtheta_p);
    for (int ch = 0; ch < l->n_ch; ch++) {
      float d;
      channel_theta(l, ch, &d);
      l->dtheta_p[ch] *= d;
    }
  }
  if (l->tau_p) {
    reduce_channels(l, l->dbeta_e, E, l->dtau_p);
    for (int ch = 0; ch < l->n_ch; ch++) {
      float d;
      channel_tau(l, ch, &d);
      l->dtau_p[ch] *= d;
    }
  }
  if (l->adapt_p) {
    /* The rate term exists only in training, where adaptive_backward filled dadapt_e. */
    double total = 0.0;
    if (c->train)
      for (long e = 0; e < E; e++) total += l->dadapt_e[e];
    l->dadapt_p[0] = (float)total * copysignf(1.0f, l->adapt_p[0]);
  }
}

static void neuron_describe(const sb_layer *base, char *buf, size_t n) {
  sb_neuron_describe(&((const neuron_layer *)base)->cfg, buf, n);
}

const sb_layer_ops sb_neuron_ops = {"neuron", sizeof(neuron_layer), neuron_build, neuron_init,
                                    neuron_forward, neuron_backward, neuron_describe, NULL, NULL};
