#!/usr/bin/env bash
# The model zoo through the command line: listings, model info of every built-in (and of its
# twin), presets (defaults that explicit keys override, part of the resolved config, unknown
# names refused), the non-spiking twin training to a useful accuracy, and a user spec run.
set -u
SNNBENCH=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
fail() { echo "FAIL $*"; fails=$((fails+1)); }

# --- listings and model info
n_specs=$(ls "$SRC"/src/models/specs/*.json | wc -l)
n_listed=$("$SNNBENCH" list models | wc -l)
[ "$n_listed" -eq "$n_specs" ] || fail "list models: $n_listed lines for $n_specs specs"
"$SNNBENCH" list models | grep -q '^sdt .*2,567,082 parameters' || fail "list models: no sdt line with its count"
for p in baseline_lif dasnn spiking_kan nexus apex cifar_conv spiking_cnn sdt; do
  "$SNNBENCH" list presets | grep -q "^$p " || fail "list presets: no $p"
done
for f in "$SRC"/src/models/specs/*.json; do
  m=$(basename "$f" .json)
  input=1x28x28
  case $m in *_conv|sdt) input=3x32x32 ;; esac
  for twin in "" --ann; do
    "$SNNBENCH" model info "$m" --input $input $twin > "$T/info" 2> "$T/err" || fail "model info $m $twin: $(cat "$T/err")"
    grep -q "^total parameters: [0-9]" "$T/info" || fail "model info $m $twin: no total"
  done
  # The twin's table has no neuron layers left.
  "$SNNBENCH" model info "$m" --input $input --ann | awk '$3 == "neuron" || $3 == "dendritic_conv"' | grep -q . &&
    fail "model info $m --ann still lists a spiking layer"
done
"$SNNBENCH" model info apex --ann | grep -q '^total parameters: 1597837$' || fail "apex twin: not 1,599,237 - 1,400 neuron parameters"
# Every built-in declares its input: without --input model info gives the same table as with it.
for f in "$SRC"/src/models/specs/*.json; do
  m=$(basename "$f" .json)
  input=1x28x28
  case $m in *_conv|sdt) input=3x32x32 ;; esac
  "$SNNBENCH" model info "$m" > "$T/declared" 2>&1 || fail "model info $m without --input: $(cat "$T/declared")"
  "$SNNBENCH" model info "$m" --input $input > "$T/given" 2>&1
  cmp -s "$T/declared" "$T/given" || fail "model info $m: the declared input is not $input"
done
"$SNNBENCH" model info sdt | grep -q '^total parameters: 2567082$' || fail "model info sdt: not 2,567,082 without --input"
"$SNNBENCH" model info sdt | head -1 | grep -q 'input 3x32x32 .*10 classes' || fail "model info sdt: header"
"$SNNBENCH" model info baseline_lif_conv | grep -q '^total parameters: 2474506$' || fail "model info baseline_lif_conv: not 2,474,506"
# --input still overrides the declaration (the stem is all convolutions).
"$SNNBENCH" model info sdt --input 3x64x64 | head -1 | grep -q 'input 3x64x64' || fail "model info sdt --input 3x64x64: not used"
# The neuron family and the surrogates, each with its formula and source.
"$SNNBENCH" list neurons > "$T/neurons" || fail "list neurons failed"
for w in lif if soft hard x decay_input detach_reset learn_threshold detach_threshold single_spike adapt override; do
  grep -q "^  $w[ ,]" "$T/neurons" || fail "list neurons: no line for $w"
done
"$SNNBENCH" list surrogates > "$T/sg" || fail "list surrogates failed"
grep -q '^fast_sigmoid  .*alpha=10 .*a / (1 + a|x|)^2 .*Quantized_SNN' "$T/sg" || fail "list surrogates: fast_sigmoid line: $(grep '^fast_sigmoid ' "$T/sg")"
grep -q '^fast_sigmoid_snntorch .*alpha=25 .*1 / (1 + a|x|)^2 .*snnTorch' "$T/sg" || fail "list surrogates: no snnTorch fast_sigmoid"
grep -q '^superspike_norse .*alpha=100 .*Norse' "$T/sg" || fail "list surrogates: no Norse SuperSpike"

# --- presets
base='"data": {"name": "fashion-mnist", "train_size": 256, "val_size": 64, "test_size": 128}'
expect_error() {
  local name=$1 json=$2 needle=$3
  printf '%s' "$json" > "$T/$name.json"
  "$SNNBENCH" run "$T/$name.json" --out "$T/out-$name" > /dev/null 2> "$T/stderr"
  local rc=$?
  [ $rc -eq 2 ] || fail "$name: exit $rc, expected 2"
  [ "$(wc -l < "$T/stderr")" -eq 1 ] || fail "$name: not one line: $(cat "$T/stderr")"
  grep -qF -- "$needle" "$T/stderr" || fail "$name: no '$needle' in: $(cat "$T/stderr")"
  grep -qF -- "$name.json" "$T/stderr" || fail "$name: message does not name the file"
  [ -e "$T/out-$name" ] && fail "$name: left a run directory behind"
}
expect_error unknown_preset "{\"preset\": \"nexsu\", $base}" 'preset: unknown preset "nexsu" (known: baseline_lif,'
expect_error preset_in_grid "{\"grid\": {\"preset\": [\"apex\", \"resnet\"]}, $base}" 'preset (grid cell preset="resnet"): unknown preset "resnet"'
expect_error preset_type "{\"preset\": 3, $base}" 'preset: must be a string'
expect_error ann_type "{\"ann\": \"yes\", $base}" 'ann: must be true or false'

# The preset fills what the config leaves unset; explicit keys (and grid values) win.
cat > "$T/preset.json" <<EOF
{"preset": "nexus", "timesteps": 2, $base, "train": {"epochs": 1, "lr": 0.002}}
EOF
"$SNNBENCH" run "$T/preset.json" --out "$T/run-preset" > "$T/preset.out" 2>&1 || fail "preset run: $(tail -3 "$T/preset.out")"
cfg=$(jq -c '.cells[0].config' "$T/run-preset/grid.json")
check_cfg() { [ "$(jq -r "$1" <<< "$cfg")" = "$2" ] || fail "preset: $1 is $(jq -r "$1" <<< "$cfg"), expected $2"; }
check_cfg .preset nexus
check_cfg .model nexus                       # from the preset
check_cfg .train.optimizer adamw             # from the preset
check_cfg .train.label_smoothing 0.1         # from the preset
check_cfg .data.augment.affine.degrees 10    # from the preset
check_cfg .timesteps 2                       # explicit
check_cfg .train.lr 0.002                    # explicit
check_cfg .train.epochs 1                    # explicit

# --- the non-spiking twin: its own cell id, no spiking layers, and it learns.
cat > "$T/snn.json" <<EOF
{"model": "baseline_lif", "timesteps": 1, "data": {"name": "fashion-mnist", "train_size": 3000, "val_size": 200, "test_size": 1000}, "train": {"epochs": 1}}
EOF
jq '.ann = true' "$T/snn.json" > "$T/ann.json"
jq '.ann = false' "$T/snn.json" > "$T/annfalse.json"
id_snn=$("$SNNBENCH" validate "$T/snn.json" | awk 'NR==2 {print $1}')
id_ann=$("$SNNBENCH" validate "$T/ann.json" | awk 'NR==2 {print $1}')
id_false=$("$SNNBENCH" validate "$T/annfalse.json" | awk 'NR==2 {print $1}')
[ -n "$id_snn" ] && [ "$id_snn" != "$id_ann" ] || fail "ann: twin cell id '$id_ann' not distinct from '$id_snn'"
[ "$id_snn" = "$id_false" ] || fail "ann: false gives id $id_false, no key $id_snn"
"$SNNBENCH" run "$T/ann.json" --out "$T/run-ann" > "$T/ann.out" 2>&1 || fail "twin run: $(tail -3 "$T/ann.out")"
h5=$(ls "$T"/run-ann/cells/*.h5 | head -1)
acc=$(h5dump -d /metrics/test_acc_final "$h5" | awk '/\(0\)/ {print $2}')
awk -v a="$acc" 'BEGIN {exit !(a > 70)}' || fail "twin: test accuracy $acc% after one epoch, expected > 70%"
params=$(h5dump -d /metrics/n_params "$h5" | awk '/\(0\)/ {print $2}')
[ "$params" = "537354" ] || fail "twin: $params parameters, expected 537354"
# /layers lists the twin's ReLU layers (named lif1, lif2 after the layers they replace) but no
# layer of a spiking type.
h5dump -d /layers "$h5" 2> /dev/null | grep -qE '^ *"(neuron|dendritic_conv)",?$' && fail "twin: spiking layers in /layers"
h5dump -d /layers "$h5" 2> /dev/null | grep -qE '^ *"relu",?$' || fail "twin: no relu rows in /layers"
echo "  twin of baseline_lif: test accuracy $acc% after one epoch on 3000 samples"

# --- a user spec (notebook 000's Spiking-KAN) trains through the config path.
cat > "$T/user.json" <<EOF
{"model": "$SRC/jobs/models/nb000_spiking_kan.json", $base, "train": {"epochs": 1}}
EOF
"$SNNBENCH" run "$T/user.json" --out "$T/run-user" > "$T/user.out" 2>&1 || fail "user spec run: $(tail -3 "$T/user.out")"
grep -q '"event":"done"' "$T/run-user/ledger.jsonl" || fail "user spec: cell not done"

[ $fails -eq 0 ] && echo "test_zoo_cli: all passed"
exit $((fails > 0))
