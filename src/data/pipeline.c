/* The input pipeline: direct encoding (the analog sample, the same at every step). */
#include "snnbench/pipeline.h"

#include <stdlib.h>
#include <string.h>

struct sb_pipeline {
  const sb_dataset *d;
  sb_shape shape;
};

sb_status sb_pipeline_create(const sb_cell_config *cfg, const sb_dataset *d, sb_pipeline **out) {
  if (strcmp(cfg->data.encoding, "direct"))
    return sb_fail(SB_EINPUT, "data.encoding: \"%s\" is not available", cfg->data.encoding);
  sb_pipeline *p = sb_xcalloc(1, sizeof *p);
  p->d = d;
  p->shape = d->train.shape;
  *out = p;
  return SB_OK;
}

void sb_pipeline_free(sb_pipeline *p) { free(p); }

sb_shape sb_pipeline_shape(const sb_pipeline *p) { return p->shape; }
int sb_pipeline_static(const sb_pipeline *p) {
  (void)p;
  return 1;
}
int sb_pipeline_binary(const sb_pipeline *p) {
  (void)p;
  return 0;
}

long sb_pipeline_batch_floats(const sb_pipeline *p, int T, int B) {
  (void)T;
  return (long)B * sb_shape_numel(p->shape);
}

int sb_pipeline_batch(const sb_pipeline *p, const sb_split *s, const int32_t *idx, int n,
                      const sb_batch_key *key, float *x, int32_t *y, float *soft) {
  (void)p;
  (void)key;
  (void)soft;
  sb_gather_batch(s, idx, n, x, y);
  return 0;
}
