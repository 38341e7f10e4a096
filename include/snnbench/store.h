/* Storage of a run directory:
 *
 *   OUT/config.json        the experiment file as given
 *   OUT/context.json       run context of the first start (versions, hosts, Slurm, command line)
 *   OUT/contexts/          the context of every start of the run (first start, resumes, requeues)
 *   OUT/ledger*.jsonl      append-only: one JSON line per cell event (started/done/failed/...)
 *   OUT/cells/<id>.h5      one file per finished cell, written to a temp name, fsynced, renamed
 *   OUT/checkpoints/<id>.ckpt  the training state of unfinished cells (src/train/checkpoint.c)
 *   OUT/results.h5         all finished cells under /cells/<id>, plus /context
 *
 * A cell file is only trusted when the ledger says the cell is done. */
#ifndef SNNBENCH_STORE_H
#define SNNBENCH_STORE_H

#include "snnbench/config.h"
#include "snnbench/error.h"
#include "snnbench/train.h"

typedef struct cJSON cJSON;

/* Writes OUT/cells/<id>.h5 atomically. */
sb_status sb_cell_write(const char *out_dir, const sb_cell *cell, const sb_trial_result *r,
                        const char *host, int rank, int attempt);

/* --- ledger --- */
/* Events: "started" (attempt n handed to a rank), "done", "failed" (with the reason),
 * "interrupted" (stopped by a signal, with where it was checkpointed). An attempt that has a
 * "started" but no closing event was lost (its rank was killed). A run writes OUT/ledger.jsonl;
 * a shard of a run (--shard i/n, job arrays) writes OUT/ledger.shard-<i>-of-<n>.jsonl, so that
 * concurrent shards never append to one file. Readers take the union of all ledger files. */
typedef struct {
  const char *event;
  const char *cell;
  int rank;
  const char *host;
  int attempt;
  const char *message;  /* failure reason or other detail, or NULL */
  double seconds;       /* cell wall time for done/failed/interrupted */
  const char *job;      /* Slurm job ("123" or "120_3" for an array task), or NULL */
  int restart;          /* SLURM_RESTART_COUNT, or -1 */
} sb_ledger_entry;

/* Appends one line to OUT/<ledger_name> with one write() and fsyncs it. */
sb_status sb_ledger_append(const char *out_dir, const char *ledger_name, const sb_ledger_entry *e);

typedef struct {
  char id[17];
  int started, done, failed, interrupted;  /* counts of events */
  int last_attempt;
  /* Seconds of a "done" attempt that trained the whole cell (not resumed from a checkpoint), or
   * 0: with the cost model this calibrates the ETA of a resumed run before any cell finishes. */
  double whole_seconds;
} sb_ledger_cell;

/* Attempts that count against a retry cap: every start except those that ended interrupted
 * (being stopped by the scheduler is not the cell's fault). */
static inline int sb_ledger_counted_attempts(const sb_ledger_cell *c) {
  return c->started - c->interrupted;
}

/* Reads every ledger file of OUT into a per-cell summary (n cells). Lines that do not parse (a
 * torn last line after a crash) are skipped and counted in bad_lines. */
sb_status sb_ledger_read(const char *out_dir, sb_ledger_cell **cells, int *n, int *bad_lines);
const sb_ledger_cell *sb_ledger_find(const sb_ledger_cell *cells, int n, const char *id);

/* --- run context --- */
/* The source's `git describe --always --dirty --abbrev=12` when this binary was built (refreshed
 * at every build, see cmake/git_commit.cmake), or "unknown" outside a git checkout. */
const char *sb_git_commit(void);
/* Builds the context object on rank 0 (hosts: one name per rank). */
cJSON *sb_context_build(const sb_experiment *e, char **hosts, int n_ranks, int argc, char **argv);
/* Adds "start": how this start came about — "new" or "resume", the shard ("i/n" or null) and
 * the Slurm job, array task and restart count (null outside Slurm). */
void sb_context_add_start(cJSON *ctx, int resumed, int shard_index, int shard_count);
/* Keeps the history of a run's starts: writes ctx to OUT/contexts/<time>-<host>-<pid>.json and,
 * on the first start only, to OUT/context.json. A resume or requeue adds a file and never
 * overwrites an earlier one. */
sb_status sb_context_save(const char *out_dir, const cJSON *ctx);
/* Every OUT/contexts/ file in start order, as a JSON array (caller frees). */
cJSON *sb_context_history(const char *out_dir);

/* Prints the build and runtime environment (`snnbench info`). */
void sb_print_info(void);

/* --- files --- */
sb_status sb_mkdir_p(const char *path);
/* ".tmp.<host>.<pid>": a temp-file suffix no other process writing into the same (possibly
 * shared, multi-node) directory can produce. */
const char *sb_tmp_suffix(void);
/* Writes text to path atomically (temp, fsync, rename, fsync directory). */
sb_status sb_write_file_atomic(const char *path, const char *text, size_t n);
sb_status sb_fsync_dir(const char *dir);

/* What a run directory holds, from its grid and ledgers: cells done, and for the others whether
 * they are pending, started (running, or lost with their rank), interrupted, failed, and where
 * their checkpoint stands. Prints one line per cell that is not done when `print`. */
sb_status sb_run_status(const char *out_dir, int print, int *n_done, int *n_cells);

/* Merges every done cell into OUT/results.h5 (atomically). missing receives the number of grid
 * cells without a done file. */
sb_status sb_merge(const char *out_dir, int *n_merged, int *n_missing);

#endif
