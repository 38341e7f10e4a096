/* One finished cell as one HDF5 file:
 *
 *   /            attrs: id, config (resolved JSON), axes (JSON), model, status, host, rank,
 *                       attempt, snnbench version and git commit
 *   /metrics/    scalar datasets (test_acc_final, test_acc_at_best_val, ...)
 *   /history/    per-epoch curves, one dataset each, length = epochs
 *   /layers      compound table, one row per neuron layer
 *
 * Written to a temp name, closed, fsynced, renamed, directory fsynced: a reader sees the whole
 * file or none. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snnbench/store.h"
#include "store/h5util.h"

typedef struct {
  char name[SB_NAME_LEN];
  char type[24];
  long long neurons;
  double spike_rate;
  double spikes_per_sample;
} layer_row;

static int write_layers(hid_t file, const sb_trial_result *r) {
  hid_t name_t = H5Tcopy(H5T_C_S1);
  H5Tset_size(name_t, SB_NAME_LEN);
  hid_t type_t = H5Tcopy(H5T_C_S1);
  H5Tset_size(type_t, 24);
  hid_t row_t = H5Tcreate(H5T_COMPOUND, sizeof(layer_row));
  H5Tinsert(row_t, "name", offsetof(layer_row, name), name_t);
  H5Tinsert(row_t, "type", offsetof(layer_row, type), type_t);
  H5Tinsert(row_t, "neurons", offsetof(layer_row, neurons), H5T_NATIVE_LLONG);
  H5Tinsert(row_t, "spike_rate", offsetof(layer_row, spike_rate), H5T_NATIVE_DOUBLE);
  H5Tinsert(row_t, "spikes_per_sample", offsetof(layer_row, spikes_per_sample), H5T_NATIVE_DOUBLE);
  layer_row rows[r->n_layers > 0 ? r->n_layers : 1];
  memset(rows, 0, sizeof rows);
  for (int i = 0; i < r->n_layers; i++) {
    snprintf(rows[i].name, sizeof rows[i].name, "%s", r->layers[i].name);
    snprintf(rows[i].type, sizeof rows[i].type, "%s", r->layers[i].type);
    rows[i].neurons = r->layers[i].neurons;
    rows[i].spike_rate = r->layers[i].spike_rate;
    rows[i].spikes_per_sample = r->layers[i].spikes_per_sample;
  }
  hsize_t dims[1] = {(hsize_t)r->n_layers};
  hid_t s = H5Screate_simple(1, dims, NULL);
  hid_t d = H5Dcreate2(file, "layers", row_t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int rc = d < 0 ? -1 : (int)H5Dwrite(d, row_t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
  if (d >= 0) H5Dclose(d);
  H5Sclose(s);
  H5Tclose(row_t);
  H5Tclose(name_t);
  H5Tclose(type_t);
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
  rc |= h5_attr_str(f, "git_commit", SNNBENCH_GIT);
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
  rc |= write_layers(f, r);
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
