#include <string.h>

#include "nn/layers.h"
#include "snnbench/rng.h"

static const sb_layer_ops *const k_layers[] = {
    &sb_linear_ops, &sb_conv2d_ops, &sb_neuron_ops, &sb_dendritic_mlp_ops,
    &sb_dendritic_conv_ops, &sb_batchnorm_ops, &sb_mean_time_ops, &sb_flatten_ops, &sb_relu_ops,
    &sb_reshape_ops, &sb_avgpool2d_ops, &sb_maxpool2d_ops, &sb_adaptive_avgpool2d_ops,
    &sb_sum_pool_ops, &sb_dropout_ops, &sb_add_ops, &sb_mul_ops, &sb_concat_ops, &sb_clamp_ops,
    &sb_sigmoid_ops, &sb_scale_ops, &sb_weighted_sum_ops, &sb_chebyshev_kan_ops,
    &sb_power_kan_ops, &sb_sparsity_mask_ops, &sb_temporal_attention_ops,
    &sb_time_softmax_readout_ops, &sb_branch_mixture_ops, &sb_power_basis_ops,
    &sb_unused_params_ops, NULL};

const sb_layer_ops *sb_layer_lookup(const char *type) {
  for (int i = 0; k_layers[i]; i++)
    if (strcmp(k_layers[i]->type, type) == 0) return k_layers[i];
  return NULL;
}

const sb_layer_ops *const *sb_layer_table(void) { return k_layers; }

int sb_layer_is_spiking(const sb_layer_ops *ops) {
  return ops == &sb_neuron_ops || ops == &sb_dendritic_conv_ops;
}

void sb_init_uniform(float *w, long n, float bound, uint64_t seed, uint32_t layer_index,
                     uint32_t tensor) {
  /* One stream per (layer, tensor): adding a layer never shifts another layer's draws. */
  sb_rng r;
  sb_rng_init(&r, seed, sb_stream(SB_STREAM_INIT, layer_index * 16u + tensor));
  for (long i = 0; i < n; i++) w[i] = sb_rng_uniform_range(&r, -bound, bound);
}

void sb_init_normal(float *w, long n, float mean, float std, uint64_t seed, uint32_t layer_index,
                    uint32_t tensor) {
  sb_rng r;
  sb_rng_init(&r, seed, sb_stream(SB_STREAM_INIT, layer_index * 16u + tensor));
  for (long i = 0; i < n; i++) w[i] = mean + std * sb_rng_normal(&r);
}

void sb_grad_store(float *dst, const float *src, long n, int accumulate) {
  if (accumulate) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) dst[i] += src[i];
  } else {
    memcpy(dst, src, (size_t)n * sizeof(float));
  }
}

double sb_count_rowwise(const sb_act *in, long rows, int in_f, const float *W, long fan) {
  double e = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : e)
  for (int k = 0; k < in_f; k++) {
    long nzw = 0;
    for (long o = 0; o < fan; o++) nzw += W[(long)k * fan + o] != 0.0f;
    long active = 0;
    for (long r = 0; r < rows; r++) active += in->x[r * in_f + k] != 0.0f;
    e += (double)active * nzw; /* exact: integers far below 2^53 */
  }
  return e;
}
