#!/usr/bin/env bash
# analysis/plots.py draws its four figures from a real (tiny) run, lists what it wrote, and
# refuses bad input as snnbench does: exit 2, one line on stderr naming the file or argument,
# nothing written. Needs Debian's python3-h5py, python3-matplotlib and python3-numpy; fails,
# never skips, without them.
set -u
SNNBENCH=$1
PLOTS=$2/analysis/plots.py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
export OMP_NUM_THREADS=1
export MPLCONFIGDIR="$T/mpl" # matplotlib's font cache: not in the caller's home

[ -x "$PLOTS" ] || fail "$PLOTS is not executable"

cat > "$T/a.json" <<'EOF2'
{"name": "analysis", "model": "baseline_lif",
 "data": {"name": "fashion-mnist", "train_size": 300, "val_size": 100, "test_size": 200},
 "train": {"epochs": 2, "batch_size": 64},
 "grid": {"timesteps": [1, 2], "seed": [0, 1]}}
EOF2
"$SNNBENCH" run "$T/a.json" --out "$T/run" > "$T/log" 2>&1 || { tail -20 "$T/log"; fail "run failed"; }

# A whole PNG: the signature first, the IEND chunk (with its fixed CRC) last.
is_png() {
  [ -s "$1" ] &&
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(tail -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 49454e44ae426082 ]
}

# Default: DIR/plots, x = timesteps (a grid axis).
FIGS="accuracy_vs_timesteps accuracy_vs_energy layer_spike_rates learning_curves"
"$PLOTS" "$T/run" > "$T/out" 2> "$T/err" || fail "plots.py exited $?: $(cat "$T/err")"
[ -s "$T/err" ] && fail "plots.py wrote to stderr: $(cat "$T/err")"
for f in $FIGS; do
  is_png "$T/run/plots/$f.png" || fail "$f.png missing or not a valid PNG"
  grep -qxF "$T/run/plots/$f.png" "$T/out" || fail "plots.py did not list $f.png"
done
[ "$(wc -l < "$T/out")" -eq 4 ] || fail "plots.py listed $(wc -l < "$T/out") files, expected 4"
[ "$(ls "$T/run/plots" | wc -l)" -eq 4 ] || fail "plots/ holds more than the 4 PNGs: $(ls "$T/run/plots")"

# --out and an explicit --x.
"$PLOTS" "$T/run" --out "$T/o2" --x timesteps > "$T/out" 2> "$T/err" || fail "--out/--x: exit $?: $(cat "$T/err")"
for f in $FIGS; do is_png "$T/o2/$f.png" || fail "--out: $f.png missing or not a valid PNG"; done

# Bad input. bad WHAT EXPECTED-TEXT NO-OUTPUT-DIR ARGS...: exit 2, exactly one line on stderr
# containing EXPECTED-TEXT, nothing on stdout, NO-OUTPUT-DIR not created.
bad() {
  local what=$1 want=$2 outdir=$3
  shift 3
  "$PLOTS" "$@" > "$T/bo" 2> "$T/be"
  local rc=$?
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2"
  [ "$(wc -l < "$T/be")" -eq 1 ] || fail "$what: stderr is not one line: $(cat "$T/be")"
  grep -qF -- "$want" "$T/be" || fail "$what: stderr does not name '$want': $(cat "$T/be")"
  [ -s "$T/bo" ] && fail "$what: printed $(cat "$T/bo")"
  [ -e "$outdir" ] && fail "$what: created $outdir"
}
mkdir "$T/no_results" "$T/no_summary" "$T/corrupt"
cp "$T/run/summary.json" "$T/no_results/"
cp "$T/run/results.h5" "$T/no_summary/"
cp "$T/run/summary.json" "$T/corrupt/"
echo "not hdf5" > "$T/corrupt/results.h5"
bad "missing DIR" "$T/missing" "$T/missing" "$T/missing"
bad "no results.h5" "$T/no_results/results.h5" "$T/no_results/plots" "$T/no_results"
bad "no summary.json" "$T/no_summary/summary.json" "$T/no_summary/plots" "$T/no_summary"
bad "corrupt results.h5" "$T/corrupt/results.h5" "$T/corrupt/plots" "$T/corrupt"
bad "unknown --x" "--x nosuch" "$T/o3" "$T/run" --x nosuch --out "$T/o3"
bad "--x seed" "--x seed" "$T/o3" "$T/run" --x seed --out "$T/o3"
bad "no DIR" "DIR" "$T/o3"

echo "test_analysis: $fails failures"
[ $fails -eq 0 ]
