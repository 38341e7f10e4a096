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
  /* Run only shard `shard_index` of `shard_count` (0: the whole grid). Cells are ordered by
   * estimated cost and dealt round-robin, so shards get similar work; shards of one run share
   * its directory and each keeps its own ledger file. */
  int shard_index, shard_count;
  /* A cell whose attempts failed or were lost (its rank killed) this many times is not tried
   * again by --resume. Interrupted attempts (signals) do not count. */
  int max_attempts;
  int argc;
  char **argv;
} sb_run_opts;

enum { SB_DEFAULT_MAX_ATTEMPTS = 3 };

/* Collective over MPI_COMM_WORLD. Returns the status every rank should exit with:
 * SB_OK, SB_ERUNTIME (a cell failed), SB_EINPUT, or SB_EINTERRUPTED when a signal stopped the
 * run after its cells were checkpointed (run the same command with --resume). */
sb_status sb_run(const sb_run_opts *o);

/* Under Slurm, checks that the MPI world is the size the launcher meant: an MPI library that
 * did not find its launcher (srun without --mpi=pmix, or a binary of another MPI) starts every
 * task as a singleton rank 0 of its own, and N copies of the grid would race on one directory.
 * Compares with OMPI_COMM_WORLD_SIZE under mpirun, else with SLURM_STEP_NUM_TASKS inside an
 * srun step, else with SLURM_NTASKS. Fails with SB_EINPUT and a one-line explanation. */
sb_status sb_check_launch(int world_size);

/* Loads and expands the config, loads its datasets and builds every cell's model once, so that
 * every input error surfaces before a run directory exists. Prints the grid when `print`. */
sb_status sb_validate(const char *config, int print);

#endif
