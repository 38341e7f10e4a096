/* The arena: a block the machine cannot give is an error with a message, never an abort; plans
 * that overflow size_t saturate instead of wrapping to a small block; plan-only mode allocates
 * nothing; a normal commit gives aligned, zeroed, disjoint buffers. And a model whose plan is
 * too large for the machine fails to build with a one-line input error. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "snnbench/arena.h"
#include "snnbench/nn.h"

static void commit_failure_is_an_error(void) {
  sb_arena a;
  sb_arena_init(&a);
  void *p;
  sb_arena_request_bytes(&a, &p, SIZE_MAX / 4);  /* more than any address space holds */
  sb_clear_error();
  CHECK(sb_arena_commit(&a) == SB_ERUNTIME);
  CHECK(a.block == NULL && p == NULL);
  CHECK_MSG(strstr(sb_errmsg(), "cannot allocate") != NULL, "%s", sb_errmsg());
  sb_arena_free(&a);
}

static void overflow_saturates(void) {
  sb_arena a;
  sb_arena_init(&a);
  void *p, *q;
  sb_arena_request_bytes(&a, &p, SIZE_MAX - 100);
  sb_arena_request_bytes(&a, &q, SIZE_MAX - 100);
  CHECK(a.bytes == SIZE_MAX);
  sb_clear_error();
  CHECK(sb_arena_commit(&a) == SB_ERUNTIME);
  CHECK_MSG(strstr(sb_errmsg(), "exceeds the address space") != NULL, "%s", sb_errmsg());
  sb_arena_free(&a);
}

static void plan_only_allocates_nothing(void) {
  sb_arena a;
  sb_arena_init(&a);
  float *x;
  sb_arena_request_floats(&a, &x, 1000);
  sb_arena_plan_only(1);
  CHECK(sb_arena_is_plan_only());
  CHECK(sb_arena_commit(&a) == SB_OK);
  sb_arena_plan_only(0);
  CHECK(a.block == NULL && x == NULL && a.bytes >= 4000);
  sb_arena_free(&a);
}

static void normal_commit(void) {
  sb_arena a;
  sb_arena_init(&a);
  float *x, *y;
  sb_arena_request_floats(&a, &x, 3);
  sb_arena_request_floats(&a, &y, 5);
  CHECK(sb_arena_commit(&a) == SB_OK);
  CHECK(x && y && (uintptr_t)x % 64 == 0 && (uintptr_t)y % 64 == 0 && y >= x + 3);
  CHECK(x[0] == 0.0f && x[2] == 0.0f && y[4] == 0.0f);
  sb_arena_free(&a);
}

/* Two linear layers of a million outputs: 8 TB of weights, far beyond any test machine. */
static void oversized_model_is_an_input_error(void) {
  cJSON *spec = cJSON_Parse(
      "{\"layers\": [{\"type\": \"linear\", \"out\": 1000000}, {\"type\": \"linear\", \"out\": "
      "1000000}, {\"type\": \"linear\", \"out\": 10}, {\"type\": \"mean_time\"}]}");
  sb_model_opts o = {.input_shape = {3, {1, 28, 28}}, .input_static = 1, .n_classes = 10,
                     .T = 1, .B = 1, .origin = "huge"};
  sb_model *m = NULL;
  sb_clear_error();
  CHECK(sb_model_build(&m, spec, &o) == SB_EINPUT);
  CHECK(m == NULL);
  CHECK_MSG(strstr(sb_errmsg(), "model huge: batch size 1 at T=1 needs") != NULL, "%s",
            sb_errmsg());
  /* The same spec in plan-only mode builds: shapes and counts without the memory. */
  sb_arena_plan_only(1);
  CHECK(sb_model_build(&m, spec, &o) == SB_OK);
  sb_arena_plan_only(0);
  CHECK(m && m->n_param_values == 784L * 1000000 + 1000000 + 1000000L * 1000000 + 1000000 +
                                      1000000L * 10 + 10);
  CHECK(m && m->param_block == NULL);
  sb_model_free(m);
  cJSON_Delete(spec);
}

int main(void) {
  commit_failure_is_an_error();
  overflow_saturates();
  plan_only_allocates_nothing();
  normal_commit();
  oversized_model_is_an_input_error();
  return check_exit("test_arena");
}
