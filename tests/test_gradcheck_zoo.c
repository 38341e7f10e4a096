/* The layers and blocks the model zoo added: branch_mixture, power_basis, unused_params, the
 * fixed scale, temporal attention over a static input, and the distinctive blocks of the zoo
 * wired as the specs wire them (a whole spike-driven self-attention block, APEX's hidden layer
 * and its multi-scale readout ensemble, NEXUS's skip).
 *
 * As in test_gradcheck_layers.c: finite differences of every parameter gradient in smooth mode
 * (a learnable layer sits upstream of each layer under test, so input gradients are checked
 * too), known answers by hand, refused specs, and bitwise determinism across thread counts. */
#include <omp.h>

#include "layer_gradcheck.h"
#include "snnbench/kernels.h"

static const case_opts VEC_STATIC = {{1, {12, 0, 0}}, 1, 3, 4, 5, 0};
static const case_opts VEC_DYNAMIC = {{1, {12, 0, 0}}, 0, 3, 4, 5, 0};

/* A smooth LIF (SpikingJelly's charge, soft reset through the spike, sigmoid surrogate): in
 * smooth mode it is differentiable, so the wiring around it can be checked end to end. */
#define SMOOTH_LIF "\"type\":\"neuron\",\"charge\":\"decay_input\",\"threshold\":0.5,\"surrogate\":\"sigmoid\",\"alpha\":4"

static void check_new_layers(void) {
  const case_opts s = VEC_STATIC, d = VEC_DYNAMIC;
  gradcheck("branch_mixture, 4 branches (static input)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":7},{\"type\":\"branch_mixture\",\"out\":6},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("branch_mixture, 3 branches after a smooth neuron",
            "{\"layers\":[{\"type\":\"linear\",\"out\":7},{" SMOOTH_LIF "},"
            "{\"type\":\"branch_mixture\",\"out\":6,\"branches\":3},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"mean_time\"}]}", s);
  gradcheck("power_basis x^1..x^4 (static input)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":7},{\"type\":\"power_basis\",\"out\":6,\"init_std\":0.3},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("power_basis x^0..x^3 (dynamic input)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":7},{\"type\":\"power_basis\",\"out\":6,\"powers\":[0,3]},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  gradcheck("power_basis after a smooth neuron (notebook 000 Spiking-KAN)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":7},{" SMOOTH_LIF "},{\"type\":\"power_basis\",\"out\":6},"
            "{" SMOOTH_LIF "},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("scale fixed at 0.3 between two Linear layers",
            "{\"layers\":[{\"type\":\"linear\",\"out\":8},{\"type\":\"scale\",\"init\":0.3,\"learnable\":false},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  const case_opts t4 = {{1, {12, 0, 0}}, 1, 4, 3, 5, 0};
  gradcheck("temporal_attention on a static input (T copies)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":6},{\"type\":\"temporal_attention\"},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", t4);
  /* The non-spiking twin's dendritic_mlp: gated branch currents weighted by the branch softmax,
   * without the leaky integration; static in, static out, and on a sequence step by step. */
  g_ann_twin = 1;
  gradcheck("dendritic_mlp in the twin (static input)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":7},{\"type\":\"dendritic_mlp\",\"branches\":3,\"width\":2},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("dendritic_mlp in the twin (sequence input)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":7},{\"type\":\"dendritic_mlp\",\"branches\":4,\"width\":2},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  g_ann_twin = 0;
  gradcheck("unused_params beside a used activation",
            "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":8},{\"type\":\"unused_params\",\"shape\":[4,4,1]},"
            "{\"type\":\"linear\",\"out\":5,\"in\":\"a\"},{\"type\":\"mean_time\"}]}", d);
}

/* A learnable 4x3x3 map (C = 4 channels, N = 9 tokens) from the vector input. */
#define TOKENS "{\"name\":\"fx\",\"type\":\"linear\",\"out\":36},{\"name\":\"x\",\"type\":\"reshape\",\"shape\":[4,3,3]},"
#define QKV(q)                                                                                   \
  "{\"name\":\"" q "_conv\",\"type\":\"conv2d\",\"out\":4,\"kernel\":1,\"bias\":false,\"in\":\"sc\"},"        \
  "{\"name\":\"" q "_bn\",\"type\":\"batchnorm\"},{\"name\":\"" q "\"," SMOOTH_LIF "},"

static void check_blocks(void) {
  const case_opts d = VEC_DYNAMIC, s = VEC_STATIC;
  /* MS_Block_Conv as the sdt spec wires it: SDSA = Q ⊙ SN(Σ_N K ⊙ V) with the unused talking
   * heads beside it, projection and residual, then the MLP with its residual, and SDT's head. */
  gradcheck("whole SDSA block + MLP + head (sdt wiring)",
            "{\"layers\":[" TOKENS
            "{\"name\":\"sc\"," SMOOTH_LIF "},"
            QKV("q") QKV("k") QKV("v")
            "{\"name\":\"kv\",\"type\":\"mul\",\"in\":[\"k\",\"v\"]},{\"name\":\"kvs\",\"type\":\"sum_pool\"},"
            "{\"name\":\"th\"," SMOOTH_LIF ",\"override\":false},"
            "{\"name\":\"unused\",\"type\":\"unused_params\",\"shape\":[2,2,1]},"
            "{\"name\":\"att\",\"type\":\"mul\",\"in\":[\"q\",\"th\"]},"
            "{\"name\":\"proj\",\"type\":\"conv2d\",\"out\":4,\"kernel\":1},{\"name\":\"proj_bn\",\"type\":\"batchnorm\"},"
            "{\"name\":\"r1\",\"type\":\"add\",\"in\":[\"proj_bn\",\"x\"]},"
            "{\"name\":\"m1\"," SMOOTH_LIF "},{\"type\":\"conv2d\",\"out\":16,\"kernel\":1},{\"type\":\"batchnorm\"},"
            "{" SMOOTH_LIF "},{\"type\":\"conv2d\",\"out\":4,\"kernel\":1},{\"name\":\"m_bn\",\"type\":\"batchnorm\"},"
            "{\"name\":\"r2\",\"type\":\"add\",\"in\":[\"m_bn\",\"r1\"]},"
            "{\"type\":\"adaptive_avgpool2d\",\"out\":1},{\"type\":\"flatten\"},{" SMOOTH_LIF "},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  /* apex_conv's multi-scale readout: global pools of two spike maps and the fc spikes, each
   * through a Linear, mixed per step by softmax(w), then averaged over T. */
  gradcheck("APEX readout ensemble (apex_conv wiring)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":72},{\"type\":\"reshape\",\"shape\":[2,6,6]},"
            "{\"name\":\"s1\"," SMOOTH_LIF "},{\"type\":\"avgpool2d\",\"kernel\":2},{\"type\":\"conv2d\",\"out\":3,\"kernel\":3,\"padding\":1},"
            "{\"name\":\"s2\"," SMOOTH_LIF ",\"learn_tau\":\"log\"},{\"name\":\"f\",\"type\":\"flatten\"},"
            "{\"type\":\"linear\",\"out\":8},{\"name\":\"s3\"," SMOOTH_LIF "},"
            "{\"type\":\"adaptive_avgpool2d\",\"out\":1,\"in\":\"s1\"},{\"type\":\"flatten\"},{\"name\":\"r1\",\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"adaptive_avgpool2d\",\"out\":1,\"in\":\"s2\"},{\"type\":\"flatten\"},{\"name\":\"r2\",\"type\":\"linear\",\"out\":5},"
            "{\"name\":\"rf\",\"type\":\"linear\",\"out\":5,\"in\":\"s3\"},"
            "{\"type\":\"weighted_sum\",\"in\":[\"r1\",\"r2\",\"rf\"]},{\"type\":\"mean_time\"}]}", s);
  /* The scored APEX's hidden layer and output: Linear, BN, KAN, sparsity, dropout, neuron,
   * clamp(h + 0.3 Linear(h_prev)) with the fixed 0.3, the learnable |0.2| skip, the temperature
   * and the softmax-over-time readout with its ReLU MLP. */
  gradcheck("APEX hidden layer, skip and readout (apex wiring)",
            "{\"layers\":[{\"name\":\"fc1\",\"type\":\"linear\",\"out\":10},{\"name\":\"first\"," SMOOTH_LIF
            ",\"learn_threshold\":\"softplus\"},"
            "{\"type\":\"linear\",\"out\":8},{\"type\":\"batchnorm\"},"
            "{\"type\":\"chebyshev_kan\",\"input_scale\":0.5,\"scale\":true,\"coeff_init\":\"normal\",\"coeff_std\":0.3},"
            "{\"type\":\"sparsity_mask\"},{\"type\":\"dropout\",\"p\":0.15},{\"name\":\"sp\"," SMOOTH_LIF "},"
            "{\"name\":\"res\",\"type\":\"linear\",\"out\":8,\"in\":\"first\"},"
            "{\"name\":\"res_w\",\"type\":\"scale\",\"init\":0.3,\"learnable\":false},"
            "{\"name\":\"sum\",\"type\":\"add\",\"in\":[\"sp\",\"res_w\"]},{\"name\":\"h\",\"type\":\"clamp\",\"min\":0,\"max\":1},"
            "{\"name\":\"skip\",\"type\":\"linear\",\"out\":8,\"in\":\"first\"},"
            "{\"name\":\"skip_w\",\"type\":\"scale\",\"mode\":\"abs\",\"init\":0.2},"
            "{\"type\":\"add\",\"in\":[\"h\",\"skip_w\"]},{\"type\":\"clamp\",\"min\":0,\"max\":1},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"scale\",\"mode\":\"inv_abs\",\"init\":1,\"c\":0.1},"
            "{\"type\":\"time_softmax_readout\",\"hidden\":[2]}]}", s);
  /* nexus_conv's skip: the first spike map, pooled globally, projected and scaled by a
   * learnable 0.2, added to the fc layer's input current. */
  gradcheck("NEXUS skip into the fc current (nexus_conv wiring)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":72},{\"type\":\"reshape\",\"shape\":[2,6,6]},"
            "{\"name\":\"s1\"," SMOOTH_LIF ",\"learn_threshold\":\"abs\"},{\"name\":\"p\",\"type\":\"avgpool2d\",\"kernel\":2},"
            "{\"type\":\"adaptive_avgpool2d\",\"out\":1,\"in\":\"s1\"},{\"type\":\"flatten\"},{\"type\":\"linear\",\"out\":8},"
            "{\"name\":\"w\",\"type\":\"scale\",\"init\":0.2},{\"type\":\"flatten\",\"in\":\"p\"},"
            "{\"name\":\"fc\",\"type\":\"linear\",\"out\":8},{\"type\":\"add\",\"in\":[\"fc\",\"w\"]},{" SMOOTH_LIF "},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
}

/* ================================================================ known answers */

static sb_ctx eval_ctx(int T, int B) {
  return (sb_ctx){.T = T, .B = B, .train = 0, .seed = 1, .n_epochs = 1};
}

static void known_branch_mixture(void) {
  const case_opts o = {{1, {2, 0, 0}}, 1, 1, 1, 2, 0};
  sb_model *m = build("branch_mixture by hand",
                      "{\"layers\":[{\"type\":\"branch_mixture\",\"out\":2,\"branches\":2}]}", o, 0);
  if (!m) return;
  /* 2 (2·2 + 2) + 2·2 + 2 parameters, as two nn.Linear(2, 2) branches and nn.Linear(2, 2). */
  CHECK_MSG(m->n_param_values == 18, "%ld parameters", m->n_param_values);
  float *W = m->params[0].w, *b = m->params[1].w, *G = m->params[2].w, *g = m->params[3].w;
  /* W[i][k·out + o]: branch 0 = [[1, 2], [3, 4]], branch 1 = [[-1, 0], [0.5, 2]] (rows: inputs). */
  const float w[8] = {1, 2, -1, 0, 3, 4, 0.5f, 2};
  memcpy(W, w, sizeof w);
  const float bias[4] = {0.1f, -0.2f, 0.3f, 0.0f}, gate[4] = {0.5f, -1.0f, 2.0f, 0.25f};
  memcpy(b, bias, sizeof bias);
  memcpy(G, gate, sizeof gate);
  g[0] = 0.2f;
  g[1] = -0.1f;
  const float x[2] = {0.7f, -1.3f};
  sb_ctx c = eval_ctx(1, 1);
  sb_model_forward(m, &c, x);
  double z[2], a[2][2];
  for (int k = 0; k < 2; k++) {
    z[k] = x[0] * gate[k] + x[1] * gate[2 + k] + g[k];
    for (int j = 0; j < 2; j++) a[k][j] = x[0] * w[k * 2 + j] + x[1] * w[4 + k * 2 + j] + bias[k * 2 + j];
  }
  const double e0 = exp(z[0]), e1 = exp(z[1]), p0 = e0 / (e0 + e1), p1 = e1 / (e0 + e1);
  for (int j = 0; j < 2; j++) CHECK_NEAR(m->output->x[j], p0 * a[0][j] + p1 * a[1][j], 1e-5);
  sb_model_free(m);
  /* notebook 000's DASNN layers: 4 (784·512 + 512) + 784·4 + 4 = 1,610,820. */
  const case_opts big = {{1, {784, 0, 0}}, 1, 1, 1, 512, 0};
  m = build("branch_mixture 784->512", "{\"layers\":[{\"type\":\"branch_mixture\",\"out\":512}]}", big, 0);
  if (m) {
    CHECK_MSG(m->n_param_values == 1610820, "%ld parameters", m->n_param_values);
    sb_model_free(m);
  }
}

static void known_power_basis(void) {
  const case_opts o = {{1, {2, 0, 0}}, 1, 1, 1, 1, 0};
  sb_model *m = build("power_basis by hand",
                      "{\"layers\":[{\"type\":\"power_basis\",\"out\":1,\"powers\":[1,3]}]}", o, 0);
  if (!m) return;
  CHECK(m->n_param_values == 6);
  const float c[6] = {0.5f, -1.0f, 0.25f, 2.0f, 0.1f, -0.3f}; /* [i][p] for p = 1, 2, 3 */
  memcpy(m->params[0].w, c, sizeof c);
  const float x[2] = {1.5f, -0.8f};
  sb_ctx ctx = eval_ctx(1, 1);
  sb_model_forward(m, &ctx, x);
  double want = 0;
  for (int i = 0; i < 2; i++)
    for (int p = 1; p <= 3; p++) want += c[i * 3 + p - 1] * pow(x[i], p);
  CHECK_NEAR(m->output->x[0], want, 1e-5);
  sb_model_free(m);
  /* Notebook 000's Spiking-KAN layers: 784·256·4 and 256·128·4, init randn · 0.1. */
  const case_opts big = {{1, {784, 0, 0}}, 1, 1, 1, 256, 0};
  m = build("power_basis 784->256", "{\"layers\":[{\"type\":\"power_basis\",\"out\":256}]}", big, 0);
  if (m) {
    CHECK_MSG(m->n_param_values == 802816, "%ld parameters", m->n_param_values);
    sb_model_init_params(m, 4);
    double s2 = 0;
    for (long i = 0; i < m->n_param_values; i++) s2 += (double)m->param_block[i] * m->param_block[i];
    CHECK_NEAR(s2 / m->n_param_values, 0.01, 0.0005);
    sb_model_free(m);
  }
}

/* The same model with and without an unused_params layer: equal outputs and gradients, and the
 * unused weights get a zero gradient. The unused layer comes after every learnable layer so the
 * others draw the same initial values (init streams follow the layer index). */
static void known_unused_params(void) {
  const case_opts o = {{1, {6, 0, 0}}, 0, 3, 2, 4, 0};
  const char *with =
      "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":5},{\"name\":\"s\",\"type\":\"neuron\",\"threshold\":0.2},"
      "{\"name\":\"b\",\"type\":\"linear\",\"out\":4},{\"name\":\"u\",\"type\":\"unused_params\",\"shape\":[8,8,1],\"in\":\"s\"},"
      "{\"type\":\"mean_time\",\"in\":\"b\"}]}";
  const char *without =
      "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":5},{\"name\":\"s\",\"type\":\"neuron\",\"threshold\":0.2},"
      "{\"name\":\"b\",\"type\":\"linear\",\"out\":4},{\"type\":\"mean_time\"}]}";
  sb_model *mw = build("with unused", with, o, 0), *mo = build("without unused", without, o, 0);
  if (!mw || !mo) return;
  CHECK(mw->n_param_values == mo->n_param_values + 64);
  sb_model_init_params(mw, 8);
  sb_model_init_params(mo, 8);
  const sb_param *u = &mw->params[mw->n_params - 1];
  CHECK(u->n == 64);
  int in_bound = 1, nonzero = 0;
  for (long i = 0; i < u->n; i++) {
    in_bound &= fabsf(u->w[i]) <= 1.0f / sqrtf(8.0f);
    nonzero += u->w[i] != 0.0f;
  }
  CHECK_MSG(in_bound && nonzero == 64, "Conv1d(8, 8, 1) init: U(+-1/sqrt(8))");
  float x[3 * 2 * 6];
  for (int i = 0; i < 36; i++) x[i] = (float)((i * 7) % 11) / 5.0f - 1.0f;
  sb_ctx c = {.T = 3, .B = 2, .train = 1, .seed = 1, .n_epochs = 1};
  sb_model_forward(mw, &c, x);
  sb_model_forward(mo, &c, x);
  CHECK(memcmp(mw->output->x, mo->output->x, 8 * sizeof(float)) == 0);
  CHECK(sb_model_find(mw, "u")->out.x[0] == 0.0f && sb_model_find(mw, "u")->out.x[1] == 0.0f);
  for (int i = 0; i < 8; i++) mw->output->g[i] = mo->output->g[i] = (float)(i % 3) - 1.0f;
  for (long i = 0; i < u->n; i++) u->g[i] = 1.0f; /* must be overwritten with zeros */
  sb_model_backward(mw, &c);
  sb_model_backward(mo, &c);
  CHECK(memcmp(mw->grad_block, mo->grad_block, (size_t)mo->n_param_values * sizeof(float)) == 0);
  double gu = 0;
  for (long i = 0; i < u->n; i++) gu += fabs(u->g[i]);
  CHECK(gu == 0.0);
  sb_model_free(mw);
  sb_model_free(mo);
}

static void known_fixed_scale(void) {
  const case_opts o = {{1, {3, 0, 0}}, 1, 1, 1, 3, 0};
  sb_model *m = build("fixed scale", "{\"layers\":[{\"type\":\"scale\",\"init\":0.3,\"learnable\":false}]}", o, 0);
  if (!m) return;
  CHECK(m->n_param_values == 0);
  sb_model_init_params(m, 1);
  const float x[3] = {1.0f, -2.0f, 0.5f};
  sb_ctx c = eval_ctx(1, 1);
  sb_model_forward(m, &c, x);
  for (int i = 0; i < 3; i++) CHECK_NEAR(m->output->x[i], 0.3f * x[i], 0);
  sb_model_free(m);
}

/* Attention over a static input equals attention over the input repeated at every step. */
static void known_static_attention(void) {
  const int T = 4, B = 3, F = 6;
  const char *spec = "{\"layers\":[{\"type\":\"temporal_attention\"},{\"type\":\"linear\",\"out\":5},"
                     "{\"type\":\"mean_time\"}]}";
  const case_opts so = {{1, {F, 0, 0}}, 1, T, B, 5, 0}, dyn = {{1, {F, 0, 0}}, 0, T, B, 5, 0};
  sb_model *ms = build("attention, static", spec, so, 0), *md = build("attention, repeated", spec, dyn, 0);
  if (!ms || !md) return;
  sb_model_init_params(ms, 6);
  sb_model_init_params(md, 6);
  float x[B * F], xr[T * B * F];
  for (int i = 0; i < B * F; i++) x[i] = (float)((i * 5) % 13) / 6.0f - 1.0f;
  for (int t = 0; t < T; t++) memcpy(xr + t * B * F, x, sizeof x);
  sb_ctx c = {.T = T, .B = B, .train = 1, .seed = 1, .n_epochs = 1};
  sb_model_forward(ms, &c, x);
  sb_model_forward(md, &c, xr);
  for (int i = 0; i < B * 5; i++) {
    CHECK_NEAR(ms->output->x[i], md->output->x[i], 1e-6);
    ms->output->g[i] = md->output->g[i] = (float)(i % 4) - 1.5f;
  }
  sb_model_backward(ms, &c);
  sb_model_backward(md, &c);
  for (long i = 0; i < ms->n_param_values; i++)
    CHECK_MSG(fabsf(ms->grad_block[i] - md->grad_block[i]) <= 1e-5f * fmaxf(1.0f, fabsf(md->grad_block[i])),
              "gradient %ld: %g static vs %g repeated", i, ms->grad_block[i], md->grad_block[i]);
  sb_model_free(ms);
  sb_model_free(md);
}

/* ================================================================ refused specs */

static void expect_refused(const char *what, const char *spec_text, const char *needle) {
  sb_clear_error();
  cJSON *spec = cJSON_Parse(spec_text);
  const case_opts o = VEC_DYNAMIC;
  sb_model_opts mo = {.input_shape = o.shape, .n_classes = o.classes, .T = o.T, .B = o.B,
                      .origin = "spec"};
  sb_model *m = NULL;
  const sb_status st = sb_model_build(&m, spec, &mo);
  cJSON_Delete(spec);
  CHECK_MSG(st == SB_EINPUT, "%s: accepted", what);
  if (st == SB_OK) {
    sb_model_free(m);
    return;
  }
  CHECK_MSG(strstr(sb_errmsg(), needle) != NULL, "%s: \"%s\" lacks \"%s\"", what, sb_errmsg(), needle);
  CHECK_MSG(strstr(sb_errmsg(), "layer 0") != NULL, "%s: \"%s\" names no layer", what, sb_errmsg());
}

static void check_errors(void) {
  expect_refused("mixture without out", "{\"layers\":[{\"type\":\"branch_mixture\"}]}", "\"out\"");
  expect_refused("mixture of one branch", "{\"layers\":[{\"type\":\"branch_mixture\",\"out\":5,\"branches\":1}]}",
                 "\"branches\" is 1, outside [2, 16]");
  expect_refused("powers reversed", "{\"layers\":[{\"type\":\"power_basis\",\"out\":5,\"powers\":[3,1]}]}",
                 "\"powers\" must be [first, last]");
  expect_refused("power_basis typo", "{\"layers\":[{\"type\":\"power_basis\",\"out\":5,\"degree\":3}]}",
                 "unknown key \"degree\"");
  expect_refused("unused without shape", "{\"layers\":[{\"type\":\"unused_params\"}]}", "\"shape\" must list");
  expect_refused("unused with a zero size", "{\"layers\":[{\"type\":\"unused_params\",\"shape\":[8,0]}]}",
                 "\"shape\" entry 1 must be a positive integer");
  expect_refused("fixed scale per channel",
                 "{\"layers\":[{\"type\":\"scale\",\"learnable\":false,\"per_channel\":true}]}",
                 "\"per_channel\" needs a learnable one");
}

/* ================================================================ threads */

static void check_thread_determinism(void) {
  const case_opts o = {{1, {40, 0, 0}}, 1, 3, 48, 10, 0};
  const char *spec =
      "{\"layers\":[{\"name\":\"mix\",\"type\":\"branch_mixture\",\"out\":64},"
      "{\"name\":\"ta\",\"type\":\"temporal_attention\"},"
      "{\"name\":\"sn\",\"type\":\"neuron\",\"threshold\":0.3},"
      "{\"name\":\"pb\",\"type\":\"power_basis\",\"out\":32},"
      "{\"name\":\"u\",\"type\":\"unused_params\",\"shape\":[4,4]},"
      "{\"name\":\"fs\",\"type\":\"scale\",\"init\":0.3,\"learnable\":false,\"in\":\"pb\"},"
      "{\"type\":\"linear\",\"out\":10},{\"type\":\"mean_time\"}]}";
  const int threads[2] = {1, 2};
  float *out[2] = {NULL, NULL}, *grad[2] = {NULL, NULL};
  long n_out = (long)o.B * o.classes, n_par = 0;
  for (int k = 0; k < 2; k++) {
    sb_model *m = build("determinism", spec, o, 0);
    if (!m) return;
    sb_model_init_params(m, 21);
    const long in_n = input_len(o);
    float *x = malloc((size_t)in_n * sizeof(float));
    sb_rng r;
    sb_rng_init(&r, 12, sb_stream(SB_STREAM_TEST, 5));
    for (long i = 0; i < in_n; i++) x[i] = sb_rng_normal(&r);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads[k]);
    sb_ctx c = {.T = o.T, .B = o.B, .train = 1, .seed = 77, .step = 3, .n_epochs = 4, .epoch = 1};
    sb_model_forward(m, &c, x);
    for (long i = 0; i < n_out; i++) m->output->g[i] = (float)sb_rng_normal(&r);
    sb_model_backward(m, &c);
    omp_set_num_threads(saved);
    n_par = m->n_param_values;
    out[k] = malloc((size_t)n_out * sizeof(float));
    grad[k] = malloc((size_t)n_par * sizeof(float));
    memcpy(out[k], m->output->x, (size_t)n_out * sizeof(float));
    memcpy(grad[k], m->grad_block, (size_t)n_par * sizeof(float));
    free(x);
    sb_model_free(m);
  }
  CHECK_MSG(memcmp(out[0], out[1], (size_t)n_out * sizeof(float)) == 0, "outputs differ across threads");
  CHECK_MSG(memcmp(grad[0], grad[1], (size_t)n_par * sizeof(float)) == 0, "gradients differ across threads");
  printf("  determinism: %ld outputs, %ld gradients identical with 1 and 2 threads\n", n_out, n_par);
  for (int k = 0; k < 2; k++) {
    free(out[k]);
    free(grad[k]);
  }
}

int main(void) {
  sb_kernels_init();
  printf("known answers:\n");
  known_branch_mixture();
  known_power_basis();
  known_unused_params();
  known_fixed_scale();
  known_static_attention();
  printf("refused specs:\n");
  check_errors();
  printf("gradient checks (smooth mode):\n");
  check_new_layers();
  check_blocks();
  printf("threads:\n");
  check_thread_determinism();
  return check_exit("test_gradcheck_zoo");
}
