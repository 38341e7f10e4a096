/* One finished cell as one HDF5 file:
 *
 *   /            attrs: id, config (resolved JSON), axes (JSON), model, status, host, rank,
 *                       attempt, snnbench version and git commit
 *   /metrics/    scalar datasets (test_acc_final, test_acc_at_best_val, ...)
 *   /history/    per-epoch curves, one dataset each, length = epochs
 *   /layers      compound table, one row per layer with neurons or synaptic operations
 *   /spikes/<layer>/rate_histogram   neurons per firing-rate bin
 *   /timesteps/  the timestep study: T, test_acc, spikes_per_sample, latency_ms_per_sample
 *
 * Written to a temp name, closed, fsynced, renamed, directory fsynced: a reader sees the whole
 * file or none. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snnbench/store.h"
#include "store/h5util.h"

/* The /layers row: every field of sb_layer_report but the histogram (stored under /spikes). */
typedef struct {
  char name[SB_NAME_LEN];
  char type[24];
  long long neurons, params;
  double spike_rate, spikes_per_sample, dead_fraction, activation_sparsity;
  double membrane_updates, neuron_ops_effective, neuron_ops_dense;
  double synops_ac, synops_mac, dense_ops, energy_pj, connection_sparsity;
} layer_row;

static int write_layers(hid_t file, const sb_model_report *rep) {
  hid_t name_t = H5Tcopy(H5T_C_S1);
  H5Tset_size(name_t, SB_NAME_LEN);
  hid_t type_t = H5Tcopy(H5T_C_S1);
  H5Tset_size(type_t, 24);
  hid_t row_t = H5Tcreate(H5T_COMPOUND, sizeof(layer_row));
  H5Tinsert(row_t, "name", offsetof(layer_row, name), name_t);
  H5Tinsert(row_t, "type", offsetof(layer_row, type), type_t);
  H5Tinsert(row_t, "neurons", offsetof(layer_row, neurons), H5T_NATIVE_LLONG);
  H5Tinsert(row_t, "params", offsetof(layer_row, params), H5T_NATIVE_LLONG);
#define DOUBLE_FIELD(f) H5Tinsert(row_t, #f, offsetof(layer_row, f), H5T_NATIVE_DOUBLE)
  DOUBLE_FIELD(spike_rate);
  DOUBLE_FIELD(spikes_per_sample);
  DOUBLE_FIELD(dead_fraction);
  DOUBLE_FIELD(activation_sparsity);
  DOUBLE_FIELD(membrane_updates);
  DOUBLE_FIELD(neuron_ops_effective);
  DOUBLE_FIELD(neuron_ops_dense);
  DOUBLE_FIELD(synops_ac);
  DOUBLE_FIELD(synops_mac);
  DOUBLE_FIELD(dense_ops);
  DOUBLE_FIELD(energy_pj);
  DOUBLE_FIELD(connection_sparsity);
#undef DOUBLE_FIELD
  const int n = rep->n_layers;
  layer_row *rows = sb_xcalloc((unsigned long)(n > 0 ? n : 1), sizeof *rows);
  for (int i = 0; i < n; i++) {
    const sb_layer_report *q = &rep->layers[i];
    layer_row *w = &rows[i];
    snprintf(w->name, sizeof w->name, "%s", q->name);
    snprintf(w->type, sizeof w->type, "%s", q->type);
    w->neurons = q->neurons;
    w->params = q->params;
    w->spike_rate = q->spike_rate;
    w->spikes_per_sample = q->spikes_per_sample;
    w->dead_fraction = q->dead_fraction;
    w->activation_sparsity = q->activation_sparsity;
    w->membrane_updates = q->membrane_updates;
    w->neuron_ops_effective = q->neuron_ops_effective;
    w->neuron_ops_dense = q->neuron_ops_dense;
    w->synops_ac = q->synops_ac;
    w->synops_mac = q->synops_mac;
    w->dense_ops = q->dense_ops;
    w->energy_pj = q->energy_pj;
    w->connection_sparsity = q->connection_sparsity;
  }
  hsize_t dims[1] = {(hsize_t)n};
  hid_t s = H5Screate_simple(1, dims, NULL);
  hid_t d = H5Dcreate2(file, "layers", row_t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = d < 0 ? -1 : (int)H5Dwrite(d, row_t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
  if (d >= 0) H5Dclose(d);
  H5Sclose(s);
  H5Tclose(row_t);
  H5Tclose(name_t);
  H5Tclose(type_t);
  free(rows);
  /* /spikes/<layer>/rate_histogram: neurons per firing-rate bin [k/BINS, (k+1)/BINS). */
  hid_t sp = H5Gcreate2(file, "spikes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (sp < 0) return -1;
  rc |= h5_attr_long(sp, "rate_bins", SB_RATE_BINS);
  for (int i = 0; i < n; i++) {
    if (!rep->layers[i].neurons) continue;
    hid_t g = H5Gcreate2(sp, rep->layers[i].name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
      rc = -1;
      continue;
    }
    double hist[SB_RATE_BINS];
    for (int k = 0; k < SB_RATE_BINS; k++) hist[k] = (double)rep->layers[i].rate_histogram[k];
    rc |= h5_vec(g, "rate_histogram", hist, SB_RATE_BINS);
    H5Gclose(g);
  }
  H5Gclose(sp);
  return rc;
}

static int write_timesteps(hid_t file, const sb_trial_result *r) {
  if (!r->n_eval_T) return 0;
  hid_t g = H5Gcreate2(file, "timesteps", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return -1;
  double T[16];
  for (int i = 0; i < r->n_eval_T; i++) T[i] = r->eval_T[i];
  int rc = h5_vec(g, "T", T, r->n_eval_T);
  rc |= h5_vec(g, "test_acc", r->eval_T_acc, r->n_eval_T);
  rc |= h5_vec(g, "spikes_per_sample", r->eval_T_spikes, r->n_eval_T);
  rc |= h5_vec(g, "latency_ms_per_sample", r->eval_T_latency_ms, r->n_eval_T);
  H5Gclose(g);
  return rc;
}

static int write_contents(hid_t f, const sb_cell *cell, const sb_trial_result *r,
                          const char *host, int rank, int attempt) {
  int rc = 0;
  char *axes = sb_json_canonical(cell->axes);
  rc |= h5_attr_str(f, "id", cell->id);
  rc |= h5_attr_str(f, "config", cell->resolved_text);
  rc |= h5_attr_str(f, "axes", axes);
  rc |= h5_attr_str(f, "model", cell->cfg.model);
  rc |= h5_attr_str(f, "status", "done");
  rc |= h5_attr_str(f, "host", host);
  rc |= h5_attr_long(f, "rank", rank);
  rc |= h5_attr_long(f, "attempt", attempt);
  rc |= h5_attr_str(f, "snnbench_version", SNNBENCH_VERSION);
  rc |= h5_attr_str(f, "git_commit", sb_git_commit());
  free(axes);

  hid_t m = H5Gcreate2(f, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (m < 0) return -1;
  const struct {
    const char *name;
    double v;
  } metrics[] = {
      {"test_acc_final", r->test_acc_final},
      {"test_acc_at_best_val", r->test_acc_at_best_val},
      {"best_val_acc", r->best_val_acc},
      {"best_val_epoch", r->best_val_epoch},
      {"spike_rate", r->spike_rate},
      {"train_time_s", r->train_time_s},
      {"eval_time_s", r->eval_time_s},
      {"train_samples_per_s", r->train_samples_per_s},
      {"n_params", (double)r->n_params},
      {"n_train", (double)r->n_train},
      {"n_val", (double)r->n_val},
      {"n_test", (double)r->n_test},
      {"io_time_s", r->io_time_s},
      {"metrics_time_s", r->metrics_time_s},
      {"wall_time_s", r->wall_time_s},
      {"latency_ms_per_sample", r->latency_ms_per_sample},
      {"spikes_per_sample", r->report.spikes_per_sample},
      {"activation_sparsity", r->report.activation_sparsity},
      {"dead_neuron_fraction", r->report.dead_fraction},
      {"membrane_updates_per_sample", r->report.membrane_updates},
      {"neuron_ops_effective_per_sample", r->report.neuron_ops_effective},
      {"neuron_ops_dense_per_sample", r->report.neuron_ops_dense},
      {"synops_ac_per_sample", r->report.synops_ac},
      {"synops_mac_per_sample", r->report.synops_mac},
      {"dense_ops_per_sample", r->report.dense_ops},
      {"energy_pj_per_sample", r->report.energy_pj},
      {"ann_dense_macs_per_sample", r->ann_dense_macs},
      {"ann_energy_pj_per_sample", r->ann_energy_pj},
      {"energy_ratio", r->energy_ratio},
      {"connection_sparsity", r->report.connection_sparsity},
      {"footprint_bytes", r->report.footprint_bytes},
      {"footprint_with_state_bytes", r->report.footprint_with_state_bytes},
      {"test_acc_int8", r->test_acc_int8},
      {"model_bytes_fp32", r->model_bytes_fp32},
      {"model_bytes_int8", r->model_bytes_int8},
      /* The seeds' own scores, under names that say what they are. */
      {"score_acc_over_rate_plus_0_01", r->test_acc_final / (r->spike_rate + 0.01)},
      {"score_acc_over_spikes_per_sample",
       r->report.spikes_per_sample > 0 ? r->test_acc_final / r->report.spikes_per_sample : NAN},
  };
  for (size_t i = 0; i < sizeof metrics / sizeof *metrics; i++)
    rc |= h5_scalar(m, metrics[i].name, metrics[i].v);
  H5Gclose(m);

  hid_t h = H5Gcreate2(f, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (h < 0) return -1;
  const int n = r->n_epochs;
  rc |= h5_vec(h, "train_loss", r->train_loss, n);
  rc |= h5_vec(h, "train_acc", r->train_acc, n);
  rc |= h5_vec(h, "val_loss", r->val_loss, n);
  rc |= h5_vec(h, "val_acc", r->val_acc, n);
  rc |= h5_vec(h, "test_loss", r->test_loss, n);
  rc |= h5_vec(h, "test_acc", r->test_acc, n);
  rc |= h5_vec(h, "lr", r->lr, n);
  rc |= h5_vec(h, "epoch_time_s", r->epoch_time, n);
  H5Gclose(h);
  rc |= write_layers(f, &r->report);
  rc |= write_timesteps(f, r);
  return rc;
}

sb_status sb_cell_write(const char *out_dir, const sb_cell *cell, const sb_trial_result *r,
                        const char *host, int rank, int attempt) {
  char dir[1100], final[1200], tmp[1500];
  snprintf(dir, sizeof dir, "%s/cells", out_dir);
  snprintf(final, sizeof final, "%s/%s.h5", dir, cell->id);
  snprintf(tmp, sizeof tmp, "%s/.%s.h5%s", dir, cell->id, sb_tmp_suffix());
  hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) return sb_fail(SB_ERUNTIME, "%s: cannot create HDF5 file", tmp);
  int rc = write_contents(f, cell, r, host, rank, attempt);
  if (H5Fclose(f) < 0) rc = -1;
  if (rc) {
    unlink(tmp);
    return sb_fail(SB_ERUNTIME, "%s: writing the cell file failed", tmp);
  }
  /* H5Fclose hands the data to the OS; fsync makes it durable before the rename publishes it. */
  int fd = open(tmp, O_RDONLY);
  if (fd < 0 || fsync(fd)) {
    if (fd >= 0) close(fd);
    unlink(tmp);
    return sb_fail(SB_ERUNTIME, "%s: fsync failed: %s", tmp, strerror(errno));
  }
  close(fd);
  if (rename(tmp, final)) {
    unlink(tmp);
    return sb_fail(SB_ERUNTIME, "%s: rename failed: %s", final, strerror(errno));
  }
  return sb_fsync_dir(dir);
}
