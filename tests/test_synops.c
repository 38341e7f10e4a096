/* Synaptic-operation counts against hand-computed values: NeuroBench's documented example, spike
 * patterns through linear and conv layers (stride, padding, groups), the T factor of a static
 * input, a brute-force recount of random cases, and the time-softmax readout's scorer. Then the
 * efficiency report: what applies to a non-spiking model and what is n/a, activation sparsity
 * over ReLU outputs, and connection sparsity over every weight matrix. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/kernels.h"
#include "snnbench/metrics.h"
#include "snnbench/nn.h"
#include "snnbench/rng.h"

static sb_model *build(const char *spec, sb_shape in, int in_static, int in_binary, int classes,
                       int T, int B) {
  cJSON *j = cJSON_Parse(spec);
  sb_model_opts o = {.input_shape = in, .input_static = in_static, .input_binary = in_binary,
                     .n_classes = classes, .T = T, .B = B, .origin = "test"};
  sb_model *m = NULL;
  CHECK_MSG(sb_model_build(&m, j, &o) == SB_OK, "%s", sb_errmsg());
  cJSON_Delete(j);
  if (m) sb_model_init_params(m, 1);
  return m;
}

static const sb_op_stats *count(sb_model *m, const float *x, int T, int B) {
  sb_ctx c = {.T = T, .B = B, .collect_stats = 1, .n_epochs = 1};
  sb_model_reset_stats(m);
  sb_model_forward(m, &c, x);
  return &m->layers[0]->op_stats;
}

/* NeuroBench's synaptic_operations.rst: a 3x3 weight with 3 zeros and x = [0, 1.3, -1] gives
 * 4 effective operations (MACs: 1.3 is not ternary) and 9 dense ones. */
static void neurobench_example(void) {
  sb_model *m = build("{\"layers\":[{\"type\":\"linear\",\"out\":3,\"bias\":false},{\"type\":\"mean_time\"}]}",
                      (sb_shape){1, {3, 0, 0}}, 1, 0, 3, 1, 1);
  float *w = m->params[0].w; /* [in][out] */
  for (int i = 0; i < 9; i++) w[i] = 0.5f;
  w[0 * 3 + 0] = w[1 * 3 + 1] = w[2 * 3 + 2] = 0.0f; /* three zeros, one per input row */
  const float x[3] = {0.0f, 1.3f, -1.0f};
  const sb_op_stats *s = count(m, x, 1, 1);
  CHECK_NEAR(s->effective_macs, 4, 0);
  CHECK_NEAR(s->effective_acs, 0, 0);
  CHECK_NEAR(s->dense, 9, 0);
  /* Ternary input: the same counts become accumulates. */
  const float xt[3] = {0.0f, 1.0f, -1.0f};
  s = count(m, xt, 1, 1);
  CHECK_NEAR(s->effective_acs, 4, 0);
  CHECK_NEAR(s->effective_macs, 0, 0);
  sb_model_free(m);
}

/* A static input runs once but counts once per step; a spike train counts what it carries. */
static void linear_time(void) {
  sb_model *m = build("{\"layers\":[{\"type\":\"linear\",\"out\":4},{\"type\":\"mean_time\"}]}",
                      (sb_shape){1, {5, 0, 0}}, 1, 0, 4, 3, 2);
  float x[2 * 5] = {0.2f, 0, 0, 0.7f, 0, /* sample 0: 2 nonzeros */ 0, 0, 0, 0, 1.5f};
  const sb_op_stats *s = count(m, x, 3, 2);
  CHECK_NEAR(s->effective_macs, 3.0 * (2 + 1) * 4, 0); /* T x nonzeros x outputs */
  CHECK_NEAR(s->dense, 3.0 * 2 * 5 * 4, 0);
  CHECK_NEAR(s->samples, 2, 0);
  sb_model_free(m);
  /* Spikes over T = 2: step 0 has 1 + 0 spikes, step 1 has 2 + 3. */
  m = build("{\"layers\":[{\"type\":\"linear\",\"out\":4},{\"type\":\"mean_time\"}]}",
            (sb_shape){1, {5, 0, 0}}, 0, 1, 4, 2, 2);
  float sp[2 * 2 * 5] = {1, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 0, /**/ 0, 1, 1, 0, 0, /**/ 1, 1, 1, 0, 0};
  s = count(m, sp, 2, 2);
  CHECK_NEAR(s->effective_acs, (1 + 0 + 2 + 3) * 4.0, 0);
  CHECK_NEAR(s->effective_macs, 0, 0);
  CHECK_NEAR(s->dense, 2.0 * 2 * 5 * 4, 0);
  sb_model_free(m);
}

/* One input channel, 3x3 image, 3x3 kernel, padding 1: a centre spike reaches all 9 outputs,
 * a corner spike 4; dense counts 4 corners x 4 taps + 4 edges x 6 + centre 9 = 49 per filter. */
static void conv_hand(void) {
  sb_model *m = build("{\"layers\":[{\"type\":\"conv2d\",\"out\":2,\"kernel\":3,\"padding\":1},"
                      "{\"type\":\"flatten\"},{\"type\":\"mean_time\"}]}",
                      (sb_shape){3, {1, 3, 3}}, 1, 1, 18, 1, 1);
  float centre[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, corner[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
  const sb_op_stats *s = count(m, centre, 1, 1);
  CHECK_NEAR(s->effective_acs, 9 * 2, 0);
  CHECK_NEAR(s->dense, 49 * 2, 0);
  s = count(m, corner, 1, 1);
  CHECK_NEAR(s->effective_acs, 4 * 2, 0);
  /* A zero weight is not an operation: zero tap (0,0) of filter 0 (it serves the corner spike
   * only through output (1,1), where the spike sits under tap (0,0)). */
  m->params[0].w[0] = 0.0f;
  s = count(m, corner, 1, 1);
  CHECK_NEAR(s->effective_acs, 4 * 2 - 1, 0);
  sb_model_free(m);
  /* Stride 2, padding 1 on 4x4: outputs 2x2 at input rows/cols -1..1 and 1..3. A spike at (1,1)
   * sits under tap (2,2) of output (0,0), (2,0) of (0,1), (0,2) of (1,0), (0,0) of (1,1). A spike
   * at (0,0) only under tap (1,1) of output (0,0). */
  m = build("{\"layers\":[{\"type\":\"conv2d\",\"out\":3,\"kernel\":3,\"padding\":1,\"stride\":2},"
            "{\"type\":\"flatten\"},{\"type\":\"mean_time\"}]}",
            (sb_shape){3, {1, 4, 4}}, 1, 1, 12, 1, 1);
  float one[16] = {0}, origin[16] = {0};
  one[1 * 4 + 1] = 1.0f;
  origin[0] = 1.0f;
  CHECK_NEAR(count(m, one, 1, 1)->effective_acs, 4 * 3, 0);
  CHECK_NEAR(count(m, origin, 1, 1)->effective_acs, 1 * 3, 0);
  /* Dense: output (0,0) has 2x2 in-bounds taps, (0,1) and (1,0) 2x3, (1,1) 3x3: 4+6+6+9 = 25. */
  CHECK_NEAR(count(m, one, 1, 1)->dense, 25 * 3, 0);
  sb_model_free(m);
  /* Groups: 2 input channels, 4 filters in 2 groups; a spike in channel 1 feeds filters 2, 3. */
  m = build("{\"layers\":[{\"type\":\"conv2d\",\"out\":4,\"kernel\":1,\"groups\":2},"
            "{\"type\":\"flatten\"},{\"type\":\"mean_time\"}]}",
            (sb_shape){3, {2, 2, 2}}, 1, 1, 16, 1, 1);
  float g[8] = {0, 0, 0, 0, /* channel 1 */ 1, 0, 0, 1};
  const sb_op_stats *gs = count(m, g, 1, 1);
  CHECK_NEAR(gs->effective_acs, 2 * 2, 0); /* two spikes, two filters each */
  CHECK_NEAR(gs->dense, 4 * 1 * 4, 0);     /* 4 filters x 1 input channel each x 4 pixels */
  sb_model_free(m);
}

/* Random sparse inputs and weights with zeros, against a brute-force loop over every output,
 * tap and input channel. */
static void conv_brute_force(void) {
  const int C = 4, H = 6, W = 5, O = 6, G = 2, K = 3, S = 2, P = 1, B = 2;
  char spec[512];
  snprintf(spec, sizeof spec,
           "{\"layers\":[{\"type\":\"conv2d\",\"out\":%d,\"kernel\":%d,\"padding\":%d,\"stride\":%d,"
           "\"groups\":%d},{\"type\":\"flatten\"},{\"type\":\"mean_time\"}]}", O, K, P, S, G);
  const int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
  sb_model *m = build(spec, (sb_shape){3, {C, H, W}}, 1, 0, O * OH * OW, 1, B);
  sb_rng r;
  sb_rng_init(&r, 3, sb_stream(SB_STREAM_TEST, 7));
  float *w = m->params[0].w;
  for (long i = 0; i < m->params[0].n; i++) if (sb_rng_uniform(&r) < 0.3f) w[i] = 0.0f;
  float x[B * C * H * W];
  for (int i = 0; i < B * C * H * W; i++) x[i] = sb_rng_uniform(&r) < 0.4f ? 1.0f : 0.0f;
  double eff = 0, dense = 0;
  const int cg = C / G, og = O / G;
  for (int b = 0; b < B; b++)
    for (int o = 0; o < O; o++)
      for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++)
          for (int ci = 0; ci < cg; ci++)
            for (int ky = 0; ky < K; ky++)
              for (int kx = 0; kx < K; kx++) {
                const int iy = oy * S - P + ky, ix = ox * S - P + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                const int c = (o / og) * cg + ci;
                dense += 1;
                eff += x[((b * C + c) * H + iy) * W + ix] != 0.0f &&
                       w[((o * cg + ci) * K + ky) * K + kx] != 0.0f;
              }
  const sb_op_stats *s = count(m, x, 1, B);
  CHECK_NEAR(s->effective_acs, eff, 0);
  CHECK_NEAR(s->dense, dense, 0);
  sb_model_free(m);
}

/* Membrane updates: every neuron at t = 0, then each step whose membrane changed. An IF neuron
 * with zero input keeps its membrane; with constant input 0.4 it changes every step. */
static void membrane_updates(void) {
  sb_model *m = build("{\"layers\":[{\"type\":\"neuron\",\"neuron\":\"if\"},{\"type\":\"mean_time\"}]}",
                      (sb_shape){1, {3, 0, 0}}, 1, 0, 3, 4, 1);
  const float x[3] = {0.0f, 0.4f, 0.0f};
  sb_ctx c = {.T = 4, .B = 1, .collect_stats = 1, .n_epochs = 1};
  sb_model_reset_stats(m);
  sb_model_forward(m, &c, x);
  CHECK_NEAR(m->layers[0]->op_stats.membrane_updates, 3 + 3, 0); /* 3 at t=0, then 1 per step */
  sb_model_free(m);
}

/* time_softmax_readout's scorer is nn.Linear (NeuroBench counts it): Linear(C->1), or
 * Linear(C->h) then Linear(h->1) on the ReLU outputs. Rows: T = 2 steps x B = 2 samples. */
static void time_softmax_readout(void) {
  const float x[4 * 3] = {1.5f, 0, -2.0f, /* r0 */ 0, 0, 0.5f, /* r1 */
                          0.3f, 0.7f, 0,  /* r2 */ 0, 0, 0};   /* r3 */
  sb_model *m = build("{\"layers\":[{\"type\":\"time_softmax_readout\"}]}", (sb_shape){1, {3, 0, 0}},
                      0, 0, 3, 2, 2);
  float *w2 = m->params[0].w; /* score.weight [3] */
  w2[0] = 0.4f;
  w2[1] = 0.0f;
  w2[2] = -0.1f;
  /* r0: inputs 0 and 2 meet nonzero weights (2); r1: input 2 (1); r2: input 0 (1; input 1's
   * weight is zero); r3: none. */
  const sb_op_stats *s = count(m, x, 2, 2);
  CHECK_NEAR(s->effective_macs, 4, 0);
  CHECK_NEAR(s->effective_acs, 0, 0);
  CHECK_NEAR(s->dense, 4 * 3, 0);
  sb_model_free(m);

  m = build("{\"layers\":[{\"type\":\"time_softmax_readout\",\"hidden\":[2]}]}",
            (sb_shape){1, {3, 0, 0}}, 0, 0, 3, 2, 2);
  /* hidden.weight [C][H] = [[1,-1],[1,-1],[0,0]], no bias: hidden = (s, -s) with s = x0 + x1,
   * so one ReLU output is active where s != 0; score.weight [1, 1]. */
  float *W1 = m->params[0].w, *b1 = m->params[1].w, *v2 = m->params[2].w;
  const float w1[6] = {1, -1, 1, -1, 0, 0};
  memcpy(W1, w1, sizeof w1);
  b1[0] = b1[1] = 0.0f;
  v2[0] = v2[1] = 1.0f;
  /* First Linear: nonzero inputs x nonzero weights of their rows (row 2 has none): r0 2, r1 0,
   * r2 4, r3 0. Second: one active hidden unit in r0 and r2. */
  s = count(m, x, 2, 2);
  CHECK_NEAR(s->effective_macs, 2 + 0 + 4 + 0 + 2, 0);
  CHECK_NEAR(s->dense, 4 * (3 * 2 + 2), 0);
  sb_model_free(m);

  /* A static input is passed through without scoring: nothing computed, nothing counted. */
  m = build("{\"layers\":[{\"type\":\"time_softmax_readout\"}]}", (sb_shape){1, {3, 0, 0}}, 1, 0,
            3, 2, 2);
  s = count(m, x, 2, 2);
  CHECK(m->layers[0]->ops->count_ops != NULL);
  CHECK_NEAR(s->effective_macs + s->effective_acs + s->dense, 0, 0);
  sb_model_free(m);
}

static const sb_layer_report *find_row(const sb_model_report *r, const char *name) {
  for (int i = 0; i < r->n_layers; i++)
    if (!strcmp(r->layers[i].name, name)) return &r->layers[i];
  return NULL;
}

/* fc1 (5 -> 4, no bias) -> act -> fc2 (4 -> 2) on a static input, T = 3, B = 2. fc1's weights
 * are +0.5 for even outputs and -0.5 for odd ones, so with positive inputs half of fc1's outputs
 * are positive: a ReLU keeps 2 of 4. fc2 has one zero weight. */
static sb_model *report_model(const char *act) {
  char spec[512];
  snprintf(spec, sizeof spec,
           "{\"layers\":[{\"name\":\"fc1\",\"type\":\"linear\",\"out\":4,\"bias\":false},%s,"
           "{\"name\":\"fc2\",\"type\":\"linear\",\"out\":2},{\"type\":\"mean_time\"}]}", act);
  sb_model *m = build(spec, (sb_shape){1, {5, 0, 0}}, 1, 0, 2, 3, 2);
  float *w1 = m->params[0].w, *w2 = m->params[1].w;
  for (int k = 0; k < 5; k++)
    for (int o = 0; o < 4; o++) w1[k * 4 + o] = o % 2 ? -0.5f : 0.5f;
  for (int i = 0; i < 8; i++) w2[i] = 0.25f;
  w2[0] = 0.0f;
  return m;
}

static void report_ann_and_snn(void) {
  const float x[2 * 5] = {1, 0, 0, 2, 0, /* sample 1 */ 0, 0, 0, 0, 0.5f};
  const sb_energy_model em = {1.0, 10.0};
  sb_ctx c = {.T = 3, .B = 2, .collect_stats = 1, .n_epochs = 1};

  /* The ANN: no spike metric applies (NaN, not 0); ReLU outputs give activation sparsity; a
   * layer fed a static input is counted once per sample, not once per step. */
  sb_model *m = report_model("{\"name\":\"act\",\"type\":\"relu\"}");
  CHECK(!sb_model_is_spiking(m));
  sb_activation_tally act;
  sb_activation_tally_init(&act, m);
  sb_model_reset_stats(m);
  sb_model_forward(m, &c, x);
  sb_activation_tally_add(&act, m, &c);
  sb_model_report r;
  sb_model_report_build(m, &act, 3, &em, &r);
  CHECK(!r.spiking);
  CHECK(isnan(r.spike_rate) && isnan(r.spikes_per_sample) && isnan(r.dead_fraction));
  CHECK(isnan(r.membrane_updates) && isnan(r.neuron_ops_effective));
  CHECK_NEAR(r.activation_sparsity, 0.5, 0);
  /* fc1: sample 0 has 2 nonzero inputs, sample 1 one, each feeding 4 weights: 6 per sample.
   * fc2: 2 active inputs (outputs 0 and 2) per sample; row 0 has a zero weight: 3. */
  CHECK_NEAR(r.synops_mac, 6 + 3, 0);
  CHECK_NEAR(r.synops_ac, 0, 0);
  CHECK_NEAR(r.dense_ops, 20 + 8, 0);
  CHECK_NEAR(r.energy_pj, 9 * 10.0, 0);
  CHECK_NEAR(r.connection_sparsity, 1.0 / 28, 1e-15);
  const sb_layer_report *relu = find_row(&r, "act"), *fc2 = find_row(&r, "fc2");
  CHECK(relu && fc2);
  if (relu && fc2) {
    CHECK_NEAR(relu->activation_sparsity, 0.5, 0);
    CHECK(isnan(relu->spike_rate) && isnan(relu->synops_mac) && isnan(relu->connection_sparsity));
    CHECK_NEAR(fc2->connection_sparsity, 1.0 / 8, 0);
  }
  sb_model_report_free(&r);
  sb_activation_tally_free(&act);
  sb_model_free(m);

  /* The same backbone with IF neurons: spike metrics apply, the static fc1 counts every step,
   * and a neuron layer has no weights (connection sparsity n/a). */
  m = report_model("{\"name\":\"act\",\"type\":\"neuron\",\"neuron\":\"if\"}");
  CHECK(sb_model_is_spiking(m));
  sb_model_reset_stats(m);
  sb_model_forward(m, &c, x);
  sb_model_report_build(m, NULL, 3, &em, &r);
  CHECK(r.spiking && !isnan(r.spike_rate) && !isnan(r.dead_fraction));
  CHECK_NEAR(r.activation_sparsity, 1.0 - r.spike_rate, 1e-15);
  const sb_layer_report *fc1 = find_row(&r, "fc1"), *lif = find_row(&r, "act");
  CHECK(fc1 && lif);
  if (fc1 && lif) {
    CHECK_NEAR(fc1->synops_mac, 3 * 6, 0);
    CHECK(isnan(lif->connection_sparsity) && !isnan(lif->spike_rate));
  }
  sb_model_report_free(&r);
  sb_model_free(m);
}

/* Connection sparsity counts every weight matrix: a zero in branch_mixture's gate counts as
 * one in its branches (NeuroBench counts both: they are nn.Linear weights); biases do not. */
static void connection_sparsity_all_weights(void) {
  sb_model *m = build("{\"layers\":[{\"name\":\"mix\",\"type\":\"branch_mixture\",\"out\":2,"
                      "\"branches\":2},{\"type\":\"mean_time\"}]}",
                      (sb_shape){1, {3, 0, 0}}, 1, 0, 2, 1, 1);
  /* params: weight [3][4], bias [4], gate.weight [3][2], gate.bias [2] */
  m->params[0].w[5] = 0.0f;
  m->params[1].w[0] = 0.0f; /* a zero bias is not a zero connection */
  m->params[2].w[1] = 0.0f;
  const float x[3] = {1, 0, 1};
  sb_ctx c = {.T = 1, .B = 1, .collect_stats = 1, .n_epochs = 1};
  sb_model_reset_stats(m);
  sb_model_forward(m, &c, x);
  const sb_energy_model em = {0.9, 4.6};
  sb_model_report r;
  sb_model_report_build(m, NULL, 1, &em, &r);
  const sb_layer_report *mix = find_row(&r, "mix");
  CHECK(mix != NULL);
  if (mix) CHECK_NEAR(mix->connection_sparsity, 2.0 / 18, 1e-15);
  CHECK_NEAR(r.connection_sparsity, 2.0 / 18, 1e-15);
  sb_model_report_free(&r);
  sb_model_free(m);
}

int main(void) {
  sb_kernels_init();
  neurobench_example();
  linear_time();
  conv_hand();
  conv_brute_force();
  membrane_updates();
  time_softmax_readout();
  report_ann_and_snn();
  connection_sparsity_all_weights();
  return check_exit("test_synops");
}
