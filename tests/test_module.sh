#!/usr/bin/env bash
# `cmake --install` into a fresh prefix, then the Lmod modulefile: `module load snnbench` puts
# the installed binary and snnbench-submit on PATH and points the Slurm variables at the
# installed scripts and jobs; `module unload` takes it all back.
set -u
SNNBENCH=$(readlink -f "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
LMOD_INIT=/usr/share/lmod/lmod/init/bash
[ -f "$LMOD_INIT" ] || { echo "FAIL: $LMOD_INIT not found: install the Debian package lmod"; exit 1; }

cmake --install "$(dirname "$SNNBENCH")" --prefix "$T/prefix" > "$T/install.log" 2>&1 \
  || { cat "$T/install.log"; echo "FAIL: cmake --install"; exit 1; }
modfile=$(ls "$T/prefix/share/modulefiles/snnbench/"*.lua 2>/dev/null)
[ -n "$modfile" ] || { echo "FAIL: no modulefile installed"; exit 1; }

# A clean login-like shell: only Lmod, our module path, and the checks.
env -i HOME="$T" PATH=/usr/bin:/bin T="$T" bash --noprofile --norc -c '
  set -u
  source '"$LMOD_INIT"'
  module use "$T/prefix/share/modulefiles"
  module load snnbench || { echo "module load failed"; exit 1; }
  echo "snnbench=$(command -v snnbench)"
  echo "submit=$(command -v snnbench-submit)"
  echo "SNNBENCH=$SNNBENCH"
  echo "SLURM_DIR=$SNNBENCH_SLURM_DIR"
  echo "JOBS=$SNNBENCH_JOBS"
  snnbench validate "$SNNBENCH_JOBS/quickstart.json" > /dev/null && echo "validate=ok"
  ls "$SNNBENCH_SLURM_DIR"
  snnbench-submit /nonexistent.json 2>&1 | sed "s/^/submit: /"
  module unload snnbench
  echo "after unload: snnbench=$(command -v snnbench || echo none) SNNBENCH=${SNNBENCH:-unset}"
' > "$T/module.log" 2>&1
cat "$T/module.log"
p=$T/prefix
grep -qx "snnbench=$p/bin/snnbench" "$T/module.log" || fail "snnbench is not the installed binary"
grep -qx "submit=$p/bin/snnbench-submit" "$T/module.log" || fail "snnbench-submit is not on PATH"
grep -qx "SNNBENCH=$p/bin/snnbench" "$T/module.log" || fail "SNNBENCH is not set"
grep -qx "SLURM_DIR=$p/share/snnbench/slurm" "$T/module.log" || fail "SNNBENCH_SLURM_DIR is wrong"
grep -qx "validate=ok" "$T/module.log" || fail "the installed binary cannot validate the installed quickstart"
for f in run.sbatch array.sbatch reduce.sbatch launch.sh submit.sh local-cluster.sh; do
  grep -qx "$f" "$T/module.log" || fail "$f is not installed with the Slurm scripts"
done
# The installed submit helper found its scripts and binary, and stopped at the missing config.
grep -q "submit: submit.sh: /nonexistent.json: no such config file" "$T/module.log" \
  || fail "snnbench-submit did not get as far as the config check"
grep -qx "after unload: snnbench=none SNNBENCH=unset" "$T/module.log" || fail "module unload left things behind"

echo "test_module: $fails failures"
[ "$fails" -eq 0 ]
