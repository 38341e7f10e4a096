#!/usr/bin/env bash
# kill -9 of one rank of a 3-rank run at a random moment, then --resume: no finished cell is
# lost or rerun, every file left behind is readable or ignored, the interrupted cells continue
# from their epoch checkpoints, and results.h5 equals an uninterrupted run cell for cell.
set -u
SNNBENCH=$1
T=$(mktemp -d)
mpirun_pid=
cleanup() {
  if [ -n "$mpirun_pid" ] && kill -0 "$mpirun_pid" 2>/dev/null; then kill -9 "$mpirun_pid"; fi
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
source "$(dirname "$0")/fault_lib.sh"
export OMP_NUM_THREADS=1

cat > "$T/grid.json" <<EOF2
{
  "name": "kill9",
  "data": {"name": "fashion-mnist", "train_size": 2000, "val_size": 200, "test_size": 300},
  "train": {"epochs": 5, "batch_size": 64},
  "grid": {"timesteps": [1, 2], "seed": [0, 1, 2]}
}
EOF2

# The uninterrupted reference, on another rank count (results may not depend on it either).
mpirun -np 2 --oversubscribe "$SNNBENCH" run "$T/grid.json" --out "$T/ref" --no-reduce \
  > "$T/ref.log" 2>&1 || { cat "$T/ref.log"; fail "reference run failed"; }

# The faulty run: 3 ranks take the three T=2 cells first, then the three T=1 cells. Wait until
# the first wave is done and a second-wave cell has an epoch checkpoint, then kill -9 one rank
# (any of the three, rank 0 included) after a random extra delay.
seed=${FAULT_SEED:-$RANDOM}
RANDOM=$seed
victim=$((RANDOM % 3))
delay=0.$((RANDOM % 5))
echo "fault: kill -9 rank $victim ${delay}s into the second wave (FAULT_SEED=$seed)"
mpirun -np 3 --oversubscribe "$SNNBENCH" run "$T/grid.json" --out "$T/run" --no-reduce \
  > "$T/run1.log" 2>&1 &
mpirun_pid=$!
ready='[ "$(count_events "$T/run" done)" -ge 3 ] && ls "$T/run/checkpoints/"*.ckpt > /dev/null 2>&1'
if ! wait_until "$ready" 120; then
  cat "$T/run1.log"
  fail "the second wave of cells did not reach an epoch checkpoint within 120 s"
fi
sleep "$delay"
done_before=$(grep -h '"event":"done"' "$T/run"/ledger*.jsonl | grep -o '"cell":"[0-9a-f]*"' | sort -u)
pid=$(rank_pid "$mpirun_pid" "$victim") || fail "rank $victim not found among mpirun's children"
[ -n "$pid" ] && kill -9 "$pid"
rc=0
wait "$mpirun_pid" || rc=$?
mpirun_pid=
[ "$rc" -ne 0 ] || fail "the killed run exited 0: the kill came after the run had finished"
n_done=$(count_events "$T/run" done)
[ "$n_done" -lt 6 ] || fail "all 6 cells were done before the kill: the grid is too small"
echo "killed: $n_done of 6 cells done, mpirun exit $rc"

# Nothing unreadable: every cell file opens; every checkpoint is either valid or absent.
for f in "$T/run/cells/"*.h5; do
  [ -e "$f" ] || continue
  h5ls -r "$f" > /dev/null 2>&1 || fail "$f is not a readable HDF5 file"
done
"$SNNBENCH" status "$T/run" > "$T/status.log" 2>&1
[ $? -eq 1 ] || { cat "$T/status.log"; fail "status of the killed run should say incomplete (exit 1)"; }
ckpts=$(ls "$T/run/checkpoints/" | grep -c '\.ckpt$')
echo "checkpoints left by the killed run: $ckpts"

mpirun -np 3 --oversubscribe "$SNNBENCH" run "$T/grid.json" --out "$T/run" --resume \
  --no-reduce > "$T/run2.log" 2>&1 || { cat "$T/run2.log"; fail "the resumed run failed"; }
grep -q "^snnbench: resuming:" "$T/run2.log" || fail "the resume did not report what it reruns"
resumed=$(grep -c "resumed from its checkpoint" "$T/run2.log")
[ "$resumed" -eq "$ckpts" ] \
  || { cat "$T/run2.log"; fail "$ckpts checkpoints were left, but $resumed cells resumed from one"; }
echo "resumed from checkpoints: $resumed"

# No finished cell was lost or run again: each has exactly one start.
for c in $done_before; do
  starts=$(grep -h '"event":"started"' "$T/run"/ledger*.jsonl | grep -c "$c")
  [ "$starts" -eq 1 ] || fail "cell $c was done before the kill but started $starts times"
done
[ "$(count_events "$T/run" done)" -eq 6 ] || fail "the ledger does not mark all 6 cells done"
grep -q '"attempt":2' "$T/run/ledger.jsonl" || fail "no cell has a second attempt in the ledger"
[ -z "$(ls "$T/run/checkpoints/")" ] || fail "checkpoints remain after the run completed"
"$SNNBENCH" status "$T/run" > "$T/status.log" 2>&1 || { cat "$T/status.log"; fail "status: incomplete"; }

compare_runs "$T/ref" "$T/run"
h5dump -d /context/starts "$T/run/results.h5" | grep -c '"kind":' | grep -qx 2 \
  || fail "results.h5 /context/starts does not list the 2 starts"

if [ $fails -gt 0 ] || [ -n "${FAULT_VERBOSE:-}" ]; then
  for f in run1.log run2.log; do echo "----- $f"; cat "$T/$f" 2>/dev/null; done
  echo "----- ledger"; cat "$T/run"/ledger*.jsonl
fi
echo "test_fault_kill: $fails failures"
[ $fails -eq 0 ]
