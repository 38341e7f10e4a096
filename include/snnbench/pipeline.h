/* The input pipeline of one cell: how dataset samples become a model's input batch (binning of
 * events into frames, augmentation, normalisation, label mixing, spike encoding). Everything
 * random is keyed by (seed, epoch, sample) and (seed, epoch, batch) for mixup, so a batch is the
 * same on any rank, any thread count and after a resume. */
#ifndef SNNBENCH_PIPELINE_H
#define SNNBENCH_PIPELINE_H

#include <stdint.h>

#include "snnbench/config.h"
#include "snnbench/data.h"
#include "snnbench/nn.h"

typedef struct sb_pipeline sb_pipeline;

/* The dataset a cell's config names (paths resolved against the config's directory). */
sb_status sb_pipeline_source(const sb_experiment *e, const sb_cell_config *cfg,
                             sb_data_source *src);

/* Checks the cell's data settings against the dataset (errors name the config key) and
 * allocates every buffer the batches need, for batches up to the larger of the cell's train and
 * eval batch sizes. */
sb_status sb_pipeline_create(const sb_cell_config *cfg, const sb_dataset *d, sb_pipeline **out);
void sb_pipeline_free(sb_pipeline *p);

/* What the model sees: per-step shape, whether the input is the same at every step (direct
 * encoding of images) and whether it is spike-valued. */
sb_shape sb_pipeline_shape(const sb_pipeline *p);
int sb_pipeline_static(const sb_pipeline *p);
int sb_pipeline_binary(const sb_pipeline *p);
/* Floats needed for a batch of B samples at T steps. */
long sb_pipeline_batch_floats(const sb_pipeline *p, int T, int B);

typedef struct {
  int train;       /* augment and mix (training batches only) */
  int T;
  uint64_t seed;   /* the trial seed */
  int epoch;
  long batch;      /* batch index within the epoch */
} sb_batch_key;

/* Builds the input for samples idx[0..n) of split s into x ([n][numel] when static, else
 * [T][n][numel]) and their labels into y. When the batch is mixed (mixup), soft receives
 * [n][classes] targets and the function returns 1; otherwise it returns 0 and soft is untouched.
 * Uses the pipeline's scratch: one call at a time per pipeline. */
int sb_pipeline_batch(const sb_pipeline *p, const sb_split *s, const int32_t *idx, int n,
                      const sb_batch_key *key, float *x, int32_t *y, float *soft);

#endif
