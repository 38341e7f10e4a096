#!/usr/bin/env bash
# Every metric of the efficiency report lands in each cell's HDF5 file and in results.h5, the
# reduce tables show them, and the numbers hold together: a spiking model's effective SynOps
# never exceed its dense ops, the energy matches its definition, int8 weights keep accuracy
# close to float, and the wall time splits into its parts. Non-spiking models store NaN (not 0)
# for every metric that needs spikes or a twin, and the tables print n/a for them; a QAT cell's
# accuracy is not labelled fp32.
set -u
SNNBENCH=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
export OMP_NUM_THREADS=2

cat > "$T/m.json" <<'EOF2'
{"name": "metrics", "timesteps": 4,
 "data": {"train_size": 512, "val_size": 128, "test_size": 256},
 "train": {"epochs": 1, "batch_size": 64},
 "eval": {"timesteps": [1, 2, 6], "batch_size": 128},
 "metrics": {"e_ac_pj": 1.0, "e_mac_pj": 5.0},
 "grid": {"model": ["baseline_lif", "spiking_cnn"], "train.qat": [false, true], "seed": [0, 1]}}
EOF2
"$SNNBENCH" run "$T/m.json" --out "$T/out" > "$T/log" 2>&1 || { tail -20 "$T/log"; fail "run failed"; }
R="$T/out/results.h5"
ids=$(h5ls "$R/cells" | awk '{print $1}')
[ "$(echo "$ids" | wc -w)" -eq 8 ] || fail "expected 8 cells in results.h5"
scalar() { h5dump -d "/cells/$1/metrics/$2" -m %.17g "$R" 2>/dev/null | awk '/\(0\):/ {print $2; exit}'; }
all_metrics="spike_rate spikes_per_sample activation_sparsity dead_neuron_fraction \
  membrane_updates_per_sample neuron_ops_effective_per_sample neuron_ops_dense_per_sample \
  synops_ac_per_sample synops_mac_per_sample dense_ops_per_sample energy_pj_per_sample \
  ann_dense_macs_per_sample ann_energy_pj_per_sample energy_ratio connection_sparsity \
  footprint_bytes footprint_with_state_bytes n_params test_acc_int8 model_bytes_fp32 \
  model_bytes_int8 score_acc_over_rate_plus_0_01 score_acc_over_spikes_per_sample \
  train_time_s eval_time_s io_time_s metrics_time_s wall_time_s train_samples_per_s \
  latency_ms_per_sample"
# wall_time_s = train + eval + io + metrics, up to the few statements between the timed parts.
check_wall() {
  local id=$1 w tr ev io me
  w=$(scalar "$id" wall_time_s); tr=$(scalar "$id" train_time_s); ev=$(scalar "$id" eval_time_s)
  io=$(scalar "$id" io_time_s); me=$(scalar "$id" metrics_time_s)
  awk -v w="$w" -v a="$tr" -v b="$ev" -v c="$io" -v d="$me" \
    'BEGIN {s = a + b + c + d; e = s - w; if (e < 0) e = -e; exit !(w > 0 && d > 0 && e <= 0.01 * w + 0.02)}' ||
    fail "cell $id: train $tr + eval $ev + io $io + metrics $me is not the wall time $w"
}
for id in $ids; do
  for m in $all_metrics; do
    h5ls "$R/cells/$id/metrics/$m" > /dev/null 2>&1 || fail "cell $id lacks metrics/$m"
  done
  for f in name spike_rate dead_fraction activation_sparsity membrane_updates synops_ac synops_mac \
           dense_ops energy_pj connection_sparsity neuron_ops_effective; do
    h5dump -H -d "/cells/$id/layers" "$R" | grep -q "\"$f\"" || fail "cell $id: /layers lacks $f"
  done
  h5ls -r "$R/cells/$id/spikes" | grep -q rate_histogram || fail "cell $id: no firing-rate histograms"
  h5ls "$R/cells/$id/timesteps/test_acc" > /dev/null 2>&1 || fail "cell $id: no timestep study"
  # Relations that must hold.
  ac=$(scalar "$id" synops_ac_per_sample); mac=$(scalar "$id" synops_mac_per_sample)
  dense=$(scalar "$id" dense_ops_per_sample); e=$(scalar "$id" energy_pj_per_sample)
  awk -v a="$ac" -v m="$mac" -v d="$dense" 'BEGIN {exit !(a + m <= d && a > 0 && m > 0)}' ||
    fail "cell $id: effective ops ($ac AC + $mac MAC) vs dense $dense"
  awk -v a="$ac" -v m="$mac" -v e="$e" 'BEGIN {x = a * 1.0 + m * 5.0; exit !(e > 0.999999 * x && e < 1.000001 * x)}' ||
    fail "cell $id: energy $e is not ACs x 1 pJ + MACs x 5 pJ"
  r=$(scalar "$id" energy_ratio); ae=$(scalar "$id" ann_energy_pj_per_sample)
  awk -v r="$r" -v e="$e" -v a="$ae" 'BEGIN {exit !(a > 0 && r > 0.999999 * e / a && r < 1.000001 * e / a)}' ||
    fail "cell $id: energy ratio $r is not $e / $ae"
  fp=$(scalar "$id" test_acc_final); q=$(scalar "$id" test_acc_int8)
  awk -v f="$fp" -v q="$q" 'BEGIN {exit !(q > f - 5 && q < f + 5)}' || fail "cell $id: int8 acc $q far from $fp"
  b32=$(scalar "$id" model_bytes_fp32); b8=$(scalar "$id" model_bytes_int8)
  awk -v a="$b32" -v b="$b8" 'BEGIN {exit !(b < a / 3)}' || fail "cell $id: int8 size $b8 vs $b32"
  lat=$(scalar "$id" latency_ms_per_sample); ev=$(scalar "$id" eval_time_s)
  awk -v l="$lat" -v e="$ev" 'BEGIN {exit !(l > 0 && l * 256 / 1000 <= e)}' ||
    fail "cell $id: latency $lat ms x 256 test samples exceeds the evaluation time $ev s"
  check_wall "$id"
done
# The reduce tables.
for s in "### Accuracy" "### Accuracy, spikes and latency" "### Synaptic operations and energy" \
         "### Per layer" "### Int8 weights" "### Timestep study" "### Wall time per cell"; do
  grep -qF "$s" "$T/out/summary.md" || fail "summary.md lacks '$s'"
done
grep -q "layer/conv2/synops_ac" "$T/out/summary.csv" || fail "summary.csv lacks per-layer SynOps"
# The seed scores say which accuracy they divide.
grep -qF "final acc / (spike rate + 0.01)" "$T/out/summary.md" || fail "score header does not name the final accuracy"
# Int8 table: a QAT row's accuracy sits under the QAT column, never under "fp32 acc %".
awk -F'|' '/^### Int8 weights/ {on = 1} on && /^\| model/ {for (i = 1; i <= NF; i++) {h[i] = $i}}
           on && /\| QAT \|/ {for (i = 1; i <= NF; i++) {if (h[i] ~ /fp32 acc/ && $i !~ /n\/a/) bad = 1;
                                                       if (h[i] ~ /QAT acc/ && $i ~ /n\/a/) bad = 1}; n++}
           END {exit !(n == 2 && !bad)}' "$T/out/summary.md" ||
  fail "Int8 table: QAT rows are labelled fp32: $(grep -A8 '### Int8' "$T/out/summary.md")"

# Non-spiking models: ann_cnn (written as a ReLU network) and the twin of baseline_lif.
cat > "$T/ann.json" <<'EOF2'
{"name": "ann", "timesteps": 1,
 "data": {"train_size": 256, "val_size": 64, "test_size": 128},
 "train": {"epochs": 1, "batch_size": 64},
 "eval": {"timesteps": [1, 2], "batch_size": 64},
 "metrics": {"e_ac_pj": 1.0, "e_mac_pj": 5.0},
 "grid": {"model": ["ann_cnn", "baseline_lif"], "ann": [true], "seed": [0]}}
EOF2
"$SNNBENCH" run "$T/ann.json" --out "$T/ann" > "$T/ann.log" 2>&1 || { tail -20 "$T/ann.log"; fail "ANN run failed"; }
R="$T/ann/results.h5"
ids=$(h5ls "$R/cells" | awk '{print $1}')
[ "$(echo "$ids" | wc -w)" -eq 2 ] || fail "expected 2 ANN cells"
for id in $ids; do
  for m in $all_metrics; do
    h5ls "$R/cells/$id/metrics/$m" > /dev/null 2>&1 || fail "ANN cell $id lacks metrics/$m"
  done
  for m in spike_rate spikes_per_sample dead_neuron_fraction membrane_updates_per_sample \
           neuron_ops_effective_per_sample neuron_ops_dense_per_sample ann_dense_macs_per_sample \
           ann_energy_pj_per_sample energy_ratio score_acc_over_rate_plus_0_01 \
           score_acc_over_spikes_per_sample; do
    [ "$(scalar "$id" "$m")" = "nan" ] || fail "ANN cell $id: $m is $(scalar "$id" "$m"), expected NaN (n/a)"
  done
  h5dump -d "/cells/$id/timesteps/spikes_per_sample" "$R" | grep -q "(0): nan" ||
    fail "ANN cell $id: timestep spikes are not NaN"
  # ReLU outputs are counted: a sparsity strictly between 0 and 1; the energy is its own MACs.
  s=$(scalar "$id" activation_sparsity); mac=$(scalar "$id" synops_mac_per_sample)
  e=$(scalar "$id" energy_pj_per_sample); ac=$(scalar "$id" synops_ac_per_sample)
  awk -v s="$s" 'BEGIN {exit !(s > 0 && s < 1)}' || fail "ANN cell $id: activation sparsity $s"
  awk -v a="$ac" -v m="$mac" -v e="$e" 'BEGIN {x = a + 5 * m; exit !(m > 0 && e > 0.999999 * x && e < 1.000001 * x)}' ||
    fail "ANN cell $id: energy $e is not its own ACs x 1 + MACs x 5 ($ac, $mac)"
  h5dump -d "/cells/$id/layers" "$R" | grep -q '"relu' || fail "ANN cell $id: /layers has no ReLU row"
  check_wall "$id"
done
md="$T/ann/summary.md"
grep -qF "SNN/ANN energy 0.0000" "$md" && fail "summary.md prints a zero energy ratio for an ANN"
awk -F'|' '/^### Synaptic operations/ {on = 1} on && /^\| ann_cnn/ && !row {row = $0} END {exit !(row ~ /n\/a \| n\/a \|$/)}' "$md" ||
  fail "energy table: the ANN's twin energy and ratio are not n/a: $(grep -A6 '### Synaptic' "$md")"
awk -F'|' '/^### Accuracy$/ {on = 1} on && /^\| ann_cnn/ && !seen {seen = 1; ok = $7 ~ /n\/a/} END {exit !ok}' "$md" ||
  fail "accuracy table: the ANN's spike rate is not n/a"
echo "test_metrics_cli: $fails failures"
[ $fails -eq 0 ]
