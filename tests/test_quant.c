/* Int8 weight quantisation: per-output-channel scales, the round trip stays within half a step,
 * non-weight tensors are untouched, restore is exact, and the size arithmetic. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/kernels.h"
#include "snnbench/nn.h"
#include "snnbench/quant.h"
#include "snnbench/rng.h"

int main(void) {
  sb_kernels_init();
  cJSON *j = cJSON_Parse("{\"layers\":[{\"type\":\"linear\",\"out\":3},{\"type\":\"batchnorm\"},"
                         "{\"type\":\"mean_time\"}]}");
  sb_model_opts o = {.input_shape = {1, {4, 0, 0}}, .input_static = 1, .n_classes = 3, .T = 1,
                     .B = 1, .origin = "test"};
  sb_model *m;
  CHECK(sb_model_build(&m, j, &o) == SB_OK);
  cJSON_Delete(j);
  sb_model_init_params(m, 2);
  sb_param *w = &m->params[0], *bias = &m->params[1], *gamma = &m->params[2];
  CHECK(w->q_channels == 3 && w->q_len == 4 && bias->q_channels == 0 && gamma->q_channels == 0);
  /* Output channel o of an [in][out] weight is column o: make column 1 span ±2.54, so its step
   * is 0.02 and 1.0 lands exactly on 50 steps. */
  for (int i = 0; i < 4; i++) w->w[i * 3 + 1] = 0.0f;
  w->w[0 * 3 + 1] = 2.54f;
  w->w[1 * 3 + 1] = -1.0f;
  w->w[2 * 3 + 1] = 0.013f; /* rounds to 1 step = 0.02 */
  float before[12], bias_before[3];
  memcpy(before, w->w, sizeof before);
  memcpy(bias_before, bias->w, sizeof bias_before);
  float *master = malloc((size_t)sb_quant_master_floats(m) * sizeof(float));
  CHECK(sb_quant_master_floats(m) == 12);
  sb_quant_apply(m, master);
  CHECK_NEAR(w->w[0 * 3 + 1], 2.54, 1e-6);
  CHECK_NEAR(w->w[1 * 3 + 1], -1.0, 1e-6);
  CHECK_NEAR(w->w[2 * 3 + 1], 0.02, 1e-7);
  /* Every channel stays within half of its own step. */
  for (int c = 0; c < 3; c++) {
    float amax = 0;
    for (int i = 0; i < 4; i++) amax = fmaxf(amax, fabsf(before[i * 3 + c]));
    for (int i = 0; i < 4; i++)
      CHECK(fabsf(w->w[i * 3 + c] - before[i * 3 + c]) <= 0.5f * amax / 127.0f + 1e-7f);
  }
  CHECK(memcmp(bias->w, bias_before, sizeof bias_before) == 0);
  sb_quant_restore(m, master);
  CHECK(memcmp(w->w, before, sizeof before) == 0);
  double fp32, int8;
  sb_quant_sizes(m, &fp32, &int8);
  /* 12 weights + 3 bias + 3 gamma + 3 beta floats, against 12 bytes + 3 scales + 9 floats. */
  CHECK_NEAR(fp32, 4.0 * 21, 0);
  CHECK_NEAR(int8, 12 + 4.0 * (3 + 9), 0);
  free(master);
  sb_model_free(m);
  return check_exit("test_quant");
}
