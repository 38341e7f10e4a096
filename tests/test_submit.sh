#!/usr/bin/env bash
# slurm/submit.sh and the batch scripts without a Slurm: fake sbatch/srun on PATH.
#   - a bad config, or an sbatch option missing its value (-p, -A, -q, --partition last), exits 2
#     with one line, creates no directory and never calls sbatch;
#   - a good submission queues the run and the reduce job (afterany on the run, with the
#     partition) and creates DIR/logs;
#   - the batch scripts turn HDF5 file locking off (shared filesystems) unless the user set it.
set -u
SNNBENCH=$(readlink -f "$1")
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

mkdir -p "$T/bin" "$T/cwd"
# sbatch that must not be called: it leaves a mark the test looks for.
cat > "$T/bin/sbatch" <<EOF2
#!/bin/sh
echo "sbatch \$*" >> "$T/sbatch.calls"
[ -f "$T/sbatch.allowed" ] || exit 1
n=\$(wc -l < "$T/sbatch.calls")
echo "\$((1000 + n))"
EOF2
chmod +x "$T/bin/sbatch"
export PATH="$T/bin:$PATH" SNNBENCH

printf '{"data": {"train_size": 200, "val_size": 100, "test_size": 100}, "train": {"epochs": 1}}' > "$T/good.json"
printf '{"train": {"epochz": 1}}' > "$T/bad.json"

# refused NEEDLE ARGS...: exit 2, one line naming the problem, no directory, no sbatch.
refused() {
  local needle=$1; shift
  rm -f "$T/sbatch.calls"
  (cd "$T/cwd" && bash "$SRC/slurm/submit.sh" "$@" > "$T/stdout" 2> "$T/stderr"); local rc=$?
  [ $rc -eq 2 ] || fail "submit.sh $*: exit $rc, expected 2"
  [ "$(wc -l < "$T/stderr")" -eq 1 ] || { cat "$T/stderr"; fail "submit.sh $*: not one line on stderr"; }
  grep -qF -- "$needle" "$T/stderr" || fail "submit.sh $*: no '$needle' in: $(cat "$T/stderr")"
  [ ! -e "$T/out" ] || { fail "submit.sh $*: created $T/out"; rm -rf "$T/out"; }
  [ -z "$(ls -A "$T/cwd")" ] || { fail "submit.sh $*: created $(ls -A "$T/cwd")"; rm -rf "${T:?}/cwd/"*; }
  [ ! -e "$T/sbatch.calls" ] || fail "submit.sh $*: called sbatch: $(cat "$T/sbatch.calls")"
}
refused "bad.json: train.epochz: unknown config key" --out "$T/out" "$T/bad.json"
refused "bad.json: train.epochz: unknown config key" "$T/bad.json"   # default DIR: ./runs/bad
refused "sbatch option -p needs a value" --out "$T/out" "$T/good.json" --time=10 -p
refused "sbatch option -A needs a value" --out "$T/out" "$T/good.json" -A
refused "sbatch option -q needs a value" --out "$T/out" "$T/good.json" -q
refused "sbatch option --partition needs a value" --out "$T/out" "$T/good.json" --partition
refused "nowhere.json: no such config file" --out "$T/out" "$T/nowhere.json"
refused '--array "0": expected a task count >= 1' --out "$T/out" --array 0 "$T/good.json"

# A good submission: two sbatch calls, the reducer after the run with the run's partition.
touch "$T/sbatch.allowed"
rm -f "$T/sbatch.calls"
bash "$SRC/slurm/submit.sh" --out "$T/out" "$T/good.json" -p cpu --time=10 > "$T/stdout" 2>&1 \
  || { cat "$T/stdout"; fail "a good submission failed"; }
[ -d "$T/out/logs" ] || fail "no $T/out/logs after a good submission"
[ "$(wc -l < "$T/sbatch.calls")" -eq 2 ] || fail "expected 2 sbatch calls: $(cat "$T/sbatch.calls")"
sed -n 1p "$T/sbatch.calls" | grep -q -- "-p cpu --time=10 .*run.sbatch $T/good.json $T/out" \
  || fail "the run job was not submitted as expected: $(sed -n 1p "$T/sbatch.calls")"
sed -n 2p "$T/sbatch.calls" | grep -q -- "--dependency=afterany:1001 .*-p cpu .*reduce.sbatch $T/out 1001" \
  || fail "the reduce job was not submitted as expected: $(sed -n 2p "$T/sbatch.calls")"

# The batch scripts: HDF5_USE_FILE_LOCKING=FALSE unless set. A fake srun prints what the ranks
# would see; a fake snnbench does the same for reduce.sbatch.
cat > "$T/bin/srun" <<'EOF2'
#!/bin/sh
echo "srun sees HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-unset}"
EOF2
cat > "$T/fake-snnbench" <<'EOF2'
#!/bin/sh
echo "snnbench $1 sees HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-unset}"
EOF2
chmod +x "$T/bin/srun" "$T/fake-snnbench"
launch() {  # the part of run.sbatch after its #SBATCH lines
  env -u HDF5_USE_FILE_LOCKING "$@" SLURM_JOB_ID=7 SLURM_JOB_NODELIST=n1 SLURM_NTASKS=1 \
    SNNBENCH="$T/fake-snnbench" bash -c "set -euo pipefail; source '$SRC/slurm/launch.sh'; snnbench_launch '$T/good.json' '$T/out'"
}
launch > "$T/launch.log" 2>&1 || { cat "$T/launch.log"; fail "snnbench_launch with a fake srun failed"; }
grep -q "srun sees HDF5_USE_FILE_LOCKING=FALSE" "$T/launch.log" || { cat "$T/launch.log"; fail "launch.sh does not turn HDF5 file locking off"; }
launch HDF5_USE_FILE_LOCKING=TRUE > "$T/launch.log" 2>&1
grep -q "srun sees HDF5_USE_FILE_LOCKING=TRUE" "$T/launch.log" || { cat "$T/launch.log"; fail "launch.sh overrode the user's HDF5_USE_FILE_LOCKING"; }
env -u HDF5_USE_FILE_LOCKING SNNBENCH="$T/fake-snnbench" bash "$SRC/slurm/reduce.sbatch" "$T/out" 7 > "$T/reduce.log" 2>&1 \
  || { cat "$T/reduce.log"; fail "reduce.sbatch with a fake snnbench failed"; }
grep -q "snnbench reduce sees HDF5_USE_FILE_LOCKING=FALSE" "$T/reduce.log" || { cat "$T/reduce.log"; fail "reduce.sbatch does not turn HDF5 file locking off"; }

echo "test_submit: $fails failures"
[ $fails -eq 0 ]
