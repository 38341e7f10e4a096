/* The training engine: multi-step activations, a layer table, and the model that runs it.
 *
 * Every activation is a whole sequence stored as [T][B][features] (float32, contiguous), or as
 * [B][features] when it is "static": the same at every time step, as the input is under direct
 * encoding. Stateless layers fold T into the batch; neuron layers loop over t inside. A layer fed
 * a static input computes once and its output stays static (static-input hoisting), so the first
 * Linear of an MLP runs one GEMM instead of T.
 *
 * Layers are darknet-style: a table of operations per type, one struct per instance. The model
 * runs the layer list forward, then backward in reverse; BPTT lives inside each neuron layer. */
#ifndef SNNBENCH_NN_H
#define SNNBENCH_NN_H

#include <stddef.h>
#include <stdint.h>

#include "snnbench/arena.h"
#include "snnbench/error.h"

typedef struct cJSON cJSON;

enum { SB_MAX_DIMS = 3, SB_MAX_INPUTS = 4, SB_NAME_LEN = 48 };

/* Per-sample shape: [F] or [C, H, W]. */
typedef struct {
  int ndim;
  int d[SB_MAX_DIMS];
} sb_shape;

static inline long sb_shape_numel(sb_shape s) {
  long n = 1;
  for (int i = 0; i < s.ndim; i++) n *= s.d[i];
  return n;
}
/* "784" or "3x32x32", for messages and tables. */
const char *sb_shape_str(sb_shape s, char *buf, size_t n);

typedef struct {
  sb_shape shape;
  int is_static;  /* one copy for all t: stored as [B][numel] */
  int is_binary;  /* every value is 0 or 1 (spikes): enables sparse kernels, decides AC vs MAC */
  int needs_grad; /* some parameter lies upstream, so backward must produce g */
  float *x;       /* values */
  float *g;       /* dLoss/dx, same layout; NULL when needs_grad is 0 */
} sb_act;

/* Rows of an activation for a run with T steps and batch B. */
static inline long sb_act_rows(const sb_act *a, int T, int B) {
  return (long)(a->is_static ? 1 : T) * B;
}

/* What a forward/backward call needs to know about the current batch. */
typedef struct {
  int T, B;          /* steps and batch rows in this call (B may be below the planned maximum) */
  int train;         /* training mode: batch statistics, dropout, surrogate state kept */
  int smooth;        /* gradient-check mode: spikes use the surrogate's primitive */
  int collect_stats; /* eval: accumulate per-layer spike statistics */
  int epoch, n_epochs;
  uint64_t seed;     /* the trial seed, for dropout and other in-model randomness */
  uint64_t step;     /* global batch counter: with seed, makes dropout masks reproducible */
} sb_ctx;

typedef struct sb_layer sb_layer;
typedef struct sb_model sb_model;
typedef struct sb_builder sb_builder;

/* Spike statistics a neuron layer accumulates during evaluation. */
typedef struct {
  double spikes;      /* total spikes */
  double elements;    /* neurons * T * samples */
  uint32_t *per_neuron; /* spike count per neuron (dead-neuron fraction, rate histogram) */
  long n_neurons;
  double samples;
} sb_spike_stats;

/* Operations one layer performed over an evaluation pass, NeuroBench's way (reference/ANCHORS.md
 * §1): synaptic operations of layers with weights, counted on the binarised input and weights
 * (effective) and on all-ones input and weights (dense), bias excluded, padding not counted,
 * summed over T (a layer fed a static input still runs once per step) and over samples.
 * Effective operations on an input whose values all lie in {-1, 0, 1} are accumulates (ACs),
 * otherwise multiply-accumulates (MACs). Neuron layers count membrane updates instead. */
typedef struct {
  double effective_acs, effective_macs, dense;
  double membrane_updates; /* neurons × steps whose membrane changed, NeuroBench's rule */
  double samples;
} sb_op_stats;

typedef struct {
  const char *type;    /* the name used in model specs */
  size_t size;         /* bytes of the layer's struct (starts with sb_layer) */
  /* Reads the layer's spec, sets out.shape / is_static / is_binary, registers parameters and
   * buffers with the builder. Inputs (l->in) are already connected. */
  sb_status (*build)(sb_layer *l, sb_builder *b, const cJSON *spec);
  /* Draws initial parameters, PyTorch-style. May be NULL. */
  void (*init)(sb_layer *l, uint64_t seed);
  void (*forward)(sb_layer *l, const sb_ctx *c);
  void (*backward)(sb_layer *l, const sb_ctx *c);
  /* One line of settings for `model info` (neuron settings, kernel sizes). May be NULL. */
  void (*describe)(const sb_layer *l, char *buf, size_t n);
  /* Multiply-accumulates of the dense forward computation for one row (one sample at one
   * step, or one sample when static), padding taps included: the work a GEMM does. NULL for
   * layers without weight products. The benchmark derives its useful-FLOP count from it. */
  double (*macs)(const sb_layer *l);
  /* Effective and dense synaptic operations of the last forward call, over its input rows
   * (one row per sample per step, or per sample when the input is static). NULL for layers
   * without weights; the model handles AC/MAC classification and the static-input T factor. */
  void (*count_ops)(const sb_layer *l, const sb_ctx *c, double *effective, double *dense);
} sb_layer_ops;

struct sb_layer {
  const sb_layer_ops *ops;
  char name[SB_NAME_LEN];
  int index;
  int n_in;
  sb_act *in[SB_MAX_INPUTS];
  /* Backward adds into in[i]->g when another consumer already wrote it this pass; otherwise it
   * overwrites, which saves a memset of every gradient buffer. Decided once at build time. */
  int in_accumulate[SB_MAX_INPUTS];
  sb_act out;
  int is_neuron;        /* output is a spike train counted in spike statistics */
  double time_fwd, time_bwd; /* seconds spent here, accumulated when the model is profiled */
  sb_spike_stats stats; /* filled in eval when is_neuron */
  sb_op_stats op_stats; /* filled in eval (collect_stats) */
  long n_params;
};

/* A trainable tensor: the model stores all values in one block and all gradients in another,
 * so optimisers and clipping run one flat loop. */
typedef struct {
  char name[2 * SB_NAME_LEN];
  float *w, *g;
  long n;
  /* Weight matrices quantised per output channel (see sb_builder_quantizable); 0 for tensors
   * that stay float32 (biases, BatchNorm, thresholds, taus, KAN activation coefficients).
   * Element j of channel c sits at c·q_ch_stride + j·q_el_stride, j < q_len. */
  int q_channels;
  long q_ch_stride, q_el_stride, q_len;
} sb_param;

struct sb_model {
  char name[64];
  int n_layers;
  sb_layer **layers;
  sb_act input;       /* x points at the caller's batch; static under direct encoding */
  sb_act *output;     /* logits [B][classes], static (time already reduced) */
  int n_params;
  sb_param *params;
  long n_param_values;
  float *param_block, *grad_block;
  /* Non-trainable state that is saved with the model (BatchNorm running statistics). */
  int n_buffers;
  sb_param *buffers;
  int T_max, B_max;
  int profile;        /* accumulate per-layer forward/backward times (benchmarks) */
  sb_arena acts, param_arena;
};

/* Settings that a config applies to every neuron layer of a model (fields left unset keep the
 * spec's values). */
typedef struct {
  int has_type, has_tau, has_threshold, has_reset, has_v_reset, has_surrogate, has_alpha,
      has_detach_reset, has_charge;
  char type[16], reset[16], surrogate[32], charge[16];
  float tau, threshold, v_reset, alpha;
  int detach_reset;
} sb_neuron_override;

typedef struct {
  sb_shape input_shape;
  int input_static;   /* direct encoding: the same input every step */
  int input_binary;   /* spike-valued input (rate encoding, event frames) */
  int n_classes;
  int T, B;           /* planned maxima */
  const sb_neuron_override *neuron;  /* may be NULL */
  /* Build the non-spiking twin: every spiking layer (neuron, dendritic_conv) becomes a ReLU on
   * the same input, with its parameters dropped; dendritic_mlp drops its leaky integration (see
   * dendritic.c); everything else is unchanged. */
  int ann_twin;
  const char *origin; /* spec file or built-in name, for error messages */
} sb_model_opts;

/* Builds a model from a JSON spec ({"name":..., "layers":[...]}). Errors name the layer and
 * what does not fit. */
sb_status sb_model_build(sb_model **out, const cJSON *spec, const sb_model_opts *opts);
void sb_model_free(sb_model *m);
void sb_model_init_params(sb_model *m, uint64_t seed);
/* input: [B][numel] when static, else [T][B][numel]. */
void sb_model_forward(sb_model *m, const sb_ctx *c, const float *input);
void sb_model_backward(sb_model *m, const sb_ctx *c);
void sb_model_reset_stats(sb_model *m);
sb_layer *sb_model_find(const sb_model *m, const char *name);

/* --- builder services for layer implementations --- */
void sb_builder_param(sb_builder *b, sb_layer *l, const char *pname, float **w, float **g,
                      long n);
void sb_builder_buffer(sb_builder *b, sb_layer *l, const char *bname, float **w, long n);
/* Marks the parameter registered last as a weight matrix quantised per output channel. */
void sb_builder_quantizable(sb_builder *b, int channels, long ch_stride, long el_stride, long len);
/* Activation-sized or arbitrary scratch memory, allocated with the model. */
void sb_builder_floats(sb_builder *b, float **slot, long n);
void sb_builder_bytes(sb_builder *b, void **slot, size_t bytes);
const sb_model_opts *sb_builder_opts(const sb_builder *b);
/* Fails with a message naming the model and layer. */
sb_status sb_builder_error(const sb_builder *b, const sb_layer *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Spec accessors that fail with the layer named in the message. */
sb_status sb_spec_int(sb_builder *b, const sb_layer *l, const cJSON *spec, const char *key,
                      int def, int min, int max, int *out);
sb_status sb_spec_num(sb_builder *b, const sb_layer *l, const cJSON *spec, const char *key,
                      double def, double min, double max, double *out);
sb_status sb_spec_str(sb_builder *b, const sb_layer *l, const cJSON *spec, const char *key,
                      const char *def, char *out, size_t n);
sb_status sb_spec_bool(sb_builder *b, const sb_layer *l, const cJSON *spec, const char *key,
                       int def, int *out);
/* Refuses keys other than name/type/in and the NULL-terminated `allowed`: a typo in a spec must
 * not silently fall back to a default. */
sb_status sb_spec_check_keys(sb_builder *b, const sb_layer *l, const cJSON *spec,
                             const char *const *allowed);

/* --- the layer table --- */
const sb_layer_ops *sb_layer_lookup(const char *type);
/* NULL-terminated list, for `snnbench list layers`. */
const sb_layer_ops *const *sb_layer_table(void);
/* True for the spiking neuron layers (neuron, dendritic_conv): the ones a non-spiking twin
 * (sb_model_opts.ann_twin) replaces with a ReLU. */
int sb_layer_is_spiking(const sb_layer_ops *ops);

#endif
