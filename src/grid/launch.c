/* The launch check: under Slurm (or mpirun), the MPI world must be as large as the launcher
 * meant it to be. See sb_check_launch in include/snnbench/run.h. */
#include <stdlib.h>

#include "snnbench/run.h"

sb_status sb_check_launch(int world_size) {
  const char *mpirun = getenv("OMPI_COMM_WORLD_SIZE");
  const char *var = mpirun ? "OMPI_COMM_WORLD_SIZE" : NULL;
  const char *value = mpirun;
  if (!value && getenv("SLURM_JOB_ID")) {
    var = getenv("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS";
    value = getenv(var);
  }
  if (!value) return SB_OK;
  const int expected = atoi(value);
  if (expected <= 0 || expected == world_size) return SB_OK;
  if (mpirun)
    return sb_fail(SB_EINPUT, "mpirun started %d processes (OMPI_COMM_WORLD_SIZE) but "
                   "MPI_COMM_WORLD has %d rank%s: snnbench was built against another MPI library "
                   "than this mpirun's", expected, world_size, world_size == 1 ? "" : "s");
  return sb_fail(SB_EINPUT, "Slurm job %s expects %d tasks (%s) but MPI_COMM_WORLD has %d rank%s: "
                 "the tasks did not connect (srun without --mpi=pmix starts independent "
                 "singletons); launch with `srun --mpi=pmix` or mpirun, or match --ntasks",
                 getenv("SLURM_JOB_ID"), expected, var, world_size, world_size == 1 ? "" : "s");
}
