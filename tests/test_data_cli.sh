#!/usr/bin/env bash
# Every dataset through the CLI, on small files in each exact on-disk format (make_fixtures):
# `snnbench data info` on each format, a config that selects each dataset by name and path and
# trains a cell on it, malformed files and bad data settings refused with one line and exit 2
# before any output exists, and an augmented, mixed, rate-encoded grid that gives bitwise the
# same results on 1 rank x 1 thread and 2 ranks x 2 threads.
set -u
SNNBENCH=$1
SRC=$2
MAKE_FIXTURES=$3
MNIST_T10K=${4:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
F=$T/fx
"$MAKE_FIXTURES" "$F" || { echo "FAIL: make_fixtures"; exit 1; }

# ---------------------------------------------------------------- data info
# info_has NAME PATH NEEDLE... [-- ARGS]: data info succeeds and prints every needle.
info_has() {
  local name=$1 path=$2
  shift 2
  "$SNNBENCH" data info "$path" > "$T/info-$name" 2> "$T/info-$name.err" \
    || { fail "data info $name: exit $? $(cat "$T/info-$name.err")"; return; }
  for needle in "$@"; do
    grep -qF -- "$needle" "$T/info-$name" || fail "data info $name lacks '$needle': $(cat "$T/info-$name")"
  done
}
info_has idx-dir "$F/mnist" "format     IDX images (gzip), magic 0x00000803" "samples    60" \
  "shape      1x28x28" "histogram  0:6 1:6 2:6" "md5        "
info_has idx-labels "$F/mnist/t10k-labels-idx1-ubyte.gz" "samples    20" "histogram  0:2 1:2" \
  "does NOT match the official checksum of t10k-labels-idx1-ubyte.gz (MNIST ec29112dd5afa0611ce80d1b7f02629c" \
  "the .gz file differs from the published one" \
  "md5 data   $(gzip -dc "$F/mnist/t10k-labels-idx1-ubyte.gz" | md5sum | cut -c1-32)  of the decompressed content"
info_has idx-raw-md5 "$F/cifar10/test_batch.bin" "md5        $(md5sum < "$F/cifar10/test_batch.bin" | cut -c1-32)"
grep -q "md5 data" "$T/info-idx-raw-md5" && fail "data info prints a decompressed md5 for a file that is not gzip"
info_has cifar10 "$F/cifar10" "format     CIFAR-10 binary" "train      40 samples, shape 3x32x32, 10 classes" \
  "test       10 samples" "histogram  0:4 1:4"
info_has cifar10-tar "$F/cifar-10-binary.tar.gz" "train      40 samples" \
  "does NOT match the official checksum of cifar-10-binary.tar.gz (CIFAR-10 c32a1d4ab5d03f1284b67883e8d87530)"
info_has cifar10-bin "$F/cifar10/test_batch.bin" "CIFAR-10 binary records" "records    10 samples" \
  "(no official checksum is known for this file name)"
info_has cifar100 "$F/cifar100" "train      40 samples, shape 3x32x32, 20 classes" \
  "train      40 samples, shape 3x32x32, 100 classes"
info_has cifar100-bin "$F/cifar100/train.bin" "coarse     40 samples" "fine       40 samples"
info_has nmnist "$F/nmnist" "train      30 samples, frames of 2x34x34" "test       10 samples" \
  "events per sample 100..200 (mean 150.0)"
info_has nmnist-bin "$F/nmnist/Train/3/00031.bin" "N-MNIST / ATIS events" "label      3 (from the folder name)" \
  "events     150"
info_has gesture "$F/DvsGesture" "train      11 samples, frames of 2x128x128" "histogram  0:1 1:1" \
  "events per sample 300..300"
info_has aedat3 "$F/DvsGesture/user01_natural.aedat" "AEDAT 3.1" "4 packets (0 not polarity" "events     3300"
info_has c10dvs "$F/c10dvs" "train      20 samples" "test       10 samples" "CIFAR10-DVS"
info_has aedat2 "$F/c10dvs/cat/cifar10_cat_0.aedat" "AEDAT 2.0 (CIFAR10-DVS" "events     200"
if [ -n "$MNIST_T10K" ] && [ -f "$MNIST_T10K/t10k-images-idx3-ubyte.gz" ]; then
  info_has real-mnist "$MNIST_T10K" "samples    10000" \
    "md5        9fb629c4189551a2d022fa330f9573f3  matches the official MNIST t10k-images-idx3-ubyte.gz" \
    "md5        ec29112dd5afa0611ce80d1b7f02629c  matches the official MNIST t10k-labels-idx1-ubyte.gz" \
    "histogram  0:980 1:1135"
fi

# info_error NAME NEEDLE ARGS...: data info exits 2 with one line holding NEEDLE, and prints no
# half report.
info_error() {
  local name=$1 needle=$2
  shift 2
  "$SNNBENCH" data info "$@" > "$T/out-$name" 2> "$T/err-$name"
  local rc=$?
  [ $rc -eq 2 ] || fail "data info $name: exit $rc, expected 2"
  [ ! -s "$T/out-$name" ] || fail "data info $name: printed a partial report: $(cat "$T/out-$name")"
  [ "$(wc -l < "$T/err-$name")" -eq 1 ] || fail "data info $name: not one line: $(cat "$T/err-$name")"
  grep -qF -- "$needle" "$T/err-$name" || fail "data info $name: no '$needle' in $(cat "$T/err-$name")"
}
mkdir -p "$T/bad"
head -c 1000 "$F/DvsGesture/user01_natural.aedat" > "$T/bad/cut.aedat"
info_error cut-aedat "cut.aedat: truncated event stream: the packet at byte" "$T/bad/cut.aedat"
head -c 12 "$F/nmnist/Train/1/00010.bin" > "$T/bad/00010.bin"
info_error cut-nmnist "00010.bin: truncated event stream: 12 bytes" "$T/bad/00010.bin"
info_error unknown-format '--format: unknown format "png"' "$F/mnist" --format png
info_error missing "nowhere: no such file or directory" "$T/nowhere"
info_error no-layout "no dataset layout recognised" "$T/bad"
# 19 labels for 20 test images: training refuses the folder (below), and so does info.
cp -r "$F/mnist" "$T/mnist-19"
{ printf '\x00\x00\x08\x01\x00\x00\x00\x13'; gzip -dc "$F/mnist/t10k-labels-idx1-ubyte.gz" | tail -c +9 | head -c 19; } \
  | gzip > "$T/mnist-19/t10k-labels-idx1-ubyte.gz"
info_error idx-19-labels "t10k-labels-idx1-ubyte.gz: the header counts 19 labels (byte 4 of the decompressed stream), but" \
  "$T/mnist-19"
grep -qF "counts 20 images (byte 4 of the decompressed stream)" "$T/err-idx-19-labels" ||
  fail "data info idx-19-labels: the message does not give the images' count and offset"

# ---------------------------------------------------------------- every dataset from a config
cat > "$T/tiny.json" <<'EOF'
{"name": "tiny", "layers": [{"name": "fc1", "type": "linear", "out": 16},
  {"name": "lif1", "type": "neuron", "neuron": "lif", "tau": 2.0},
  {"name": "fc2", "type": "linear", "out": "classes"}, {"type": "mean_time"}]}
EOF
# run_dataset NAME DATA_JSON [EXTRA]: a one-epoch run on the dataset succeeds.
run_dataset() {
  local name=$1 data=$2 extra=${3:-}
  printf '{"model": "tiny.json", "timesteps": 2, %s "data": %s, "train": {"epochs": 1, "batch_size": 8}, "eval": {"batch_size": 8}}' \
    "$extra" "$data" > "$T/$name.json"
  OMP_NUM_THREADS=1 "$SNNBENCH" run "$T/$name.json" --out "$T/run-$name" --no-reduce > "$T/run-$name.log" 2>&1 \
    || { fail "run on $name: $(tail -3 "$T/run-$name.log")"; return; }
  grep -q "done .*test acc" "$T/run-$name.log" || fail "run on $name printed no finished cell"
  ls "$T/run-$name"/cells/*.h5 > /dev/null 2>&1 || fail "run on $name wrote no cell file"
}
run_dataset mnist "{\"name\": \"mnist\", \"path\": \"$F/mnist\", \"val_size\": 10}"
run_dataset cifar10 "{\"name\": \"cifar10\", \"path\": \"$F/cifar10\", \"val_size\": 8, \"augment\": {\"crop_padding\": 4, \"hflip\": 0.5}}"
run_dataset cifar10-tar "{\"name\": \"cifar10\", \"path\": \"$F/cifar-10-binary.tar.gz\", \"val_size\": 8}"
run_dataset cifar100 "{\"name\": \"cifar100\", \"path\": \"$F/cifar100\", \"val_size\": 5, \"cifar100_labels\": \"coarse\", \"subset\": \"first\"}"
run_dataset nmnist "{\"name\": \"nmnist\", \"path\": \"$F/nmnist\", \"val_size\": 5, \"frames\": {\"clip\": 1}}"
cp -r "$F/nmnist" "$T/nm-empty-run" && : > "$T/nm-empty-run/Train/2/00020.bin"
run_dataset nmnist-empty "{\"name\": \"nmnist\", \"path\": \"$T/nm-empty-run\", \"val_size\": 5}"
run_dataset gesture "{\"name\": \"dvs-gesture\", \"path\": \"$F/DvsGesture\", \"val_size\": 0, \"frames\": {\"split_by\": \"time\"}}"
run_dataset c10dvs "{\"name\": \"cifar10-dvs\", \"path\": \"$F/c10dvs\", \"val_size\": 4, \"frames\": {\"clip\": 4, \"normalize\": \"clip\"}}"
run_dataset synthetic "{\"name\": \"synthetic\", \"train_size\": 64, \"val_size\": 16, \"test_size\": 20, \"encoding\": \"latency\", \"synthetic\": {\"samples\": 100, \"shape\": \"2x8x8\", \"classes\": 4}}"
# The resolved config records what was read: name, path and the data settings.
grep -q "\"path\":[[:space:]]*\"$F/DvsGesture\"" "$T/run-gesture/grid.json" || fail "grid.json lacks the gesture path"
grep -q '"split_by":[[:space:]]*"time"' "$T/run-gesture/grid.json" || fail "grid.json lacks frames.split_by"

# ---------------------------------------------------------------- refused before any output
# refuse NAME JSON NEEDLE [FILE]: run exits 2, one line with NEEDLE naming FILE, no output dir.
refuse() {
  local name=$1 json=$2 needle=$3 file=${4:-$1.json}
  printf '%s' "$json" > "$T/$name.json"
  "$SNNBENCH" run "$T/$name.json" --out "$T/out-$name" > /dev/null 2> "$T/err-$name"
  local rc=$?
  [ $rc -eq 2 ] || fail "$name: exit $rc, expected 2"
  [ "$(wc -l < "$T/err-$name")" -eq 1 ] || fail "$name: not one line: $(cat "$T/err-$name")"
  grep -qF -- "$needle" "$T/err-$name" || fail "$name: no '$needle' in: $(cat "$T/err-$name")"
  grep -qF -- "$file" "$T/err-$name" || fail "$name: message does not name $file"
  [ -e "$T/out-$name" ] && fail "$name: left $T/out-$name behind"
}
cp -r "$F/nmnist" "$T/nm-cut" && head -c 13 "$F/nmnist/Test/4/00040.bin" > "$T/nm-cut/Test/4/00040.bin"
refuse nm-cut "{\"data\": {\"name\": \"nmnist\", \"path\": \"$T/nm-cut\", \"val_size\": 2}}" \
  "truncated event stream: 13 bytes is not a whole number of 5-byte events; the last event, from byte 10" 00040.bin
cp -r "$F/DvsGesture" "$T/dg-bad" && printf 'class,startTime_usec,endTime_usec\n0,1,2\n' > "$T/dg-bad/user02_led_labels.csv"
refuse dg-label "{\"data\": {\"name\": \"dvs-gesture\", \"path\": \"$T/dg-bad\", \"val_size\": 2}}" \
  "line 2 (byte 34): class 0 is outside 1..11" user02_led_labels.csv
refuse idx-19 "{\"data\": {\"name\": \"mnist\", \"path\": \"$T/mnist-19\", \"val_size\": 2}}" \
  "the header counts 19 labels (byte 4 of the decompressed stream)" t10k-labels-idx1-ubyte.gz
# An empty N-MNIST recording: T empty frames under split_by "number", refused under "time"
# (there is no span to cut into windows).
cp -r "$F/nmnist" "$T/nm-empty" && : > "$T/nm-empty/Train/2/00020.bin"
refuse nm-empty-time "{\"data\": {\"name\": \"nmnist\", \"path\": \"$T/nm-empty\", \"val_size\": 2, \"frames\": {\"split_by\": \"time\"}}}" \
  '"time" needs events to measure time windows, but training sample 6 of nmnist (label 2) has no events' nmnist
cp -r "$F/cifar10" "$T/c10-missing" && rm "$T/c10-missing/data_batch_3.bin"
refuse c10-missing "{\"data\": {\"name\": \"cifar10\", \"path\": \"$T/c10-missing\", \"val_size\": 2}}" \
  "data_batch_3.bin: cannot open" data_batch_3.bin
refuse no-path '{"data": {"name": "cifar100"}}' 'data.path: required for dataset "cifar100"'
refuse bad-encoding '{"data": {"encoding": "poisson"}}' 'data.encoding: "poisson" is not one of direct|rate|latency'
refuse bad-split-by '{"data": {"frames": {"split_by": "count"}}}' 'data.frames.split_by: "count" is not one of number|time'
refuse bad-hflip '{"data": {"augment": {"hflip": 2}}}' 'data.augment.hflip: 2 is outside [0, 1]'
refuse bad-shape '{"data": {"name": "synthetic", "synthetic": {"shape": "3x32"}}}' 'data.synthetic.shape: unknown value "3x32"'
refuse synthetic-path '{"data": {"name": "synthetic", "path": "/tmp"}}' 'data.path: the synthetic dataset is generated, not read'
refuse rate-events "{\"data\": {\"name\": \"nmnist\", \"path\": \"$F/nmnist\", \"val_size\": 2, \"encoding\": \"rate\"}}" \
  'data.encoding: "rate" encodes analog images, but nmnist is an event dataset'
refuse scale-order '{"data": {"augment": {"affine": {"scale_min": 1.2, "scale_max": 0.9}}}}' \
  'data.augment.affine.scale_min: 1.2 is above scale_max 0.9'
refuse stratified-big "{\"data\": {\"name\": \"mnist\", \"path\": \"$F/mnist\", \"subset\": \"stratified\", \"val_size\": 10, \"train_size\": 51}}" \
  'data.train_size: 51 + val_size 10 exceeds the 60 training samples of mnist'

# ---------------------------------------------------------------- ranks and threads
cat > "$T/aug.json" <<EOF
{"name": "aug", "model": "tiny.json", "timesteps": 3,
 "data": {"name": "cifar10", "path": "$F/cifar10", "val_size": 8, "encoding": "rate",
          "augment": {"crop_padding": 2, "hflip": 0.5, "erase": 0.5,
                      "affine": {"degrees": 10, "translate": 0.1, "scale_min": 0.9, "scale_max": 1.1}},
          "mixup": {"alpha": 0.4, "prob": 0.7}},
 "train": {"epochs": 2, "batch_size": 8}, "eval": {"batch_size": 8},
 "grid": {"seed": [0, 1], "data.subset": ["random", "stratified"]}}
EOF
OMP_NUM_THREADS=1 mpirun -np 1 "$SNNBENCH" run "$T/aug.json" --out "$T/aug1" --no-reduce > "$T/aug1.log" 2>&1 \
  || fail "augmented grid on 1 rank: $(tail -3 "$T/aug1.log")"
OMP_NUM_THREADS=2 mpirun -np 2 --oversubscribe "$SNNBENCH" run "$T/aug.json" --out "$T/aug2" --no-reduce \
  > "$T/aug2.log" 2>&1 || fail "augmented grid on 2 ranks: $(tail -3 "$T/aug2.log")"
for f in "$T"/aug1/cells/*.h5; do
  id=$(basename "$f")
  for obj in history/train_loss history/test_loss history/val_acc metrics/spike_rate; do
    h5diff "$f" "$T/aug2/cells/$id" "/$obj" "/$obj" > /dev/null 2>&1 \
      || fail "cell $id $obj differs between 1 rank x 1 thread and 2 ranks x 2 threads"
  done
done
[ "$(ls "$T"/aug1/cells/*.h5 | wc -l)" -eq 4 ] || fail "augmented grid did not finish 4 cells"

echo "test_data_cli: $fails failures"
[ $fails -eq 0 ]
