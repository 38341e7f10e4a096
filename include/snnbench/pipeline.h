/* The input pipeline of one cell: how dataset samples become a model's input batch (encoding,
 * augmentation, label mixing). Everything random is keyed by (seed, epoch, batch), so a batch is
 * the same on any rank and after a resume. */
#ifndef SNNBENCH_PIPELINE_H
#define SNNBENCH_PIPELINE_H

#include <stdint.h>

#include "snnbench/config.h"
#include "snnbench/data.h"
#include "snnbench/nn.h"

typedef struct sb_pipeline sb_pipeline;

sb_status sb_pipeline_create(const sb_cell_config *cfg, const sb_dataset *d, sb_pipeline **out);
void sb_pipeline_free(sb_pipeline *p);

/* What the model sees: per-sample shape, whether the input is the same at every step (direct
 * encoding) and whether it is spike-valued. */
sb_shape sb_pipeline_shape(const sb_pipeline *p);
int sb_pipeline_static(const sb_pipeline *p);
int sb_pipeline_binary(const sb_pipeline *p);
/* Floats needed for a batch of B samples at T steps. */
long sb_pipeline_batch_floats(const sb_pipeline *p, int T, int B);

typedef struct {
  int train;       /* augment (training batches only) */
  int T;
  uint64_t seed;   /* the trial seed */
  int epoch;
  long batch;      /* batch index within the epoch */
} sb_batch_key;

/* Builds the input for samples idx[0..n) of split s into x, and their labels into y. When the
 * pipeline mixes labels (mixup), soft receives [n][classes] targets and the function returns 1;
 * otherwise it returns 0 and soft is untouched. */
int sb_pipeline_batch(const sb_pipeline *p, const sb_split *s, const int32_t *idx, int n,
                      const sb_batch_key *key, float *x, int32_t *y, float *soft);

#endif
