/* DASNN's multi-branch dendritic neurons, in the two forms the seed ran.
 *
 * dendritic_mlp (run_triple_comparison.py::DASNNModel, SEED-REPOS §1.3): per branch i,
 *   I_i = (x W_i) ⊙ sigmoid(x G_i + g_i)            W_i without bias, gate bias g initialised to −1
 *   v_i[t] = β_i v_i[t−1] + (1 − β_i) I_i[t]         τ_i = linspace(tau_min, tau_max, branches),
 *                                                     branch potentials are never reset
 *   out = concat_i softmax(a)_i · v_i                a initialised equal (weights 1/branches)
 * The output is a membrane-level signal; a BatchNorm and a LIF soma follow in the model spec.
 * All branches share one GEMM each for W and G ([in][branches·width], input-major as Linear).
 * In the non-spiking twin ("ann": true) the branches drop their leaky integration and pass
 * out = concat_i softmax(a)_i · I_i, the fixed point of the filter for a constant input: the
 * twin is a network without state over time (same parameters, static under direct encoding),
 * the single pass an ANN makes, while the spiking model's soma becomes a ReLU.
 * Membrane updates (NeuroBench's count, evaluation only): every branch potential at t = 0, then
 * each step whose potential changed.
 *
 * dendritic_conv (seed notebook 001, DendriticConvLIF): a spiking neuron over [C,H,W] with
 *   v_i[t] = β_i v_i[t−1] + (1 − β_i) x[t]           every channel, every branch
 *   g[t] = softmax over branches of a 1x1 conv (C → branches, with bias) of x[t], per pixel
 *   soma = Σ_i g_i v_i,  S = Θ(soma − θ),  v_i −= θ S (the spike detached)
 * BPTT recomputes the branch potentials per block instead of storing them (they would need
 * branches × the activation memory). A config's neuron.threshold, neuron.surrogate and
 * neuron.alpha apply here as to "neuron" layers; neuron.* values that would make it another
 * neuron (IF, a hard reset, the "x" charge, a reset with gradient, one τ) are refused. Membrane
 * updates count each neuron at t = 0, then each step in which any of its branch potentials
 * changed, as neuron.c counts one membrane. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

enum { MAX_BRANCHES = 8, PIXEL_BLOCK = 64 };

static sb_status parse_branches(sb_builder *b, sb_layer *l, const cJSON *spec, int *nb,
                                double def_lo, double def_hi, float *beta) {
  double lo, hi;
  sb_status st;
  if ((st = sb_spec_int(b, l, spec, "branches", 4, 1, MAX_BRANCHES, nb))) return st;
  if ((st = sb_spec_num(b, l, spec, "tau_min", def_lo, 1.0 + 1e-6, 1e6, &lo))) return st;
  if ((st = sb_spec_num(b, l, spec, "tau_max", def_hi, 1.0 + 1e-6, 1e6, &hi))) return st;
  if (hi < lo) return sb_builder_error(b, l, "\"tau_max\" %g is below \"tau_min\" %g", hi, lo);
  for (int i = 0; i < *nb; i++) {
    const double tau = *nb == 1 ? lo : lo + (hi - lo) * i / (*nb - 1); /* numpy linspace */
    beta[i] = (float)(1.0 - 1.0 / tau);
  }
  return SB_OK;
}

static void softmax(const float *a, int n, float *w) {
  float m = a[0];
  for (int i = 1; i < n; i++) m = fmaxf(m, a[i]);
  double s = 0.0;
  for (int i = 0; i < n; i++) s += exp((double)(a[i] - m));
  for (int i = 0; i < n; i++) w[i] = (float)(exp((double)(a[i] - m)) / s);
}

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* ============================================================ dendritic_mlp */

typedef struct {
  sb_layer base;
  int in_f, width, nb, out_f; /* out_f = nb * width */
  float beta[MAX_BRANCHES];
  float gate_bias_init;
  float *W, *dW, *G, *dG, *g, *dg, *attn, *dattn;
  float *A, *Z;   /* x W and the gate pre-activation x G + g: [rows][out_f] */
  float *dA, *dZ; /* their gradients */
  float *V;       /* branch potentials [T][B][out_f] */
  int twin;       /* the non-spiking twin: no leaky integration (see the top of the file) */
} dmlp_layer;

static const char *const dmlp_keys[] = {"branches", "width", "tau_min", "tau_max", "gate_bias",
                                        NULL};

static sb_status dmlp_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  dmlp_layer *l = (dmlp_layer *)base;
  sb_status st;
  double gb;
  if ((st = sb_spec_check_keys(b, base, spec, dmlp_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  if ((st = parse_branches(b, base, spec, &l->nb, 2.0, 16.0, l->beta))) return st;
  if ((st = sb_spec_int(b, base, spec, "width", 0, 1, 1 << 20, &l->width))) return st;
  if (!l->width) return sb_builder_error(b, base, "\"width\" (features per branch) is required");
  if ((st = sb_spec_num(b, base, spec, "gate_bias", -1.0, -1e3, 1e3, &gb))) return st;
  l->gate_bias_init = (float)gb;
  l->in_f = (int)sb_shape_numel(base->in[0]->shape);
  l->out_f = l->nb * l->width;
  l->twin = sb_builder_opts(b)->ann_twin;
  base->out.shape = (sb_shape){1, {l->out_f, 0, 0}};
  base->out.is_static = l->twin && base->in[0]->is_static;
  base->out.is_binary = 0;
  const long wn = (long)l->in_f * l->out_f;
  sb_builder_param(b, base, "weight", &l->W, &l->dW, wn);
  sb_builder_quantizable(b, l->out_f, 1, l->out_f, l->in_f); /* int8 per column of [in][out] */
  sb_builder_param(b, base, "gate_weight", &l->G, &l->dG, wn);
  sb_builder_quantizable(b, l->out_f, 1, l->out_f, l->in_f);
  sb_builder_param(b, base, "gate_bias", &l->g, &l->dg, l->out_f);
  sb_builder_param(b, base, "branch_attn", &l->attn, &l->dattn, l->nb);
  const sb_model_opts *o = sb_builder_opts(b);
  const long rows = (long)(base->in[0]->is_static ? 1 : o->T) * o->B;
  sb_builder_floats(b, &l->A, rows * l->out_f);
  sb_builder_floats(b, &l->Z, rows * l->out_f);
  sb_builder_floats(b, &l->dA, rows * l->out_f);
  sb_builder_floats(b, &l->dZ, rows * l->out_f);
  if (!l->twin) sb_builder_floats(b, &l->V, (long)o->T * o->B * l->out_f);
  return SB_OK;
}

static void dmlp_init(sb_layer *base, uint64_t seed) {
  dmlp_layer *l = (dmlp_layer *)base;
  /* Each branch is an nn.Linear with fan_in = in_f, so one shared bound covers all of them. */
  const float bound = 1.0f / sqrtf((float)l->in_f);
  const long wn = (long)l->in_f * l->out_f;
  sb_init_uniform(l->W, wn, bound, seed, (uint32_t)base->index, 0);
  sb_init_uniform(l->G, wn, bound, seed, (uint32_t)base->index, 1);
  for (int j = 0; j < l->out_f; j++) l->g[j] = l->gate_bias_init;
  for (int i = 0; i < l->nb; i++) l->attn[i] = 1.0f / (float)l->nb;
}

static void dmlp_forward(sb_layer *base, const sb_ctx *c) {
  dmlp_layer *l = (dmlp_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B), F = l->out_f;
  sb_gemm(0, 0, (int)rows, (int)F, l->in_f, 1.0f, in->x, l->in_f, l->W, (int)F, 0.0f, l->A, (int)F);
  sb_gemm(0, 0, (int)rows, (int)F, l->in_f, 1.0f, in->x, l->in_f, l->G, (int)F, 0.0f, l->Z, (int)F);
  float w[MAX_BRANCHES];
  softmax(l->attn, l->nb, w);
  if (l->twin) {
    const long n = rows * F;
#pragma omp parallel for schedule(static)
    for (long e = 0; e < n; e++) {
      const int j = (int)(e % F);
      base->out.x[e] = w[j / l->width] * l->A[e] * sigmoidf(l->Z[e] + l->g[j]);
    }
    return;
  }
  const long E = (long)c->B * F, xs = in->is_static ? 0 : E;
  long updates = 0;
#pragma omp parallel for schedule(static) reduction(+ : updates)
  for (long e = 0; e < E; e++) {
    const int j = (int)(e % F), br = j / l->width;
    const float beta = l->beta[br];
    float v = 0.0f;
    for (int t = 0; t < c->T; t++) {
      const long r = t * xs + e;
      const float input = l->A[r] * sigmoidf(l->Z[r] + l->g[j]);
      const float vn = beta * v + (1.0f - beta) * input;
      updates += t == 0 || vn != v;
      v = vn;
      l->V[t * E + e] = v;
      base->out.x[t * E + e] = w[br] * v;
    }
  }
  /* The model counts this layer's samples with its synaptic operations (count_ops). */
  if (c->collect_stats) base->op_stats.membrane_updates += (double)updates;
}

static void dmlp_gemm_backward(dmlp_layer *l, sb_act *in, long rows);

/* The twin's out = w_br · A ⊙ s, s = sigmoid(Z + g), row by row (static or per step alike). */
static void dmlp_twin_backward(dmlp_layer *l, sb_act *in, long rows, const float *w) {
  const long F = l->out_f, n = rows * F;
  const float *dy = l->base.out.g;
#pragma omp parallel for schedule(static)
  for (long e = 0; e < n; e++) {
    const int j = (int)(e % F);
    const float s = sigmoidf(l->Z[e] + l->g[j]), gi = w[j / l->width] * dy[e];
    l->dA[e] = gi * s;
    l->dZ[e] = gi * l->A[e] * s * (1.0f - s);
  }
  double dw[MAX_BRANCHES];
  for (int br = 0; br < l->nb; br++) {
    double acc = 0.0;
    for (long r = 0; r < rows; r++)
      for (int k = 0; k < l->width; k++) {
        const long e = r * F + (long)br * l->width + k;
        acc += (double)dy[e] * l->A[e] * sigmoidf(l->Z[e] + l->g[br * l->width + k]);
      }
    dw[br] = acc;
  }
  double dot = 0.0;
  for (int i = 0; i < l->nb; i++) dot += dw[i] * w[i];
  for (int i = 0; i < l->nb; i++) l->dattn[i] = (float)(w[i] * (dw[i] - dot));
  dmlp_gemm_backward(l, in, rows);
}

static void dmlp_backward(sb_layer *base, const sb_ctx *c) {
  dmlp_layer *l = (dmlp_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B), F = l->out_f;
  const long E = (long)c->B * F, xs = in->is_static ? 0 : E;
  float w[MAX_BRANCHES];
  softmax(l->attn, l->nb, w);
  if (l->twin) {
    dmlp_twin_backward(l, in, rows, w);
    return;
  }
  /* Through time per element; a static input receives the sum over t of its gradient. */
  if (xs == 0) {
    memset(l->dA, 0, (size_t)E * sizeof(float));
    memset(l->dZ, 0, (size_t)E * sizeof(float));
  }
#pragma omp parallel for schedule(static)
  for (long e = 0; e < E; e++) {
    const int j = (int)(e % F), br = j / l->width;
    const float beta = l->beta[br];
    float gv = 0.0f; /* dL/dv[t]; v[t+1] = β v[t] + ..., so the future adds β dL/dv[t+1] */
    for (int t = c->T - 1; t >= 0; t--) {
      gv = w[br] * base->out.g[t * E + e] + beta * gv;
      const float gi = (1.0f - beta) * gv;
      const long r = t * xs + e;
      const float s = sigmoidf(l->Z[r] + l->g[j]);
      const float da = gi * s, dz = gi * l->A[r] * s * (1.0f - s);
      if (xs) {
        l->dA[r] = da;
        l->dZ[r] = dz;
      } else {
        l->dA[r] += da;
        l->dZ[r] += dz;
      }
    }
  }
  /* dL/dattn: the branch weights scale every element of their branch. */
  double dw[MAX_BRANCHES] = {0};
  for (int br = 0; br < l->nb; br++) {
    double s = 0.0;
    for (long t = 0; t < c->T; t++)
      for (int b = 0; b < c->B; b++)
        for (int k = 0; k < l->width; k++) {
          const long e = ((long)t * c->B + b) * F + (long)br * l->width + k;
          s += (double)base->out.g[e] * l->V[e];
        }
    dw[br] = s;
  }
  double dot = 0.0;
  for (int i = 0; i < l->nb; i++) dot += dw[i] * w[i];
  for (int i = 0; i < l->nb; i++) l->dattn[i] = (float)(w[i] * (dw[i] - dot));
  dmlp_gemm_backward(l, in, rows);
}

/* The two GEMMs' gradients from dA and dZ. */
static void dmlp_gemm_backward(dmlp_layer *l, sb_act *in, long rows) {
  const long F = l->out_f;
  sb_gemm(1, 0, l->in_f, (int)F, (int)rows, 1.0f, in->x, l->in_f, l->dA, (int)F, 0.0f, l->dW, (int)F);
  sb_gemm(1, 0, l->in_f, (int)F, (int)rows, 1.0f, in->x, l->in_f, l->dZ, (int)F, 0.0f, l->dG, (int)F);
  sb_sum_rows((int)rows, (int)F, l->dZ, 0.0f, l->dg);
  if (in->needs_grad) {
    sb_gemm(0, 1, (int)rows, l->in_f, (int)F, 1.0f, l->dA, (int)F, l->W, (int)F,
            l->base.in_accumulate[0] ? 1.0f : 0.0f, in->g, l->in_f);
    sb_gemm(0, 1, (int)rows, l->in_f, (int)F, 1.0f, l->dZ, (int)F, l->G, (int)F, 1.0f, in->g,
            l->in_f);
  }
}

static void dmlp_describe(const sb_layer *base, char *buf, size_t n) {
  const dmlp_layer *l = (const dmlp_layer *)base;
  size_t k = (size_t)snprintf(buf, n, "%d -> %d branches x %d, tau", l->in_f, l->nb, l->width);
  for (int i = 0; i < l->nb && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, " %.3g", 1.0 / (1.0 - l->beta[i]));
  if (k < n)
    snprintf(buf + k, n - k, "%s", l->twin ? ", gated, no integration (non-spiking twin)"
                                           : ", gated, not reset");
}

static double dmlp_macs(const sb_layer *base) {
  const dmlp_layer *l = (const dmlp_layer *)base;
  return 2.0 * l->in_f * l->out_f; /* the branch and gate products */
}

/* The branch and gate products are linear maps of the input ([in][branches·width] each). */
static void dmlp_count(const sb_layer *base, const sb_ctx *c, double *effective, double *dense) {
  const dmlp_layer *l = (const dmlp_layer *)base;
  const long rows = sb_act_rows(base->in[0], c->T, c->B);
  *effective = sb_count_rowwise(base->in[0], rows, l->in_f, l->W, l->out_f) +
               sb_count_rowwise(base->in[0], rows, l->in_f, l->G, l->out_f);
  *dense = 2.0 * rows * l->in_f * l->out_f;
}

const sb_layer_ops sb_dendritic_mlp_ops = {"dendritic_mlp", sizeof(dmlp_layer), dmlp_build,
                                           dmlp_init,       dmlp_forward,       dmlp_backward,
                                           dmlp_describe,   dmlp_macs, dmlp_count};

/* ============================================================ dendritic_conv */

typedef struct {
  sb_layer base;
  int C, HW, nb;
  float beta[MAX_BRANCHES];
  float theta;
  sb_surrogate sg;
  float *Wg, *dWg, *bg, *dbg; /* the 1x1 gate conv: [nb][C], [nb] */
  float *gate;                /* softmax gate [x rows][nb][HW] */
  float *dz;                  /* gradient at the gate logits, same layout */
  float *soma;                /* [T][B][C][HW], for the surrogate in backward */
  int n_ws;
  long ws_floats;
  float *ws;                  /* per thread: recomputed branch potentials and gate gradients */
  float *partial_dwg;         /* WGRAD pieces of [nb][C] */
} dconv_layer;

enum { DCONV_PIECES = 8 };

static const char *const dconv_keys[] = {"branches", "tau_min", "tau_max", "threshold",
                                         "surrogate", "alpha", "override", NULL};

/* The config's neuron.* settings that this neuron shares with the "neuron" layers: θ, the
 * surrogate and its α. The others describe another neuron; a value that matches this one (LIF,
 * the (1 − β)x charge, a soft detached reset) passes, any other is refused: applying it is not
 * possible and ignoring it would let a grid axis change nothing. */
static sb_status dconv_override(sb_builder *b, dconv_layer *l, const cJSON *spec) {
  sb_neuron_override o;
  int any;
  sb_status st = sb_neuron_layer_override(b, &l->base, spec, &o, &any);
  if (st || !any) return st;
  const char *bad = NULL, *what = "";
  char val[48] = "";
  if (o.has_type && strcmp(o.type, "lif")) {
    bad = "neuron.type", what = "it is a multi-branch LIF";
    snprintf(val, sizeof val, "\"%s\"", o.type);
  } else if (o.has_reset && strcmp(o.reset, "soft")) {
    bad = "neuron.reset", what = "its reset is soft (v_i -= theta S)";
    snprintf(val, sizeof val, "\"%s\"", o.reset);
  } else if (o.has_charge && strcmp(o.charge, "decay_input")) {
    bad = "neuron.charge", what = "its branches charge (1 - beta) x (\"decay_input\")";
    snprintf(val, sizeof val, "\"%s\"", o.charge);
  } else if (o.has_detach_reset && !o.detach_reset) {
    bad = "neuron.detach_reset", what = "its reset is detached";
    snprintf(val, sizeof val, "false");
  } else if (o.has_tau) {
    bad = "neuron.tau", what = "its branches have their own tau_min..tau_max";
    snprintf(val, sizeof val, "%g", o.tau);
  }
  if (bad)
    return sb_builder_error(b, &l->base, "%s %s does not apply to a dendritic neuron (%s); it "
                            "takes neuron.threshold, neuron.surrogate and neuron.alpha", bad, val,
                            what);
  if (o.has_threshold) l->theta = o.threshold;
  if (o.has_surrogate) {
    sb_surrogate_parse(o.surrogate, &l->sg.kind);
    l->sg.alpha = sb_surrogate_default_alpha(l->sg.kind);
  }
  if (o.has_alpha) l->sg.alpha = o.alpha;
  return SB_OK;
}

static sb_status dconv_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  dconv_layer *l = (dconv_layer *)base;
  sb_status st;
  double th, alpha;
  char sgname[32];
  if ((st = sb_spec_check_keys(b, base, spec, dconv_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  const sb_shape s = base->in[0]->shape;
  if (s.ndim != 3) return sb_builder_error(b, base, "needs a [C,H,W] input");
  if ((st = parse_branches(b, base, spec, &l->nb, 1.5, 8.0, l->beta))) return st;
  if ((st = sb_spec_num(b, base, spec, "threshold", 1.0, 1e-6, 1e6, &th))) return st;
  if ((st = sb_spec_str(b, base, spec, "surrogate", "atan", sgname, sizeof sgname))) return st;
  if (sb_surrogate_parse(sgname, &l->sg.kind))
    return sb_builder_error(b, base, "unknown surrogate \"%s\"", sgname);
  if ((st = sb_spec_num(b, base, spec, "alpha", sb_surrogate_default_alpha(l->sg.kind), 1e-6, 1e6,
                        &alpha)))
    return st;
  l->theta = (float)th;
  l->sg.alpha = (float)alpha;
  if ((st = dconv_override(b, l, spec))) return st;
  l->C = s.d[0];
  l->HW = s.d[1] * s.d[2];
  base->out.shape = s;
  base->out.is_static = 0;
  base->out.is_binary = 1;
  base->is_neuron = 1;
  sb_builder_param(b, base, "gate_weight", &l->Wg, &l->dWg, (long)l->nb * l->C);
  sb_builder_quantizable(b, l->nb, l->C, 1, l->C); /* the 1x1 conv [nb][C]: int8 per branch */
  sb_builder_param(b, base, "gate_bias", &l->bg, &l->dbg, l->nb);
  const sb_model_opts *o = sb_builder_opts(b);
  const long xrows = (long)(base->in[0]->is_static ? 1 : o->T) * o->B;
  sb_builder_floats(b, &l->gate, xrows * l->nb * l->HW);
  sb_builder_floats(b, &l->dz, xrows * l->nb * l->HW);
  sb_builder_floats(b, &l->soma, (long)o->T * o->B * l->C * l->HW);
  l->n_ws = omp_get_max_threads();
  l->ws_floats = 2L * o->T * l->nb * PIXEL_BLOCK;
  sb_builder_floats(b, &l->ws, l->ws_floats * l->n_ws);
  sb_builder_floats(b, &l->partial_dwg, DCONV_PIECES * (long)l->nb * (l->C + 1));
  return SB_OK;
}

static void dconv_init(sb_layer *base, uint64_t seed) {
  dconv_layer *l = (dconv_layer *)base;
  const float bound = 1.0f / sqrtf((float)l->C); /* nn.Conv2d(C, branches, 1) */
  sb_init_uniform(l->Wg, (long)l->nb * l->C, bound, seed, (uint32_t)base->index, 0);
  sb_init_uniform(l->bg, l->nb, bound, seed, (uint32_t)base->index, 1);
}

/* gate[r] = softmax over branches of Wg x[r] + bg, per pixel. */
static void dconv_gate(dconv_layer *l, const float *x, long rows) {
  const int nb = l->nb, HW = l->HW;
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; r++) {
    float *z = l->gate + r * nb * HW;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, HW, l->C, 1.0f, l->Wg, l->C,
                x + r * l->C * HW, HW, 0.0f, z, HW);
    for (int p = 0; p < HW; p++) {
      float a[MAX_BRANCHES], w[MAX_BRANCHES];
      for (int i = 0; i < nb; i++) a[i] = z[i * HW + p] + l->bg[i];
      softmax(a, nb, w);
      for (int i = 0; i < nb; i++) z[i * HW + p] = w[i];
    }
  }
}

static inline float hard_fire(float u) { return u >= 0.0f ? 1.0f : 0.0f; }

static void dconv_forward(sb_layer *base, const sb_ctx *c) {
  dconv_layer *l = (dconv_layer *)base;
  const sb_act *in = base->in[0];
  const int T = c->T, B = c->B, C = l->C, HW = l->HW, nb = l->nb;
  const long xrows = sb_act_rows(in, T, B), E = (long)B * C * HW, xs = in->is_static ? 0 : E;
  dconv_gate(l, in->x, xrows);
  const int blocks = (HW + PIXEL_BLOCK - 1) / PIXEL_BLOCK, count = c->collect_stats;
  long updates = 0;
#pragma omp parallel for schedule(static) collapse(2) reduction(+ : updates)
  for (int b = 0; b < B; b++)
    for (int blk = 0; blk < blocks; blk++) {
      const int p0 = blk * PIXEL_BLOCK, np = HW - p0 < PIXEL_BLOCK ? HW - p0 : PIXEL_BLOCK;
      for (int ch = 0; ch < C; ch++) {
        float v[MAX_BRANCHES][PIXEL_BLOCK] = {{0}}, old[MAX_BRANCHES][PIXEL_BLOCK];
        for (int t = 0; t < T; t++) {
          if (count) memcpy(old, v, sizeof v);
          const long e = ((long)b * C + ch) * HW + p0;
          const float *x = in->x + t * xs + e;
          const long grow = (in->is_static ? b : (long)t * B + b) * nb * HW + p0;
          float *s = base->out.x + t * E + e, *so = l->soma + t * E + e;
          for (int p = 0; p < np; p++) so[p] = 0.0f;
          for (int i = 0; i < nb; i++) {
            const float bi = l->beta[i], *g = l->gate + grow + (long)i * HW;
            for (int p = 0; p < np; p++) {
              v[i][p] = bi * v[i][p] + (1.0f - bi) * x[p];
              so[p] += g[p] * v[i][p];
            }
          }
          float u[PIXEL_BLOCK];
          for (int p = 0; p < np; p++) u[p] = so[p] - l->theta;
          if (c->smooth)
            sb_surrogate_primitive_block(l->sg, u, s, np);
          else
            for (int p = 0; p < np; p++) s[p] = hard_fire(u[p]);
          /* The reset is detached: it uses the hard decision, also in smooth mode. */
          for (int i = 0; i < nb; i++)
            for (int p = 0; p < np; p++) v[i][p] -= l->theta * hard_fire(u[p]);
          if (count)
            for (int p = 0; p < np; p++) {
              int changed = t == 0;
              for (int i = 0; i < nb; i++) changed |= v[i][p] != old[i][p];
              updates += changed;
            }
        }
      }
    }
  /* The model counts this layer's samples with its synaptic operations (count_ops). */
  if (count) base->op_stats.membrane_updates += (double)updates;
}

static void dconv_backward(sb_layer *base, const sb_ctx *c) {
  dconv_layer *l = (dconv_layer *)base;
  sb_act *in = base->in[0];
  const int T = c->T, B = c->B, C = l->C, HW = l->HW, nb = l->nb;
  const long xrows = sb_act_rows(in, T, B), E = (long)B * C * HW, xs = in->is_static ? 0 : E;
  const int acc = base->in_accumulate[0];
  if (in->needs_grad && !acc) memset(in->g, 0, (size_t)(xrows * C * HW) * sizeof(float));
  memset(l->dz, 0, (size_t)(xrows * nb * HW) * sizeof(float));
  const int blocks = (HW + PIXEL_BLOCK - 1) / PIXEL_BLOCK;
#pragma omp parallel for schedule(static) collapse(2)
  for (int b = 0; b < B; b++)
    for (int blk = 0; blk < blocks; blk++) {
      const int p0 = blk * PIXEL_BLOCK, np = HW - p0 < PIXEL_BLOCK ? HW - p0 : PIXEL_BLOCK;
      float *vpre = l->ws + (long)omp_get_thread_num() * l->ws_floats; /* [T][nb][PB] */
      float *dg = vpre + (long)T * nb * PIXEL_BLOCK;                   /* [T][nb][PB] */
      memset(dg, 0, (size_t)T * nb * PIXEL_BLOCK * sizeof(float));
      for (int ch = 0; ch < C; ch++) {
        const long e = ((long)b * C + ch) * HW + p0;
        /* Recompute the branch potentials before their resets. */
        float v[MAX_BRANCHES][PIXEL_BLOCK] = {{0}};
        for (int t = 0; t < T; t++) {
          const float *x = in->x + t * xs + e, *so = l->soma + t * E + e;
          for (int i = 0; i < nb; i++) {
            float *vp = vpre + ((long)t * nb + i) * PIXEL_BLOCK;
            for (int p = 0; p < np; p++) {
              v[i][p] = l->beta[i] * v[i][p] + (1.0f - l->beta[i]) * x[p];
              vp[p] = v[i][p];
              v[i][p] -= l->theta * hard_fire(so[p] - l->theta);
            }
          }
        }
        float gv[MAX_BRANCHES][PIXEL_BLOCK] = {{0}};
        for (int t = T - 1; t >= 0; t--) {
          const float *so = l->soma + t * E + e, *ds = base->out.g + t * E + e;
          const long grow = (in->is_static ? b : (long)t * B + b) * nb * HW + p0;
          float u[PIXEL_BLOCK], sg[PIXEL_BLOCK], dsoma[PIXEL_BLOCK], dx[PIXEL_BLOCK] = {0};
          for (int p = 0; p < np; p++) u[p] = so[p] - l->theta;
          sb_surrogate_grad_block(l->sg, u, sg, np);
          for (int p = 0; p < np; p++) dsoma[p] = ds[p] * sg[p];
          for (int i = 0; i < nb; i++) {
            const float *g = l->gate + grow + (long)i * HW;
            const float *vp = vpre + ((long)t * nb + i) * PIXEL_BLOCK;
            float *dgi = dg + ((long)t * nb + i) * PIXEL_BLOCK;
            for (int p = 0; p < np; p++) {
              const float gpre = dsoma[p] * g[p] + gv[i][p]; /* reset detached: dv/dvpre = 1 */
              dgi[p] += dsoma[p] * vp[p];
              dx[p] += (1.0f - l->beta[i]) * gpre;
              gv[i][p] = l->beta[i] * gpre;
            }
          }
          if (in->needs_grad) {
            float *dxo = in->g + t * xs + e;
            for (int p = 0; p < np; p++) dxo[p] += dx[p];
          }
        }
      }
      /* Softmax backward per pixel: dz_i = g_i (dg_i − Σ_j g_j dg_j). */
      for (int t = 0; t < T; t++) {
        const long grow = (in->is_static ? b : (long)t * B + b) * nb * HW + p0;
        for (int p = 0; p < np; p++) {
          float dot = 0.0f;
          for (int i = 0; i < nb; i++)
            dot += l->gate[grow + (long)i * HW + p] * dg[((long)t * nb + i) * PIXEL_BLOCK + p];
          for (int i = 0; i < nb; i++) {
            const float gi = l->gate[grow + (long)i * HW + p];
            l->dz[grow + (long)i * HW + p] +=
                gi * (dg[((long)t * nb + i) * PIXEL_BLOCK + p] - dot);
          }
        }
      }
    }
  /* The gate conv: dx += Wg^T dz per row; dWg, dbg summed over rows in fixed pieces. */
  if (in->needs_grad) {
#pragma omp parallel for schedule(static)
    for (long r = 0; r < xrows; r++)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, HW, nb, 1.0f, l->Wg, C,
                  l->dz + r * nb * HW, HW, 1.0f, in->g + r * C * HW, HW);
  }
  const int pieces = xrows < DCONV_PIECES ? (int)xrows : DCONV_PIECES;
  const long pn = (long)nb * (C + 1);
#pragma omp parallel for schedule(static)
  for (int pc = 0; pc < pieces; pc++) {
    float *pw = l->partial_dwg + pc * pn, *pb = pw + (long)nb * C;
    memset(pw, 0, (size_t)pn * sizeof(float));
    for (long r = xrows * pc / pieces; r < xrows * (pc + 1) / pieces; r++) {
      const float *dz = l->dz + r * nb * HW;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, C, HW, 1.0f, dz, HW,
                  in->x + r * C * HW, HW, 1.0f, pw, C);
      for (int i = 0; i < nb; i++) {
        float s = 0.0f;
        for (int p = 0; p < HW; p++) s += dz[i * HW + p];
        pb[i] += s;
      }
    }
  }
  for (long k = 0; k < pn; k++) {
    float s = 0.0f;
    for (int pc = 0; pc < pieces; pc++) s += l->partial_dwg[pc * pn + k];
    if (k < (long)nb * C)
      l->dWg[k] = s;
    else
      l->dbg[k - (long)nb * C] = s;
  }
}

static void dconv_describe(const sb_layer *base, char *buf, size_t n) {
  const dconv_layer *l = (const dconv_layer *)base;
  size_t k = (size_t)snprintf(buf, n, "%d branches, tau", l->nb);
  for (int i = 0; i < l->nb && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, " %.3g", 1.0 / (1.0 - l->beta[i]));
  if (k < n)
    snprintf(buf + k, n - k, ", 1x1 gate, theta=%g soft reset (detached), %s(alpha=%g)",
             l->theta, sb_surrogate_name(l->sg.kind), l->sg.alpha);
}

static double dconv_macs(const sb_layer *base) {
  const dconv_layer *l = (const dconv_layer *)base;
  return (double)l->nb * l->C * l->HW; /* the 1x1 gate */
}

/* The 1x1 gate conv: every nonzero input value feeds its nonzero gate weights (one per
 * branch). */
static void dconv_count(const sb_layer *base, const sb_ctx *c, double *effective, double *dense) {
  const dconv_layer *l = (const dconv_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  double e = 0.0;
  for (int ch = 0; ch < l->C; ch++) {
    long nzw = 0;
    for (int i = 0; i < l->nb; i++) nzw += l->Wg[(long)i * l->C + ch] != 0.0f;
    long active = 0;
    for (long r = 0; r < rows; r++)
      for (int p = 0; p < l->HW; p++) active += in->x[(r * l->C + ch) * l->HW + p] != 0.0f;
    e += (double)active * nzw;
  }
  *effective = e;
  *dense = (double)rows * l->nb * l->C * l->HW;
}

const sb_layer_ops sb_dendritic_conv_ops = {"dendritic_conv", sizeof(dconv_layer), dconv_build,
                                            dconv_init,       dconv_forward,       dconv_backward,
                                            dconv_describe,   dconv_macs, dconv_count};
