/* reshape: a new per-sample shape with the same number of values ([C] <-> [C,1,1], [F] -> [C,H,W]
 * after a Linear). Values are contiguous per sample in both shapes, so it is a copy. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

static const char *const reshape_keys[] = {"shape", NULL};

static sb_status reshape_build(sb_layer *l, sb_builder *b, const cJSON *spec) {
  sb_status st;
  if ((st = sb_spec_check_keys(b, l, spec, reshape_keys))) return st;
  if (l->n_in != 1) return sb_builder_error(b, l, "takes exactly one input");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(spec, "shape");
  const int nd = cJSON_GetArraySize(shape);
  if (!cJSON_IsArray(shape) || (nd != 1 && nd != 3))
    return sb_builder_error(b, l, "\"shape\" must be a list [F] or [C, H, W]");
  sb_shape s = {nd, {0, 0, 0}};
  for (int i = 0; i < nd; i++) {
    const cJSON *d = cJSON_GetArrayItem(shape, i);
    if (!cJSON_IsNumber(d) || d->valuedouble != (double)d->valueint || d->valueint < 1)
      return sb_builder_error(b, l, "\"shape\" sizes must be positive integers");
    s.d[i] = d->valueint;
  }
  if (sb_shape_numel(s) != sb_shape_numel(l->in[0]->shape)) {
    char a[32], c[32];
    return sb_builder_error(b, l, "cannot reshape %s (%ld values) to %s (%ld values)",
                            sb_shape_str(l->in[0]->shape, a, sizeof a),
                            sb_shape_numel(l->in[0]->shape), sb_shape_str(s, c, sizeof c),
                            sb_shape_numel(s));
  }
  l->out.shape = s;
  l->out.is_static = l->in[0]->is_static;
  l->out.is_binary = l->in[0]->is_binary;
  return SB_OK;
}

static void reshape_forward(sb_layer *l, const sb_ctx *c) {
  const long n = sb_act_rows(&l->out, c->T, c->B) * sb_shape_numel(l->out.shape);
  memcpy(l->out.x, l->in[0]->x, (size_t)n * sizeof(float));
}

static void reshape_backward(sb_layer *l, const sb_ctx *c) {
  if (!l->in[0]->needs_grad) return;
  const long n = sb_act_rows(&l->out, c->T, c->B) * sb_shape_numel(l->out.shape);
  sb_grad_store(l->in[0]->g, l->out.g, n, l->in_accumulate[0]);
}

static void reshape_describe(const sb_layer *l, char *buf, size_t n) {
  char a[32];
  snprintf(buf, n, "from %s", sb_shape_str(l->in[0]->shape, a, sizeof a));
}

const sb_layer_ops sb_reshape_ops = {"reshape", sizeof(sb_layer), reshape_build, NULL,
                                     reshape_forward, reshape_backward, reshape_describe, NULL, NULL};
