#!/usr/bin/env bash
# Every metric of the efficiency report lands in each cell's HDF5 file and in results.h5, the
# reduce tables show them, and the numbers hold together: a spiking model's effective SynOps
# never exceed its dense ops, the energy matches its definition, and int8 weights keep accuracy
# close to float.
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
for id in $ids; do
  for m in spike_rate spikes_per_sample activation_sparsity dead_neuron_fraction \
           membrane_updates_per_sample neuron_ops_effective_per_sample neuron_ops_dense_per_sample \
           synops_ac_per_sample synops_mac_per_sample dense_ops_per_sample energy_pj_per_sample \
           ann_dense_macs_per_sample ann_energy_pj_per_sample energy_ratio connection_sparsity \
           footprint_bytes footprint_with_state_bytes n_params test_acc_int8 model_bytes_fp32 \
           model_bytes_int8 score_acc_over_rate_plus_0_01 score_acc_over_spikes_per_sample \
           train_time_s eval_time_s io_time_s train_samples_per_s latency_ms_per_sample; do
    h5ls "$R/cells/$id/metrics/$m" > /dev/null 2>&1 || fail "cell $id lacks metrics/$m"
  done
  for f in name spike_rate dead_fraction membrane_updates synops_ac synops_mac dense_ops energy_pj \
           connection_sparsity neuron_ops_effective; do
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
  fp=$(scalar "$id" test_acc_final); q=$(scalar "$id" test_acc_int8)
  awk -v f="$fp" -v q="$q" 'BEGIN {exit !(q > f - 5 && q < f + 5)}' || fail "cell $id: int8 acc $q far from $fp"
  b32=$(scalar "$id" model_bytes_fp32); b8=$(scalar "$id" model_bytes_int8)
  awk -v a="$b32" -v b="$b8" 'BEGIN {exit !(b < a / 3)}' || fail "cell $id: int8 size $b8 vs $b32"
done
# The reduce tables.
for s in "### Accuracy" "### Accuracy, spikes and latency" "### Synaptic operations and energy" \
         "### Per layer" "### Int8 weights" "### Timestep study"; do
  grep -qF "$s" "$T/out/summary.md" || fail "summary.md lacks '$s'"
done
grep -q "layer/conv2/synops_ac" "$T/out/summary.csv" || fail "summary.csv lacks per-layer SynOps"
echo "test_metrics_cli: $fails failures"
[ $fails -eq 0 ]
