#!/usr/bin/env bash
# On a real Slurm (munged, slurmctld and slurmd started here by slurm/local-cluster.sh):
#   1. slurm/submit.sh queues a 2-task MPI run (run.sbatch, srun --mpi=pmix) and its reduce job;
#   2. once cells have epoch checkpoints, `scancel --batch --signal=USR1` plays the time-limit
#      warning: the batch script's trap forwards it, the run checkpoints and exits 75, and the
#      script requeues the job;
#   3. while the requeued job trains, `scontrol requeue` forces a second requeue;
#   4. the third start finishes: every cell is done, the numbers equal an uninterrupted local
#      run, and the reduce job (afterany) has written the tables;
#   5. the job-array variant (2 shards into one directory) completes and reduces too;
#   6. a singleton in a 2-task job is refused (exit 2) by the task-count check.
# The daemons are stopped by their process ids on every exit path. If they cannot start, the
# test fails: it is never skipped. SLURM_TEST_KEEP=1 keeps the job logs, ledgers and daemon logs.
set -u
SNNBENCH=$(readlink -f "$1")
SRC=$(readlink -f "$2")
T=$(mktemp -d /tmp/snnbench-slurm.XXXXXX)
cluster=$T/cluster
started=0
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cleanup() {
  if [ "$started" -eq 1 ]; then
    "$SRC/slurm/local-cluster.sh" stop "$cluster" || echo "FAIL: the Slurm daemons did not stop cleanly"
  fi
  if [ -n "${SLURM_TEST_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM
source "$SRC/tests/fault_lib.sh"

# Everything about a job, for failure messages.
show_job() {
  echo "----- scontrol show job $1"
  scontrol show job "$1" 2>&1 | head -40
  for f in "$2"/logs/*; do echo "----- $f"; cat "$f"; done
  echo "----- squeue"; squeue 2>&1
  echo "----- ledger"; cat "$2"/ledger*.jsonl 2>/dev/null
  echo "----- slurmctld.log (tail)"; tail -n 30 "$cluster/log/slurmctld.log"
  echo "----- slurmd.log (tail)"; tail -n 30 "$cluster/log/slurmd.log"
}
job_field() { scontrol show job -o "$1" 2>/dev/null | grep -o "$2=[^ ]*" | head -1 | cut -d= -f2; }
# True when no task of the job is pending, running or completing any more.
job_ended() { [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; }

if ! "$SRC/slurm/local-cluster.sh" start "$cluster" > "$T/start.log" 2>&1; then
  cat "$T/start.log"
  [ -f "$cluster/pids" ] && started=1
  echo "FAIL: the local Slurm (munged, slurmctld, slurmd) could not start; see above"
  exit 1
fi
started=1
export SLURM_CONF=$cluster/slurm.conf
sinfo -N -o "%N %t %c" | sed 's/^/slurm: /'

cat > "$T/grid.json" <<EOF2
{
  "name": "slurm_smoke",
  "data": {"name": "fashion-mnist", "train_size": 1920, "val_size": 200, "test_size": 300},
  "train": {"epochs": 5, "batch_size": 32},
  "grid": {"timesteps": [1, 2], "seed": [0, 1]}
}
EOF2
small=(--nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=20:00)

# ------------------------------------------------------------------ 1-4: MPI job, requeued twice
out=$T/run
SNNBENCH=$SNNBENCH "$SRC/slurm/submit.sh" --out "$out" "$T/grid.json" "${small[@]}" \
  > "$T/submit.log" 2>&1 || { cat "$T/submit.log"; fail "submit.sh failed"; exit 1; }
cat "$T/submit.log"
jid=$(sed -n 's/^run job: *\([0-9]*\).*/\1/p' "$T/submit.log")
rid=$(sed -n 's/^reduce job: *\([0-9]*\).*/\1/p' "$T/submit.log")
[ -n "$jid" ] && [ -n "$rid" ] || { fail "submit.sh did not print the two job ids"; exit 1; }

# 2. The time-limit warning, once a cell has finished an epoch.
if ! wait_until 'ls "$out/checkpoints/"*.ckpt > /dev/null 2>&1' 300; then
  show_job "$jid" "$out"; fail "job $jid wrote no epoch checkpoint within 300 s"; exit 1
fi
scancel --batch --signal=USR1 "$jid" || fail "scancel --batch --signal=USR1 failed"
echo "sent USR1 to the batch script of job $jid"

# 3. Wait for the requeued job to train again, then force a requeue.
if ! wait_until 'grep -q "\"event\":\"started\".*\"restart\":1" "$out/ledger.jsonl" 2>/dev/null' 300; then
  show_job "$jid" "$out"; fail "job $jid did not start again after the USR1 requeue"; exit 1
fi
wait_until 'ls "$out/checkpoints/"*.ckpt > /dev/null 2>&1 && [ "$(job_field "$jid" JobState)" = RUNNING ]' 120
sleep 1
scontrol requeue "$jid" || fail "scontrol requeue $jid failed"
echo "forced a requeue of job $jid"

# 4. The third start completes, then the reduce job runs.
if ! wait_until "job_ended $jid && job_ended $rid" 600; then
  show_job "$jid" "$out"; fail "jobs $jid/$rid did not end within 600 s"; exit 1
fi
state=$(job_field "$jid" JobState)
restarts=$(job_field "$jid" Restarts)
echo "run job $jid: $state after $restarts restarts; reduce job $rid: $(job_field "$rid" JobState)"
[ "$state" = COMPLETED ] || fail "run job $jid ended $state"
[ "$restarts" = 2 ] || fail "run job $jid restarted $restarts times, expected 2"
[ "$(job_field "$rid" JobState)" = COMPLETED ] || fail "reduce job $rid did not complete"
grep -q "requeueing job $jid" "$out/logs/snnbench-$jid.out" || fail "the USR1 trap did not requeue"
for r in 0 1; do
  grep -q "\"event\":\"interrupted\".*\"restart\":$r" "$out/ledger.jsonl" \
    || fail "no cell was checkpointed and logged interrupted in start $r"
done
"$SNNBENCH" status "$out" > "$T/status.log" 2>&1 || { cat "$T/status.log"; fail "the run is incomplete"; }
[ "$(ls "$out/contexts" | wc -l)" -eq 3 ] || fail "contexts/ should hold the 3 starts"
for r in 0 1 2; do
  grep -l "\"slurm_restart_count\":	$r" "$out/contexts/"*.json > /dev/null \
    || fail "no start context with slurm_restart_count $r"
done
grep -q "complete, tables written" "$out/logs/snnbench-reduce-"*.out || fail "the reduce job did not say it reduced"
[ "$(awk '/^### Accuracy$/ {on=1; next} /^### / {on=0} on' "$out/summary.md" 2>/dev/null | grep -c '| 2/2 |')" -eq 2 ] || fail "summary.md lacks the 2 complete rows"
[ -s "$out/summary.csv" ] && [ -s "$out/summary.json" ] || fail "summary.csv/json missing"
[ -z "$(ls "$out/checkpoints/")" ] || fail "checkpoints remain after completion"
if [ "$fails" -gt 0 ]; then show_job "$jid" "$out"; fi

# The requeues changed no number: compare with an uninterrupted local run.
OMP_NUM_THREADS=1 "$SNNBENCH" run "$T/grid.json" --out "$T/ref" --no-reduce > "$T/ref.log" 2>&1 \
  || { cat "$T/ref.log"; fail "local reference run failed"; }
compare_runs "$T/ref" "$out"

# ------------------------------------------------------------------ 5: job array, 2 shards
arr=$T/arr
SNNBENCH=$SNNBENCH "$SRC/slurm/submit.sh" --array 2 --out "$arr" "$T/grid.json" \
  --ntasks-per-node=1 --cpus-per-task=1 --time=20:00 > "$T/submit2.log" 2>&1 \
  || { cat "$T/submit2.log"; fail "submit.sh --array failed"; }
ajid=$(sed -n 's/^run job: *\([0-9]*\).*/\1/p' "$T/submit2.log")
arid=$(sed -n 's/^reduce job: *\([0-9]*\).*/\1/p' "$T/submit2.log")
if [ -n "$ajid" ] && [ -n "$arid" ]; then
  if wait_until "job_ended $ajid && job_ended $arid" 600; then
    [ "$(job_field "$arid" JobState)" = COMPLETED ] || fail "array reduce job $arid: $(job_field "$arid" JobState)"
    [ -f "$arr/ledger.shard-0-of-2.jsonl" ] && [ -f "$arr/ledger.shard-1-of-2.jsonl" ] \
      || fail "the array tasks did not write one ledger per shard"
    "$SNNBENCH" status "$arr" > /dev/null 2>&1 || fail "the array run is incomplete"
    [ "$(awk '/^### Accuracy$/ {on=1; next} /^### / {on=0} on' "$arr/summary.md" 2>/dev/null | grep -c '| 2/2 |')" -eq 2 ] || fail "array summary.md incomplete"
    compare_runs "$T/ref" "$arr"
  else
    fail "array job $ajid / reduce $arid did not end within 600 s"
  fi
  [ "$fails" -eq 0 ] || show_job "$ajid" "$arr"
else
  fail "submit.sh --array did not print the job ids"
fi

# ------------------------------------------------------------------ 6: a singleton in a 2-task job
mjid=$(sbatch --parsable -n 2 -o "$T/mismatch.out" \
       --wrap "$SNNBENCH run $T/grid.json --out $T/mismatch")
wait_until "job_ended $mjid" 300 || fail "job $mjid did not end within 300 s"
rc=$(job_field "$mjid" ExitCode)
[ "$rc" = 2:0 ] || { cat "$T/mismatch.out"; fail "a 1-rank run in a 2-task job exited $rc, expected 2:0"; }
grep -q "expects 2 tasks (SLURM_NTASKS) but MPI_COMM_WORLD has 1 rank" "$T/mismatch.out" \
  || { cat "$T/mismatch.out"; fail "the task-count refusal did not explain itself"; }
[ ! -e "$T/mismatch" ] || fail "the refused run wrote $T/mismatch"

echo "test_slurm: $fails failures"
[ "$fails" -eq 0 ]
