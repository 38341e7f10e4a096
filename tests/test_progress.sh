#!/usr/bin/env bash
# Rank 0's progress lines. In a file (a Slurm log): one plain line per event whose counters
# `[k/N done, r running, f failed, <elapsed>, ETA <eta>]` add up (every start and done is there
# once, k climbs to N by one per done, r stays within the ranks, the ETA is known once a cell
# finished and ends at 0s), and no terminal control codes. After a resume the ETA is known from
# the first event, calibrated on the cells the ledger says finished earlier. On a terminal
# (a pty from `script`), the live status line is drawn with carriage return + erase-line.
set -u
SNNBENCH=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
export OMP_NUM_THREADS=1

cat > "$T/grid.json" <<EOF2
{
  "name": "progress",
  "data": {"name": "fashion-mnist", "train_size": 256, "val_size": 64, "test_size": 64},
  "train": {"epochs": 1, "batch_size": 64},
  "grid": {"timesteps": [1, 2, 3], "seed": [0, 1]}
}
EOF2

# check_lines LOG N RANKS [resumed]: the event lines of LOG are consistent for N cells to run on
# RANKS ranks; "resumed": the ETA must be known from the first line on.
check_lines() {
  /usr/bin/python3 - "$@" <<'PY'
import re, sys
log, n, ranks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
resumed = len(sys.argv) > 4
text = open(log, encoding="utf-8").read()
errors = []
if "\r" in text or "\033" in text:
    errors.append("terminal control codes in a file")
pat = re.compile(r"^\[(\d+)/(\d+) done, (\d+) running, (\d+) failed(?:, \d+ stopped)?, "
                 r"(\S+), ETA (\S+)\] (start|done|FAILED|stopped) ")
lines = [m for m in map(pat.match, text.splitlines()) if m]
starts = sum(m.group(7) == "start" for m in lines)
dones = sum(m.group(7) == "done" for m in lines)
if starts != n or dones != n:
    errors.append("%d start and %d done lines, expected %d each" % (starts, dones, n))
prev_done, first_done_seen = None, False
for i, m in enumerate(lines):
    k, total, running, failed, eta, what = (int(m.group(1)), int(m.group(2)), int(m.group(3)),
                                            int(m.group(4)), m.group(6), m.group(7))
    where = "line %d: %s" % (i + 1, m.group(0))
    if total != int(lines[0].group(2)):
        errors.append("%s: the total changed" % where)
    if failed:
        errors.append("%s: failed cells" % where)
    if not 0 <= running <= ranks:
        errors.append("%s: %d running on %d ranks" % (where, running, ranks))
    if prev_done is not None and k != prev_done + (what == "done"):
        errors.append("%s: done went from %d to %d" % (where, prev_done, k))
    prev_done = k
    first_done_seen |= what == "done"
    if eta != "--" and not re.fullmatch(r"(\d+s|\d+m\d\ds|\d+h\d\dm)", eta):
        errors.append("%s: bad ETA %r" % (where, eta))
    if (first_done_seen or resumed) and eta == "--":
        errors.append("%s: ETA unknown although finished cells calibrate it" % where)
    if not resumed and not first_done_seen and eta != "--":
        errors.append("%s: ETA before any cell finished" % where)
if not lines:
    errors.append("no progress lines")
else:
    last = lines[-1]
    if int(last.group(1)) != int(last.group(2)) or last.group(6) != "0s" or last.group(3) != "0":
        errors.append("last line is not [N/N done, 0 running, ..., ETA 0s]: " + last.group(0))
print("%d progress lines checked" % len(lines))
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
PY
}

# --- line mode: 2 ranks, output to a file
mpirun -np 2 --oversubscribe "$SNNBENCH" run "$T/grid.json" --out "$T/run" --no-reduce \
  > "$T/run.log" 2>&1 || { cat "$T/run.log"; fail "the 2-rank run failed"; }
check_lines "$T/run.log" 6 2 || { cat "$T/run.log"; fail "inconsistent progress lines (2 ranks)"; }

# --- after a resume: half the grid (one shard) first, then the whole grid with --resume. The
# cells of the first start calibrate the ETA of the second from its first line.
"$SNNBENCH" run "$T/grid.json" --out "$T/res" --shard 0/2 --no-reduce > "$T/res0.log" 2>&1 \
  || { cat "$T/res0.log"; fail "shard 0/2 failed"; }
"$SNNBENCH" run "$T/grid.json" --out "$T/res" --resume --no-reduce > "$T/res1.log" 2>&1 \
  || { cat "$T/res1.log"; fail "the resume failed"; }
grep -q "^\[3/6 done, 1 running, 0 failed, [^,]*, ETA [0-9][^]]*\] start " "$T/res1.log" \
  || { cat "$T/res1.log"; fail "the first event after the resume does not show 3/6 done with a known ETA"; }
check_lines "$T/res1.log" 3 1 resumed || { cat "$T/res1.log"; fail "inconsistent progress lines after the resume"; }

# --- live mode, on a pseudo-terminal
if command -v script > /dev/null; then
  for launch in "" "mpirun -np 2 --oversubscribe"; do
    out=$T/live${launch:+-mpi}
    script -qec "$launch $SNNBENCH run $T/grid.json --out $out --no-reduce" "$T/typescript" \
      > /dev/null 2>&1 < /dev/null || { cat "$T/typescript"; fail "the run on a pty failed (${launch:-1 rank})"; }
    # The live line: carriage return, erase line, the counters; and the final state shown.
    grep -q $'\r\033\[K\[[0-9]*/6 done' "$T/typescript" \
      || { cat -v "$T/typescript"; fail "no live status line on a terminal (${launch:-1 rank})"; }
    grep -q "6/6 done, 0 running, 0 failed, [^,]*, ETA 0s\] done" "$T/typescript" \
      || fail "the final event line is missing on the terminal (${launch:-1 rank})"
  done
else
  echo "note: \`script\` (bsdutils) is not installed: live mode on a terminal is not tested"
fi

echo "test_progress: $fails failures"
[ $fails -eq 0 ]
