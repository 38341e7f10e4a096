#!/usr/bin/env bash
# The files `reduce` writes, against values recomputed by hand from results.h5: for every
# /metrics scalar of every group, n, mean, SD (n - 1) and the Student-t 95% half-width in
# summary.csv and summary.json. The CSV is RFC 4180: an axis value with quotes, a comma and
# 150+ characters (a model spec file name) comes back whole from a CSV parser.
set -u
SNNBENCH=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
export OMP_NUM_THREADS=1

# A small spec under an awkward name, and a grid over it and a built-in model.
weird="m \"q\", $(printf 'x%.0s' $(seq 1 150)).json"
cat > "$T/$weird" <<'SPEC'
{"layers": [{"name": "fc1", "type": "linear", "out": 32}, {"name": "lif1", "type": "neuron"},
            {"name": "fc2", "type": "linear", "out": 10}, {"type": "mean_time"}]}
SPEC
/usr/bin/python3 - "$T/grid.json" "$weird" <<'PY'
import json, sys
json.dump({"name": "reduce_files",
           "data": {"name": "fashion-mnist", "train_size": 256, "val_size": 64, "test_size": 64},
           "train": {"epochs": 1, "batch_size": 64}, "timesteps": 1,
           "grid": {"model": [sys.argv[2], "baseline_lif"], "seed": [0, 1, 2]}},
          open(sys.argv[1], "w"))
PY
"$SNNBENCH" run "$T/grid.json" --out "$T/run" > "$T/run.log" 2>&1 || { cat "$T/run.log"; fail "the run failed"; }

/usr/bin/python3 - "$T/run" "$weird" <<'PY' || fail "summary.csv / summary.json do not match the hand-computed statistics"
import csv, json, math, sys
import h5py

run, weird = sys.argv[1], sys.argv[2]
T975 = {2: 4.302652729911275}  # Student t, 0.975 quantile, n - 1 = 2 degrees of freedom
grid = json.load(open(run + "/grid.json"))
values = {}  # model -> metric -> [per-seed values]
with h5py.File(run + "/results.h5", "r") as f:
    for c in grid["cells"]:
        metrics = f["cells"][c["id"]]["metrics"]
        for name in metrics:
            v = float(metrics[name][()])
            if not math.isnan(v):
                values.setdefault(c["axes"]["model"], {}).setdefault(name, []).append(v)

def expected(vals):
    n = len(vals)
    mean = sum(vals) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1))
    return {"n": n, "mean": mean, "sd": sd, "ci95_half": T975[n - 1] * sd / math.sqrt(n)}

def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-300

errors, checked = [], 0
rows = list(csv.reader(open(run + "/summary.csv", newline="")))
header = rows[0]
if header[:2] != ["model", "metric"]:
    errors.append("CSV header starts %r" % header[:2])
for i, r in enumerate(rows[1:], 2):
    if len(r) != len(header):
        errors.append("CSV line %d has %d fields, the header %d" % (i, len(r), len(header)))
models = {r[0] for r in rows[1:]}
if models != {weird, "baseline_lif"}:
    errors.append("CSV model values %r, expected the spec name whole and baseline_lif" %
                  sorted(models))
csv_rows = {(r[0], r[1]): dict(zip(header, r)) for r in rows[1:] if len(r) == len(header)}
summary = json.load(open(run + "/summary.json"))
json_groups = {g["axes"]["model"]: g["metrics"] for g in summary["groups"]}
for model, metrics in values.items():
    for name, vals in metrics.items():
        if len(vals) != 3:
            errors.append("%s %s: %d values" % (model, name, len(vals)))
            continue
        want = expected(vals)
        row = csv_rows.get((model, name))
        jm = json_groups.get(model, {}).get(name)
        if row is None or jm is None:
            errors.append("%s %s: missing from the %s" % (model, name, "CSV" if row is None else "JSON"))
            continue
        for k, w in want.items():
            # The CSV prints 10 significant digits; the JSON keeps the double, except that the
            # t quantile is computed numerically to ~1e-10 (test_stats checks it to 1e-9).
            if not close(float(row[k]), w, 1e-9):
                errors.append("CSV %s %s %s: %s, expected %.12g" % (model, name, k, row[k], w))
            if not close(float(jm[k]), w, 1e-9 if k == "ci95_half" else 1e-12):
                errors.append("JSON %s %s %s: %r, expected %r" % (model, name, k, jm[k], w))
        checked += 1
print("checked %d metrics x 4 statistics in summary.csv and summary.json" % checked)
for e in errors[:20]:
    print("  " + e)
sys.exit(1 if errors or checked < 20 else 0)
PY

echo "test_reduce_files: $fails failures"
[ $fails -eq 0 ]
