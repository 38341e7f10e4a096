#!/usr/bin/env bash
# Every study experiment in jobs/ runs to completion in a reduced form: the job file itself,
# with a tiny data subset, one epoch, small batches and one seed written over it (its grid of
# models, presets, timesteps or neuron settings is kept whole). Where the job's real dataset is
# not on this machine, the generated config says so and uses data.name "synthetic" with the
# dataset's shape: that substitution is made here, explicitly, never by snnbench.
#
# Before that, each job is validated as it is: it must be refused only for its missing data
# files (or accepted when they are present), which shows the config is otherwise correct.
set -u
SNNBENCH=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

fail() { echo "FAIL $*"; fails=$((fails+1)); }

# reduced JOB SHAPE CLASSES TRAIN EVAL: writes $T/JOB.json from jobs/JOB.json, with TRAIN training
# samples and EVAL each for validation and test.
reduced() {
  local job=$1 shape=$2 classes=$3 train=$4 eval=$5 src="$SRC/jobs/$1.json"
  local data_dir name
  name=$(jq -r '.data.name' "$src")
  local rel
  rel=$(jq -r '.data.path // empty' "$src")
  if [ -n "$rel" ]; then
    data_dir=$(cd "$SRC/jobs" && realpath -m "$rel")
  else
    data_dir=$("$SNNBENCH" list datasets | awk -v n="$name" '$1 == n {print $2}')
  fi
  local data_filter
  if [ -e "$data_dir/train-images-idx3-ubyte.gz" ] || [ -e "$data_dir/train-images-idx3-ubyte" ] ||
     [ -e "$data_dir/data_batch_1.bin" ]; then
    echo "  $job: real $name files in $data_dir"
    data_filter=".data.path = \"$data_dir\""
  else
    echo "  $job: no $name files in $data_dir; this reduced run uses data.name \"synthetic\" ($shape, $classes classes) instead"
    data_filter=".data = {name: \"synthetic\", synthetic: {shape: \"$shape\", classes: $classes, samples: 160}}"
  fi
  # Model spec files are relative to jobs/; the generated config lives elsewhere.
  jq --arg jobs "$SRC/jobs" "
    $data_filter
    | .data.train_size = $train | .data.val_size = $eval | .data.test_size = $eval
    | .train.epochs = 1 | .train.batch_size = ([$train, 32] | min) | .eval.batch_size = ([$eval, 32] | min)
    | (if .grid.seed then .grid.seed = [0] else . end)
    | (if (.model // \"\") | endswith(\".json\") then .model = \$jobs + \"/\" + .model else . end)
    | (if .grid.model then .grid.model |= map(if endswith(\".json\") then \$jobs + \"/\" + . else . end) else . end)
  " "$src" > "$T/$job.json"
}

# run_job JOB SHAPE CLASSES CELLS TRAIN EVAL
run_job() {
  local job=$1 shape=$2 classes=$3 cells=$4 train=$5 eval=$6
  # As written: accepted, or refused for the data files alone.
  "$SNNBENCH" validate "$SRC/jobs/$job.json" > "$T/validate.out" 2> "$T/validate.err"
  local rc=$?
  if [ $rc -ne 0 ] && ! { [ $rc -eq 2 ] && grep -q "data/.*not found" "$T/validate.err"; }; then
    fail "$job: validate exit $rc: $(cat "$T/validate.err")"
  fi
  reduced "$job" "$shape" "$classes" "$train" "$eval"
  local t0=$SECONDS
  "$SNNBENCH" run "$T/$job.json" --out "$T/run-$job" > "$T/$job.out" 2>&1 || {
    fail "$job: run failed:"; tail -5 "$T/$job.out"; return; }
  local planned done
  planned=$(jq '.cells | length' "$T/run-$job/grid.json")
  done=$(grep -c '"event":"done"' "$T/run-$job/ledger.jsonl")
  [ "$planned" -eq "$cells" ] || fail "$job: $planned cells planned, expected $cells"
  [ "$done" -eq "$planned" ] || fail "$job: $done of $planned cells done"
  [ -s "$T/run-$job/summary.csv" ] || fail "$job: no summary"
  echo "  $job: $done/$planned cells in $((SECONDS - t0)) s"
}

echo "reduced runs of the study jobs:"
# SDT costs about 7 GFLOP per sample and step of training: its 12 cells get 8 samples each.
run_job mnist_models 1x28x28 10 5 96 32
run_job timestep_study 1x28x28 10 1 96 32
run_job timestep_retrain 1x28x28 10 4 96 32
run_job quantization 1x28x28 10 2 96 32
run_job cifar10_conv 3x32x32 10 6 48 16
run_job sdt_neuron_study 3x32x32 10 12 8 8

# The MNIST job runs every model with its own recipe: the preset chose each cell's model and T.
got=$(jq -r '[.cells[].config | "\(.model):\(.timesteps)"] | join(" ")' "$T/run-mnist_models/grid.json")
want="baseline_lif:4 dasnn:4 spiking_kan:4 nexus:6 apex:2"
[ "$got" = "$want" ] || fail "mnist_models: cells are '$got', expected '$want'"
# The neuron study varies every neuron but SDT's talking-heads one.
got=$(jq -r '[.cells[].config.neuron | "\(.type)/\(.reset)/\(.threshold)"] | unique | length' "$T/run-sdt_neuron_study/grid.json")
[ "$got" -eq 12 ] || fail "sdt_neuron_study: $got distinct neuron settings, expected 12"

# The timestep study evaluates its T=10 model at every T; the quantisation job stores int8 results.
for t in 1 5 10 20; do
  grep -q "timestep/$t/test_acc" "$T/run-timestep_study/summary.csv" ||
    fail "timestep_study: no evaluation at T=$t in summary.csv"
done
grep -q "test_acc_int8" "$T/run-quantization/summary.csv" || fail "quantization: no int8 accuracy"
grep -q "### Int8 weights" "$T/run-quantization/summary.md" || fail "quantization: no int8 table"
# Its QAT cell is labelled as what it is (int8 weights), not as a float model.
grep -q "^| true | QAT | 1/1 | n/a | n/a | [0-9]" "$T/run-quantization/summary.md" ||
  fail "quantization: the QAT row is not labelled QAT with its accuracy under the QAT column"

[ $fails -eq 0 ] && echo "test_jobs: all passed"
exit $((fails > 0))
