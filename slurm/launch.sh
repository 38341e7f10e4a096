# shellcheck shell=bash
# Sourced by run.sbatch and array.sbatch: starts the snnbench ranks with srun and turns Slurm's
# early warning into "checkpoint, then requeue". It must run in the batch shell itself, because
# `--signal=B:USR1@<lead>` signals only the batch shell, and bash runs a trap only while it sits
# in `wait`, which is why srun runs in the background.
#
# Sequence at a time limit (or `scancel --batch --signal=USR1 JOB`, the manual "checkpoint and
# requeue now"):
#   1. the batch shell gets USR1; the trap forwards it to srun, which forwards it to every rank;
#   2. each rank checkpoints its cell after the current batch; the run exits 75;
#   3. seeing 75 after a USR1, the script requeues the job: it restarts with the same job id,
#      SLURM_RESTART_COUNT + 1, and `--resume` continues from the ledger and the checkpoints.
# Exit 75 without a USR1 (e.g. someone sent SIGTERM to the ranks) is not requeued: the job ends
# with 75 and the same submission resumes it.

snnbench_launch() {
  local config=$1 out=$2
  shift 2
  : "${SNNBENCH:?set SNNBENCH to the snnbench binary (slurm/submit.sh and the module do)}"
  # Hybrid MPI+OpenMP: one rank per task, one OpenMP thread per CPU of the task, pinned to cores.
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
  export OMP_PLACES=${OMP_PLACES:-cores}
  export OMP_PROC_BIND=${OMP_PROC_BIND:-close}
  # HDF5 locks every file it opens, which fails or hangs on shared filesystems without working
  # flock (some NFS and Lustre mounts). snnbench never relies on the lock (one writer per file,
  # written under a temp name and renamed into place), so it is off unless the user chose.
  export HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-FALSE}
  # Slurm 22.05 stopped passing the job's --cpus-per-task on to srun (23.11 restored it), so say
  # it explicitly. PMIx is how Open MPI's ranks find each other under srun; without it they
  # would start as independent singletons (snnbench refuses to run then).
  local srun_cmd=(srun --mpi="${SNNBENCH_SRUN_MPI:-pmix}" --cpus-per-task="$OMP_NUM_THREADS"
                  --kill-on-bad-exit=1)
  if [ -n "${SNNBENCH_CPU_BIND-cores}" ]; then srun_cmd+=(--cpu-bind="${SNNBENCH_CPU_BIND-cores}"); fi

  local job=$SLURM_JOB_ID
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then job=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}; fi
  echo "snnbench: job $job, restart ${SLURM_RESTART_COUNT:-0}, on ${SLURM_JOB_NODELIST}:" \
       "${SLURM_NTASKS} ranks x ${OMP_NUM_THREADS} threads, $(date -u +%FT%TZ)"

  local warned=0 srun_pid
  trap 'warned=1
        echo "snnbench: got USR1 (time limit near): asking the ranks to checkpoint"
        kill -USR1 "$srun_pid" 2>/dev/null || true' USR1
  "${srun_cmd[@]}" "$SNNBENCH" run "$config" --out "$out" --resume "$@" &
  srun_pid=$!
  # `wait` returns early whenever the trap runs; keep waiting until srun has really ended.
  while kill -0 "$srun_pid" 2>/dev/null; do
    wait "$srun_pid" || true
  done
  local rc=0
  wait "$srun_pid" || rc=$?
  trap - USR1

  if [ "$rc" -eq 75 ] && [ "$warned" -eq 1 ]; then
    echo "snnbench: checkpointed; requeueing job $job"
    if scontrol requeue "$job"; then
      # Slurm now ends this instance and queues the job again.
      return 75
    fi
    echo "snnbench: requeue refused; resubmit the same command to resume" >&2
  fi
  case $rc in
    0) echo "snnbench: run finished" ;;
    75) echo "snnbench: interrupted and checkpointed: resubmit (or requeue) to resume" >&2 ;;
    *) echo "snnbench: run failed with exit code $rc" >&2 ;;
  esac
  return "$rc"
}
