#!/usr/bin/env bash
# The same grid on 1 rank (2 threads) and on 3 oversubscribed ranks (1 thread each) must give
# bitwise-identical per-cell metrics: results may not depend on scheduling or thread count.
set -u
SNNBENCH=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }

cat > "$T/grid.json" <<EOF2
{
  "name": "ranks",
  "data": {"name": "fashion-mnist", "train_size": 600, "val_size": 200, "test_size": 300},
  "train": {"epochs": 2, "batch_size": 64},
  "grid": {"model": ["baseline_lif", "$SRC/jobs/models/nb000_baseline.json"],
           "timesteps": [1, 3], "seed": [0, 1]}
}
EOF2

OMP_NUM_THREADS=2 mpirun -np 1 "$SNNBENCH" run "$T/grid.json" --out "$T/np1" > "$T/np1.log" 2>&1 \
  || { cat "$T/np1.log"; fail "-np 1 run failed"; }
OMP_NUM_THREADS=1 mpirun -np 3 --oversubscribe "$SNNBENCH" run "$T/grid.json" --out "$T/np3" \
  > "$T/np3.log" 2>&1 || { cat "$T/np3.log"; fail "-np 3 run failed"; }

ids=$(grep -o '"id":[[:space:]]*"[0-9a-f]\{16\}"' "$T/np1/grid.json" | grep -o '[0-9a-f]\{16\}')
[ "$(echo "$ids" | wc -l)" -eq 8 ] || fail "expected 8 cells, got: $ids"
for id in $ids; do
  for obj in history/train_loss history/train_acc history/val_loss history/val_acc \
             history/test_loss history/test_acc metrics/test_acc_final \
             metrics/test_acc_at_best_val metrics/best_val_epoch metrics/spike_rate layers; do
    h5diff "$T/np1/results.h5" "$T/np3/results.h5" "/cells/$id/$obj" "/cells/$id/$obj" > "$T/diff" 2>&1 \
      || { fail "cell $id $obj differs between -np 1 and -np 3"; head -5 "$T/diff"; }
  done
done
# Work really was spread: more than one rank finished cells in the 3-rank run.
ranks=$(grep '"event":"done"' "$T/np3/ledger.jsonl" | grep -o '"rank":[0-9]*' | sort -u | wc -l)
[ "$ranks" -ge 2 ] || fail "only $ranks rank(s) finished cells under -np 3"
done_cells=$(grep -c '"event":"done"' "$T/np3/ledger.jsonl")
[ "$done_cells" -eq 8 ] || fail "ledger has $done_cells done events, expected 8"
# Every cell is in results.h5 with its curves and the run context.
h5dump -A -g /context "$T/np3/results.h5" | grep -q "Open MPI" || fail "context lacks the MPI library"
h5dump -d "/cells/$(echo "$ids" | head -1)/history/test_acc" "$T/np3/results.h5" | grep -q "DATASPACE  SIMPLE { ( 2 )" \
  || fail "history curve has the wrong length"
# The reduced table has one row per (model, timesteps) with n = 2 seeds.
rows=$(awk '/^### Accuracy$/ {on=1; next} /^### / {on=0} on' "$T/np3/summary.md" | grep -c '| 2/2 |')
[ "$rows" -eq 4 ] || { cat "$T/np3/summary.md"; fail "summary has $rows complete rows, expected 4"; }

echo "test_mpi_ranks: $fails failures"
[ $fails -eq 0 ]
