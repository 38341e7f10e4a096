/* Merging finished cells into OUT/results.h5. Only cells the ledger marks done are copied; a
 * done cell whose file cannot be opened is reported, never half-copied. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snnbench/store.h"
#include "store/h5util.h"

sb_status sb_json_parse_file(const char *path, char **text, cJSON **root);

static int write_context(hid_t f, const char *out_dir) {
  hid_t g = H5Gcreate2(f, "context", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return -1;
  int rc = 0;
  char path[1100];
  char *text = NULL;
  cJSON *ctx = NULL;
  snprintf(path, sizeof path, "%s/context.json", out_dir);
  if (sb_json_parse_file(path, &text, &ctx) == SB_OK) {
    /* One attribute per entry; nested objects keep their JSON text. */
    for (const cJSON *k = ctx->child; k; k = k->next) {
      if (cJSON_IsString(k)) {
        rc |= h5_attr_str(g, k->string, k->valuestring);
      } else if (cJSON_IsNumber(k)) {
        rc |= h5_attr_double(g, k->string, k->valuedouble);
      } else {
        char *s = cJSON_PrintUnformatted(k);
        rc |= h5_attr_str(g, k->string, s);
        free(s);
      }
    }
    cJSON_Delete(ctx);
    free(text);
  } else {
    rc = -1;
  }
  sb_clear_error();
  snprintf(path, sizeof path, "%s/config.json", out_dir);
  if (sb_json_parse_file(path, &text, &ctx) == SB_OK) {
    rc |= h5_text(g, "config", text);
    cJSON_Delete(ctx);
    free(text);
  } else {
    rc = -1;
  }
  snprintf(path, sizeof path, "%s/grid.json", out_dir);
  if (sb_json_parse_file(path, &text, &ctx) == SB_OK) {
    rc |= h5_text(g, "grid", text);
    cJSON_Delete(ctx);
    free(text);
  } else {
    rc = -1;
  }
  /* Every start of the run (first start, resumes, requeues, shards), in order. */
  cJSON *starts = sb_context_history(out_dir);
  char *starts_text = cJSON_Print(starts);
  rc |= h5_text(g, "starts", starts_text);
  free(starts_text);
  cJSON_Delete(starts);
  H5Gclose(g);
  return rc;
}

sb_status sb_merge(const char *out_dir, int *n_merged, int *n_missing) {
  *n_merged = *n_missing = 0;
  char path[1100], tmp[1500], final[1100];
  char *text = NULL;
  cJSON *grid = NULL;
  snprintf(path, sizeof path, "%s/grid.json", out_dir);
  sb_status st = sb_json_parse_file(path, &text, &grid);
  free(text);
  if (st) return sb_fail(SB_EINPUT, "%s: not a snnbench run directory (%s)", out_dir, sb_errmsg());
  sb_ledger_cell *ledger;
  int n_ledger, bad;
  if ((st = sb_ledger_read(out_dir, &ledger, &n_ledger, &bad))) {
    cJSON_Delete(grid);
    return st;
  }
  snprintf(final, sizeof final, "%s/results.h5", out_dir);
  snprintf(tmp, sizeof tmp, "%s/.results.h5%s", out_dir, sb_tmp_suffix());
  hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) {
    free(ledger);
    cJSON_Delete(grid);
    return sb_fail(SB_ERUNTIME, "%s: cannot create", tmp);
  }
  int rc = write_context(f, out_dir);
  hid_t cells = H5Gcreate2(f, "cells", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(grid, "cells");
  const cJSON *c;
  cJSON_ArrayForEach(c, list) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
    if (!cJSON_IsString(id)) continue;
    const sb_ledger_cell *lc = sb_ledger_find(ledger, n_ledger, id->valuestring);
    if (!lc || !lc->done) {
      (*n_missing)++;
      continue;
    }
    snprintf(path, sizeof path, "%s/cells/%s.h5", out_dir, id->valuestring);
    hid_t src = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (src < 0) {
      fprintf(stderr, "snnbench: %s: marked done in the ledger but cannot be opened; skipped\n",
              path);
      (*n_missing)++;
      continue;
    }
    if (H5Ocopy(src, "/", cells, id->valuestring, H5P_DEFAULT, H5P_DEFAULT) < 0) rc = -1;
    H5Fclose(src);
    (*n_merged)++;
  }
  H5Gclose(cells);
  if (H5Fclose(f) < 0) rc = -1;
  free(ledger);
  cJSON_Delete(grid);
  if (rc) {
    unlink(tmp);
    return sb_fail(SB_ERUNTIME, "%s: merging failed", final);
  }
  int fd = open(tmp, O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  if (rename(tmp, final)) {
    unlink(tmp);
    return sb_fail(SB_ERUNTIME, "%s: rename failed", final);
  }
  return sb_fsync_dir(out_dir);
}
