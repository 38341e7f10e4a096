/* `snnbench bench`: training throughput against a PyTorch reference measured in the same run,
 * GFLOP/s against the sgemm peak measured in that run, and resident memory per epoch. */
#ifndef SNNBENCH_BENCH_H
#define SNNBENCH_BENCH_H

#include "snnbench/error.h"

enum { SB_BENCH_MAX_REPEATS = 9 };

typedef struct {
  const char *model;       /* built-in name or spec file */
  const char *reference;   /* PyTorch script: argv = DATA EPOCHS SAMPLES, env THREADS; prints a
                              JSON line with train_samples_per_s */
  const char *python;      /* interpreter for the reference */
  const char *data;        /* Fashion-MNIST directory */
  int threads[8], n_threads;
  int samples, epochs, timesteps, batch;
  int repeats;             /* alternating runs of ours and the reference; medians reported */
  double target;           /* the ratio the issue asks for; printed as a verdict */
  int profile;             /* print where the training step spends its time, per layer */
} sb_bench_opts;

/* Fills defaults for a named benchmark ("mlp" or "cnn"); 0 if the name is known. */
int sb_bench_defaults(const char *which, sb_bench_opts *o);
sb_status sb_bench(const sb_bench_opts *o);

#endif
