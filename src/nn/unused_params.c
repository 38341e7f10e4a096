/* unused_params: a parameter tensor that the reproduced model constructs but never calls.
 *
 * The Spike-driven Transformer's MS_SSA_Conv builds `talking_heads = nn.Conv1d(8, 8, 1,
 * bias=False)` in every block and its forward never uses it; the published parameter count
 * (2,567,082, from the training logs) includes those 64 weights per block. To match that count
 * without pretending the weights do anything, this layer only declares them:
 *
 *   - the tensor has the declared "shape" and PyTorch's init U(±1/√fan_in), fan_in the product
 *     of the dimensions after the first (Conv1d(8, 8, 1): shape [8, 8, 1], fan_in 8);
 *   - its output is one static zero per sample, which no layer needs to read;
 *   - its gradient is always zero, and it adds nothing to its input's gradient.
 *
 * It reads nothing from its input; the input only places it in the layer list (beside the
 * module it belongs to) so that `model info` shows it where the original declares it. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

enum { UNUSED_MAX_DIMS = 4 };

typedef struct {
  sb_layer base;
  int ndim, dims[UNUSED_MAX_DIMS];
  long n, fan_in;
  float *w, *dw;
} unused_layer;

static const char *const unused_keys[] = {"shape", NULL};

static sb_status unused_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  unused_layer *l = (unused_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, unused_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(spec, "shape");
  const int nd = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : 0;
  if (nd < 1 || nd > UNUSED_MAX_DIMS)
    return sb_builder_error(b, base, "\"shape\" must list 1 to %d positive sizes, e.g. [8, 8, 1] "
                            "for a Conv1d(8, 8, 1) weight", UNUSED_MAX_DIMS);
  l->ndim = nd;
  l->n = 1;
  l->fan_in = 1;
  for (int i = 0; i < nd; i++) {
    const cJSON *d = cJSON_GetArrayItem(shape, i);
    if (!cJSON_IsNumber(d) || d->valuedouble != (double)d->valueint || d->valueint < 1 ||
        d->valueint > (1 << 20))
      return sb_builder_error(b, base, "\"shape\" entry %d must be a positive integer", i);
    l->dims[i] = d->valueint;
    l->n *= d->valueint;
    if (i > 0) l->fan_in *= d->valueint;
    if (l->n > (1L << 28)) return sb_builder_error(b, base, "\"shape\" holds too many values");
  }
  base->out.shape = (sb_shape){1, {1, 0, 0}};
  base->out.is_static = 1;
  base->out.is_binary = 0;
  sb_builder_param(b, base, "weight", &l->w, &l->dw, l->n);
  return SB_OK;
}

static void unused_init(sb_layer *base, uint64_t seed) {
  unused_layer *l = (unused_layer *)base;
  sb_init_uniform(l->w, l->n, 1.0f / sqrtf((float)l->fan_in), seed, (uint32_t)base->index, 0);
}

static void unused_forward(sb_layer *base, const sb_ctx *c) {
  memset(base->out.x, 0, (size_t)c->B * sizeof(float));
}

static void unused_backward(sb_layer *base, const sb_ctx *c) {
  unused_layer *l = (unused_layer *)base;
  memset(l->dw, 0, (size_t)l->n * sizeof(float));
  sb_act *in = base->in[0];
  /* This layer's share of its input's gradient is zero; when it is the consumer that writes
   * the gradient first (the plan in model.c), it must still write those zeros. */
  if (in->needs_grad && !base->in_accumulate[0])
    memset(in->g, 0,
           (size_t)(sb_act_rows(in, c->T, c->B) * sb_shape_numel(in->shape)) * sizeof(float));
}

static void unused_describe(const sb_layer *base, char *buf, size_t n) {
  const unused_layer *l = (const unused_layer *)base;
  size_t k = (size_t)snprintf(buf, n, "declared, never used: weight [");
  for (int i = 0; i < l->ndim && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%d", i ? ", " : "", l->dims[i]);
  if (k < n) snprintf(buf + k, n - k, "], no effect on the output, zero gradient");
}

const sb_layer_ops sb_unused_params_ops = {"unused_params", sizeof(unused_layer), unused_build,
                                           unused_init,     unused_forward,       unused_backward,
                                           unused_describe, NULL, NULL};
