/* `snnbench reduce DIR`: groups cells by every grid axis except the seed and summarises each
 * metric over the seeds (n, mean, SD, SEM, Student-t 95% CI, median, IQR, range). Writes
 * summary.md / .csv / .json next to results.h5 and says which cells are missing. */
#include "snnbench/reduce.h"

#include <cjson/cJSON.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "snnbench/config.h"
#include "snnbench/stats.h"
#include "snnbench/store.h"
#include "store/h5util.h"

enum { MAX_METRICS = 64 };

typedef struct {
  char *key;        /* canonical JSON of the non-seed axes */
  cJSON *axes;      /* the same, as an object */
  int expected, present;
  cJSON *missing;   /* ids */
  double *values[MAX_METRICS];
  int n_values[MAX_METRICS];
} group;

typedef struct {
  char names[MAX_METRICS][64];
  int n_metrics;
  group *groups;
  int n_groups;
  char **axes;      /* reduce axes (grid axes without seed) */
  int n_axes;
} table;

static int metric_index(table *t, const char *name) {
  for (int i = 0; i < t->n_metrics; i++)
    if (!strcmp(t->names[i], name)) return i;
  if (t->n_metrics == MAX_METRICS) return -1;
  snprintf(t->names[t->n_metrics], sizeof t->names[0], "%s", name);
  return t->n_metrics++;
}

static group *find_group(table *t, const cJSON *cell_axes, int n_cells) {
  cJSON *key = cJSON_CreateObject();
  for (int a = 0; a < t->n_axes; a++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cell_axes, t->axes[a]);
    if (v) cJSON_AddItemToObject(key, t->axes[a], cJSON_Duplicate(v, 1));
  }
  char *k = sb_json_canonical(key);
  for (int g = 0; g < t->n_groups; g++)
    if (!strcmp(t->groups[g].key, k)) {
      free(k);
      cJSON_Delete(key);
      return &t->groups[g];
    }
  group *g = &t->groups[t->n_groups++];
  memset(g, 0, sizeof *g);
  g->key = k;
  g->axes = key;
  g->missing = cJSON_CreateArray();
  for (int m = 0; m < MAX_METRICS; m++)
    g->values[m] = sb_xcalloc((unsigned long)n_cells, sizeof(double));
  return g;
}

typedef struct {
  table *t;
  group *g;
  hid_t metrics;
} iter_ctx;

static herr_t read_metric(hid_t loc, const char *name, const H5L_info_t *info, void *op) {
  (void)loc;
  (void)info;
  iter_ctx *c = op;
  double v;
  if (h5_read_scalar(c->metrics, name, &v) < 0) return 0;
  const int m = metric_index(c->t, name);
  if (m >= 0) c->g->values[m][c->g->n_values[m]++] = v;
  return 0;
}

static sb_status load_table(hid_t f, const char *path, table *t) {
  hid_t ctx = H5Gopen2(f, "context", H5P_DEFAULT);
  char *grid_text = ctx >= 0 ? h5_read_str(ctx, "grid", 1) : NULL;
  if (ctx >= 0) H5Gclose(ctx);
  cJSON *grid = grid_text ? cJSON_Parse(grid_text) : NULL;
  free(grid_text);
  if (!grid) return sb_fail(SB_EINPUT, "%s: no /context/grid: not a snnbench results file", path);
  const cJSON *axes = cJSON_GetObjectItemCaseSensitive(grid, "axes");
  const cJSON *cells = cJSON_GetObjectItemCaseSensitive(grid, "cells");
  const int n_cells = cJSON_GetArraySize(cells);
  t->axes = sb_xcalloc((unsigned long)(cJSON_GetArraySize(axes) + 1), sizeof(char *));
  const cJSON *a;
  cJSON_ArrayForEach(a, axes)
    if (cJSON_IsString(a) && strcmp(a->valuestring, "seed"))
      t->axes[t->n_axes++] = sb_xstrdup(a->valuestring);
  t->groups = sb_xcalloc((unsigned long)(n_cells ? n_cells : 1), sizeof(group));
  const cJSON *c;
  cJSON_ArrayForEach(c, cells) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
    const cJSON *cell_axes = cJSON_GetObjectItemCaseSensitive(c, "axes");
    if (!cJSON_IsString(id)) continue;
    group *g = find_group(t, cell_axes, n_cells);
    g->expected++;
    char cpath[64], gpath[80];
    snprintf(cpath, sizeof cpath, "cells/%s", id->valuestring);
    snprintf(gpath, sizeof gpath, "%s/metrics", cpath);
    /* H5Lexists needs every intermediate link to exist, so check from the top down. */
    if (H5Lexists(f, "cells", H5P_DEFAULT) <= 0 || H5Lexists(f, cpath, H5P_DEFAULT) <= 0 ||
        H5Lexists(f, gpath, H5P_DEFAULT) <= 0) {
      cJSON_AddItemToArray(g->missing, cJSON_CreateString(id->valuestring));
      continue;
    }
    hid_t m = H5Gopen2(f, gpath, H5P_DEFAULT);
    if (m < 0) {
      cJSON_AddItemToArray(g->missing, cJSON_CreateString(id->valuestring));
      continue;
    }
    g->present++;
    iter_ctx ic = {t, g, m};
    hsize_t idx = 0;
    H5Literate(m, H5_INDEX_NAME, H5_ITER_INC, &idx, read_metric, &ic);
    H5Gclose(m);
  }
  cJSON_Delete(grid);
  return SB_OK;
}

static void free_table(table *t) {
  for (int g = 0; g < t->n_groups; g++) {
    free(t->groups[g].key);
    cJSON_Delete(t->groups[g].axes);
    cJSON_Delete(t->groups[g].missing);
    for (int m = 0; m < MAX_METRICS; m++) free(t->groups[g].values[m]);
  }
  free(t->groups);
  for (int a = 0; a < t->n_axes; a++) free(t->axes[a]);
  free(t->axes);
}

static void axis_value(const group *g, const char *axis, char *buf, size_t n) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(g->axes, axis);
  if (cJSON_IsString(v)) {
    snprintf(buf, n, "%s", v->valuestring);
  } else {
    char *s = cJSON_PrintUnformatted(v);
    snprintf(buf, n, "%s", s ? s : "");
    free(s);
  }
}

static int find_metric(const table *t, const char *name) {
  for (int i = 0; i < t->n_metrics; i++)
    if (!strcmp(t->names[i], name)) return i;
  return -1;
}

/* The columns people read first; every metric is in the CSV and JSON. */
static const struct {
  const char *metric, *label, *fmt;
} k_columns[] = {
    {"test_acc_final", "test acc % (final)", "%.2f"},
    {"test_acc_at_best_val", "test acc % (best val)", "%.2f"},
    {"spike_rate", "spike rate", "%.4f"},
    {"train_samples_per_s", "train samples/s", "%.0f"},
};

static void cell_text(const group *g, int m, const char *fmt, char *buf, size_t n) {
  if (m < 0 || g->n_values[m] == 0) {
    snprintf(buf, n, "n/a");
    return;
  }
  sb_summary s;
  sb_summarize(g->values[m], g->n_values[m], &s);
  char a[32], b[32];
  snprintf(a, sizeof a, fmt, s.mean);
  if (s.n >= 2) {
    snprintf(b, sizeof b, fmt, s.ci_half);
    snprintf(buf, n, "%s ± %s", a, b);
  } else {
    snprintf(buf, n, "%s", a);
  }
}

static char *markdown(const table *t, const char *title) {
  size_t cap = 1 << 16, used = 0;
  char *out = sb_xmalloc(cap);
#define EMIT(...)                                                                    \
  do {                                                                               \
    int k_ = snprintf(out + used, cap - used, __VA_ARGS__);                          \
    while (k_ >= 0 && used + (size_t)k_ >= cap) {                                    \
      out = sb_xrealloc(out, cap *= 2);                                              \
      k_ = snprintf(out + used, cap - used, __VA_ARGS__);                            \
    }                                                                                \
    used += (size_t)k_;                                                              \
  } while (0)
  EMIT("## %s\n\n", title);
  EMIT("Each row: mean ± 95%% CI (Student t, n−1 degrees of freedom) over seeds; n = seeds "
       "present / expected.\n\n|");
  for (int a = 0; a < t->n_axes; a++) EMIT(" %s |", t->axes[a]);
  EMIT(" n |");
  for (size_t c = 0; c < sizeof k_columns / sizeof *k_columns; c++) EMIT(" %s |", k_columns[c].label);
  EMIT("\n|");
  for (int a = 0; a < t->n_axes + 1 + (int)(sizeof k_columns / sizeof *k_columns); a++) EMIT("---|");
  EMIT("\n");
  for (int gi = 0; gi < t->n_groups; gi++) {
    const group *g = &t->groups[gi];
    EMIT("|");
    for (int a = 0; a < t->n_axes; a++) {
      char v[128];
      axis_value(g, t->axes[a], v, sizeof v);
      EMIT(" %s |", v);
    }
    EMIT(" %d/%d |", g->present, g->expected);
    for (size_t c = 0; c < sizeof k_columns / sizeof *k_columns; c++) {
      char v[96];
      cell_text(g, find_metric(t, k_columns[c].metric), k_columns[c].fmt, v, sizeof v);
      EMIT(" %s |", v);
    }
    EMIT("\n");
  }
  int missing = 0;
  for (int gi = 0; gi < t->n_groups; gi++) missing += cJSON_GetArraySize(t->groups[gi].missing);
  if (missing) EMIT("\n%d cell%s missing (listed in summary.json).\n", missing, missing == 1 ? "" : "s");
#undef EMIT
  return out;
}

static void csv_field(FILE *f, double v) {
  if (isnan(v)) fprintf(f, ",");
  else fprintf(f, ",%.10g", v);
}

static char *csv(const table *t) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  for (int a = 0; a < t->n_axes; a++) fprintf(f, "%s,", t->axes[a]);
  fprintf(f, "metric,n,expected,mean,sd,sem,ci95_half,ci95_lo,ci95_hi,median,q1,q3,min,max\n");
  for (int gi = 0; gi < t->n_groups; gi++) {
    const group *g = &t->groups[gi];
    for (int m = 0; m < t->n_metrics; m++) {
      sb_summary s;
      sb_summarize(g->values[m], g->n_values[m], &s);
      for (int a = 0; a < t->n_axes; a++) {
        char v[128];
        axis_value(g, t->axes[a], v, sizeof v);
        fprintf(f, "\"%s\",", v);
      }
      fprintf(f, "%s,%d,%d", t->names[m], s.n, g->expected);
      const double vals[] = {s.mean, s.sd, s.sem, s.ci_half, s.ci_lo, s.ci_hi,
                             s.median, s.q1, s.q3, s.min, s.max};
      for (size_t k = 0; k < sizeof vals / sizeof *vals; k++) csv_field(f, vals[k]);
      fprintf(f, "\n");
    }
  }
  fclose(f);
  return buf;
}

static cJSON *num_or_null(double v) { return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v); }

static char *json(const table *t) {
  cJSON *root = cJSON_CreateObject();
  cJSON *axes = cJSON_AddArrayToObject(root, "axes");
  for (int a = 0; a < t->n_axes; a++) cJSON_AddItemToArray(axes, cJSON_CreateString(t->axes[a]));
  cJSON_AddStringToObject(root, "interval", "95% confidence interval of the mean, Student t with "
                          "n-1 degrees of freedom; sd uses n-1");
  cJSON *groups = cJSON_AddArrayToObject(root, "groups");
  for (int gi = 0; gi < t->n_groups; gi++) {
    const group *g = &t->groups[gi];
    cJSON *jg = cJSON_CreateObject();
    cJSON_AddItemToObject(jg, "axes", cJSON_Duplicate(g->axes, 1));
    cJSON_AddNumberToObject(jg, "expected", g->expected);
    cJSON_AddNumberToObject(jg, "present", g->present);
    cJSON_AddItemToObject(jg, "missing", cJSON_Duplicate(g->missing, 1));
    cJSON *ms = cJSON_AddObjectToObject(jg, "metrics");
    for (int m = 0; m < t->n_metrics; m++) {
      sb_summary s;
      sb_summarize(g->values[m], g->n_values[m], &s);
      cJSON *jm = cJSON_AddObjectToObject(ms, t->names[m]);
      cJSON_AddNumberToObject(jm, "n", s.n);
      const struct {
        const char *k;
        double v;
      } f[] = {{"mean", s.mean}, {"sd", s.sd},         {"sem", s.sem},       {"ci95_half", s.ci_half},
               {"ci95_lo", s.ci_lo}, {"ci95_hi", s.ci_hi}, {"median", s.median}, {"q1", s.q1},
               {"q3", s.q3},     {"min", s.min},       {"max", s.max}};
      for (size_t k = 0; k < sizeof f / sizeof *f; k++)
        cJSON_AddItemToObject(jm, f[k].k, num_or_null(f[k].v));
      cJSON *vals = cJSON_AddArrayToObject(jm, "values");
      for (int i = 0; i < g->n_values[m]; i++)
        cJSON_AddItemToArray(vals, cJSON_CreateNumber(g->values[m][i]));
    }
    cJSON_AddItemToArray(groups, jg);
  }
  char *s = cJSON_Print(root);
  cJSON_Delete(root);
  return s;
}

sb_status sb_reduce_file(const char *results, const char *out_dir, int print) {
  h5_quiet();
  hid_t f = H5Fopen(results, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return sb_fail(SB_EINPUT, "%s: cannot open as HDF5", results);
  table t;
  memset(&t, 0, sizeof t);
  sb_status st = load_table(f, results, &t);
  H5Fclose(f);
  if (st) {
    free_table(&t);
    return st;
  }
  char *md = markdown(&t, "snnbench summary");
  char *c = csv(&t);
  char *j = json(&t);
  char path[1200];
  snprintf(path, sizeof path, "%s/summary.md", out_dir);
  st = sb_write_file_atomic(path, md, strlen(md));
  snprintf(path, sizeof path, "%s/summary.csv", out_dir);
  if (!st) st = sb_write_file_atomic(path, c, strlen(c));
  snprintf(path, sizeof path, "%s/summary.json", out_dir);
  if (!st) st = sb_write_file_atomic(path, j, strlen(j));
  if (!st && print) {
    printf("\n%s\n", md);
    printf("(written: %s/summary.md, summary.csv, summary.json)\n", out_dir);
  }
  free(md);
  free(c);
  free(j);
  free_table(&t);
  return st;
}

sb_status sb_reduce_dir(const char *dir, int print) {
  char path[1100];
  struct stat s;
  if (stat(dir, &s) != 0) return sb_fail(SB_EINPUT, "%s: no such file or directory", dir);
  if (S_ISREG(s.st_mode)) {
    /* A results.h5 given directly: summaries go next to it. */
    char d[1100];
    snprintf(d, sizeof d, "%s", dir);
    char *slash = strrchr(d, '/');
    if (slash) *slash = 0;
    else snprintf(d, sizeof d, ".");
    return sb_reduce_file(dir, d, print);
  }
  /* A run directory: refresh results.h5 from the ledger first, so reduce sees every done cell. */
  snprintf(path, sizeof path, "%s/grid.json", dir);
  if (stat(path, &s) == 0) {
    int merged, missing;
    sb_status st = sb_merge(dir, &merged, &missing);
    if (st) return st;
  }
  snprintf(path, sizeof path, "%s/results.h5", dir);
  if (stat(path, &s) != 0)
    return sb_fail(SB_EINPUT, "%s: no results.h5 and no run to merge (grid.json)", dir);
  return sb_reduce_file(path, dir, print);
}
