/* Int8 weight quantisation: per-output-channel scales, the round trip stays within half a step,
 * non-weight tensors are untouched, restore is exact, and the size arithmetic; which tensors of
 * every weighted layer quantise, with each output channel grouped as the layer stores it; and
 * quantisation-aware training's straight-through estimator. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/kernels.h"
#include "snnbench/nn.h"
#include "snnbench/optim.h"
#include "snnbench/quant.h"
#include "snnbench/rng.h"

static sb_model *build(const char *spec, sb_shape in, int in_static, int classes, int T, int B) {
  cJSON *j = cJSON_Parse(spec);
  sb_model_opts o = {.input_shape = in, .input_static = in_static, .n_classes = classes, .T = T,
                     .B = B, .origin = "test"};
  sb_model *m = NULL;
  CHECK_MSG(sb_model_build(&m, j, &o) == SB_OK, "%s", sb_errmsg());
  cJSON_Delete(j);
  if (m) sb_model_init_params(m, 2);
  return m;
}

static void linear_round_trip(void) {
  sb_model *m = build("{\"layers\":[{\"type\":\"linear\",\"out\":3},{\"type\":\"batchnorm\"},"
                      "{\"type\":\"mean_time\"}]}", (sb_shape){1, {4, 0, 0}}, 1, 3, 1, 1);
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
}

/* Which tensors quantise: the weight matrices that multiply activations, and nothing else.
 * `cols` is the number of output channels of a tensor stored [rows][cols] (channel = index mod
 * cols); 0 means the tensor stays float32. */
typedef struct {
  const char *name;
  int cols;
} expected_tensor;

static void every_weighted_layer(void) {
  /* Input [4], static, T = 3: power_kan, branch_mixture, power_basis and chebyshev_kan keep it
   * static; temporal_attention makes it per step; dendritic_mlp, a LIF, a linear and the
   * time-softmax readout follow. */
  sb_model *m = build(
      "{\"layers\":["
      "{\"name\":\"pk\",\"type\":\"power_kan\",\"out\":4},"
      "{\"name\":\"mix\",\"type\":\"branch_mixture\",\"out\":4,\"branches\":2},"
      "{\"name\":\"pb\",\"type\":\"power_basis\",\"out\":4},"
      "{\"name\":\"cheb\",\"type\":\"chebyshev_kan\",\"scale\":true},"
      "{\"name\":\"ta\",\"type\":\"temporal_attention\"},"
      "{\"name\":\"dm\",\"type\":\"dendritic_mlp\",\"branches\":2,\"width\":2},"
      "{\"name\":\"lif\",\"type\":\"neuron\",\"neuron\":\"lif\",\"learn_tau\":\"sigmoid\"},"
      "{\"name\":\"fc\",\"type\":\"linear\",\"out\":3},"
      "{\"name\":\"tsr\",\"type\":\"time_softmax_readout\",\"hidden\":[2]}]}",
      (sb_shape){1, {4, 0, 0}}, 1, 3, 3, 2);
  if (!m) return;
  static const expected_tensor want[] = {
      {"pk.weight", 4},          {"pk.bias", 0},          {"pk.phi", 4},
      {"pk.alpha", 0},           {"mix.weight", 8},       {"mix.bias", 0},
      {"mix.gate.weight", 2},    {"mix.gate.bias", 0},    {"pb.coeff", 4},
      {"cheb.coeff", 0},         {"cheb.scale", 0},       {"ta.query.weight", 4},
      {"ta.query.bias", 0},      {"ta.key.weight", 4},    {"ta.key.bias", 0},
      {"ta.value.weight", 4},    {"ta.value.bias", 0},    {"dm.weight", 4},
      {"dm.gate_weight", 4},     {"dm.gate_bias", 0},     {"dm.branch_attn", 0},
      {"lif.tau", 0},            {"fc.weight", 3},        {"fc.bias", 0},
      {"tsr.hidden.weight", 2},  {"tsr.hidden.bias", 0},  {"tsr.score.weight", 1},
      {"tsr.score.bias", 0}};
  const int n_want = sizeof want / sizeof *want;
  CHECK_MSG(m->n_params == n_want, "%d parameter tensors, expected %d", m->n_params, n_want);
  sb_rng r;
  sb_rng_init(&r, 5, sb_stream(SB_STREAM_TEST, 11));
  double q_values = 0, q_channels = 0, total = 0;
  for (int i = 0; i < m->n_params && i < n_want; i++) {
    sb_param *p = &m->params[i];
    total += (double)p->n;
    CHECK_MSG(!strcmp(p->name, want[i].name), "tensor %d is %s, expected %s", i, p->name,
              want[i].name);
    CHECK_MSG(p->q_channels == want[i].cols, "%s: %d int8 channels, expected %d", p->name,
              p->q_channels, want[i].cols);
    if (!want[i].cols) continue;
    q_values += (double)p->n;
    q_channels += want[i].cols;
    /* Channel c's values are scaled by 4^c: grouped into the wrong channels, a small value
     * would be rounded with a large channel's step. */
    for (long k = 0; k < p->n; k++)
      p->w[k] = (2.0f * sb_rng_uniform(&r) - 1.0f) * powf(4.0f, (float)(k % want[i].cols));
  }
  const long n_master = sb_quant_master_floats(m);
  CHECK_NEAR(n_master, q_values, 0);
  float *before = malloc((size_t)m->n_param_values * sizeof(float));
  memcpy(before, m->param_block, (size_t)m->n_param_values * sizeof(float));
  float *master = malloc((size_t)n_master * sizeof(float));
  sb_quant_apply(m, master);
  for (int i = 0; i < m->n_params && i < n_want; i++) {
    const sb_param *p = &m->params[i];
    const float *orig = before + (p->w - m->param_block);
    if (!want[i].cols) {
      CHECK_MSG(memcmp(p->w, orig, (size_t)p->n * sizeof(float)) == 0, "%s changed", p->name);
      continue;
    }
    const int C = want[i].cols;
    for (int c = 0; c < C; c++) {
      float amax = 0.0f;
      for (long k = c; k < p->n; k += C) amax = fmaxf(amax, fabsf(orig[k]));
      int ok = 1;
      for (long k = c; k < p->n; k += C) ok &= fabsf(p->w[k] - orig[k]) <= 0.5f * amax / 127.0f * 1.0001f;
      CHECK_MSG(ok, "%s channel %d is not quantised with its own scale", p->name, c);
    }
  }
  sb_quant_restore(m, master);
  CHECK(memcmp(m->param_block, before, (size_t)m->n_param_values * sizeof(float)) == 0);
  double fp32, int8;
  sb_quant_sizes(m, &fp32, &int8);
  CHECK_NEAR(fp32, 4.0 * total, 0);
  CHECK_NEAR(int8, q_values + 4.0 * (q_channels + total - q_values), 0);
  free(before);
  free(master);
  sb_model_free(m);
}

/* q(w) computed here from its definition: per output column of an [in][out] weight, scale =
 * max|w| / 127, q = scale · clamp(round half to even(w / scale), −127, 127). */
static void fake_quant_reference(float *w, int in, int out) {
  for (int o = 0; o < out; o++) {
    float amax = 0.0f;
    for (int i = 0; i < in; i++) amax = fmaxf(amax, fabsf(w[i * out + o]));
    const float s = amax / 127.0f;
    for (int i = 0; i < in; i++) {
      const float q = nearbyintf(w[i * out + o] / s);
      w[i * out + o] = fminf(127.0f, fmaxf(-127.0f, q)) * s;
    }
  }
}

/* Quantisation-aware training as the trainer runs a batch: sb_quant_apply, forward, loss,
 * backward, sb_quant_restore. The forward pass must equal that of the quantise-dequantised
 * weights, the gradient must be the gradient at q(w) passed through unchanged (the straight-
 * through estimator: every weight lies inside its channel's clip range ±max|w|), and the float
 * weights must come back exactly, so the optimiser updates them and not q(w). */
static void straight_through_estimator(void) {
  const char *spec = "{\"layers\":[{\"type\":\"linear\",\"out\":3},{\"type\":\"mean_time\"}]}";
  sb_model *qat = build(spec, (sb_shape){1, {4, 0, 0}}, 1, 3, 1, 2);
  sb_model *ref = build(spec, (sb_shape){1, {4, 0, 0}}, 1, 3, 1, 2);
  if (!qat || !ref) return;
  const float x[2 * 4] = {0.5f, -1.0f, 2.0f, 0.25f, /**/ -0.75f, 1.5f, 0.1f, -2.0f};
  const int32_t y[2] = {2, 0};
  float w_float[12];
  memcpy(w_float, qat->params[0].w, sizeof w_float);
  fake_quant_reference(ref->params[0].w, 4, 3);
  int differs = 0;
  for (int k = 0; k < 12; k++) differs |= ref->params[0].w[k] != w_float[k];
  CHECK(differs); /* the round trip must change something, or the test proves nothing */

  sb_ctx c = {.T = 1, .B = 2, .train = 1, .n_epochs = 1};
  int hits;
  float *master = malloc((size_t)sb_quant_master_floats(qat) * sizeof(float));
  sb_quant_apply(qat, master);
  sb_model_forward(qat, &c, x);
  const double loss_q = sb_softmax_xent(qat->output->x, y, NULL, 2, 3, 0.0f, qat->output->g, &hits);
  float logits_q[6];
  memcpy(logits_q, qat->output->x, sizeof logits_q);
  sb_model_backward(qat, &c);
  sb_quant_restore(qat, master);

  sb_model_forward(ref, &c, x);
  const double loss_r = sb_softmax_xent(ref->output->x, y, NULL, 2, 3, 0.0f, ref->output->g, &hits);
  sb_model_backward(ref, &c);

  CHECK(memcmp(logits_q, ref->output->x, sizeof logits_q) == 0); /* forward = q(w) forward */
  CHECK(loss_q == loss_r);
  CHECK(memcmp(qat->grad_block, ref->grad_block, (size_t)qat->n_param_values * sizeof(float)) == 0);
  int all_pass = 1;
  for (int k = 0; k < 12; k++) all_pass &= qat->params[0].g[k] != 0.0f;
  CHECK(all_pass); /* the true derivative of round() would be zero almost everywhere */
  CHECK(memcmp(qat->params[0].w, w_float, sizeof w_float) == 0);
  free(master);
  sb_model_free(qat);
  sb_model_free(ref);
}

int main(void) {
  sb_kernels_init();
  linear_round_trip();
  every_weighted_layer();
  straight_through_estimator();
  return check_exit("test_quant");
}
