#!/usr/bin/env bash
# The rules of --resume and its companions, on a tiny grid: shards of one run share a directory;
# lost attempts count against --max-attempts; a cell file the ledger does not mark done is never
# trusted; a done cell whose file is destroyed runs again; a torn ledger line is skipped and the
# next event starts a line of its own; bad --shard / --max-attempts values, a Slurm task-count
# mismatch and malformed launcher variables are refused before anything is written.
set -u
SNNBENCH=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
source "$(dirname "$0")/fault_lib.sh"
export OMP_NUM_THREADS=1

cat > "$T/grid.json" <<EOF2
{
  "name": "rules",
  "data": {"name": "fashion-mnist", "train_size": 256, "val_size": 64, "test_size": 64},
  "train": {"epochs": 2, "batch_size": 64},
  "grid": {"timesteps": [1, 2], "seed": [0, 1]}
}
EOF2

# --- refused arguments: exit 2, one line naming the argument, nothing written
expect_refusal() {  # expect_refusal WHAT PATTERN CMD...
  local what=$1 pattern=$2; shift 2
  local rc=0
  "$@" > "$T/out.log" 2> "$T/err.log" || rc=$?
  [ "$rc" -eq 2 ] || fail "$what: exit $rc, expected 2"
  grep -q -- "$pattern" "$T/err.log" || { cat "$T/err.log"; fail "$what: message lacks \"$pattern\""; }
  [ ! -e "$T/bad" ] || fail "$what: left $T/bad behind"
}
for shard in 2/2 x 1/0 -1/2 1/ /2 "1/2/3"; do
  expect_refusal "--shard $shard" "--shard \"$shard\"" "$SNNBENCH" run "$T/grid.json" --out "$T/bad" --shard "$shard"
done
expect_refusal "--max-attempts 0" "--max-attempts \"0\"" "$SNNBENCH" run "$T/grid.json" --out "$T/bad" --max-attempts 0
expect_refusal "status of a non-run" "not a snnbench run directory" "$SNNBENCH" status "$T"
expect_refusal "status of nothing" "not a snnbench run directory" "$SNNBENCH" status "$T/nothing"
expect_refusal "Slurm task mismatch" "SLURM_NTASKS" env SLURM_JOB_ID=42 SLURM_NTASKS=4 \
  "$SNNBENCH" run "$T/grid.json" --out "$T/bad"
expect_refusal "srun step mismatch" "SLURM_STEP_NUM_TASKS" env SLURM_JOB_ID=42 SLURM_NTASKS=1 \
  SLURM_STEP_NUM_TASKS=2 "$SNNBENCH" run "$T/grid.json" --out "$T/bad"
# Malformed launcher variables are bad input naming the variable, never a count of 0 or a guess.
for bad in SLURM_NTASKS=abc SLURM_NTASKS=0 "SLURM_NTASKS=2 " SLURM_STEP_NUM_TASKS=x \
           SLURM_RESTART_COUNT=x SLURM_RESTART_COUNT=-1 OMPI_COMM_WORLD_SIZE=0; do
  expect_refusal "malformed $bad" "${bad%%=*}=\"${bad#*=}\": expected a whole number" \
    env SLURM_JOB_ID=42 SLURM_NTASKS=1 "$bad" "$SNNBENCH" run "$T/grid.json" --out "$T/bad"
done
# mpirun's own count wins inside a Slurm job (mpirun -np 1 in a 4-task allocation is a
# deliberate choice), and is itself checked.
expect_refusal "mpirun world mismatch" "mpirun started 2 processes (OMPI_COMM_WORLD_SIZE)" \
  env SLURM_JOB_ID=42 SLURM_NTASKS=1 OMPI_COMM_WORLD_SIZE=2 "$SNNBENCH" run "$T/grid.json" --out "$T/bad"
env SLURM_JOB_ID=42 SLURM_NTASKS=4 OMPI_COMM_WORLD_SIZE=1 "$SNNBENCH" run "$T/grid.json" \
  --out "$T/mpirun1" --no-reduce > "$T/mpirun1.log" 2>&1 \
  || { cat "$T/mpirun1.log"; fail "mpirun -np 1 inside a 4-task Slurm job was refused"; }
env SLURM_JOB_ID=42 SLURM_NTASKS=1 "$SNNBENCH" run "$T/grid.json" --out "$T/slurm1" --no-reduce \
  > "$T/slurm1.log" 2>&1 || { cat "$T/slurm1.log"; fail "a 1-task Slurm job of 1 rank was refused"; }
grep -q '"slurm_job_id":	"42"' "$T/slurm1/context.json" || fail "context.json lacks the Slurm job id"
grep -q '"slurm_restart_count":	0' "$T/slurm1/context.json" || fail "context.json lacks the restart count"
grep -q '"job":"42"' "$T/slurm1/ledger.jsonl" || fail "the ledger does not name the Slurm job"

# --- the reference, unsharded
"$SNNBENCH" run "$T/grid.json" --out "$T/ref" --no-reduce > "$T/ref.log" 2>&1 \
  || { cat "$T/ref.log"; fail "reference run failed"; }

# --- two shards into one directory, as job-array tasks do
for i in 0 1; do
  "$SNNBENCH" run "$T/grid.json" --out "$T/sh" --resume --shard "$i/2" > "$T/shard$i.log" 2>&1 \
    || { cat "$T/shard$i.log"; fail "shard $i/2 failed"; }
  grep -q "2 cells in this shard" "$T/shard$i.log" || fail "shard $i/2 did not get 2 of the 4 cells"
done
[ -f "$T/sh/ledger.shard-0-of-2.jsonl" ] && [ -f "$T/sh/ledger.shard-1-of-2.jsonl" ] \
  || fail "each shard should keep its own ledger file"
[ ! -e "$T/sh/results.h5" ] || fail "a shard merged the run: that is the reduce job's work"
"$SNNBENCH" status "$T/sh" > "$T/status.log" 2>&1 || { cat "$T/status.log"; fail "shards left cells undone"; }
"$SNNBENCH" reduce "$T/sh" > "$T/reduce.log" 2>&1 || { cat "$T/reduce.log"; fail "reduce of the shards failed"; }
awk '/^### Accuracy$/ {on=1; next} /^### / {on=0} on' "$T/sh/summary.md" | grep -c '| 2/2 |' | grep -qx 2 || fail "the shards' summary is not complete"
compare_runs "$T/ref" "$T/sh"

# --- attempts: shard 0 only, then forge history for the two cells it left
"$SNNBENCH" run "$T/grid.json" --out "$T/att" --shard 0/2 > "$T/att0.log" 2>&1 \
  || { cat "$T/att0.log"; fail "shard 0/2 of the attempts run failed"; }
missing=$(for id in $(cell_ids "$T/att"); do [ -f "$T/att/cells/$id.h5" ] || echo "$id"; done)
lost=$(echo "$missing" | sed -n 1p)
other=$(echo "$missing" | sed -n 2p)
[ -n "$lost" ] && [ -n "$other" ] || fail "expected two cells left by shard 0/2"
# $lost: three attempts that started and never finished (ranks killed).
for a in 1 2 3; do
  echo "{\"time\":\"x\",\"event\":\"started\",\"cell\":\"$lost\",\"rank\":0,\"host\":\"h\",\"attempt\":$a}" \
    >> "$T/att/ledger.jsonl"
done
# $other: an untrusted file (not marked done) and a torn last line.
echo "not an HDF5 file" > "$T/att/cells/$other.h5"
printf '{"time":"x","event":"do' >> "$T/att/ledger.jsonl"
rc=0
"$SNNBENCH" run "$T/grid.json" --out "$T/att" --resume --max-attempts 3 --no-reduce \
  > "$T/att1.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$T/att1.log"; fail "a cell over its attempt cap should make the run exit 1, got $rc"; }
grep -q "cell $lost .*3 attempts failed or were lost; not retried (--max-attempts 3)" "$T/att1.log" \
  || { cat "$T/att1.log"; fail "the capped cell was not reported"; }
grep -q "ledger line did not parse" "$T/att1.log" || fail "the torn ledger line was not reported"
# The torn line stays alone and unparseable; the first event after it (the start of $other,
# attempt 1) is a line of its own, not glued to the torn one and lost with it.
/usr/bin/python3 - "$T/att/ledger.jsonl" > "$T/torn.log" 2>&1 <<'PY' || { cat "$T/torn.log"; fail "events after the torn ledger line were lost"; }
import json, sys
bad = []
for line in open(sys.argv[1]):
    try:
        json.loads(line)
    except ValueError:
        bad.append(line.rstrip("\n"))
sys.exit(0 if bad == ['{"time":"x","event":"do'] else "unparseable lines: %r" % bad)
PY
grep -q "^{\"time\":\"[^\"]*\",\"event\":\"started\",\"cell\":\"$other\",.*\"attempt\":1" "$T/att/ledger.jsonl" \
  || fail "the start of $other after the torn line is not a ledger line of its own"
grep -q "\"cell\":\"$other\".*\"event\":\"done\"\|\"event\":\"done\",\"cell\":\"$other\"" "$T/att/ledger.jsonl" \
  || fail "the cell with an untrusted file did not run"
h5ls "$T/att/cells/$other.h5" > /dev/null 2>&1 || fail "the untrusted file of $other was not replaced"
grep -c "\"cell\":\"$lost\"" "$T/att/ledger.jsonl" | grep -qx 3 || fail "the capped cell was started again"
# A higher cap lets it run, as attempt 4.
"$SNNBENCH" run "$T/grid.json" --out "$T/att" --resume --max-attempts 4 --no-reduce \
  > "$T/att2.log" 2>&1 || { cat "$T/att2.log"; fail "resume with --max-attempts 4 failed"; }
grep -q "\"cell\":\"$lost\",\"rank\":0,\"host\":\"[^\"]*\",\"attempt\":4" "$T/att/ledger.jsonl" \
  || fail "the capped cell did not run as attempt 4"
# Read back after the torn line: still exactly one bad line, and $other (done after it) is not
# run again, so its events were counted.
grep -q "1 ledger line did not parse" "$T/att2.log" || { cat "$T/att2.log"; fail "the second resume did not count exactly one torn line"; }
grep -c "\"event\":\"started\",\"cell\":\"$other\"" "$T/att/ledger.jsonl" | grep -qx 1 \
  || fail "$other was started again although it is done"
# A done cell whose file was destroyed runs again.
victim=$(cell_ids "$T/att" | head -1)
echo garbage > "$T/att/cells/$victim.h5"
"$SNNBENCH" run "$T/grid.json" --out "$T/att" --resume --no-reduce > "$T/att3.log" 2>&1 \
  || { cat "$T/att3.log"; fail "resume after a destroyed cell file failed"; }
grep -q "cells/$victim.h5 is marked done but cannot be read; the cell runs again" "$T/att3.log" \
  || { cat "$T/att3.log"; fail "the destroyed cell file was not noticed"; }
"$SNNBENCH" reduce "$T/att" > /dev/null 2>&1 || fail "reduce after the repairs failed"
compare_runs "$T/ref" "$T/att"

echo "test_resume_rules: $fails failures"
[ $fails -eq 0 ]
