# shellcheck shell=bash
# Helpers for the fault tests (sourced). They expect $T (a temp dir) and a `fail` function.

# Cell ids of a run directory, from its grid.json.
cell_ids() {
  grep -o '"id":[[:space:]]*"[0-9a-f]\{16\}"' "$1/grid.json" | grep -o '[0-9a-f]\{16\}'
}

# Every cell of results.h5 in $2 must equal the one in $1 bitwise: metrics, curves and per-layer
# spike statistics. Timings (train_time_s, epoch_time_s, samples/s) are the only exclusions.
compare_runs() {
  local ref=$1 run=$2 id obj n=0
  for id in $(cell_ids "$ref"); do
    for obj in metrics/test_acc_final metrics/test_acc_at_best_val metrics/best_val_acc \
               metrics/best_val_epoch metrics/spike_rate metrics/n_params metrics/n_train \
               metrics/n_val metrics/n_test history/train_loss history/train_acc \
               history/val_loss history/val_acc history/test_loss history/test_acc history/lr \
               layers; do
      if ! h5diff "$ref/results.h5" "$run/results.h5" "/cells/$id/$obj" "/cells/$id/$obj" \
           > "$T/h5diff.out" 2>&1; then
        fail "cell $id $obj differs from the uninterrupted run"
        head -5 "$T/h5diff.out"
      fi
      n=$((n + 1))
    done
  done
  echo "compared $n datasets of $(cell_ids "$ref" | wc -l) cells: $fails differences so far"
}

# Waits up to $2 seconds for the shell condition $1; returns 1 on timeout.
wait_until() {
  local cond=$1 limit=$2 t=0
  until eval "$cond"; do
    t=$((t + 1))
    [ "$t" -le $((limit * 10)) ] || return 1
    sleep 0.1
  done
}

# The pid of MPI rank $2 among the children of mpirun $1 (from /proc: no procps needed).
rank_pid() {
  local stat pid ppid
  for stat in /proc/[0-9]*/stat; do
    pid=${stat#/proc/}
    pid=${pid%/stat}
    # Field 4 of stat is the parent pid; the command name (field 2) may contain spaces.
    ppid=$(sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' "$stat" 2>/dev/null) || continue
    [ "$ppid" = "$1" ] || continue
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

count_events() { grep -c "\"event\":\"$2\"" "$1"/ledger*.jsonl 2>/dev/null | awk -F: '{s += $NF} END {print s + 0}'; }
