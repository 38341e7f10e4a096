/* Cell checkpoints: a round trip restores every value bitwise; a corrupt, truncated, foreign or
 * mismatched file is refused as a whole and leaves the model, optimiser and history untouched. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "snnbench/checkpoint.h"
#include "snnbench/models.h"
#include "snnbench/rng.h"

static const char *const k_cell = "0123456789abcdef";

static sb_model *build(uint64_t seed) {
  cJSON *spec;
  if (sb_model_spec_load("baseline_lif", "baseline_lif", &spec)) return NULL;
  sb_model_opts o = {.input_shape = {1, {784}}, .input_static = 1, .n_classes = 10, .T = 2,
                     .B = 4, .origin = "baseline_lif"};
  sb_model *m;
  sb_status st = sb_model_build(&m, spec, &o);
  cJSON_Delete(spec);
  if (st) return NULL;
  sb_model_init_params(m, seed);
  /* Buffers (BatchNorm running statistics) get values that differ between models. */
  sb_rng r;
  sb_rng_init(&r, seed, sb_stream(SB_STREAM_TEST, 1));
  for (int i = 0; i < m->n_buffers; i++)
    for (long k = 0; k < m->buffers[i].n; k++) m->buffers[i].w[k] = sb_rng_uniform(&r);
  return m;
}

static void fill(float *v, long n, uint64_t seed) {
  sb_rng r;
  sb_rng_init(&r, seed, sb_stream(SB_STREAM_TEST, 2));
  for (long i = 0; i < n; i++) v[i] = sb_rng_normal(&r);
}

static void make_result(sb_trial_result *res, int epochs) {
  memset(res, 0, sizeof *res);
  double **c[] = {&res->train_loss, &res->train_acc, &res->val_loss, &res->val_acc,
                  &res->test_loss,  &res->test_acc,  &res->lr,       &res->epoch_time};
  for (size_t i = 0; i < sizeof c / sizeof *c; i++)
    *c[i] = calloc((size_t)epochs, sizeof(double));
  res->n_epochs = epochs;
  res->best_val_epoch = -1;
  res->best_val_acc = -1.0;
}

static int same_model(const sb_model *a, const sb_model *b) {
  if (memcmp(a->param_block, b->param_block, (size_t)a->n_param_values * sizeof(float))) return 0;
  for (int i = 0; i < a->n_buffers; i++)
    if (memcmp(a->buffers[i].w, b->buffers[i].w, (size_t)a->buffers[i].n * sizeof(float)))
      return 0;
  return 1;
}

static void write_bytes(const char *path, const unsigned char *p, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(p, 1, n, f);
  fclose(f);
}

int main(void) {
  char dir[] = "/tmp/sb_ckpt_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256], bad[256];
  snprintf(path, sizeof path, "%s/%s.ckpt", dir, k_cell);
  snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);

  /* The state to save: a model, Adam with moments, three epochs of which one is done. */
  sb_model *src = build(1);
  CHECK(src != NULL && src->n_buffers > 0);
  if (!src) return check_exit("test_checkpoint");
  sb_optimizer opt;
  sb_optimizer_init(&opt, SB_OPT_ADAM, src->n_param_values, 0.0f, 0.0f);
  opt.step = 17;
  fill(opt.m, opt.n, 3);
  fill(opt.v, opt.n, 4);
  sb_trial_result res;
  make_result(&res, 3);
  res.train_loss[0] = 0.5;
  res.test_acc[0] = 81.25;
  res.lr[0] = 1e-3;
  res.best_val_epoch = 0;
  res.best_val_acc = 80.0;
  res.test_acc_at_best_val = 81.25;
  res.train_time_s = 1.5;
  const sb_train_position pos = {1, 3, 17, 12.75, 40, 0.25};
  CHECK(sb_checkpoint_save(path, k_cell, &pos, &res, src, &opt) == SB_OK);

  /* Round trip into a differently initialised model. */
  sb_model *dst = build(2);
  sb_optimizer opt2;
  sb_optimizer_init(&opt2, SB_OPT_ADAM, dst->n_param_values, 0.0f, 0.0f);
  sb_trial_result res2;
  make_result(&res2, 3);
  sb_train_position pos2;
  char why[256] = "";
  CHECK(!same_model(src, dst));
  CHECK(sb_checkpoint_load(path, k_cell, &pos2, &res2, dst, &opt2, why, sizeof why) ==
        SB_CKPT_LOADED);
  CHECK(same_model(src, dst));
  CHECK(opt2.step == 17);
  CHECK(!memcmp(opt.m, opt2.m, (size_t)opt.n * sizeof(float)));
  CHECK(!memcmp(opt.v, opt2.v, (size_t)opt.n * sizeof(float)));
  CHECK(pos2.epoch == 1 && pos2.batch == 3 && pos2.step == 17 && pos2.loss_sum == 12.75 &&
        pos2.correct == 40 && pos2.epoch_time_s == 0.25);
  CHECK(res2.train_loss[0] == 0.5 && res2.test_acc[0] == 81.25 && res2.lr[0] == 1e-3);
  CHECK(res2.best_val_epoch == 0 && res2.best_val_acc == 80.0 &&
        res2.test_acc_at_best_val == 81.25 && res2.train_time_s == 1.5);
  int ep = -1;
  long batch = -1;
  CHECK(sb_checkpoint_peek(path, k_cell, &ep, &batch) == 0 && ep == 1 && batch == 3);

  /* Every way a file can be wrong: refused, and the target model stays as it was. */
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  const size_t n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *bytes = malloc(n);
  CHECK(fread(bytes, 1, n, f) == n);
  fclose(f);
  sb_model *fresh = build(5), *fresh_copy = build(5);
  sb_trial_result res3;
  make_result(&res3, 3);

  bytes[n / 2] ^= 0x40; /* one flipped bit in the parameters */
  write_bytes(bad, bytes, n);
  bytes[n / 2] ^= 0x40;
  CHECK(sb_checkpoint_load(bad, k_cell, &pos2, &res3, fresh, &opt2, why, sizeof why) ==
        SB_CKPT_INVALID);
  CHECK_MSG(strstr(why, "checksum") != NULL, "%s", why);
  CHECK(same_model(fresh, fresh_copy));
  CHECK(sb_checkpoint_peek(bad, k_cell, &ep, &batch) != 0);

  write_bytes(bad, bytes, n - 1000); /* a torn write */
  CHECK(sb_checkpoint_load(bad, k_cell, &pos2, &res3, fresh, &opt2, why, sizeof why) ==
        SB_CKPT_INVALID);
  CHECK(same_model(fresh, fresh_copy));

  write_bytes(bad, bytes, 10);
  CHECK(sb_checkpoint_load(bad, k_cell, &pos2, &res3, fresh, &opt2, why, sizeof why) ==
        SB_CKPT_INVALID);
  CHECK_MSG(strstr(why, "truncated") != NULL, "%s", why);

  CHECK(sb_checkpoint_load(path, "fedcba9876543210", &pos2, &res3, fresh, &opt2, why,
                           sizeof why) == SB_CKPT_INVALID);
  CHECK_MSG(strstr(why, "belongs to cell 0123456789abcdef") != NULL, "%s", why);
  CHECK(same_model(fresh, fresh_copy));

  sb_trial_result res5;
  make_result(&res5, 5); /* the cell now has 5 epochs */
  CHECK(sb_checkpoint_load(path, k_cell, &pos2, &res5, fresh, &opt2, why, sizeof why) ==
        SB_CKPT_INVALID);
  CHECK(same_model(fresh, fresh_copy));

  sb_optimizer sgd;
  sb_optimizer_init(&sgd, SB_OPT_SGD, fresh->n_param_values, 0.0f, 0.9f);
  CHECK(sb_checkpoint_load(path, k_cell, &pos2, &res3, fresh, &sgd, why, sizeof why) ==
        SB_CKPT_INVALID);
  CHECK(same_model(fresh, fresh_copy));

  snprintf(bad, sizeof bad, "%s/absent.ckpt", dir);
  CHECK(sb_checkpoint_load(bad, k_cell, &pos2, &res3, fresh, &opt2, why, sizeof why) ==
        SB_CKPT_NONE);

  free(bytes);
  snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
  unlink(bad);
  unlink(path);
  rmdir(dir);
  sb_trial_result_free(&res);
  sb_trial_result_free(&res2);
  sb_trial_result_free(&res3);
  sb_trial_result_free(&res5);
  sb_optimizer_free(&opt);
  sb_optimizer_free(&opt2);
  sb_optimizer_free(&sgd);
  sb_model_free(src);
  sb_model_free(dst);
  sb_model_free(fresh);
  sb_model_free(fresh_copy);
  return check_exit("test_checkpoint");
}
