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

# Duplicate keys, at any depth and in model spec files: JSON parsers keep one of the two
# silently, so a config that says two things is refused.
expect_error dup_top '{"train": {"epochs": 1}, "train": {"epochs": "bad"}}' 'train: the key appears twice'
expect_error dup_nested "{\"data\": {\"augment\": {\"hflip\": 0.5, \"hflip\": 0}}, $base}" 'data.augment.hflip: the key appears twice'
expect_error dup_grid "{\"grid\": {\"seed\": [0], \"seed\": [1]}, $base}" 'grid.seed: the key appears twice'
cat > "$T/dupspec.json" <<'SPEC'
{"layers": [{"name": "fc", "type": "linear", "out": 10, "out": 5}, {"type": "mean_time"}]}
SPEC
expect_error dup_spec "{\"model\": \"dupspec.json\", $base}" 'layers[0].out: the key appears twice' dupspec.json

# The name is the default run directory runs/<name>: only a plain file name is accepted.
expect_error name_dotdot "{\"name\": \"..\", $base}" 'name: ".." is not a plain file name'
expect_error name_slash "{\"name\": \"a/b\", $base}" 'name: "a/b" is not a plain file name'
expect_error name_empty "{\"name\": \"\", $base}" 'name: "" is not a plain file name'
expect_error name_hidden "{\"name\": \".x\", $base}" 'name: ".x" is not a plain file name'
expect_error name_space "{\"name\": \"a b\", $base}" 'name: "a b" is not a plain file name'
# Without --out, nothing appears in the working directory (runs/.. would be the cwd itself).
mkdir -p "$T/cwd"
(cd "$T/cwd" && "$SNNBENCH" run "$T/name_dotdot.json" > /dev/null 2>&1); rc=$?
[ $rc -eq 2 ] || { echo "FAIL: name \"..\" without --out: exit $rc"; fails=$((fails+1)); }
[ -z "$(ls -A "$T/cwd")" ] || { echo "FAIL: name \"..\" left $(ls -A "$T/cwd") in the cwd"; fails=$((fails+1)); }

# A plan larger than the machine is refused up front, naming the cell, the model, the batch size,
# T and the bytes, before any output exists (it used to abort in the arena after creating DIR).
expect_error huge_plan '{"timesteps": 100000, "train": {"batch_size": 65536}, "data": {"train_size": 200, "val_size": 100, "test_size": 100}}' \
  'batch size 65536 at T=100000 needs'
grep -q "(model baseline_lif).*of physical memory" "$T/stderr" || { echo "FAIL: huge_plan: $(cat "$T/stderr")"; fails=$((fails+1)); }
# A user spec whose parameters alone cannot fit: run, validate and model info all say so.
cat > "$T/hugespec.json" <<'SPEC'
{"layers": [{"name": "fc1", "type": "linear", "out": 1000000}, {"name": "lif1", "type": "neuron"},
            {"name": "fc2", "type": "linear", "out": 1000000}, {"name": "lif2", "type": "neuron"},
            {"name": "fc3", "type": "linear", "out": 10}, {"type": "mean_time"}]}
SPEC
expect_error huge_spec "{\"model\": \"hugespec.json\", $base}" 'physical memory' hugespec.json
for cmd in "validate $T/huge_spec.json" "model info $T/hugespec.json"; do
  # shellcheck disable=SC2086
  "$SNNBENCH" $cmd > /dev/null 2> "$T/stderr"; rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l < "$T/stderr")" -eq 1 ] && grep -q "hugespec.json.*needs .* of memory.*physical memory" "$T/stderr" \
    || { echo "FAIL: $cmd: exit $rc: $(cat "$T/stderr")"; fails=$((fails+1)); }
done

# Arguments: one line (no usage dump), exit 2, nothing written.
"$SNNBENCH" run > /dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: run without CONFIG is not exit 2"; fails=$((fails+1)); }
"$SNNBENCH" frobnicate > /dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: unknown command is not exit 2"; fails=$((fails+1)); }
printf '{%s}' "$base" > "$T/args.json"
expect_arg_error() {  # expect_arg_error NEEDLE ARGS...
  local needle=$1; shift
  (cd "$T/cwd" && "$SNNBENCH" "$@" > "$T/stdout" 2> "$T/stderr"); local rc=$?
  [ $rc -eq 2 ] || { echo "FAIL: snnbench $*: exit $rc, expected 2"; fails=$((fails+1)); }
  [ "$(wc -l < "$T/stderr")" -eq 1 ] || { echo "FAIL: snnbench $*: not one line:"; cat "$T/stderr"; fails=$((fails+1)); }
  grep -qF -- "$needle" "$T/stderr" || { echo "FAIL: snnbench $*: no '$needle' in: $(cat "$T/stderr")"; fails=$((fails+1)); }
  [ -z "$(ls -A "$T/cwd")" ] || { echo "FAIL: snnbench $*: left $(ls -A "$T/cwd")"; fails=$((fails+1)); rm -rf "${T:?}/cwd/"*; }
}
expect_arg_error 'snnbench: run: --out needs a value (see snnbench --help)' run "$T/args.json" --out
expect_arg_error 'run: --out needs a value' run "$T/args.json" --out --resume
expect_arg_error 'run: --shard needs a value' run "$T/args.json" --shard
expect_arg_error 'run: --max-attempts needs a value' run "$T/args.json" --max-attempts
expect_arg_error 'run: unknown option --frob' run "$T/args.json" --frob
expect_arg_error 'run: a CONFIG file is required' run
expect_arg_error 'data info: --format needs a value' data info "$T/args.json" --format
expect_arg_error 'model info: --input needs a value' model info baseline_lif --input
expect_arg_error 'model info: --classes needs a value' model info baseline_lif --classes
expect_arg_error 'model info: --classes "2x": expected a count >= 2' model info baseline_lif --classes 2x
for opt in --threads --samples --epochs --repeats --model --reference --data; do
  expect_arg_error "bench: $opt needs a value" bench mlp "$opt"
done
expect_arg_error "--reference: $T/no-such-ref.py: no such readable file" bench mlp --reference "$T/no-such-ref.py"
expect_arg_error 'unknown command "frobnicate"' frobnicate
expect_arg_error 'validate: expected one CONFIG' validate
# --help and no arguments still print the usage.
"$SNNBENCH" --help > "$T/stdout" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "^usage: snnbench" "$T/stdout" || { echo "FAIL: --help: exit $rc"; fails=$((fails+1)); }
"$SNNBENCH" > /dev/null 2> "$T/stderr"; rc=$?
[ $rc -eq 2 ] && grep -q "^usage: snnbench" "$T/stderr" || { echo "FAIL: no arguments: exit $rc"; fails=$((fails+1)); }
# --out naming a regular file (or a path through one) is bad input, and the file is untouched.
echo keep > "$T/afile"
for out in "$T/afile" "$T/afile/sub"; do
  "$SNNBENCH" run "$T/args.json" --out "$out" > /dev/null 2> "$T/stderr"; rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l < "$T/stderr")" -eq 1 ] && grep -q -- "--out $out: .*is not a directory" "$T/stderr" \
    || { echo "FAIL: --out $out: exit $rc: $(cat "$T/stderr")"; fails=$((fails+1)); }
done
[ "$(cat "$T/afile")" = keep ] || { echo "FAIL: --out changed the regular file"; fails=$((fails+1)); }
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
