/* One trial: build the cell's model, train it with BPTT, evaluate every epoch, collect metrics. */
#ifndef SNNBENCH_TRAIN_H
#define SNNBENCH_TRAIN_H

#include "snnbench/config.h"
#include "snnbench/data.h"
#include "snnbench/metrics.h"
#include "snnbench/nn.h"
#include "snnbench/pipeline.h"


typedef struct {
  int n_epochs;
  /* per-epoch curves */
  double *train_loss, *train_acc, *val_loss, *val_acc, *test_loss, *test_acc, *lr, *epoch_time;
  double test_acc_final;       /* % at the last epoch */
  double test_acc_at_best_val; /* % at the epoch with the best validation accuracy */
  int best_val_epoch;          /* 0-based */
  double best_val_acc;
  double train_time_s, eval_time_s;
  double train_samples_per_s;
  long n_params;
  long n_train, n_val, n_test;
  double spike_rate;         /* over all neuron layers, test set, final epoch */
  /* Efficiency metrics of the final test pass (README "Metrics"), per layer and in total. */
  sb_model_report report;
  /* The last epoch's test pass: its forward calls' wall time / test samples, at
   * eval.batch_size, with nothing counted (input preparation and the loss excluded). */
  double latency_ms_per_sample;
  /* The cell's wall time (this attempt, plus the training and evaluation time of the attempts
   * it resumed) = train_time_s + eval_time_s + io_time_s + metrics_time_s, up to the few
   * statements between the timed parts. io_time_s: set-up before the first epoch (dataset
   * decode, 0 when the rank had it already; splits, pipeline, model, checkpoint load) and
   * checkpoint writes. metrics_time_s: the statistics, int8, ANN-twin and timestep passes. */
  double io_time_s, metrics_time_s, wall_time_s;
  /* Int8 weights, post-training (or the QAT model itself). */
  double test_acc_int8, model_bytes_fp32, model_bytes_int8;
  /* The non-spiking twin: its dense MACs per sample and their energy; the SNN/ANN ratio. */
  double ann_dense_macs, ann_energy_pj, energy_ratio;
  /* The timestep study (eval.timesteps): the trained model evaluated at other T. */
  int n_eval_T;
  int eval_T[16];
  double eval_T_acc[16], eval_T_spikes[16], eval_T_latency_ms[16];
} sb_trial_result;

/* Called between batches; returning nonzero stops training early: the cell is checkpointed
 * (when it has a checkpoint file) and sb_train_cell returns SB_EINTERRUPTED. Rank 0 uses it to
 * answer scheduling requests while it trains; every rank uses it to notice a stop request. */
typedef int (*sb_batch_hook)(void *user);

/* What happened to a cell besides its result, for the runner's log. */
typedef struct {
  int resumed;          /* continued from a checkpoint ... */
  int resume_epoch;     /* ... taken in this epoch (0-based) */
  long resume_batch;    /* ... after this many of its batches */
} sb_train_report;

typedef struct {
  sb_batch_hook hook;
  void *hook_user;
  int verbose;             /* print one line per epoch */
  /* The cell's checkpoint file, or NULL for none. When it holds a valid checkpoint of the cell
   * the training continues from it; a checkpoint is written at the end of every epoch but the
   * last and when the hook asks to stop. */
  const char *checkpoint;
  sb_train_report *report; /* may be NULL */
} sb_train_opts;

/* The largest T a cell runs: its timesteps or any of its eval.timesteps. */
int sb_cell_max_timesteps(const sb_cell_config *cfg);

/* Builds the model for cfg from its spec, for the inputs the pipeline makes (planned for
 * sb_cell_max_timesteps steps). */
sb_status sb_build_cell_model(const sb_experiment *e, const sb_cell_config *cfg,
                              const sb_pipeline *p, int n_classes, int batch, sb_model **out);

sb_status sb_train_cell(const sb_experiment *e, const sb_cell *cell, const sb_train_opts *opts,
                        sb_trial_result *res);
void sb_trial_result_free(sb_trial_result *r);

#endif
