#!/usr/bin/env bash
# Graceful interruption: SIGTERM to one rank of an mpirun job, then SIGUSR1 to a single-process
# run, each in the middle of an epoch. Each stop checkpoints the running cells, logs them
# "interrupted" and exits 75; the final resume continues from the checkpoints and gives
# bitwise the metrics of an uninterrupted run.
set -u
SNNBENCH=$1
T=$(mktemp -d)
bg_pid=
cleanup() {
  if [ -n "$bg_pid" ] && kill -0 "$bg_pid" 2>/dev/null; then kill -9 "$bg_pid"; fi
  rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
source "$(dirname "$0")/fault_lib.sh"
export OMP_NUM_THREADS=1

# 60 batches per epoch, so a signal nearly always lands mid-epoch, and 10 epochs per cell, so
# both ranks are still inside their first cells when the signal arrives (a cell lasts seconds).
cat > "$T/grid.json" <<EOF2
{
  "name": "sigterm",
  "data": {"name": "fashion-mnist", "train_size": 1920, "val_size": 200, "test_size": 300},
  "train": {"epochs": 10, "batch_size": 32},
  "grid": {"timesteps": [1, 2], "seed": [0, 1]}
}
EOF2

"$SNNBENCH" run "$T/grid.json" --out "$T/ref" --no-reduce > "$T/ref.log" 2>&1 \
  || { cat "$T/ref.log"; fail "reference run failed"; }

# 1. mpirun -np 2; SIGTERM to rank 1 only, once both running cells have an epoch checkpoint.
#    Rank 1 tells rank 0, which stops rank 0's own cell too.
mpirun -np 2 --oversubscribe "$SNNBENCH" run "$T/grid.json" --out "$T/run" --no-reduce \
  > "$T/run1.log" 2>&1 &
bg_pid=$!
wait_until '[ "$(ls "$T/run/checkpoints/" 2>/dev/null | grep -c "\.ckpt$")" -ge 2 ]' 120 \
  || fail "no two epoch checkpoints within 120 s"
pid=$(rank_pid "$bg_pid" 1) && kill -TERM "$pid" || fail "rank 1 not found"
rc=0
wait "$bg_pid" || rc=$?
bg_pid=
[ "$rc" -eq 75 ] || { cat "$T/run1.log"; fail "SIGTERM to rank 1: mpirun exited $rc, expected 75"; }
grep -q "stop requested (rank 1 was signalled)" "$T/run1.log" \
  || fail "rank 0 did not report rank 1's stop request"
stopped1=$(count_events "$T/run" interrupted)
[ "$stopped1" -eq 2 ] || fail "phase 1: $stopped1 cells interrupted, expected both running cells"
for id in $(grep -h '"event":"interrupted"' "$T/run/ledger.jsonl" | grep -o '"cell":"[0-9a-f]*"' | cut -d'"' -f4); do
  [ -f "$T/run/checkpoints/$id.ckpt" ] || fail "interrupted cell $id has no checkpoint"
  [ ! -e "$T/run/cells/$id.h5" ] || fail "interrupted cell $id has a cell file"
done
grep -q 'checkpointed' "$T/run/ledger.jsonl" || fail "the ledger does not say the cells were checkpointed"
"$SNNBENCH" status "$T/run" > "$T/status.log" 2>&1
[ $? -eq 1 ] || fail "status should exit 1 for an interrupted run"
grep -q "interrupted, 1 attempt; checkpoint in epoch" "$T/status.log" \
  || { cat "$T/status.log"; fail "status does not show the checkpointed cells"; }

# 2. A single process (no mpirun) resumes; SIGUSR1 to it once it has started a cell.
starts=$(count_events "$T/run" started)
"$SNNBENCH" run "$T/grid.json" --out "$T/run" --resume --no-reduce > "$T/run2.log" 2>&1 &
bg_pid=$!
wait_until '[ "$(count_events "$T/run" started)" -gt "$starts" ]' 120 || fail "phase 2 did not start"
sleep 0.5
kill -USR1 "$bg_pid"
rc=0
wait "$bg_pid" || rc=$?
bg_pid=
[ "$rc" -eq 75 ] || { cat "$T/run2.log"; fail "SIGUSR1: exit $rc, expected 75"; }
grep -q "resumed from its checkpoint\|stop requested (SIGUSR1 on rank 0)" "$T/run2.log" \
  || fail "phase 2 shows neither a resume nor the stop"
[ "$(count_events "$T/run" interrupted)" -gt "$stopped1" ] || fail "phase 2 interrupted no cell"

# 3. Resume to the end on 3 ranks.
mpirun -np 3 --oversubscribe "$SNNBENCH" run "$T/grid.json" --out "$T/run" --resume \
  --no-reduce > "$T/run3.log" 2>&1 || { cat "$T/run3.log"; fail "the final resume failed"; }
resumed=$(grep -h '"event":"done"' "$T/run/ledger.jsonl" | grep -c "resumed from its checkpoint")
[ "$resumed" -ge 2 ] || fail "only $resumed cells finished from a checkpoint"
[ -z "$(ls "$T/run/checkpoints/")" ] || fail "checkpoints remain after the run completed"
"$SNNBENCH" status "$T/run" > /dev/null || fail "status: incomplete after the final resume"
[ "$(ls "$T/run/contexts" | wc -l)" -eq 3 ] || fail "contexts/ should hold one file per start (3)"
grep -q '"kind":	"new"' "$T/run/context.json" || fail "context.json is not the first start's"

compare_runs "$T/ref" "$T/run"

if [ $fails -gt 0 ] || [ -n "${FAULT_VERBOSE:-}" ]; then
  for f in run1.log run2.log run3.log; do echo "----- $f"; cat "$T/$f" 2>/dev/null; done
  echo "----- ledger"; cat "$T/run/ledger.jsonl"
fi
echo "test_fault_sigterm: $fails failures"
[ $fails -eq 0 ]
