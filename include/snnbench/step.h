/* One optimisation step on one batch: forward, loss, backward, clipping, optimiser. Shared by
 * the trainer and the benchmark so both time the same work. */
#ifndef SNNBENCH_STEP_H
#define SNNBENCH_STEP_H

#include <stdint.h>

#include "snnbench/nn.h"
#include "snnbench/optim.h"

typedef struct {
  double loss;  /* mean over the batch */
  int correct;  /* argmax hits */
  double grad_norm;
} sb_step_result;

/* x: the batch input in the model's layout; soft: mixup targets or NULL. */
sb_step_result sb_train_step(sb_model *m, sb_optimizer *opt, const sb_ctx *c, const float *x,
                             const int32_t *y, const float *soft, float label_smoothing,
                             double grad_clip, float lr);

#endif
