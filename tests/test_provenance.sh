#!/usr/bin/env bash
# The git commit a binary records is refreshed at build time, not frozen at configure time.
#   - cmake/git_commit.cmake (run by every build) on a scratch git repository: it writes the
#     commit, rewrites the file after a new commit or an edit (-dirty), leaves it untouched (same
#     mtime, so nothing recompiles) when nothing changed, and says "unknown" outside git;
#   - the binary under test reports the source tree's current `git describe` in `snnbench info`
#     and in a run's context.json (only when the source is a git checkout).
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

# --- the binary under test against its source tree
if git -C "$SRC" rev-parse --git-dir > /dev/null 2>&1; then
  want=$(git -C "$SRC" describe --always --dirty --abbrev=12)
  got=$("$SNNBENCH" info | sed -n 's/^snnbench .*(git \([^,]*\),.*/\1/p')
  [ "$got" = "$want" ] || fail "snnbench info says git '$got', the source tree is '$want' (rebuild after committing?)"
  printf '{"data": {"train_size": 64, "val_size": 32, "test_size": 32}, "train": {"epochs": 1}}' > "$T/c.json"
  OMP_NUM_THREADS=1 "$SNNBENCH" run "$T/c.json" --out "$T/run" --no-reduce > "$T/run.log" 2>&1 \
    || { cat "$T/run.log"; fail "the run failed"; }
  grep -q "\"git_commit\":[[:space:]]*\"$want\"" "$T/run/context.json" \
    || fail "context.json does not record git '$want': $(grep git_commit "$T/run/context.json")"
else
  echo "note: $SRC is not a git checkout: the binary's commit is not compared"
fi

echo "test_provenance: $fails failures"
[ $fails -eq 0 ]
