/* The grid runner. Rank 0 is the coordinator and also a worker: it trains cells itself and, via
 * the trainer's between-batch hook, answers other ranks' requests for work, so one slow cell
 * never stalls the grid and `-np 1` is the same code path with no peers. Cells go out largest
 * estimated cost first. Only rank 0 writes the ledger; each rank writes its own cell files.
 *
 * Faults. Every cell checkpoints at each epoch end. SIGTERM/SIGUSR1 on any rank start a drain:
 * rank 0 hands out no more cells and sends TAG_STOP to every rank that trains one; each such
 * cell checkpoints after its current batch and is logged "interrupted"; the run then exits with
 * SB_EINTERRUPTED (75). --resume skips done cells, reruns interrupted, lost and failed ones (each
 * from its checkpoint when it has one) up to --max-attempts, and never trusts a cell file the
 * ledger does not mark done. */
#include "snnbench/run.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <mpi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snnbench/arena.h"
#include "snnbench/config.h"
#include "snnbench/data.h"
#include "snnbench/pipeline.h"
#include "snnbench/interrupt.h"
#include "snnbench/reduce.h"
#include "snnbench/store.h"
#include "snnbench/train.h"
#include "grid/progress.h"
#include "store/h5util.h"

enum { TAG_REPORT = 11, TAG_ASSIGN = 12, TAG_STOP = 13 };
enum { MSG_READY = 0, MSG_DONE = 1, MSG_FAILED = 2, MSG_INTERRUPTED = 3 };

/* Worker → coordinator: the previous cell's outcome doubles as a request for the next one. The
 * answer is {cell or -1, attempt, whether a TAG_STOP was sent to this rank}. */
typedef struct {
  int kind;
  int cell;
  int attempt;
  int stopping;      /* this rank was asked to stop (a signal, or rank 0's stop message) */
  int resumed;       /* the cell continued from its checkpoint ... */
  int resume_epoch;  /* ... taken in this epoch, after this many batches */
  long resume_batch;
  double seconds;
  double test_acc;
  char message[400];
} report_msg;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ validation */

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* What a cell's training holds at once, from a plan-only build at batch size B: the model's
 * arenas (activations, workspace, parameters, gradients), the optimiser's moments and the input
 * batch. More than this machine's physical memory is an input error: it would otherwise end in
 * an allocation failure or the OOM killer, after the run directory exists. */
static sb_status check_cell_memory(const sb_experiment *e, const sb_cell *c,
                                   const sb_pipeline *pipe, const sb_model *m, int B) {
  const size_t have = sb_physical_memory_bytes();
  if (!have) return SB_OK;  /* unknown: the arena commit still fails cleanly */
  const int T = sb_cell_max_timesteps(&c->cfg);
  const int moments = strcmp(c->cfg.train.optimizer, "sgd") ? 2 : 1;
  const size_t acts = m->acts.bytes;
  const size_t params = add_sat(m->param_arena.bytes,
                                (size_t)m->n_param_values * moments * sizeof(float));
  const long batch_floats = sb_pipeline_batch_floats(pipe, T, B);
  const size_t batch = batch_floats < 0 ? SIZE_MAX : (size_t)batch_floats * sizeof(float);
  const size_t need = add_sat(add_sat(acts, params), batch);
  if (need <= have) return SB_OK;
  char *axes = cJSON_PrintUnformatted(c->axes);
  char n0[32], n1[32], n2[32], n3[32], n4[32];
  sb_status st = sb_fail(
      SB_EINPUT, "%s: cell %s %s (model %s): batch size %d at T=%d needs %s of memory "
      "(activations and workspace %s, parameters, gradients and optimiser state %s, input batch "
      "%s), more than this machine's %s of physical memory; %s", e->path, c->id, axes,
      c->cfg.model, B, T, sb_bytes_str(need, n0, sizeof n0), sb_bytes_str(acts, n1, sizeof n1),
      sb_bytes_str(params, n2, sizeof n2), sb_bytes_str(batch, n3, sizeof n3),
      sb_bytes_str(have, n4, sizeof n4),
      params > acts ? "the model is too large for this machine"
                    : "lower train.batch_size / eval.batch_size or timesteps");
  free(axes);
  return st;
}

/* Loads datasets, checks each cell's data settings and splits, builds each model once and
 * estimates cell costs: every input error surfaces here, before any output exists. */
static sb_status prepare_cells(sb_experiment *e) {
  for (int i = 0; i < e->n_cells; i++) {
    sb_cell *c = &e->cells[i];
    sb_data_source src;
    sb_status st = sb_pipeline_source(e, &c->cfg, &src);
    if (st) return st;
    const sb_dataset *d;
    if ((st = sb_dataset_get(&src, &d))) return st;
    const uint64_t split_seed =
        c->cfg.data.split_seed >= 0 ? (uint64_t)c->cfg.data.split_seed : (uint64_t)c->cfg.seed;
    sb_split_view v;
    if ((st = sb_split_view_make(d, c->cfg.data.subset, c->cfg.data.train_size,
                                 c->cfg.data.val_size, c->cfg.data.test_size, split_seed, &v))) {
      sb_error_prefix("%s: ", e->path);
      return st;
    }
    const long n_train = v.n_train;
    sb_split_view_free(&v);
    sb_pipeline *pipe;
    if ((st = sb_pipeline_create(&c->cfg, d, &pipe))) {
      sb_error_prefix("%s: ", e->path);
      return st;
    }
    /* Built as training will build it, at the larger of the two batch sizes, but only planned:
     * nothing is allocated, so a cell too large for this machine is refused here, up front. */
    const int Bmax = c->cfg.train.batch_size > c->cfg.eval.batch_size ? c->cfg.train.batch_size
                                                                      : c->cfg.eval.batch_size;
    sb_model *m = NULL;
    sb_arena_plan_only(1);
    st = sb_build_cell_model(e, &c->cfg, pipe, d->n_classes, Bmax, &m);
    sb_arena_plan_only(0);
    if (!st) st = check_cell_memory(e, c, pipe, m, Bmax);
    sb_pipeline_free(pipe);
    if (st) {
      if (m) sb_model_free(m);
      return st;
    }
    /* Work ∝ samples × steps × weights: a relative estimate, good enough to order cells. */
    c->cost = (double)c->cfg.train.epochs * (double)n_train * c->cfg.timesteps *
              (double)m->n_param_values;
    sb_model_free(m);
  }
  return SB_OK;
}

sb_status sb_validate(const char *config, int print) {
  sb_experiment e;
  sb_status st = sb_experiment_load(config, &e);
  if (!st) st = prepare_cells(&e);
  if (!st && print) {
    printf("%s: experiment \"%s\", %d cell%s", config, e.name, e.n_cells, e.n_cells == 1 ? "" : "s");
    if (e.n_axes) {
      printf(" over");
      for (int a = 0; a < e.n_axes; a++) printf(" %s", e.axes[a]);
    }
    printf("\n");
    double total = 0;
    for (int i = 0; i < e.n_cells; i++) total += e.cells[i].cost;
    for (int i = 0; i < e.n_cells; i++) {
      char *axes = cJSON_PrintUnformatted(e.cells[i].axes);
      printf("  %s  cost %5.1f%%  %s\n", e.cells[i].id, 100.0 * e.cells[i].cost / total, axes);
      free(axes);
    }
  }
  sb_experiment_free(&e);
  return st;
}

/* ------------------------------------------------------------------ run directory */

static sb_status write_grid_json(const sb_experiment *e, const char *out) {
  cJSON *g = cJSON_CreateObject();
  cJSON_AddStringToObject(g, "experiment", e->name);
  cJSON *axes = cJSON_AddArrayToObject(g, "axes");
  for (int a = 0; a < e->n_axes; a++) cJSON_AddItemToArray(axes, cJSON_CreateString(e->axes[a]));
  cJSON *cells = cJSON_AddArrayToObject(g, "cells");
  for (int i = 0; i < e->n_cells; i++) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "id", e->cells[i].id);
    cJSON_AddItemToObject(c, "axes", cJSON_Duplicate(e->cells[i].axes, 1));
    cJSON_AddItemToObject(c, "config", cJSON_Duplicate(e->cells[i].resolved, 1));
    cJSON_AddItemToArray(cells, c);
  }
  char *text = cJSON_Print(g);
  cJSON_Delete(g);
  char path[1100];
  snprintf(path, sizeof path, "%s/grid.json", out);
  sb_status st = sb_write_file_atomic(path, text, strlen(text));
  free(text);
  return st;
}

/* Same cell ids as the stored grid, or the config changed under a resumed run. */
static sb_status check_same_grid(const sb_experiment *e, const char *out) {
  char path[1100];
  snprintf(path, sizeof path, "%s/grid.json", out);
  char *text = NULL;
  cJSON *g = NULL;
  extern sb_status sb_json_parse_file(const char *, char **, cJSON **);
  sb_status st = sb_json_parse_file(path, &text, &g);
  free(text);
  if (st) return sb_fail(SB_EINPUT, "--resume: %s holds no run to resume (%s)", out, sb_errmsg());
  const cJSON *cells = cJSON_GetObjectItemCaseSensitive(g, "cells");
  int same = cJSON_GetArraySize(cells) == e->n_cells;
  for (int i = 0; same && i < e->n_cells; i++) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cells, i), "id");
    same = cJSON_IsString(id) && !strcmp(id->valuestring, e->cells[i].id);
  }
  cJSON_Delete(g);
  if (!same)
    return sb_fail(SB_EINPUT, "--resume: %s was started from a different config (the cell ids "
                   "differ); use a new --out", out);
  return SB_OK;
}

/* The run directory, and every directory above it that exists, must be a directory: a regular
 * file there is a mistake in --out (or the config's name), refused before anything is made. */
static sb_status check_out_path(const sb_run_opts *o, const char *out) {
  char prefix[1024];
  const size_t n = strlen(out);
  for (size_t k = 1; k <= n; k++) {
    if (k < n && out[k] != '/') continue;
    if (k >= sizeof prefix) break;
    memcpy(prefix, out, k);
    prefix[k] = 0;
    struct stat s;
    if (stat(prefix, &s) == 0 && !S_ISDIR(s.st_mode)) {
      const char *what = o->out_dir ? "--out" : "run directory";
      if (k == n) return sb_fail(SB_EINPUT, "%s %s: exists and is not a directory", what, out);
      return sb_fail(SB_EINPUT, "%s %s: %s is not a directory", what, out, prefix);
    }
  }
  return SB_OK;
}

static sb_status setup_out_dir(const sb_experiment *e, const sb_run_opts *o, const char *out,
                               char **hosts, int n_ranks) {
  sb_status cst = check_out_path(o, out);
  if (cst) return cst;
  char path[1100];
  snprintf(path, sizeof path, "%s/grid.json", out);
  struct stat s;
  const int has_run = stat(path, &s) == 0;
  /* --resume continues the run in `out`, or starts one there if there is none, so the same
   * command line serves the first start and every restart (a requeued Slurm job). */
  const int resuming = o->resume && has_run;
  if (resuming) {
    sb_status st = check_same_grid(e, out);
    if (st) return st;
  } else if (has_run) {
    return sb_fail(SB_EINPUT, "--out %s already holds a run; add --resume to continue it or choose "
                   "another directory", out);
  }
  const char *const subdirs[] = {"cells", "checkpoints"};
  for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
    snprintf(path, sizeof path, "%s/%s", out, subdirs[i]);
    sb_status st = sb_mkdir_p(path);
    if (st) return st;
  }
  sb_status st;
  if (!resuming) {
    snprintf(path, sizeof path, "%s/config.json", out);
    if ((st = sb_write_file_atomic(path, e->text, strlen(e->text)))) return st;
    if ((st = write_grid_json(e, out))) return st;
  }
  /* Each start adds its own context file: requeues and resumes keep a history. */
  cJSON *ctx = sb_context_build(e, hosts, n_ranks, o->argc, o->argv);
  sb_context_add_start(ctx, resuming, o->shard_index, o->shard_count);
  st = sb_context_save(out, ctx);
  cJSON_Delete(ctx);
  return st;
}

/* ------------------------------------------------------------------ coordinator */

typedef struct {
  sb_experiment *e;
  const sb_run_opts *o;
  const char *out;
  char ledger_name[64];
  char job[64];        /* Slurm job for the ledger, "" outside Slurm */
  int restart;         /* SLURM_RESTART_COUNT or -1 */
  char **hosts;
  int n_ranks;
  int *queue;          /* cell indices, largest cost first */
  int n_queue, next;
  int *attempt;        /* per cell: number of its latest attempt */
  double *started_at;  /* per cell: when its current attempt was handed out */
  int *rank_cell;      /* per rank: the cell it trains, or -1 */
  int *stop_sent;      /* per rank: a TAG_STOP went out to it */
  MPI_Request *stop_requests;
  int n_stop_requests;
  int done, failed, interrupted, running, total;
  int stopped;         /* workers told to stop */
  int draining;        /* a stop was requested: hand out nothing, stop the running cells */
  /* ETA calibration: cells finished in this start, and whole cells of earlier starts */
  double cost_done, seconds_done;
  sb_progress progress;
  int had_error;       /* ledger write failed */
} coordinator;

/* Seconds left, from the cost model calibrated on the cells finished so far: the remaining
 * cost spread over the ranks, but never less than the longest running cell still needs. */
static double eta_seconds(const coordinator *co) {
  if (co->cost_done <= 0) return -1;
  const double spc = co->seconds_done / co->cost_done, t = now_s();
  double total = 0, longest = 0;
  for (int q = co->next; q < co->n_queue && !co->draining; q++)
    total += co->e->cells[co->queue[q]].cost * spc;
  for (int r = 0; r < co->n_ranks; r++) {
    const int c = co->rank_cell[r];
    if (c < 0) continue;
    double left = co->e->cells[c].cost * spc - (t - co->started_at[c]);
    if (left < 0) left = 0;
    total += left;
    if (left > longest) longest = left;
  }
  const double spread = total / co->n_ranks;
  return spread > longest ? spread : longest;
}

static sb_progress_counts counts(const coordinator *co) {
  sb_progress_counts c = {co->done, co->total, co->running, co->failed, co->interrupted,
                          eta_seconds(co)};
  return c;
}

static void event(coordinator *co, const char *what, int cell, int rank, const char *extra) {
  const sb_cell *c = &co->e->cells[cell];
  char *axes = cJSON_PrintUnformatted(c->axes);
  const sb_progress_counts k = counts(co);
  sb_progress_event(&co->progress, &k, "%s %s %s on rank %d%s%s", what, c->id, axes, rank,
                    extra ? ": " : "", extra ? extra : "");
  free(axes);
}

static void ledger(coordinator *co, const char *event_name, int cell, int rank, double seconds,
                   const char *message) {
  sb_ledger_entry le = {event_name, co->e->cells[cell].id, rank, co->hosts[rank],
                        co->attempt[cell], message, seconds, co->job[0] ? co->job : NULL,
                        co->restart};
  if (sb_ledger_append(co->out, co->ledger_name, &le)) {
    fprintf(stderr, "snnbench: %s\n", sb_errmsg());
    sb_clear_error();
    co->had_error = 1;
  }
}

static void checkpoint_path(const char *out, const sb_cell *c, char *buf, size_t n) {
  snprintf(buf, n, "%s/checkpoints/%s.ckpt", out, c->id);
}

/* A stop was requested (a signal here, or a rank reported one): hand out no more cells and tell
 * every rank that trains one to checkpoint it now. Rank 0's own cell stops at its next batch. */
static void begin_draining(coordinator *co, const char *why) {
  if (co->draining) return;
  co->draining = 1;
  sb_interrupt_request();
  const sb_progress_counts k = counts(co);
  sb_progress_event(&co->progress, &k, "stop requested (%s): checkpointing the running cells",
                    why);
  static const int stop = 1;
  for (int r = 1; r < co->n_ranks; r++) {
    if (co->rank_cell[r] < 0 || co->stop_sent[r]) continue;
    MPI_Isend(&stop, 1, MPI_INT, r, TAG_STOP, MPI_COMM_WORLD,
              &co->stop_requests[co->n_stop_requests++]);
    co->stop_sent[r] = 1;
  }
}

static void check_signal(coordinator *co) {
  if (co->draining || !sb_interrupt_requested()) return;
  const int sig = sb_interrupt_signal();
  char why[64];
  snprintf(why, sizeof why, "%s on rank 0",
           sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "signal");
  begin_draining(co, why);
}

/* Next cell for `rank`, with its "started" event logged; -1 when the queue is empty or the run
 * is stopping. */
static int assign(coordinator *co, int rank) {
  if (co->draining || co->next >= co->n_queue) return -1;
  const int cell = co->queue[co->next++];
  co->attempt[cell]++;
  co->running++;
  co->started_at[cell] = now_s();
  co->rank_cell[rank] = cell;
  ledger(co, "started", cell, rank, 0, NULL);
  char extra[64] = "";
  if (co->attempt[cell] > 1) snprintf(extra, sizeof extra, "attempt %d", co->attempt[cell]);
  event(co, "start ", cell, rank, extra[0] ? extra : NULL);
  return cell;
}

static void record(coordinator *co, const report_msg *m, int rank) {
  if (m->kind == MSG_READY) return;
  co->running--;
  co->rank_cell[rank] = -1;
  const sb_cell *c = &co->e->cells[m->cell];
  char resumed[96] = "";
  if (m->resumed)
    snprintf(resumed, sizeof resumed, "resumed from its checkpoint in epoch %d after batch %ld",
             m->resume_epoch + 1, m->resume_batch);
  char extra[600];
  if (m->kind == MSG_DONE) {
    co->done++;
    ledger(co, "done", m->cell, rank, m->seconds, resumed[0] ? resumed : NULL);
    /* Only the part of the cell trained here calibrates the ETA. */
    const double share = 1.0 - (double)m->resume_epoch / c->cfg.train.epochs;
    co->cost_done += c->cost * (m->resumed ? share : 1.0);
    co->seconds_done += m->seconds;
    /* The cell file is the record now; its checkpoint is no longer needed. */
    char ckpt[1200];
    checkpoint_path(co->out, c, ckpt, sizeof ckpt);
    unlink(ckpt);
    snprintf(extra, sizeof extra, "test acc %.2f%% in %.1fs%s%s", m->test_acc, m->seconds,
             resumed[0] ? ", " : "", resumed);
    event(co, "done  ", m->cell, rank, extra);
  } else if (m->kind == MSG_INTERRUPTED) {
    co->interrupted++;
    ledger(co, "interrupted", m->cell, rank, m->seconds, m->message);
    event(co, "stopped", m->cell, rank, m->message);
  } else {
    co->failed++;
    ledger(co, "failed", m->cell, rank, m->seconds, m->message);
    event(co, "FAILED", m->cell, rank, m->message);
  }
}

/* Answers every pending worker message without blocking. */
static void serve_pending(coordinator *co) {
  for (;;) {
    check_signal(co);
    int flag;
    MPI_Status s;
    MPI_Iprobe(MPI_ANY_SOURCE, TAG_REPORT, MPI_COMM_WORLD, &flag, &s);
    if (!flag) return;
    const int src = s.MPI_SOURCE;
    report_msg m;
    MPI_Recv(&m, sizeof m, MPI_BYTE, src, TAG_REPORT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    record(co, &m, src);
    if (m.stopping && !co->draining) {
      char why[64];
      snprintf(why, sizeof why, "rank %d was signalled", src);
      begin_draining(co, why);
    }
    const int cell = assign(co, src);
    if (cell < 0) co->stopped++;
    int job[3] = {cell, cell >= 0 ? co->attempt[cell] : 0, co->stop_sent[src]};
    MPI_Send(job, 3, MPI_INT, src, TAG_ASSIGN, MPI_COMM_WORLD);
  }
}

static int coordinator_hook(void *user) {
  coordinator *co = user;
  if (co->n_ranks > 1) serve_pending(co);
  check_signal(co);
  const sb_progress_counts k = counts(co);
  sb_progress_tick(&co->progress, &k);
  return co->draining;
}

/* Trains one cell and writes its file; fills the report. */
static void run_one(sb_experiment *e, const char *out, int cell, int attempt, const char *host,
                    int rank, sb_batch_hook hook, void *hook_user, int verbose, report_msg *m) {
  memset(m, 0, sizeof *m);
  m->cell = cell;
  m->attempt = attempt;
  const double t0 = now_s();
  char ckpt[1200];
  checkpoint_path(out, &e->cells[cell], ckpt, sizeof ckpt);
  sb_train_report rep;
  const sb_train_opts topts = {.hook = hook, .hook_user = hook_user, .verbose = verbose,
                               .checkpoint = ckpt, .report = &rep};
  sb_trial_result r;
  sb_clear_error();
  sb_status st = sb_train_cell(e, &e->cells[cell], &topts, &r);
  if (!st) {
    st = sb_cell_write(out, &e->cells[cell], &r, host, rank, attempt);
    m->test_acc = r.test_acc_final;
    sb_trial_result_free(&r);
  }
  m->seconds = now_s() - t0;
  m->resumed = rep.resumed;
  m->resume_epoch = rep.resumed ? rep.resume_epoch : 0;
  m->resume_batch = rep.resume_batch;
  m->kind = st == SB_OK ? MSG_DONE : st == SB_EINTERRUPTED ? MSG_INTERRUPTED : MSG_FAILED;
  m->stopping = sb_interrupt_requested();
  if (st) snprintf(m->message, sizeof m->message, "%s", sb_errmsg());
}

/* qsort has no context argument in C11; the coordinator sorts once, on one thread. */
static const sb_experiment *g_sort_experiment;

static int cmp_cost_desc(const void *a, const void *b) {
  const sb_experiment *e = g_sort_experiment;
  const sb_cell *x = &e->cells[*(const int *)a], *y = &e->cells[*(const int *)b];
  if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
  return x->index - y->index;
}

/* Cell indices by decreasing cost (ties in grid order). */
static int *cells_by_cost(sb_experiment *e) {
  int *order = sb_xmalloc((unsigned long)e->n_cells * sizeof(int));
  for (int i = 0; i < e->n_cells; i++) order[i] = i;
  g_sort_experiment = e;
  qsort(order, (size_t)e->n_cells, sizeof(int), cmp_cost_desc);
  return order;
}

/* A done cell counts only if its file is there and opens: the ledger can say done for a file a
 * disk problem destroyed since. */
static int cell_file_readable(const char *out, const sb_cell *c) {
  char path[1200];
  snprintf(path, sizeof path, "%s/cells/%s.h5", out, c->id);
  struct stat s;
  if (stat(path, &s) != 0) return 0;
  h5_quiet();
  const hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return 0;
  H5Fclose(f);
  return 1;
}

/* Removes what a killed attempt of a cell may have left: its temp files and a cell file the
 * ledger never marked done (never trusted; the new attempt rewrites it). */
static void remove_leftovers(const char *out, const sb_cell *c) {
  char path[1400];
  snprintf(path, sizeof path, "%s/cells/%s.h5", out, c->id);
  unlink(path);
  const struct {
    const char *dir, *prefix;
  } temps[] = {{"cells", "."}, {"checkpoints", ""}};
  for (size_t t = 0; t < sizeof temps / sizeof *temps; t++) {
    char dir[1100], stem[64];
    snprintf(dir, sizeof dir, "%s/%s", out, temps[t].dir);
    snprintf(stem, sizeof stem, "%s%s.%s.tmp.", temps[t].prefix, c->id,
             t == 0 ? "h5" : "ckpt");
    DIR *d = opendir(dir);
    if (!d) continue;
    for (struct dirent *de; (de = readdir(d));) {
      if (strncmp(de->d_name, stem, strlen(stem))) continue;
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      unlink(path);
    }
    closedir(d);
  }
}

/* Builds the queue from the ledger: done cells are skipped, cells that were interrupted or lost
 * (started, never finished) or failed run again unless they used up their attempts. */
static sb_status plan_queue(coordinator *co) {
  sb_experiment *e = co->e;
  const sb_run_opts *o = co->o;
  sb_ledger_cell *led = NULL;
  int n_led = 0, bad = 0;
  sb_status st = sb_ledger_read(co->out, &led, &n_led, &bad);
  if (st) return st;
  if (bad)
    fprintf(stderr, "snnbench: warning: %s: %d ledger line%s did not parse (a write torn by a "
            "crash) and %s ignored\n", co->out, bad, bad == 1 ? "" : "s",
            bad == 1 ? "was" : "were");
  /* Cells finished whole in earlier starts (any shard) calibrate the ETA from the first event
   * of this one: their seconds against their cost from the cost model. */
  for (int i = 0; i < e->n_cells; i++) {
    const sb_ledger_cell *lc = sb_ledger_find(led, n_led, e->cells[i].id);
    if (!lc || !lc->done || lc->whole_seconds <= 0) continue;
    co->cost_done += e->cells[i].cost;
    co->seconds_done += lc->whole_seconds;
  }
  int *order = cells_by_cost(e);
  int lost = 0, interrupted = 0, retried = 0, unreadable = 0;
  for (int p = 0; p < e->n_cells; p++) {
    if (o->shard_count > 0 && p % o->shard_count != o->shard_index) continue;
    const int i = order[p];
    const sb_cell *c = &e->cells[i];
    co->total++;
    const sb_ledger_cell *lc = sb_ledger_find(led, n_led, c->id);
    if (lc) co->attempt[i] = lc->last_attempt;
    if (lc && lc->done) {
      if (cell_file_readable(co->out, c)) {
        /* A crash between "done" and removing the checkpoint leaves it behind. */
        char ckpt[1200];
        checkpoint_path(co->out, c, ckpt, sizeof ckpt);
        unlink(ckpt);
        co->done++;
        continue;
      }
      fprintf(stderr, "snnbench: warning: %s/cells/%s.h5 is marked done but cannot be read; "
              "the cell runs again\n", co->out, c->id);
      unreadable++;
    } else if (lc) {
      const int ended = lc->failed + lc->interrupted;
      if (lc->started > ended) lost++;
      if (lc->interrupted) interrupted++;
      if (lc->failed) retried++;
      if (sb_ledger_counted_attempts(lc) >= o->max_attempts) {
        char *axes = cJSON_PrintUnformatted(c->axes);
        printf("snnbench: cell %s %s: %d attempts failed or were lost; not retried "
               "(--max-attempts %d)\n", c->id, axes, sb_ledger_counted_attempts(lc),
               o->max_attempts);
        free(axes);
        co->failed++;
        continue;
      }
    }
    remove_leftovers(co->out, c);
    co->queue[co->n_queue++] = i;
  }
  free(order);
  free(led);
  if (lost || interrupted || retried || unreadable)
    printf("snnbench: resuming: %d done; again: %d interrupted, %d lost (started, never "
           "finished), %d failed before, %d unreadable\n", co->done, interrupted, lost, retried,
           unreadable);
  return SB_OK;
}

static void coordinator_free(coordinator *co) {
  free(co->queue);
  free(co->attempt);
  free(co->started_at);
  free(co->rank_cell);
  free(co->stop_sent);
  free(co->stop_requests);
}

static sb_status coordinate(sb_experiment *e, const char *out, char **hosts, int n_ranks,
                            const sb_run_opts *o) {
  coordinator co = {.e = e, .o = o, .out = out, .hosts = hosts, .n_ranks = n_ranks, .restart = -1};
  co.queue = sb_xmalloc((unsigned long)e->n_cells * sizeof(int));
  co.attempt = sb_xcalloc((unsigned long)e->n_cells, sizeof(int));
  co.started_at = sb_xcalloc((unsigned long)e->n_cells, sizeof(double));
  co.rank_cell = sb_xmalloc((unsigned long)n_ranks * sizeof(int));
  for (int r = 0; r < n_ranks; r++) co.rank_cell[r] = -1;
  co.stop_sent = sb_xcalloc((unsigned long)n_ranks, sizeof(int));
  co.stop_requests = sb_xmalloc((unsigned long)n_ranks * sizeof(MPI_Request));
  char prefix[48] = "";
  if (o->shard_count > 0) {
    snprintf(co.ledger_name, sizeof co.ledger_name, "ledger.shard-%d-of-%d.jsonl", o->shard_index,
             o->shard_count);
    snprintf(prefix, sizeof prefix, "shard %d/%d: ", o->shard_index, o->shard_count);
  } else {
    snprintf(co.ledger_name, sizeof co.ledger_name, "ledger.jsonl");
  }
  const char *job = getenv("SLURM_JOB_ID"), *array_job = getenv("SLURM_ARRAY_JOB_ID"),
             *task = getenv("SLURM_ARRAY_TASK_ID"), *restart = getenv("SLURM_RESTART_COUNT");
  if (array_job && task) snprintf(co.job, sizeof co.job, "%s_%s", array_job, task);
  else if (job) snprintf(co.job, sizeof co.job, "%s", job);
  if (restart) co.restart = atoi(restart);  /* a count: sb_check_launch refused anything else */
  else if (job) co.restart = 0;

  sb_status st = plan_queue(&co);
  if (st) {
    coordinator_free(&co);
    return st;
  }
  printf("snnbench: %s: %d cells%s (%d to run) on %d rank%s, output in %s\n", e->name, co.total,
         o->shard_count ? " in this shard" : "", co.n_queue, n_ranks, n_ranks == 1 ? "" : "s",
         out);
  fflush(stdout);
  sb_progress_init(&co.progress, !o->verbose, prefix);

  for (;;) {
    if (n_ranks > 1) serve_pending(&co);
    check_signal(&co);
    const int cell = assign(&co, 0);
    if (cell < 0) break;
    report_msg m;
    run_one(e, out, cell, co.attempt[cell], hosts[0], 0, coordinator_hook, &co, o->verbose, &m);
    record(&co, &m, 0);
  }
  /* Rank 0 is out of work: answer the workers until each has been told to stop. Polling with a
   * short sleep keeps rank 0 off the CPU the workers train on, and lets it see a signal. */
  while (co.stopped < n_ranks - 1) {
    serve_pending(&co);
    if (co.stopped == n_ranks - 1) break;
    const sb_progress_counts k = counts(&co);
    sb_progress_tick(&co.progress, &k);
    const struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  MPI_Waitall(co.n_stop_requests, co.stop_requests, MPI_STATUSES_IGNORE);
  sb_progress_end(&co.progress);
  const int not_run = co.n_queue - co.next;
  sb_clear_error(); /* the run's verdict, not the last cell's message */
  if (co.had_error) st = sb_fail(SB_ERUNTIME, "%s: the ledger could not be written", out);
  else if (co.draining && (co.interrupted || not_run))
    st = sb_fail(SB_EINTERRUPTED, "interrupted: %d of %d cells done, %d stopped and checkpointed, "
                 "%d not started; run the same command with --resume to continue", co.done,
                 co.total, co.interrupted, not_run);
  else if (co.failed)
    st = sb_fail(SB_ERUNTIME, "%d of %d cells failed (see %s/%s)", co.failed, co.total, out,
                 co.ledger_name);
  coordinator_free(&co);
  return st;
}

/* A worker's between-batch check: a stop message from rank 0, or a signal of its own. */
typedef struct {
  int got_stop;
} worker_state;

static int worker_hook(void *user) {
  worker_state *w = user;
  if (!w->got_stop) {
    int flag;
    MPI_Iprobe(0, TAG_STOP, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    if (flag) {
      int stop;
      MPI_Recv(&stop, 1, MPI_INT, 0, TAG_STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      w->got_stop = 1;
      sb_interrupt_request();
    }
  }
  return sb_interrupt_requested();
}

static void work(sb_experiment *e, const char *out, const char *host, int rank,
                 const sb_run_opts *o) {
  worker_state w = {0};
  report_msg m = {.kind = MSG_READY, .cell = -1};
  for (;;) {
    m.stopping = sb_interrupt_requested();
    MPI_Send(&m, sizeof m, MPI_BYTE, 0, TAG_REPORT, MPI_COMM_WORLD);
    int job[3];
    MPI_Recv(job, 3, MPI_INT, 0, TAG_ASSIGN, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (job[0] < 0) {
      /* A stop message rank 0 sent while this rank was finishing its cell is still in flight:
       * take it, so no message is left unmatched. */
      if (job[2] && !w.got_stop)
        MPI_Recv(&job[2], 1, MPI_INT, 0, TAG_STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      return;
    }
    run_one(e, out, job[0], job[1], host, rank, worker_hook, &w, o->verbose, &m);
  }
}

/* ------------------------------------------------------------------ entry */

/* Agreement on a status: any rank's failure becomes everyone's (max of the codes). */
static sb_status agree(sb_status st) {
  int mine = st, all;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return (sb_status)all;
}

sb_status sb_run(const sb_run_opts *o) {
  int rank, n_ranks;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
  /* Before anything is read or written: N singletons would each start the whole grid. */
  sb_status st = sb_check_launch(n_ranks);
  if (st) return st;

  char host[MPI_MAX_PROCESSOR_NAME];
  int len;
  MPI_Get_processor_name(host, &len);
  char *all_hosts = sb_xcalloc((unsigned long)n_ranks, MPI_MAX_PROCESSOR_NAME);
  MPI_Gather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all_hosts, MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
             0, MPI_COMM_WORLD);
  char **hosts = sb_xcalloc((unsigned long)n_ranks, sizeof(char *));
  for (int r = 0; r < n_ranks; r++) hosts[r] = all_hosts + (long)r * MPI_MAX_PROCESSOR_NAME;

  /* Every rank validates the same inputs, so every rank fails the same way. */
  sb_experiment e;
  st = sb_experiment_load(o->config, &e);
  if (!st) st = prepare_cells(&e);
  st = agree(st);
  char out[1024];
  if (!st) {
    if (o->out_dir)
      snprintf(out, sizeof out, "%s", o->out_dir);
    else
      snprintf(out, sizeof out, "runs/%s", e.name);
  }
  if (!st && rank == 0) st = setup_out_dir(&e, o, out, hosts, n_ranks);
  st = agree(st);
  if (!st) {
    if (rank == 0) {
      st = coordinate(&e, out, hosts, n_ranks, o);
      if (st == SB_EINTERRUPTED) {
        /* Exit fast: the scheduler's kill follows its signal; the next start merges. */
      } else if (o->shard_count > 0) {
        printf("snnbench: shard %d/%d finished; `snnbench reduce %s` once every shard has\n",
               o->shard_index, o->shard_count, out);
      } else {
        sb_status mst;
        int merged, missing;
        if ((mst = sb_merge(out, &merged, &missing)) == SB_OK) {
          printf("snnbench: merged %d cells into %s/results.h5%s\n", merged, out,
                 missing ? " (some cells are missing)" : "");
          if (o->reduce && merged) mst = sb_reduce_dir(out, 1);
        }
        if (!st) st = mst;
      }
    } else {
      work(&e, out, host, rank, o);
    }
  }
  /* Rank 0's verdict is the run's. */
  int code = st;
  MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (st == SB_OK && code != SB_OK) sb_fail((sb_status)code, "see rank 0's output");
  sb_experiment_free(&e);
  free(hosts);
  free(all_hosts);
  return (sb_status)code;
}
