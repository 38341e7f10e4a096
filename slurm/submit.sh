#!/usr/bin/env bash
# Submits a snnbench run to Slurm together with the job that reduces it.
#
#   slurm/submit.sh [--out DIR] [--array N] CONFIG [sbatch options...]
#
#   --out DIR   run directory (default: ./runs/<config name>); a rerun of the same command
#               resumes the run there
#   --array N   run the grid as a job array of N tasks, one shard each (array.sbatch), instead
#               of one multi-node MPI job (run.sbatch)
#   sbatch options apply to the run job (e.g. --nodes=4 --time=12:00:00 --partition=cpu);
#   --partition/-p, --account/-A, --qos/-q and --reservation also apply to the reduce job.
#
# The reduce job depends on the run with afterany and checks completeness itself (see
# reduce.sbatch). Prints the two job ids. The snnbench binary is $SNNBENCH, else `snnbench` on
# PATH (the module), else the build tree's build/snnbench.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
die() { echo "submit.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# The batch scripts: beside this file (source tree, share/snnbench/slurm), or in the install
# tree when this is bin/snnbench-submit.
slurm_dir=${SNNBENCH_SLURM_DIR:-}
if [ -z "$slurm_dir" ]; then
  for d in "$here" "$here/../share/snnbench/slurm"; do
    if [ -f "$d/run.sbatch" ]; then slurm_dir=$(cd "$d" && pwd); break; fi
  done
fi
[ -n "$slurm_dir" ] && [ -f "$slurm_dir/run.sbatch" ] || die "cannot find run.sbatch (set SNNBENCH_SLURM_DIR)"

if [ -z "${SNNBENCH:-}" ]; then
  if command -v snnbench >/dev/null; then SNNBENCH=$(command -v snnbench)
  elif [ -x "$here/../build/snnbench" ]; then SNNBENCH=$here/../build/snnbench
  else die "no snnbench binary: set SNNBENCH, load the module, or build into build/"; fi
fi
SNNBENCH=$(readlink -f "$SNNBENCH")

out= array=
while [ $# -gt 0 ]; do
  case $1 in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --array) [ $# -ge 2 ] || die "--array needs a task count"; array=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) die "unknown option $1 before CONFIG (sbatch options go after it)" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
config=$1
shift
[ -f "$config" ] || die "$config: no such config file"
if [ -n "$array" ]; then
  [[ $array =~ ^[1-9][0-9]*$ ]] || die "--array \"$array\": expected a task count >= 1"
fi
config=$(readlink -f "$config")

# A bad config fails here, on the login node, not after waiting in the queue, and before
# anything exists on disk (snnbench prints the one-line reason and exits 2).
"$SNNBENCH" validate "$config" > /dev/null

# The caller's sbatch options; the ones that choose where jobs may run go to the reducer too.
run_opts=("$@")
reduce_opts=()
has_output=0
while [ $# -gt 0 ]; do
  case $1 in
    -p|-A|-q)
      # A value-less option last would trip `set -u` on $2: say what is missing instead.
      [ $# -ge 2 ] && [ -n "$2" ] || die "sbatch option $1 needs a value"
      reduce_opts+=("$1" "$2"); shift 2; continue ;;
    --partition|--account|--qos|--reservation)
      [ $# -ge 2 ] && [ -n "$2" ] || die "sbatch option $1 needs a value"
      reduce_opts+=("$1=$2"); shift 2; continue ;;
    --partition=*|--account=*|--qos=*|--reservation=*) reduce_opts+=("$1") ;;
    -o|--output)
      [ $# -ge 2 ] || die "sbatch option $1 needs a value"
      has_output=1; shift 2; continue ;;
    --output=*) has_output=1 ;;
  esac
  shift
done

[ -n "$out" ] || out=$PWD/runs/$(basename "$config" .json)
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)

if [ -n "$array" ]; then
  script=$slurm_dir/array.sbatch
  run_opts=(--array="0-$((array - 1))" "${run_opts[@]}")
  log="$out/logs/%x-%A_%a.out"
else
  script=$slurm_dir/run.sbatch
  log="$out/logs/%x-%j.out"
fi
[ "$has_output" -eq 1 ] || run_opts=(--output="$log" "${run_opts[@]}")

export SNNBENCH SNNBENCH_SLURM_DIR=$slurm_dir
# reduce.sbatch resubmits itself with these when the run was requeued.
export SNNBENCH_REDUCE_OPTS="--output=$out/logs/%x-%j.out ${reduce_opts[*]}"

run_id=$(sbatch --parsable "${run_opts[@]}" "$script" "$config" "$out")
run_id=${run_id%%;*}
# shellcheck disable=SC2086 # several options
reduce_id=$(sbatch --parsable --dependency="afterany:$run_id" $SNNBENCH_REDUCE_OPTS \
            "$slurm_dir/reduce.sbatch" "$out" "$run_id")
reduce_id=${reduce_id%%;*}

echo "run job:    $run_id ($(basename "$script"))"
echo "reduce job: $reduce_id (afterany:$run_id)"
echo "output:     $out"
echo "follow:     squeue -j $run_id,$reduce_id; $SNNBENCH status $out; ls $out/logs"
