/* The grid runner. Rank 0 is the coordinator and also a worker: it trains cells itself and, via
 * the trainer's between-batch hook, answers other ranks' requests for work, so one slow cell
 * never stalls the grid and `-np 1` is the same code path with no peers. Cells go out largest
 * estimated cost first. Only rank 0 writes the ledger; each rank writes its own cell files. */
#include "snnbench/run.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snnbench/config.h"
#include "snnbench/data.h"
#include "snnbench/pipeline.h"
#include "snnbench/reduce.h"
#include "snnbench/store.h"
#include "snnbench/train.h"

enum { TAG_REPORT = 11, TAG_ASSIGN = 12 };
enum { MSG_READY = 0, MSG_DONE = 1, MSG_FAILED = 2 };

/* Worker → coordinator: the previous cell's outcome doubles as a request for the next one. */
typedef struct {
  int kind;
  int cell;
  int attempt;
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
    sb_model *m;
    st = sb_build_cell_model(e, &c->cfg, pipe, d->n_classes, 1, &m);
    sb_pipeline_free(pipe);
    if (st) return st;
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

static sb_status setup_out_dir(const sb_experiment *e, const sb_run_opts *o, const char *out,
                               char **hosts, int n_ranks) {
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
  snprintf(path, sizeof path, "%s/cells", out);
  sb_status st = sb_mkdir_p(path);
  if (st) return st;
  if (!resuming) {
    snprintf(path, sizeof path, "%s/config.json", out);
    if ((st = sb_write_file_atomic(path, e->text, strlen(e->text)))) return st;
    if ((st = write_grid_json(e, out))) return st;
  }
  cJSON *ctx = sb_context_build(e, hosts, n_ranks, o->argc, o->argv);
  char *text = cJSON_Print(ctx);
  cJSON_Delete(ctx);
  snprintf(path, sizeof path, "%s/context.json", out);
  st = sb_write_file_atomic(path, text, strlen(text));
  free(text);
  return st;
}

/* ------------------------------------------------------------------ coordinator */

typedef struct {
  sb_experiment *e;
  const char *out;
  char **hosts;
  int n_ranks;
  int *queue;  /* cell indices, largest cost first */
  int n_queue, next;
  int *attempt;    /* per cell */
  int done, failed, running, total;
  int stopped;     /* workers told to stop */
  double t0;
  int had_error;   /* ledger write failed */
} coordinator;

static void progress(coordinator *co, const char *what, int cell, int rank, const char *extra) {
  const sb_cell *c = &co->e->cells[cell];
  char *axes = cJSON_PrintUnformatted(c->axes);
  printf("[%d/%d done, %d running, %d failed, %.0fs] %s %s %s on rank %d%s%s\n", co->done,
         co->total, co->running, co->failed, now_s() - co->t0, what, c->id, axes, rank,
         extra ? ": " : "", extra ? extra : "");
  fflush(stdout);
  free(axes);
}

static void ledger(coordinator *co, const char *event, int cell, int rank, double seconds,
                   const char *message) {
  sb_ledger_entry le = {event, co->e->cells[cell].id, rank, co->hosts[rank], co->attempt[cell],
                        message, seconds};
  if (sb_ledger_append(co->out, &le)) {
    fprintf(stderr, "snnbench: %s\n", sb_errmsg());
    co->had_error = 1;
  }
}

/* Next cell for `rank`, with its "started" event logged; -1 when the queue is empty. */
static int assign(coordinator *co, int rank) {
  if (co->next >= co->n_queue) return -1;
  const int cell = co->queue[co->next++];
  co->attempt[cell]++;
  co->running++;
  ledger(co, "started", cell, rank, 0, NULL);
  return cell;
}

static void record(coordinator *co, const report_msg *m, int rank) {
  if (m->kind == MSG_READY) return;
  co->running--;
  char extra[480];
  if (m->kind == MSG_DONE) {
    co->done++;
    ledger(co, "done", m->cell, rank, m->seconds, NULL);
    snprintf(extra, sizeof extra, "test acc %.2f%% in %.1fs", m->test_acc, m->seconds);
    progress(co, "done  ", m->cell, rank, extra);
  } else {
    co->failed++;
    ledger(co, "failed", m->cell, rank, m->seconds, m->message);
    progress(co, "FAILED", m->cell, rank, m->message);
  }
}

/* Answers every pending worker message without blocking. */
static void serve_pending(coordinator *co) {
  for (;;) {
    int flag;
    MPI_Status s;
    MPI_Iprobe(MPI_ANY_SOURCE, TAG_REPORT, MPI_COMM_WORLD, &flag, &s);
    if (!flag) return;
    report_msg m;
    MPI_Recv(&m, sizeof m, MPI_BYTE, s.MPI_SOURCE, TAG_REPORT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    record(co, &m, s.MPI_SOURCE);
    const int cell = assign(co, s.MPI_SOURCE);
    if (cell >= 0) progress(co, "start ", cell, s.MPI_SOURCE, NULL);
    else co->stopped++;
    int job[2] = {cell, cell >= 0 ? co->attempt[cell] : 0};
    MPI_Send(job, 2, MPI_INT, s.MPI_SOURCE, TAG_ASSIGN, MPI_COMM_WORLD);
  }
}

static int coordinator_hook(void *user) {
  serve_pending(user);
  return 0;
}

/* Trains one cell and writes its file; fills the report. */
static void run_one(sb_experiment *e, const char *out, int cell, int attempt, const char *host,
                    int rank, const sb_train_opts *topts, report_msg *m) {
  memset(m, 0, sizeof *m);
  m->cell = cell;
  m->attempt = attempt;
  const double t0 = now_s();
  sb_trial_result r;
  sb_clear_error();
  sb_status st = sb_train_cell(e, &e->cells[cell], topts, &r);
  if (!st) {
    st = sb_cell_write(out, &e->cells[cell], &r, host, rank, attempt);
    m->test_acc = r.test_acc_final;
    sb_trial_result_free(&r);
  }
  m->seconds = now_s() - t0;
  m->kind = st ? MSG_FAILED : MSG_DONE;
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

static sb_status coordinate(sb_experiment *e, const char *out, char **hosts, int n_ranks,
                            const sb_run_opts *o) {
  coordinator co = {.e = e, .out = out, .hosts = hosts, .n_ranks = n_ranks, .t0 = now_s()};
  co.queue = sb_xmalloc((unsigned long)e->n_cells * sizeof(int));
  co.attempt = sb_xcalloc((unsigned long)e->n_cells, sizeof(int));
  co.total = e->n_cells;

  /* On resume, cells the ledger marks done are finished; the rest run again. */
  sb_ledger_cell *led = NULL;
  int n_led = 0, bad = 0;
  sb_status st = sb_ledger_read(out, &led, &n_led, &bad);
  if (st) return st;
  for (int i = 0; i < e->n_cells; i++) {
    const sb_ledger_cell *lc = sb_ledger_find(led, n_led, e->cells[i].id);
    if (lc) co.attempt[i] = lc->last_attempt;
    if (lc && lc->done) co.done++;
    else co.queue[co.n_queue++] = i;
  }
  free(led);
  g_sort_experiment = e;
  qsort(co.queue, (size_t)co.n_queue, sizeof(int), cmp_cost_desc);
  printf("snnbench: %s: %d cells (%d to run) on %d rank%s, output in %s\n", e->name, e->n_cells,
         co.n_queue, n_ranks, n_ranks == 1 ? "" : "s", out);
  fflush(stdout);

  sb_train_opts topts = {.hook = n_ranks > 1 ? coordinator_hook : NULL, .hook_user = &co,
                         .verbose = o->verbose};
  for (;;) {
    if (n_ranks > 1) serve_pending(&co);
    const int cell = assign(&co, 0);
    if (cell < 0) break;
    progress(&co, "start ", cell, 0, NULL);
    report_msg m;
    run_one(e, out, cell, co.attempt[cell], hosts[0], 0, &topts, &m);
    record(&co, &m, 0);
  }
  /* Queue empty: wait for the workers' last reports and stop each one. */
  while (co.stopped < n_ranks - 1) {
    report_msg m;
    MPI_Status s;
    MPI_Recv(&m, sizeof m, MPI_BYTE, MPI_ANY_SOURCE, TAG_REPORT, MPI_COMM_WORLD, &s);
    record(&co, &m, s.MPI_SOURCE);
    int stop[2] = {-1, 0};
    MPI_Send(stop, 2, MPI_INT, s.MPI_SOURCE, TAG_ASSIGN, MPI_COMM_WORLD);
    co.stopped++;
  }
  free(co.queue);
  free(co.attempt);
  if (co.had_error) return sb_fail(SB_ERUNTIME, "%s: the ledger could not be written", out);
  if (co.failed)
    return sb_fail(SB_ERUNTIME, "%d of %d cells failed (see %s/ledger.jsonl)", co.failed,
                   co.total, out);
  return SB_OK;
}

static void work(sb_experiment *e, const char *out, const char *host, int rank,
                 const sb_run_opts *o) {
  report_msg m = {.kind = MSG_READY, .cell = -1};
  sb_train_opts topts = {.verbose = o->verbose};
  for (;;) {
    MPI_Send(&m, sizeof m, MPI_BYTE, 0, TAG_REPORT, MPI_COMM_WORLD);
    int job[2];
    MPI_Recv(job, 2, MPI_INT, 0, TAG_ASSIGN, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (job[0] < 0) return;
    run_one(e, out, job[0], job[1], host, rank, &topts, &m);
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
  sb_status st = sb_experiment_load(o->config, &e);
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
      sb_status mst;
      int merged, missing;
      if ((mst = sb_merge(out, &merged, &missing)) == SB_OK) {
        printf("snnbench: merged %d cells into %s/results.h5%s\n", merged, out,
               missing ? " (some cells are missing)" : "");
        if (o->reduce && merged) mst = sb_reduce_dir(out, 1);
      }
      if (!st) st = mst;
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
