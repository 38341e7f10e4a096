#!/usr/bin/env bash
# The git commit a binary records is refreshed at build time, not frozen at configure time.
#   - cmake/git_commit.cmake (run by every build) on a scratch git repository: it writes the
#     commit, rewrites the file after a new commit or an edit (-dirty), leaves it untouched (same
#     mtime, so nothing recompiles) when nothing changed, and says "unknown" outside git;
#   - the binary under test reports the commit its build generated, in `snnbench info` and in a
#     run's context.json (and not "unknown" when the source is a git checkout).
set -u
SNNBENCH=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
command -v git > /dev/null || { echo "FAIL: git is not installed"; exit 1; }
export HOME=$T GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t \
       GIT_COMMITTER_EMAIL=t@t
gen() { cmake -DSRC="$1" -DOUT="$T/git_commit.c" -P "$SRC/cmake/git_commit.cmake"; }
recorded() { sed -n 's/.*return "\(.*\)";.*/\1/p' "$T/git_commit.c"; }
mtime() { stat -c %y "$T/git_commit.c"; }

# --- the generator on a scratch repository
mkdir -p "$T/repo" "$T/nogit"
git -C "$T/repo" init -q
echo one > "$T/repo/file"
git -C "$T/repo" add file && git -C "$T/repo" commit -qm one
gen "$T/repo"
a=$(git -C "$T/repo" describe --always --dirty --abbrev=12)
[ "$(recorded)" = "$a" ] || fail "first build: recorded '$(recorded)', git says '$a'"
before=$(mtime)
sleep 0.05
gen "$T/repo"
[ "$(mtime)" = "$before" ] || fail "an unchanged tree rewrote the file (everything would rebuild)"
echo two > "$T/repo/file"
gen "$T/repo"
[ "$(recorded)" = "$a-dirty" ] || fail "after an edit: recorded '$(recorded)', expected '$a-dirty'"
git -C "$T/repo" commit -qam two
gen "$T/repo"
b=$(git -C "$T/repo" describe --always --dirty --abbrev=12)
[ "$b" != "$a" ] && [ "$(recorded)" = "$b" ] || fail "after a commit: recorded '$(recorded)', git says '$b'"
gen "$T/nogit"
[ "$(recorded)" = "unknown" ] || fail "outside git: recorded '$(recorded)'"
# The generated file compiles against the public header and is what sb_git_commit returns.
grep -q '#include "snnbench/store.h"' "$T/git_commit.c" || fail "the generated file does not include its declaration"

# --- the binary under test records what its build generated (the generator above is what keeps
#     that current; comparing with the live tree instead would fail after every commit made
#     between a build and a test run)
record="$(dirname "$SNNBENCH")/generated/git_commit.c"
if [ -f "$record" ]; then
  want=$(sed -n 's/.*return "\(.*\)";.*/\1/p' "$record")
  got=$("$SNNBENCH" info | sed -n 's/^snnbench .*(git \([^,]*\),.*/\1/p')
  [ -n "$want" ] && [ "$got" = "$want" ] \
    || fail "snnbench info says git '$got', its build recorded '$want'"
  if git -C "$SRC" rev-parse --git-dir > /dev/null 2>&1; then
    [ "$want" != "unknown" ] || fail "the source is a git checkout, but the build recorded 'unknown'"
  fi
  printf '{"data": {"train_size": 64, "val_size": 32, "test_size": 32}, "train": {"epochs": 1}}' > "$T/c.json"
  OMP_NUM_THREADS=1 "$SNNBENCH" run "$T/c.json" --out "$T/run" --no-reduce > "$T/run.log" 2>&1 \
    || { cat "$T/run.log"; fail "the run failed"; }
  grep -q "\"git_commit\":[[:space:]]*\"$want\"" "$T/run/context.json" \
    || fail "context.json does not record git '$want': $(grep git_commit "$T/run/context.json")"
else
  fail "no $record next to the binary under test"
fi

echo "test_provenance: $fails failures"
[ $fails -eq 0 ]
