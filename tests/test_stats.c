/* Statistics against hand-computed values, and the reduce pipeline on a run directory whose
 * cell metrics are chosen by the test. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "snnbench/reduce.h"
#include "snnbench/stats.h"
#include "snnbench/store.h"

static void t_distribution(void) {
  /* Reference quantiles t_{0.975, df} (scipy.stats.t.ppf). */
  CHECK_NEAR(sb_t_quantile(0.975, 1), 12.706204736432095, 1e-9);
  CHECK_NEAR(sb_t_quantile(0.975, 2), 4.302652729911275, 1e-9);
  CHECK_NEAR(sb_t_quantile(0.975, 4), 2.7764451051977987, 1e-9);
  CHECK_NEAR(sb_t_quantile(0.975, 9), 2.2621571627409915, 1e-9);
  CHECK_NEAR(sb_t_quantile(0.975, 29), 2.045229642132703, 1e-9);
  CHECK_NEAR(sb_t_quantile(0.5, 7), 0.0, 1e-12);
  CHECK_NEAR(sb_t_quantile(0.025, 4), -2.7764451051977987, 1e-9);
  CHECK_NEAR(sb_t_cdf(1.0, 3), 0.8044988905221148, 1e-12);
  CHECK_NEAR(sb_betainc(2.0, 3.0, 0.4), 0.5248, 1e-12);
}

static void summaries(void) {
  const double x[] = {80.0, 82.0, 84.0};
  sb_summary s;
  sb_summarize(x, 3, &s);
  CHECK(s.n == 3);
  CHECK_NEAR(s.mean, 82.0, 1e-12);
  CHECK_NEAR(s.sd, 2.0, 1e-12);
  CHECK_NEAR(s.sem, 2.0 / sqrt(3.0), 1e-12);
  CHECK_NEAR(s.ci_half, 4.302652729911275 * 2.0 / sqrt(3.0), 1e-9);
  CHECK_NEAR(s.median, 82.0, 1e-12);
  CHECK_NEAR(s.q1, 81.0, 1e-12);
  CHECK_NEAR(s.q3, 83.0, 1e-12);
  const double y[] = {4.0, 1.0, 3.0, 2.0};
  sb_summarize(y, 4, &s);
  CHECK_NEAR(s.median, 2.5, 1e-12);
  CHECK_NEAR(s.q1, 1.75, 1e-12);
  CHECK_NEAR(s.q3, 3.25, 1e-12);
  CHECK_NEAR(s.sd, sqrt(5.0 / 3.0), 1e-12);
  CHECK(s.min == 1.0 && s.max == 4.0);
  const double one[] = {7.0};
  sb_summarize(one, 1, &s);
  CHECK(s.mean == 7.0 && isnan(s.sd) && isnan(s.ci_half));
}

/* A run directory with 2 models x 3 seeds where one cell never finished. */
static void reduce_run_dir(void) {
  char dir[128];
  snprintf(dir, sizeof dir, "/tmp/snnbench-test-reduce-%ld", (long)getpid());
  char cells_dir[200];
  snprintf(cells_dir, sizeof cells_dir, "%s/cells", dir);
  CHECK(sb_mkdir_p(cells_dir) == SB_OK);
  const double acc[2][3] = {{80.0, 82.0, 84.0}, {90.0, 91.0, 0.0}};
  const char *models[2] = {"a", "b"};
  cJSON *grid = cJSON_CreateObject();
  cJSON *axes = cJSON_AddArrayToObject(grid, "axes");
  cJSON_AddItemToArray(axes, cJSON_CreateString("model"));
  cJSON_AddItemToArray(axes, cJSON_CreateString("seed"));
  cJSON *list = cJSON_AddArrayToObject(grid, "cells");
  for (int m = 0; m < 2; m++)
    for (int s = 0; s < 3; s++) {
      sb_cell c;
      memset(&c, 0, sizeof c);
      snprintf(c.id, sizeof c.id, "%016x", 0xabc0 + m * 16 + s);
      snprintf(c.cfg.model, sizeof c.cfg.model, "%s", models[m]);
      c.axes = cJSON_CreateObject();
      cJSON_AddStringToObject(c.axes, "model", models[m]);
      cJSON_AddNumberToObject(c.axes, "seed", s);
      c.resolved_text = "{}";
      cJSON *jc = cJSON_CreateObject();
      cJSON_AddStringToObject(jc, "id", c.id);
      cJSON_AddItemToObject(jc, "axes", cJSON_Duplicate(c.axes, 1));
      cJSON_AddItemToArray(list, jc);
      if (m == 1 && s == 2) {
        cJSON_Delete(c.axes);
        continue; /* the missing cell */
      }
      double curve[1] = {acc[m][s]};
      sb_trial_result r;
      memset(&r, 0, sizeof r);
      r.n_epochs = 1;
      r.train_loss = r.train_acc = r.val_loss = r.val_acc = r.test_loss = r.test_acc = r.lr =
          r.epoch_time = curve;
      r.test_acc_final = acc[m][s];
      r.test_acc_at_best_val = acc[m][s] - 1.0;
      r.spike_rate = 0.1 * (s + 1);
      CHECK(sb_cell_write(dir, &c, &r, "testhost", 0, 1) == SB_OK);
      sb_ledger_entry e = {"done", c.id, 0, "testhost", 1, NULL, 1.0, NULL, -1};
      CHECK(sb_ledger_append(dir, "ledger.jsonl", &e) == SB_OK);
      cJSON_Delete(c.axes);
    }
  char *text = cJSON_Print(grid);
  char p[300];
  snprintf(p, sizeof p, "%s/grid.json", dir);
  CHECK(sb_write_file_atomic(p, text, strlen(text)) == SB_OK);
  snprintf(p, sizeof p, "%s/config.json", dir);
  CHECK(sb_write_file_atomic(p, "{}", 2) == SB_OK);
  snprintf(p, sizeof p, "%s/context.json", dir);
  CHECK(sb_write_file_atomic(p, "{\"experiment\":\"t\"}", 18) == SB_OK);
  free(text);
  cJSON_Delete(grid);

  sb_clear_error();
  CHECK_MSG(sb_reduce_dir(dir, 0) == SB_OK, "%s", sb_errmsg());
  snprintf(p, sizeof p, "%s/summary.json", dir);
  FILE *f = fopen(p, "r");
  CHECK(f != NULL);
  if (f) {
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(j, "groups");
    CHECK(cJSON_GetArraySize(groups) == 2);
    const cJSON *ga = cJSON_GetArrayItem(groups, 0), *gb = cJSON_GetArrayItem(groups, 1);
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ga, "metrics"), "test_acc_final");
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(ma, "n")->valuedouble, 3, 0);
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(ma, "mean")->valuedouble, 82.0, 1e-9);
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(ma, "sd")->valuedouble, 2.0, 1e-9);
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(ma, "ci95_half")->valuedouble,
               4.302652729911275 * 2.0 / sqrt(3.0), 1e-7);
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(gb, "metrics"), "test_acc_final");
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(mb, "n")->valuedouble, 2, 0);
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(mb, "mean")->valuedouble, 90.5, 1e-9);
    CHECK_NEAR(cJSON_GetObjectItemCaseSensitive(mb, "ci95_half")->valuedouble,
               12.706204736432095 * sqrt(0.5) / sqrt(2.0), 1e-7);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(gb, "missing")) == 1);
    cJSON_Delete(j);
  }
  snprintf(p, sizeof p, "%s/summary.md", dir);
  f = fopen(p, "r");
  CHECK(f != NULL);
  if (f) {
    char buf[1 << 14];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    CHECK_MSG(strstr(buf, "| a | 3/3 | 82.00 ± 4.97 |") != NULL, "%s", buf);
    CHECK_MSG(strstr(buf, "| b | 2/3 | 90.50 ± 6.35 |") != NULL, "%s", buf);
    CHECK(strstr(buf, "1 cell missing") != NULL);
  }
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

int main(void) {
  t_distribution();
  summaries();
  reduce_run_dir();
  return check_exit("test_stats");
}
