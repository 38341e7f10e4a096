/* Checkpoints of one cell's training, so an interrupted or killed cell continues where it stopped
 * and still ends with bitwise the numbers of an uninterrupted run.
 *
 * A checkpoint is taken at a batch boundary: at the end of every epoch, and after the current
 * batch when a stop is requested. It holds everything the rest of the training depends on:
 *   - where: epoch, batches of it done, the optimiser step counter. These are the "RNG counters":
 *     every random draw is a pure function of (seed, purpose, counter) — the shuffle of
 *     (seed, epoch), input randomness of (seed, epoch, batch), dropout of (seed, step) — so
 *     restoring the counters restores the random streams;
 *   - the partial sums of the epoch in progress (loss, correct predictions, its wall time);
 *   - the history of the finished epochs, best-validation tracking, train/eval time so far;
 *   - the parameters, every model buffer (BatchNorm running statistics) and the optimiser state.
 *
 * File format (native byte order, checked by a marker): "SNNBCKPT", format version, byte-order
 * marker, the cell id, the fields above, and a CRC-32 of everything before it. Written to a temp
 * name, fsynced, renamed. A file that is truncated, corrupt, of another version or of another
 * cell or model shape is refused as a whole: nothing is loaded from it. */
#ifndef SNNBENCH_CHECKPOINT_H
#define SNNBENCH_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "snnbench/nn.h"
#include "snnbench/optim.h"
#include "snnbench/train.h"

typedef struct {
  int epoch;            /* the epoch in progress, 0-based */
  long batch;           /* batches of that epoch already trained: 0 at an epoch boundary */
  uint64_t step;        /* optimiser steps so far (sb_ctx.step) */
  double loss_sum;      /* running sums of the epoch in progress */
  long correct;
  double epoch_time_s;  /* wall time already spent in the epoch in progress */
} sb_train_position;

/* Writes the checkpoint atomically. res supplies the history (epochs before pos->epoch), the
 * best-validation fields and the time totals. */
sb_status sb_checkpoint_save(const char *path, const char *cell_id, const sb_train_position *pos,
                             const sb_trial_result *res, const sb_model *m,
                             const sb_optimizer *o);

typedef enum {
  SB_CKPT_NONE,     /* no file: start from scratch */
  SB_CKPT_LOADED,   /* pos, res, the model and the optimiser now hold the checkpoint's state */
  SB_CKPT_INVALID   /* unusable file, why says what is wrong; nothing was changed */
} sb_checkpoint_outcome;

/* Loads a checkpoint for cell_id into a freshly built model and optimiser and a result whose
 * curves are allocated for its epochs. */
sb_checkpoint_outcome sb_checkpoint_load(const char *path, const char *cell_id,
                                         sb_train_position *pos, sb_trial_result *res,
                                         sb_model *m, sb_optimizer *o, char *why, size_t why_n);

/* Validates a checkpoint and returns where it stands, without a model (`snnbench status`).
 * Returns 0 when the file is a valid checkpoint of cell_id. */
int sb_checkpoint_peek(const char *path, const char *cell_id, int *epoch, long *batch);

#endif
