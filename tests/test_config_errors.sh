#!/usr/bin/env bash
# Bad configs and arguments: one line on stderr naming the file and JSON path, exit code 2,
# and no run directory left behind.
set -u
SNNBENCH=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

# expect_error NAME JSON NEEDLE [FILE]: the config must be refused with NEEDLE in the message,
# which names FILE (default: the config file itself).
expect_error() {
  local name=$1 json=$2 needle=$3 file=${4:-$1.json}
  printf '%s' "$json" > "$T/$name.json"
  "$SNNBENCH" run "$T/$name.json" --out "$T/out-$name" > "$T/stdout" 2> "$T/stderr"
  local rc=$?
  local lines
  lines=$(wc -l < "$T/stderr")
  if [ $rc -ne 2 ]; then echo "FAIL $name: exit $rc, expected 2"; fails=$((fails+1)); fi
  if [ "$lines" -ne 1 ]; then echo "FAIL $name: $lines lines on stderr:"; cat "$T/stderr"; fails=$((fails+1)); fi
  if ! grep -qF -- "$needle" "$T/stderr"; then echo "FAIL $name: no '$needle' in: $(cat "$T/stderr")"; fails=$((fails+1)); fi
  if ! grep -qF -- "$file" "$T/stderr"; then echo "FAIL $name: message does not name $file"; fails=$((fails+1)); fi
  if [ -e "$T/out-$name" ]; then echo "FAIL $name: left $T/out-$name behind"; fails=$((fails+1)); fi
}

base='"data": {"train_size": 200, "val_size": 100, "test_size": 100}, "train": {"epochs": 1}'
expect_error syntax '{"model": "baseline_lif",' 'invalid JSON at line 1'
expect_error notobject '[1, 2]' 'must be a JSON object'
expect_error unknown_key "{\"modle\": \"baseline_lif\", $base}" 'modle: unknown config key'
expect_error unknown_nested "{\"train\": {\"lr\": 0.1, \"epoch\": 3}}" 'train.epoch: unknown config key'
expect_error bad_type "{\"timesteps\": \"four\", $base}" 'timesteps: must be an integer'
expect_error bad_range "{\"train\": {\"lr\": -1}}" 'train.lr: -1 is outside (0, 10]'
expect_error bad_choice "{\"train\": {\"optimizer\": \"adagrad\"}}" 'train.optimizer: "adagrad" is not one of adam|adamw|sgd'
expect_error bad_grid_key "{\"grid\": {\"train.lrr\": [1]}, $base}" 'grid."train.lrr": unknown config key'
expect_error empty_grid "{\"grid\": {\"seed\": []}, $base}" 'grid."seed": must be a non-empty list'
expect_error grid_value "{\"grid\": {\"timesteps\": [1, 0]}, $base}" 'timesteps (grid cell timesteps=0): 0 is outside [1, 100000]'
expect_error grid_dup "{\"grid\": {\"seed\": [1, 1]}, $base}" 'resolve to the same config'
expect_error grid_and_base "{\"seed\": 3, \"grid\": {\"seed\": [1, 2]}, $base}" 'also set outside the grid'
expect_error unknown_model "{\"model\": \"resnet9000\", $base}" 'unknown built-in model "resnet9000"'
expect_error missing_spec "{\"model\": \"nope/spec.json\", $base}" 'nope/spec.json: cannot open' spec.json
expect_error unknown_dataset "{\"data\": {\"name\": \"imagenet\"}}" 'data.name: unknown value "imagenet"'
expect_error missing_data "{\"data\": {\"name\": \"mnist\", \"path\": \"$T/nowhere\"}}" 'nowhere/train-images-idx3-ubyte(.gz): not found' nowhere
expect_error too_big "{\"data\": {\"train_size\": 70000}}" 'exceeds the 60000 training samples of fashion-mnist'
expect_error surrogate "{\"neuron\": {\"surrogate\": \"tanh\"}, $base}" 'neuron.surrogate: unknown value "tanh"'

# A dataset directory with a truncated IDX file: the error names the file and the offset.
mkdir -p "$T/trunc"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  cp /usr/share/datasets/fashion-mnist/$f.gz "$T/trunc/" 2>/dev/null || true
done
gzip -dc /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz | head -c 5000 > "$T/trunc/t10k-labels-idx1-ubyte"
rm -f "$T/trunc/t10k-labels-idx1-ubyte.gz"
expect_error truncated_idx "{\"data\": {\"name\": \"fashion-mnist\", \"path\": \"$T/trunc\"}, \"train\": {\"epochs\": 1}}" \
  'truncated: the header promises 10000 labels (10000 payload bytes from byte 8) but the data ends at byte 5000' t10k-labels-idx1-ubyte

# A model spec with a shape error names the layer.
cat > "$T/badspec.json" <<'SPEC'
{"name": "bad", "layers": [{"name": "fc", "type": "linear", "out": 7}, {"type": "mean_time"}]}
SPEC
expect_error spec_shape "{\"model\": \"badspec.json\", $base}" "layer 'mean_time1'" badspec.json
cat > "$T/typo.json" <<'SPEC'
{"layers": [{"name": "fc", "type": "linear", "outt": 10}, {"type": "mean_time"}]}
SPEC
expect_error spec_key "{\"model\": \"typo.json\", $base}" "layer 0 'fc' (linear): unknown key \"outt\"" typo.json

# Arguments.
"$SNNBENCH" run > /dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: run without CONFIG is not exit 2"; fails=$((fails+1)); }
"$SNNBENCH" frobnicate > /dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: unknown command is not exit 2"; fails=$((fails+1)); }
"$SNNBENCH" reduce "$T/none" > /dev/null 2> "$T/stderr"; rc=$?
[ $rc -eq 2 ] && grep -q "none: no such file" "$T/stderr" || { echo "FAIL: reduce of a missing dir: $rc $(cat "$T/stderr")"; fails=$((fails+1)); }

# A config that is fine passes validate.
printf '{%s}' "$base" > "$T/good.json"
"$SNNBENCH" validate "$T/good.json" > "$T/stdout" 2>&1 || { echo "FAIL: good config refused: $(cat "$T/stdout")"; fails=$((fails+1)); }

# An existing run directory is not overwritten without --resume.
mkdir -p "$T/existing" && echo '{}' > "$T/existing/grid.json"
"$SNNBENCH" run "$T/good.json" --out "$T/existing" > /dev/null 2> "$T/stderr"; rc=$?
[ $rc -eq 2 ] && grep -q "already holds a run" "$T/stderr" || { echo "FAIL: existing out dir: $rc $(cat "$T/stderr")"; fails=$((fails+1)); }

echo "test_config_errors: $fails failures"
[ $fails -eq 0 ]
