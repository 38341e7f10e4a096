/* Internal: the layer types the table knows, and helpers layers share. */
#ifndef SNNBENCH_NN_LAYERS_H
#define SNNBENCH_NN_LAYERS_H

#include "snnbench/kernels.h"
#include "snnbench/neuron.h"
#include "snnbench/nn.h"

extern const sb_layer_ops sb_linear_ops;
extern const sb_layer_ops sb_conv2d_ops;
extern const sb_layer_ops sb_neuron_ops;
extern const sb_layer_ops sb_dendritic_mlp_ops;
extern const sb_layer_ops sb_dendritic_conv_ops;
extern const sb_layer_ops sb_mean_time_ops;
extern const sb_layer_ops sb_batchnorm_ops;
extern const sb_layer_ops sb_flatten_ops;
extern const sb_layer_ops sb_relu_ops;
extern const sb_layer_ops sb_reshape_ops;
extern const sb_layer_ops sb_avgpool2d_ops;
extern const sb_layer_ops sb_maxpool2d_ops;
extern const sb_layer_ops sb_adaptive_avgpool2d_ops;
extern const sb_layer_ops sb_sum_pool_ops;
extern const sb_layer_ops sb_dropout_ops;
extern const sb_layer_ops sb_add_ops;
extern const sb_layer_ops sb_mul_ops;
extern const sb_layer_ops sb_concat_ops;
extern const sb_layer_ops sb_clamp_ops;
extern const sb_layer_ops sb_sigmoid_ops;
extern const sb_layer_ops sb_scale_ops;
extern const sb_layer_ops sb_weighted_sum_ops;
extern const sb_layer_ops sb_chebyshev_kan_ops;
extern const sb_layer_ops sb_power_kan_ops;
extern const sb_layer_ops sb_sparsity_mask_ops;
extern const sb_layer_ops sb_temporal_attention_ops;
extern const sb_layer_ops sb_time_softmax_readout_ops;
extern const sb_layer_ops sb_branch_mixture_ops;
extern const sb_layer_ops sb_power_basis_ops;
extern const sb_layer_ops sb_unused_params_ops;

sb_status sb_neuron_parse(sb_builder *b, const sb_layer *l, const cJSON *spec, sb_neuron_cfg *cfg);
void sb_neuron_apply_override(sb_neuron_cfg *cfg, const sb_neuron_override *o);
/* The config's neuron override as a layer takes it (its "override" key; see neuron.c). */
sb_status sb_neuron_layer_override(sb_builder *b, const sb_layer *l, const cJSON *spec,
                                   sb_neuron_override *out, int *any);

/* PyTorch's default init for Linear/Conv: U(±1/√fan_in) for weights (Kaiming-uniform with
 * a=√5) and biases. */
void sb_init_uniform(float *w, long n, float bound, uint64_t seed, uint32_t layer_index,
                     uint32_t tensor);

/* N(mean, std^2) draws on the same per-(layer, tensor) streams as sb_init_uniform. */
void sb_init_normal(float *w, long n, float mean, float std, uint64_t seed, uint32_t layer_index,
                    uint32_t tensor);

/* NeuroBench counting for an input-major weight (row k of W, `fan` values, holds what input k
 * feeds): the nonzero weights of every nonzero input, summed over the input's rows. */
double sb_count_rowwise(const sb_act *in, long rows, int in_f, const float *W, long fan);

/* Copies (or adds) a gradient into an input buffer. */
void sb_grad_store(float *dst, const float *src, long n, int accumulate);

/* Stores the gradient of a layer output that is a sequence ([T][R] values, R = B * numel) into
 * an input: a static input was broadcast over t, so it receives the sum over t. */
void sb_grad_store_seq(sb_act *in, const float *g, int T, long R, int accumulate);

/* Row of step t, sample b in an activation: a static one repeats row b at every step. */
static inline long sb_act_row(const sb_act *a, int t, int b, int B) {
  return a->is_static ? b : (long)t * B + b;
}

/* The [C, spatial] view of a per-sample shape: channels of an image, features of a vector
 * (each its own channel with spatial size 1). */
static inline int sb_shape_channels(sb_shape s) { return s.d[0]; }
static inline long sb_shape_spatial(sb_shape s) { return sb_shape_numel(s) / s.d[0]; }

/* Parameter gradients that are sums over every (t, b) row. The rows are cut into pieces whose
 * boundaries depend only on the row count; each piece sums its rows in order into its own slot
 * of `partial` (pieces x n doubles), and the slots are added in piece order: the result is
 * bitwise identical for any thread count. Plan the scratch with sb_builder_partials. */
enum { SB_PARTIAL_MAX_PIECES = 32 };
int sb_partial_pieces(long rows);
static inline void sb_piece_range(long n, int pieces, int p, long *lo, long *hi) {
  *lo = n * p / pieces;
  *hi = n * (p + 1) / pieces;
}
void sb_builder_partials(sb_builder *b, double **slot, long n);
/* out[i] = sum over pieces of partial[p * n + i] (overwrites out). */
void sb_partials_reduce(const double *partial, int pieces, long n, float *out);

/* torch.quantile(v, q) with linear interpolation; sorts `values` (n of them) in place. */
float sb_quantile_linear(float *values, long n, float q);

#endif
