/* `snnbench reduce DIR`: groups cells by every grid axis except the seed and summarises each
 * metric over the seeds (n, mean, SD, SEM, Student-t 95% CI, median, IQR, range). Writes
 * summary.md / .csv / .json next to results.h5 and says which cells are missing.
 *
 * Every number a cell stores becomes one named metric: the scalars of /metrics under their own
 * names, the per-layer table /layers as "layer/<layer>/<field>", and the timestep study
 * /timesteps as "timestep/<T>/<field>". The CSV and JSON carry all of them; the Markdown shows
 * the tables people read first. */
#include "snnbench/reduce.h"

#include <cjson/cJSON.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "snnbench/config.h"
#include "snnbench/stats.h"
#include "snnbench/store.h"
#include "store/h5util.h"

enum { NAME_LEN = 160 };

typedef struct {
  double *v;
  int n;
} series;

typedef struct {
  char *key;      /* canonical JSON of the non-seed axes */
  cJSON *axes;    /* the same, as an object */
  int expected, present;
  int qat;        /* its cells train with train.qat (the Markdown labels their accuracy so) */
  cJSON *missing; /* ids */
  series *s;      /* one per metric, capacity `expected` each */
} group;

typedef struct {
  char (*names)[NAME_LEN];
  int n_metrics, cap_metrics;
  group *groups;
  int n_groups;
  char **axes; /* reduce axes (grid axes without seed) */
  int n_axes;
} table;

/* ------------------------------------------------------------------ a growing text buffer */

typedef struct {
  char *s;
  size_t n, cap;
} text;

static void emit(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(text *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    const int k = vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    if (k >= 0 && t->n + (size_t)k < t->cap) {
      t->n += (size_t)k;
      return;
    }
    t->cap = t->cap ? 2 * t->cap + (size_t)k : 1 << 16;
    t->s = sb_xrealloc(t->s, t->cap);
  }
}

/* ------------------------------------------------------------------ loading */

static int metric_index(table *t, const char *name) {
  for (int i = 0; i < t->n_metrics; i++)
    if (!strcmp(t->names[i], name)) return i;
  if (t->n_metrics == t->cap_metrics) {
    const int cap = t->cap_metrics ? 2 * t->cap_metrics : 128;
    t->names = sb_xrealloc(t->names, (unsigned long)cap * NAME_LEN);
    for (int g = 0; g < t->n_groups; g++) {
      t->groups[g].s = sb_xrealloc(t->groups[g].s, (unsigned long)cap * sizeof(series));
      memset(t->groups[g].s + t->cap_metrics, 0, (size_t)(cap - t->cap_metrics) * sizeof(series));
    }
    t->cap_metrics = cap;
  }
  snprintf(t->names[t->n_metrics], NAME_LEN, "%s", name);
  return t->n_metrics++;
}

static void add_value(table *t, group *g, const char *name, double v) {
  if (isnan(v)) return; /* not applicable to this cell or layer */
  const int m = metric_index(t, name);
  series *s = &g->s[m];
  if (!s->v) s->v = sb_xmalloc((unsigned long)g->expected * sizeof(double));
  if (s->n < g->expected) s->v[s->n++] = v;
}

static group *find_group(table *t, const cJSON *cell_axes) {
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
  g->s = sb_xcalloc((unsigned long)(t->cap_metrics ? t->cap_metrics : 1), sizeof(series));
  return g;
}

typedef struct {
  table *t;
  group *g;
  hid_t loc;
} iter_ctx;

static herr_t read_scalar(hid_t loc, const char *name, const H5L_info_t *info, void *op) {
  (void)loc;
  (void)info;
  iter_ctx *c = op;
  double v;
  if (h5_read_scalar(c->loc, name, &v) >= 0) add_value(c->t, c->g, name, v);
  return 0;
}

/* Reads every numeric member of the /layers compound table, row by row, as doubles. */
static void read_layers(table *t, group *g, hid_t cell) {
  if (H5Lexists(cell, "layers", H5P_DEFAULT) <= 0) return;
  hid_t d = H5Dopen2(cell, "layers", H5P_DEFAULT);
  if (d < 0) return;
  hid_t ft = H5Dget_type(d), sp = H5Dget_space(d);
  hssize_t rows = H5Sget_simple_extent_npoints(sp);
  if (H5Tget_class(ft) != H5T_COMPOUND || rows <= 0) goto done;
  /* The layer names first. */
  char (*names)[SB_NAME_LEN] = sb_xcalloc((unsigned long)rows, SB_NAME_LEN);
  hid_t st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, SB_NAME_LEN);
  hid_t nt = H5Tcreate(H5T_COMPOUND, SB_NAME_LEN);
  H5Tinsert(nt, "name", 0, st);
  const int have_names = H5Dread(d, nt, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) >= 0;
  H5Tclose(nt);
  H5Tclose(st);
  double *col = sb_xmalloc((unsigned long)rows * sizeof(double));
  const int members = H5Tget_nmembers(ft);
  for (int k = 0; k < members && have_names; k++) {
    H5T_class_t cls = H5Tget_member_class(ft, (unsigned)k);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) continue;
    char *member = H5Tget_member_name(ft, (unsigned)k);
    hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(double));
    H5Tinsert(mt, member, 0, H5T_NATIVE_DOUBLE);
    if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, col) >= 0) {
      for (hssize_t r = 0; r < rows; r++) {
        char name[NAME_LEN];
        snprintf(name, sizeof name, "layer/%s/%s", names[r], member);
        add_value(t, g, name, col[r]);
      }
    }
    H5Tclose(mt);
    H5free_memory(member);
  }
  free(col);
  free(names);
done:
  H5Sclose(sp);
  H5Tclose(ft);
  H5Dclose(d);
}

/* /timesteps: datasets T, test_acc, spikes_per_sample, latency_ms_per_sample of equal length. */
static void read_timesteps(table *t, group *g, hid_t cell) {
  if (H5Lexists(cell, "timesteps", H5P_DEFAULT) <= 0) return;
  hid_t ts = H5Gopen2(cell, "timesteps", H5P_DEFAULT);
  if (ts < 0) return;
  static const char *const fields[] = {"test_acc", "spikes_per_sample", "latency_ms_per_sample"};
  hid_t dT = H5Dopen2(ts, "T", H5P_DEFAULT);
  if (dT >= 0) {
    hid_t sp = H5Dget_space(dT);
    const hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    double *T = sb_xmalloc((unsigned long)(n > 0 ? n : 1) * sizeof(double));
    double *v = sb_xmalloc((unsigned long)(n > 0 ? n : 1) * sizeof(double));
    if (n > 0 && H5Dread(dT, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, T) >= 0) {
      for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        if (H5Lexists(ts, fields[f], H5P_DEFAULT) <= 0) continue;
        hid_t d = H5Dopen2(ts, fields[f], H5P_DEFAULT);
        if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0)
          for (hssize_t i = 0; i < n; i++) {
            char name[NAME_LEN];
            snprintf(name, sizeof name, "timestep/%d/%s", (int)T[i], fields[f]);
            add_value(t, g, name, v[i]);
          }
        H5Dclose(d);
      }
    }
    free(T);
    free(v);
    H5Dclose(dT);
  }
  H5Gclose(ts);
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
  /* First pass: groups and their expected sizes, so series can be sized once. */
  const cJSON *c;
  cJSON_ArrayForEach(c, cells) {
    group *g = find_group(t, cJSON_GetObjectItemCaseSensitive(c, "axes"));
    g->expected++;
    const cJSON *train =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "config"), "train");
    g->qat |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(train, "qat"));
  }
  cJSON_ArrayForEach(c, cells) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
    if (!cJSON_IsString(id)) continue;
    group *g = find_group(t, cJSON_GetObjectItemCaseSensitive(c, "axes"));
    char cpath[64], mpath[80];
    snprintf(cpath, sizeof cpath, "cells/%s", id->valuestring);
    snprintf(mpath, sizeof mpath, "%s/metrics", cpath);
    /* H5Lexists needs every intermediate link to exist, so check from the top down. */
    if (H5Lexists(f, "cells", H5P_DEFAULT) <= 0 || H5Lexists(f, cpath, H5P_DEFAULT) <= 0 ||
        H5Lexists(f, mpath, H5P_DEFAULT) <= 0) {
      cJSON_AddItemToArray(g->missing, cJSON_CreateString(id->valuestring));
      continue;
    }
    hid_t cell = H5Gopen2(f, cpath, H5P_DEFAULT), m = H5Gopen2(f, mpath, H5P_DEFAULT);
    g->present++;
    iter_ctx ic = {t, g, m};
    hsize_t idx = 0;
    H5Literate(m, H5_INDEX_NAME, H5_ITER_INC, &idx, read_scalar, &ic);
    read_layers(t, g, cell);
    read_timesteps(t, g, cell);
    H5Gclose(m);
    H5Gclose(cell);
  }
  cJSON_Delete(grid);
  return SB_OK;
}

static void free_table(table *t) {
  for (int g = 0; g < t->n_groups; g++) {
    free(t->groups[g].key);
    cJSON_Delete(t->groups[g].axes);
    cJSON_Delete(t->groups[g].missing);
    for (int m = 0; m < t->n_metrics; m++) free(t->groups[g].s[m].v);
    free(t->groups[g].s);
  }
  free(t->groups);
  free(t->names);
  for (int a = 0; a < t->n_axes; a++) free(t->axes[a]);
  free(t->axes);
}

/* ------------------------------------------------------------------ Markdown */

static int find_metric(const table *t, const char *name) {
  for (int i = 0; i < t->n_metrics; i++)
    if (!strcmp(t->names[i], name)) return i;
  return -1;
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

/* "mean ± CI half-width", scaled by `scale`, or n/a. */
static void cell_text(const group *g, int m, const char *fmt, double scale, char *buf, size_t n) {
  if (m < 0 || g->s[m].n == 0) {
    snprintf(buf, n, "n/a");
    return;
  }
  sb_summary s;
  sb_summarize(g->s[m].v, g->s[m].n, &s);
  char a[48], b[48];
  snprintf(a, sizeof a, fmt, s.mean * scale);
  if (s.n >= 2) {
    snprintf(b, sizeof b, fmt, s.ci_half * scale);
    snprintf(buf, n, "%s ± %s", a, b);
  } else {
    snprintf(buf, n, "%s", a);
  }
}

typedef struct {
  const char *metric, *label, *fmt;
  double scale;
} column;

static void row_start(text *o, const table *t, const group *g) {
  emit(o, "|");
  for (int a = 0; a < t->n_axes; a++) {
    char v[128];
    axis_value(g, t->axes[a], v, sizeof v);
    emit(o, " %s |", v);
  }
}

static void header(text *o, const table *t, const char *extra, const column *cols, int n_cols) {
  emit(o, "|");
  for (int a = 0; a < t->n_axes; a++) emit(o, " %s |", t->axes[a]);
  if (extra) emit(o, " %s |", extra);
  emit(o, " n |");
  for (int c = 0; c < n_cols; c++) emit(o, " %s |", cols[c].label);
  emit(o, "\n|");
  for (int c = 0; c < t->n_axes + (extra ? 1 : 0) + 1 + n_cols; c++) emit(o, "---|");
  emit(o, "\n");
}

/* One row per group of the plain metrics in `cols`; prefix != NULL names series under it. */
static void section(text *o, const table *t, const char *title, const char *note,
                    const column *cols, int n_cols) {
  int any = 0;
  for (int c = 0; c < n_cols; c++) any |= find_metric(t, cols[c].metric) >= 0;
  if (!any) return;
  emit(o, "\n### %s\n\n%s\n\n", title, note);
  header(o, t, NULL, cols, n_cols);
  for (int gi = 0; gi < t->n_groups; gi++) {
    const group *g = &t->groups[gi];
    row_start(o, t, g);
    emit(o, " %d/%d |", g->present, g->expected);
    for (int c = 0; c < n_cols; c++) {
      char v[128];
      cell_text(g, find_metric(t, cols[c].metric), cols[c].fmt, cols[c].scale, v, sizeof v);
      emit(o, " %s |", v);
    }
    emit(o, "\n");
  }
}

/* Distinct middle parts of metrics named "<kind>/<middle>/<field>", in first-seen order. */
static int middles(const table *t, const char *kind, char (*out)[NAME_LEN], int max) {
  int n = 0;
  const size_t k = strlen(kind);
  for (int i = 0; i < t->n_metrics && n < max; i++) {
    const char *name = t->names[i];
    if (strncmp(name, kind, k) || name[k] != '/') continue;
    const char *mid = name + k + 1, *slash = strrchr(mid, '/');
    if (!slash) continue;
    char m[NAME_LEN];
    snprintf(m, sizeof m, "%.*s", (int)(slash - mid), mid);
    int seen = 0;
    for (int j = 0; j < n && !seen; j++) seen = !strcmp(out[j], m);
    if (!seen) snprintf(out[n++], NAME_LEN, "%s", m);
  }
  return n;
}

/* One row per group and per middle part (layer name, timestep). */
static void nested_section(text *o, const table *t, const char *kind, const char *label,
                           const char *title, const char *note, const column *cols, int n_cols) {
  char (*mids)[NAME_LEN] = sb_xcalloc(4096, NAME_LEN);
  const int n_mid = middles(t, kind, mids, 4096);
  if (n_mid) {
    emit(o, "\n### %s\n\n%s\n\n", title, note);
    header(o, t, label, cols, n_cols);
    for (int gi = 0; gi < t->n_groups; gi++) {
      const group *g = &t->groups[gi];
      for (int k = 0; k < n_mid; k++) {
        int any = 0;
        char name[NAME_LEN];
        for (int c = 0; c < n_cols && !any; c++) {
          snprintf(name, sizeof name, "%s/%s/%s", kind, mids[k], cols[c].metric);
          const int m = find_metric(t, name);
          any = m >= 0 && g->s[m].n > 0;
        }
        if (!any) continue;
        row_start(o, t, g);
        emit(o, " %s | %d/%d |", mids[k], g->present, g->expected);
        for (int c = 0; c < n_cols; c++) {
          char v[128];
          snprintf(name, sizeof name, "%s/%s/%s", kind, mids[k], cols[c].metric);
          cell_text(g, find_metric(t, name), cols[c].fmt, cols[c].scale, v, sizeof v);
          emit(o, " %s |", v);
        }
        emit(o, "\n");
      }
    }
  }
  free(mids);
}

/* Int8: a QAT cell's accuracy is that of its int8 model (it trains and evaluates on int8
 * weights), so it gets its own column rather than sitting under "fp32". */
static void quant_section(text *o, const table *t) {
  static const column cols[] = {
      {"test_acc_final", "fp32 acc %", "%.2f", 1},
      {"test_acc_int8", "int8 PTQ acc %", "%.2f", 1},
      {"test_acc_final", "QAT acc % (int8 weights)", "%.2f", 1},
      {"model_bytes_fp32", "fp32 KiB", "%.1f", 1.0 / 1024},
      {"model_bytes_int8", "int8 KiB", "%.1f", 1.0 / 1024},
  };
  enum { FP32_ONLY = 1, QAT_ONLY = 2 };
  static const int only[] = {FP32_ONLY, FP32_ONLY, QAT_ONLY, 0, 0};
  const int n_cols = sizeof cols / sizeof *cols;
  emit(o, "\n### Int8 weights\n\n%s\n\n",
       "Every weight matrix quantised to int8 per output channel (symmetric, scale max|w|/127); "
       "biases, BatchNorm, neuron parameters and KAN activation coefficients stay float32. "
       "fp32 rows: the float model and its post-training quantisation (PTQ). QAT rows "
       "(train.qat): the model trained and evaluated with int8 weights.");
  header(o, t, "training", cols, n_cols);
  for (int gi = 0; gi < t->n_groups; gi++) {
    const group *g = &t->groups[gi];
    row_start(o, t, g);
    emit(o, " %s | %d/%d |", g->qat ? "QAT" : "fp32", g->present, g->expected);
    for (int c = 0; c < n_cols; c++) {
      char v[128] = "n/a";
      if (!(only[c] == FP32_ONLY && g->qat) && !(only[c] == QAT_ONLY && !g->qat))
        cell_text(g, find_metric(t, cols[c].metric), cols[c].fmt, cols[c].scale, v, sizeof v);
      emit(o, " %s |", v);
    }
    emit(o, "\n");
  }
}

static char *markdown(const table *t, const char *title) {
  text o = {0};
  emit(&o, "## %s\n\n", title);
  emit(&o, "Every entry: mean ± half-width of the 95%% confidence interval of the mean (Student t, "
           "n−1 degrees of freedom) over seeds; n = seeds present / expected.\n");
  static const column main_cols[] = {
      {"test_acc_final", "test acc % (final)", "%.2f", 1},
      {"test_acc_at_best_val", "test acc % (best val)", "%.2f", 1},
      {"spike_rate", "spike rate", "%.4f", 1},
      {"train_samples_per_s", "train samples/s", "%.0f", 1},
  };
  section(&o, t, "Accuracy", "Test accuracy at the last epoch, and at the epoch with the best "
          "validation accuracy (never the best test epoch).", main_cols, 4);
  static const column spike_cols[] = {
      {"test_acc_final", "test acc % (final)", "%.2f", 1},
      {"spikes_per_sample", "spikes/sample", "%.4g", 1},
      {"activation_sparsity", "activation sparsity", "%.4f", 1},
      {"latency_ms_per_sample", "latency ms/sample", "%.4f", 1},
      {"score_acc_over_spikes_per_sample", "final acc / spikes (Quantized_SNN score)", "%.4g", 1},
      {"score_acc_over_rate_plus_0_01", "final acc / (spike rate + 0.01) (MNIST-script score)",
       "%.4g", 1},
  };
  section(&o, t, "Accuracy, spikes and latency",
          "Spikes per test sample over every neuron layer; activation sparsity = zero outputs / "
          "outputs of every neuron, ReLU and sigmoid layer (NeuroBench); latency = wall time of "
          "the model's forward calls in the last test pass per sample, at eval.batch_size, with "
          "nothing counted (input preparation and loss excluded). The two seed scores divide the "
          "final test accuracy in % (the seeds divided their best). Spike metrics and the scores "
          "are n/a for models without spiking layers.", spike_cols, 6);
  static const column energy_cols[] = {
      {"synops_ac_per_sample", "SynOps AC/sample", "%.4g", 1},
      {"synops_mac_per_sample", "SynOps MAC/sample", "%.4g", 1},
      {"dense_ops_per_sample", "dense ops/sample", "%.4g", 1},
      {"energy_pj_per_sample", "energy µJ/sample", "%.4g", 1e-6},
      {"ann_energy_pj_per_sample", "ANN twin µJ/sample", "%.4g", 1e-6},
      {"energy_ratio", "SNN/ANN energy", "%.4f", 1},
  };
  section(&o, t, "Synaptic operations and energy",
          "NeuroBench counting per test sample, summed over T: effective ACs (inputs in {-1,0,1}), "
          "effective MACs (real-valued inputs), dense ops; energy = ACs·E_AC + MACs·E_MAC; the "
          "ratio divides by the ANN twin's dense MACs · E_MAC. A model without spiking layers is "
          "counted once per sample (its own effective MACs) and has no twin ratio (n/a).",
          energy_cols, 6);
  static const column layer_cols[] = {
      {"spike_rate", "spike rate", "%.4f", 1},
      {"spikes_per_sample", "spikes/sample", "%.4g", 1},
      {"dead_fraction", "dead %", "%.2f", 100},
      {"activation_sparsity", "act. sparsity", "%.4f", 1},
      {"synops_ac", "SynOps AC", "%.4g", 1},
      {"synops_mac", "SynOps MAC", "%.4g", 1},
      {"energy_pj", "energy pJ", "%.4g", 1},
  };
  nested_section(&o, t, "layer", "layer", "Per layer",
                 "Per test sample. Spike rate = spikes / (neurons · T · samples) over binary "
                 "outputs; dead = neurons that never fired on the test set; act. sparsity = zero "
                 "outputs / outputs of neuron, ReLU and sigmoid layers.", layer_cols, 7);
  if (find_metric(t, "test_acc_int8") >= 0) quant_section(&o, t);
  static const column t_cols[] = {
      {"test_acc", "test acc %", "%.2f", 1},
      {"spikes_per_sample", "spikes/sample", "%.4g", 1},
      {"latency_ms_per_sample", "latency ms/sample", "%.4f", 1},
  };
  nested_section(&o, t, "timestep", "T (eval)", "Timestep study",
                 "The model trained at the cell's timesteps, evaluated at other T without "
                 "retraining: accuracy and latency from a pass that counts nothing, spikes from a "
                 "counting pass.", t_cols, 3);
  static const column time_cols[] = {
      {"wall_time_s", "wall s", "%.1f", 1},
      {"train_time_s", "train s", "%.1f", 1},
      {"eval_time_s", "eval s", "%.1f", 1},
      {"io_time_s", "set-up and I/O s", "%.2f", 1},
      {"metrics_time_s", "metric passes s", "%.1f", 1},
  };
  section(&o, t, "Wall time per cell", "wall = train (training batches) + eval (per-epoch "
          "validation and test passes) + set-up and I/O (dataset, model, checkpoints) + metric "
          "passes (statistics, int8, ANN twin, timestep study).", time_cols, 5);
  int missing = 0;
  for (int gi = 0; gi < t->n_groups; gi++) missing += cJSON_GetArraySize(t->groups[gi].missing);
  if (missing) emit(&o, "\n%d cell%s missing (listed in summary.json).\n", missing, missing == 1 ? "" : "s");
  return o.s;
}

/* ------------------------------------------------------------------ CSV and JSON */

static void csv_field(text *o, double v) {
  if (isnan(v)) emit(o, ",");
  else emit(o, ",%.10g", v);
}

/* One CSV text field per RFC 4180: in double quotes when `always` or when it holds a comma,
 * quote or line break, with each quote doubled. */
static void csv_text(text *o, const char *v, int always) {
  if (!always && !strpbrk(v, ",\"\r\n")) {
    emit(o, "%s", v);
    return;
  }
  emit(o, "\"");
  for (const char *p = v; *p;) {
    const size_t run = strcspn(p, "\"");
    emit(o, "%.*s", (int)run, p);
    p += run;
    if (*p == '"') {
      emit(o, "\"\"");
      p++;
    }
  }
  emit(o, "\"");
}

/* An axis value as the CSV shows it: a string as itself, anything else as its JSON text, at any
 * length (model spec paths and lists can be long). */
static void csv_axis(text *o, const group *g, const char *axis) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(g->axes, axis);
  if (cJSON_IsString(v)) {
    csv_text(o, v->valuestring, 1);
    return;
  }
  char *s = cJSON_PrintUnformatted(v);
  csv_text(o, s ? s : "", 1);
  free(s);
}

static char *csv(const table *t) {
  text o = {0};
  for (int a = 0; a < t->n_axes; a++) {
    csv_text(&o, t->axes[a], 0);
    emit(&o, ",");
  }
  emit(&o, "metric,n,expected,mean,sd,sem,ci95_half,ci95_lo,ci95_hi,median,q1,q3,min,max\n");
  for (int gi = 0; gi < t->n_groups; gi++) {
    const group *g = &t->groups[gi];
    for (int m = 0; m < t->n_metrics; m++) {
      if (!g->s[m].n) continue;
      sb_summary s;
      sb_summarize(g->s[m].v, g->s[m].n, &s);
      for (int a = 0; a < t->n_axes; a++) {
        csv_axis(&o, g, t->axes[a]);
        emit(&o, ",");
      }
      csv_text(&o, t->names[m], 0); /* layer names come from user specs */
      emit(&o, ",%d,%d", s.n, g->expected);
      const double vals[] = {s.mean, s.sd, s.sem, s.ci_half, s.ci_lo, s.ci_hi,
                             s.median, s.q1, s.q3, s.min, s.max};
      for (size_t k = 0; k < sizeof vals / sizeof *vals; k++) csv_field(&o, vals[k]);
      emit(&o, "\n");
    }
  }
  return o.s;
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
      if (!g->s[m].n) continue;
      sb_summary s;
      sb_summarize(g->s[m].v, g->s[m].n, &s);
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
      for (int i = 0; i < g->s[m].n; i++) cJSON_AddItemToArray(vals, cJSON_CreateNumber(g->s[m].v[i]));
    }
    cJSON_AddItemToArray(groups, jg);
  }
  char *s = cJSON_Print(root);
  cJSON_Delete(root);
  return s;
}

/* ------------------------------------------------------------------ entry points */

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
