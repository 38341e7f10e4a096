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

sb_status sb_neuron_parse(sb_builder *b, const sb_layer *l, const cJSON *spec, sb_neuron_cfg *cfg);
void sb_neuron_apply_override(sb_neuron_cfg *cfg, const sb_neuron_override *o);

/* PyTorch's default init for Linear/Conv: U(±1/√fan_in) for weights (Kaiming-uniform with
 * a=√5) and biases. */
void sb_init_uniform(float *w, long n, float bound, uint64_t seed, uint32_t layer_index,
                     uint32_t tensor);

/* Copies (or adds) a gradient into an input buffer. */
void sb_grad_store(float *dst, const float *src, long n, int accumulate);

#endif
