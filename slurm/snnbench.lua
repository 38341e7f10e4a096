-- Lmod modulefile for an installed snnbench (cmake --install build --prefix PREFIX installs it
-- as PREFIX/share/modulefiles/snnbench/<version>.lua). It finds the install prefix from its own
-- location, so the same file works under any prefix:
--   module use PREFIX/share/modulefiles
--   module load snnbench
-- Sites whose MPI, HDF5 or OpenBLAS come from modules add their depends_on(...) lines here, for
-- the same versions snnbench was built with.
help([[
snnbench: a benchmark harness for spiking neural networks (MPI + OpenMP + HDF5).

  snnbench run CONFIG --out DIR --resume        train a grid (under mpirun or srun --mpi=pmix)
  snnbench-submit CONFIG [sbatch options...]    queue a Slurm run and its reduce job
  snnbench status DIR                           how far a run has come
  $SNNBENCH_JOBS                                example experiment configs
]])
whatis("Name: snnbench")
whatis("Version: " .. myModuleVersion())
whatis("Description: SNN benchmark harness: grids of trials over MPI ranks, HDF5 results, error bars")

local prefix = myFileName():gsub("/share/modulefiles/snnbench/[^/]+$", "")
prepend_path("PATH", pathJoin(prefix, "bin"))
-- Read by the Slurm scripts: the binary the jobs run, and where the batch scripts are.
setenv("SNNBENCH", pathJoin(prefix, "bin", "snnbench"))
setenv("SNNBENCH_SLURM_DIR", pathJoin(prefix, "share", "snnbench", "slurm"))
setenv("SNNBENCH_JOBS", pathJoin(prefix, "share", "snnbench", "jobs"))
