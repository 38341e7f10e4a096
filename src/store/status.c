/* `snnbench status DIR`: how far a run has come, read from its grid, ledgers and checkpoints
 * only, so it works from a login node while the run is queued, running or requeued, and it is
 * the completeness check of the Slurm reduce job. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snnbench/checkpoint.h"
#include "snnbench/store.h"

sb_status sb_json_parse_file(const char *path, char **text, cJSON **root);

/* One cell that is not done, in words. */
static void describe(const char *out_dir, const char *id, const sb_ledger_cell *lc, char *buf,
                     size_t n) {
  int k = 0;
  if (!lc || !lc->started) {
    k = snprintf(buf, n, "not started");
  } else {
    const int open = lc->started - lc->failed - lc->interrupted;
    k = snprintf(buf, n, "%s, %d attempt%s",
                 open > 0                                ? "started, not finished (running, or "
                                                           "lost with its rank)"
                 : lc->failed && !lc->interrupted        ? "failed"
                 : lc->interrupted && !lc->failed        ? "interrupted"
                                                         : "interrupted and failed",
                 lc->last_attempt, lc->last_attempt == 1 ? "" : "s");
    if (lc->failed && k > 0 && (size_t)k < n)
      k += snprintf(buf + k, n - (size_t)k, ", %d failed", lc->failed);
  }
  char ckpt[1200];
  snprintf(ckpt, sizeof ckpt, "%s/checkpoints/%s.ckpt", out_dir, id);
  int epoch;
  long batch;
  if (k > 0 && (size_t)k < n && sb_checkpoint_peek(ckpt, id, &epoch, &batch) == 0)
    snprintf(buf + k, n - (size_t)k, "; checkpoint in epoch %d after batch %ld", epoch + 1, batch);
}

sb_status sb_run_status(const char *out_dir, int print, int *n_done, int *n_cells) {
  *n_done = *n_cells = 0;
  char path[1100], *text = NULL;
  cJSON *grid = NULL;
  snprintf(path, sizeof path, "%s/grid.json", out_dir);
  sb_status st = sb_json_parse_file(path, &text, &grid);
  free(text);
  if (st) {
    char why[512];
    snprintf(why, sizeof why, "%s", sb_errmsg());
    sb_clear_error(); /* the first recorded message wins: replace it with the whole story */
    return sb_fail(SB_EINPUT, "%s: not a snnbench run directory (%s)", out_dir, why);
  }
  const cJSON *cells = cJSON_GetObjectItemCaseSensitive(grid, "cells");
  if (!cJSON_IsArray(cells)) {
    cJSON_Delete(grid);
    return sb_fail(SB_EINPUT, "%s: not a snnbench run directory (%s has no \"cells\" list)",
                   out_dir, path);
  }
  sb_ledger_cell *led;
  int n_led, bad;
  if ((st = sb_ledger_read(out_dir, &led, &n_led, &bad))) {
    cJSON_Delete(grid);
    return st;
  }
  const cJSON *c;
  int started = 0, interrupted = 0, failed = 0;
  cJSON_ArrayForEach(c, cells) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
    if (!cJSON_IsString(id)) continue;
    (*n_cells)++;
    const sb_ledger_cell *lc = sb_ledger_find(led, n_led, id->valuestring);
    if (lc && lc->done) {
      (*n_done)++;
      continue;
    }
    if (lc && lc->started > lc->failed + lc->interrupted) started++;
    else if (lc && lc->interrupted) interrupted++;
    else if (lc && lc->failed) failed++;
  }
  if (print) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(grid, "experiment");
    printf("%s: experiment \"%s\", %d cells: %d done, %d started, %d interrupted, %d failed, "
           "%d not started\n", out_dir, cJSON_IsString(name) ? name->valuestring : "?", *n_cells,
           *n_done, started, interrupted, failed,
           *n_cells - *n_done - started - interrupted - failed);
    if (bad) printf("  (%d ledger line%s did not parse)\n", bad, bad == 1 ? "" : "s");
    cJSON_ArrayForEach(c, cells) {
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
      if (!cJSON_IsString(id)) continue;
      const sb_ledger_cell *lc = sb_ledger_find(led, n_led, id->valuestring);
      if (lc && lc->done) continue;
      char what[400];
      describe(out_dir, id->valuestring, lc, what, sizeof what);
      char *axes = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "axes"));
      printf("  %s %s  %s\n", id->valuestring, axes ? axes : "{}", what);
      free(axes);
    }
  }
  free(led);
  cJSON_Delete(grid);
  return SB_OK;
}
