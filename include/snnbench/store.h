/* Storage of a run directory:
 *
 *   OUT/config.json        the experiment file as given
 *   OUT/context.json       run context (versions, hosts, Slurm, command line)
 *   OUT/ledger.jsonl       append-only: one JSON line per cell event (started/done/failed)
 *   OUT/cells/<id>.h5      one file per finished cell, written to a temp name, fsynced, renamed
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
typedef struct {
  const char *event;  /* started, done, failed */
  const char *cell;
  int rank;
  const char *host;
  int attempt;
  const char *message;  /* failure reason, or NULL */
  double seconds;       /* cell wall time for done/failed */
} sb_ledger_entry;

sb_status sb_ledger_append(const char *out_dir, const sb_ledger_entry *e);

typedef struct {
  char id[17];
  int started, done, failed;  /* counts of events */
  int last_attempt;
} sb_ledger_cell;

/* Reads the ledger into a per-cell summary (n cells). Lines that do not parse (a torn last line
 * after a crash) are skipped with a warning count. */
sb_status sb_ledger_read(const char *out_dir, sb_ledger_cell **cells, int *n, int *bad_lines);
const sb_ledger_cell *sb_ledger_find(const sb_ledger_cell *cells, int n, const char *id);

/* --- run context --- */
/* Builds the context object on rank 0 (hosts: one name per rank). */
cJSON *sb_context_build(const sb_experiment *e, char **hosts, int n_ranks, int argc, char **argv);

/* Prints the build and runtime environment (`snnbench info`). */
void sb_print_info(void);

/* --- files --- */
sb_status sb_mkdir_p(const char *path);
/* Writes text to path atomically (temp, fsync, rename, fsync directory). */
sb_status sb_write_file_atomic(const char *path, const char *text, size_t n);
sb_status sb_fsync_dir(const char *dir);

/* Merges every done cell into OUT/results.h5 (atomically). missing receives the number of grid
 * cells without a done file. */
sb_status sb_merge(const char *out_dir, int *n_merged, int *n_missing);

#endif
