/* The launch check: under Slurm (or mpirun), the MPI world must be as large as the launcher
 * meant it to be. See sb_check_launch in include/snnbench/run.h.
 *
 * Why mpirun's own count wins inside a Slurm job: `mpirun -np 2` in a 4-task allocation is a
 * deliberate choice (a smaller run, or a test), and mpirun knows what it started. The failure
 * this check exists for is different: srun (or a foreign mpirun) starting N processes whose MPI
 * library never reaches the launcher, so each one is a singleton with a world of 1. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "snnbench/run.h"

/* The variable's value as a whole decimal number in [min, INT_MAX]; -1 when unset. A value set
 * to anything else is an error naming the variable: a launcher that exports garbage is broken,
 * and guessing a count from it would defeat the check. */
static sb_status env_count(const char *var, long min, long *out) {
  *out = -1;
  const char *s = getenv(var);
  if (!s) return SB_OK;
  char *end;
  errno = 0;
  const long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > INT_MAX)
    return sb_fail(SB_EINPUT, "%s=\"%s\": expected a whole number >= %ld (the launcher's "
                   "environment is malformed)", var, s, min);
  *out = v;
  return SB_OK;
}

sb_status sb_check_launch(int world_size) {
  const int slurm = getenv("SLURM_JOB_ID") != NULL;
  long mpirun, step, ntasks, restart;
  sb_status st = env_count("OMPI_COMM_WORLD_SIZE", 1, &mpirun);
  if (!st && slurm) st = env_count("SLURM_STEP_NUM_TASKS", 1, &step);
  if (!st && slurm) st = env_count("SLURM_NTASKS", 1, &ntasks);
  /* Recorded in the context and on every ledger line, so it must be a count as well. */
  if (!st) st = env_count("SLURM_RESTART_COUNT", 0, &restart);
  if (st) return st;

  const char *var = NULL;
  long expected = -1;
  if (mpirun > 0) {
    var = "OMPI_COMM_WORLD_SIZE";
    expected = mpirun;
  } else if (slurm && step > 0) {
    var = "SLURM_STEP_NUM_TASKS";
    expected = step;
  } else if (slurm && ntasks > 0) {
    var = "SLURM_NTASKS";
    expected = ntasks;
  }
  if (!var || expected == world_size) return SB_OK;
  if (mpirun > 0)
    return sb_fail(SB_EINPUT, "mpirun started %ld processes (OMPI_COMM_WORLD_SIZE) but "
                   "MPI_COMM_WORLD has %d rank%s: snnbench was built against another MPI library "
                   "than this mpirun's", expected, world_size, world_size == 1 ? "" : "s");
  return sb_fail(SB_EINPUT, "Slurm job %s expects %ld tasks (%s) but MPI_COMM_WORLD has %d rank%s: "
                 "the tasks did not connect (srun without --mpi=pmix starts independent "
                 "singletons); launch with `srun --mpi=pmix` or mpirun, or match --ntasks",
                 getenv("SLURM_JOB_ID"), expected, var, world_size, world_size == 1 ? "" : "s");
}
