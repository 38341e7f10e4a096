# shellcheck shell=bash
# Helpers for the fault tests (sourced). They expect $T (a temp dir) and a `fail` function.

# Cell ids of a run directory, from its grid.json.
cell_ids() {
  grep -o '"id":[[:space:]]*"[0-9a-f]\{16\}"' "$1/grid.json" | grep -o '[0-9a-f]\{16\}'
}

# Whether a dataset name is a pure timing, the only thing a resumed or rescheduled cell may
# change: wall times (*_time_s: train, eval, io, epoch, ...), throughputs (*_per_s) and
# latencies (latency*).
is_timing() {
  case ${1##*/} in
    *_time_s | *_per_s | latency*) return 0 ;;
    *) return 1 ;;
  esac
}

# The datasets of cell $2 in results file $1 under metrics, history, layers, spikes and
# timesteps, one path (relative to the cell) per line, timings left out.
cell_datasets() {
  h5ls -r "$1/cells/$2" 2> /dev/null | awk '$2 == "Dataset" {print $1}' \
    | grep -E '^/(metrics|history|layers|spikes|timesteps)(/|$)' | while read -r obj; do
      is_timing "$obj" || echo "$obj"
    done
}

# Every cell of results.h5 in $2 must equal the one in $1 bitwise: every dataset results.h5
# holds for it (metrics, curves, per-layer table, spike histograms, timestep study), listed from
# the file rather than from a fixed list, except pure timings (is_timing). Both runs must hold
# the same datasets.
compare_runs() {
  local ref=$1 run=$2 id obj n=0
  for id in $(cell_ids "$ref"); do
    cell_datasets "$ref/results.h5" "$id" > "$T/objs.ref"
    cell_datasets "$run/results.h5" "$id" > "$T/objs.run"
    if [ ! -s "$T/objs.ref" ]; then
      fail "cell $id: no datasets in $ref/results.h5"
      continue
    fi
    if ! cmp -s "$T/objs.ref" "$T/objs.run"; then
      fail "cell $id: the runs hold different datasets"
      diff "$T/objs.ref" "$T/objs.run" | head -5
    fi
    while read -r obj; do
      if ! h5diff "$ref/results.h5" "$run/results.h5" "/cells/$id$obj" "/cells/$id$obj" \
           > "$T/h5diff.out" 2>&1; then
        fail "cell $id $obj differs from the uninterrupted run"
        head -5 "$T/h5diff.out"
      fi
      n=$((n + 1))
    done < "$T/objs.ref"
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
