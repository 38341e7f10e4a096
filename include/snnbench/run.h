/* Running an experiment over MPI ranks: validation, the run directory, dynamic scheduling of
 * cells (largest first), the ledger, and the final merge. */
#ifndef SNNBENCH_RUN_H
#define SNNBENCH_RUN_H

#include "snnbench/error.h"

typedef struct {
  const char *config;
  const char *out_dir;  /* NULL: runs/<experiment name> */
  int resume;
  int verbose;          /* per-epoch lines from every cell */
  int reduce;           /* print the reduced table at the end */
  int argc;
  char **argv;
} sb_run_opts;

/* Collective over MPI_COMM_WORLD. Returns the status every rank should exit with. */
sb_status sb_run(const sb_run_opts *o);

/* Loads and expands the config, loads its datasets and builds every cell's model once, so that
 * every input error surfaces before a run directory exists. Prints the grid when `print`. */
sb_status sb_validate(const char *config, int print);

#endif
