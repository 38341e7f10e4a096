/* The engine layers beyond Linear/BatchNorm/neurons: pooling, dropout, merges, pointwise
 * activations, learnable scales, KAN activations, the sparsity mask and the temporal layers.
 *
 * Three kinds of checks:
 *  - finite differences of every parameter gradient, in smooth mode, with static and dynamic
 *    inputs and with activations that feed two consumers (a learnable layer sits upstream of the
 *    layer under test, so its parameter gradients check the layer's input gradient too);
 *  - known answers computed by hand or by a double-precision reference written out here;
 *  - refused specs, bitwise determinism across thread counts, and the spike-input shortcut of
 *    power_kan against its general path. */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/layers.h"
#include "snnbench/kernels.h"
#include "snnbench/nn.h"
#include "snnbench/rng.h"

#include "layer_gradcheck.h"

/* --- shapes used by the gradient checks --- */
static const case_opts VEC_STATIC = {{1, {12, 0, 0}}, 1, 3, 4, 5, 0};
static const case_opts VEC_DYNAMIC = {{1, {12, 0, 0}}, 0, 3, 4, 5, 0};

/* A learnable producer of a 2x6x6 map (Linear then reshape), so input gradients of the layer
 * under test reach a parameter at every position. */
#define MAP_2x6x6 "{\"name\":\"fc\",\"type\":\"linear\",\"out\":72},{\"name\":\"map\",\"type\":\"reshape\",\"shape\":[2,6,6]},"
#define HEAD "{\"type\":\"flatten\"},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}"

static void check_pools(void) {
  const case_opts s = VEC_STATIC, d = VEC_DYNAMIC;
  gradcheck("avgpool2d k2 (dynamic)", "{\"layers\":[" MAP_2x6x6 "{\"type\":\"avgpool2d\",\"kernel\":2}," HEAD "]}", d);
  gradcheck("avgpool2d k3 s2 p1 (static)",
            "{\"layers\":[" MAP_2x6x6 "{\"type\":\"avgpool2d\",\"kernel\":3,\"stride\":2,\"padding\":1}," HEAD "]}", s);
  gradcheck("maxpool2d k3 s2 p1 (dynamic)",
            "{\"layers\":[" MAP_2x6x6 "{\"type\":\"maxpool2d\",\"kernel\":3,\"stride\":2,\"padding\":1}," HEAD "]}", d);
  gradcheck("maxpool2d k2 (static)", "{\"layers\":[" MAP_2x6x6 "{\"type\":\"maxpool2d\",\"kernel\":2}," HEAD "]}", s);
  gradcheck("adaptive_avgpool2d 7x5 -> 3x2 (dynamic)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":70},{\"type\":\"reshape\",\"shape\":[2,7,5]},"
            "{\"type\":\"adaptive_avgpool2d\",\"out\":[3,2]}," HEAD "]}", d);
  gradcheck("adaptive_avgpool2d global (static)",
            "{\"layers\":[" MAP_2x6x6 "{\"type\":\"adaptive_avgpool2d\",\"out\":1}," HEAD "]}", s);
  /* Spike-driven self-attention's core, Q ⊙ SN(Σ_N K ⊙ V), with the neuron in smooth mode. */
  gradcheck("SDSA: mul(q, neuron(sum_pool(mul(k, v))))",
            "{\"layers\":["
            "{\"name\":\"fq\",\"type\":\"linear\",\"out\":72,\"in\":\"input\"},{\"name\":\"q\",\"type\":\"reshape\",\"shape\":[2,6,6]},"
            "{\"name\":\"fk\",\"type\":\"linear\",\"out\":72,\"in\":\"input\"},{\"name\":\"k\",\"type\":\"reshape\",\"shape\":[2,6,6]},"
            "{\"name\":\"fv\",\"type\":\"linear\",\"out\":72,\"in\":\"input\"},{\"name\":\"v\",\"type\":\"reshape\",\"shape\":[2,6,6]},"
            "{\"name\":\"kv\",\"type\":\"mul\",\"in\":[\"k\",\"v\"]},{\"name\":\"sum\",\"type\":\"sum_pool\"},"
            "{\"name\":\"sn\",\"type\":\"neuron\",\"threshold\":0.5,\"surrogate\":\"sigmoid\",\"alpha\":4},"
            "{\"name\":\"att\",\"type\":\"mul\",\"in\":[\"q\",\"sn\"]}," HEAD "]}", d);
}

static void check_dropout(void) {
  gradcheck("dropout p=0.3 on a static input (fresh mask per step)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":9},{\"type\":\"dropout\",\"p\":0.3},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", VEC_STATIC);
  gradcheck("dropout p=0.5 on a map (dynamic)",
            "{\"layers\":[" MAP_2x6x6 "{\"type\":\"dropout\",\"p\":0.5}," HEAD "]}", VEC_DYNAMIC);
}

/* A static Linear branch and a dynamic one (through a smooth neuron) feeding the same layer. */
#define MIXED_BRANCHES                                                                        \
  "{\"name\":\"s\",\"type\":\"linear\",\"out\":8,\"in\":\"input\"},"                         \
  "{\"name\":\"fd\",\"type\":\"linear\",\"out\":8,\"in\":\"input\"},"                        \
  "{\"name\":\"d\",\"type\":\"neuron\",\"threshold\":0.3,\"surrogate\":\"sigmoid\",\"alpha\":2},"

static void check_merges(void) {
  const case_opts s = VEC_STATIC, d = VEC_DYNAMIC;
  gradcheck("add: static + dynamic + static (both consumers of s)",
            "{\"layers\":[" MIXED_BRANCHES
            "{\"name\":\"s2\",\"type\":\"linear\",\"out\":8,\"in\":\"s\"},"
            "{\"name\":\"sum\",\"type\":\"add\",\"in\":[\"s\",\"d\",\"s2\"]},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("add: an activation with itself",
            "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":8},"
            "{\"type\":\"add\",\"in\":[\"a\",\"a\"]},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  gradcheck("mul: static x dynamic, equal shapes",
            "{\"layers\":[" MIXED_BRANCHES "{\"type\":\"mul\",\"in\":[\"s\",\"d\"]},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("mul: x * x", "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":8},"
            "{\"type\":\"mul\",\"in\":[\"a\",\"a\"]},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  gradcheck("mul: static [C] vector first, dynamic map second",
            "{\"layers\":[{\"name\":\"vec\",\"type\":\"linear\",\"out\":2,\"in\":\"input\"},"
            "{\"name\":\"fm\",\"type\":\"linear\",\"out\":72,\"in\":\"input\"},"
            "{\"name\":\"sn\",\"type\":\"neuron\",\"threshold\":0.3,\"surrogate\":\"sigmoid\",\"alpha\":2},"
            "{\"name\":\"map\",\"type\":\"reshape\",\"shape\":[2,6,6]},"
            "{\"type\":\"mul\",\"in\":[\"vec\",\"map\"]}," HEAD "]}", s);
  gradcheck("concat features: static + dynamic",
            "{\"layers\":[" MIXED_BRANCHES "{\"type\":\"concat\",\"in\":[\"s\",\"d\"]},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("concat channels: three maps, one reused",
            "{\"layers\":[" MAP_2x6x6 "{\"name\":\"fb\",\"type\":\"linear\",\"out\":36,\"in\":\"input\"},"
            "{\"name\":\"b\",\"type\":\"reshape\",\"shape\":[1,6,6]},"
            "{\"type\":\"concat\",\"dim\":\"channels\",\"in\":[\"map\",\"b\",\"map\"]}," HEAD "]}", d);
  gradcheck("weighted_sum of 3: static, dynamic, static",
            "{\"layers\":[" MIXED_BRANCHES "{\"name\":\"s2\",\"type\":\"linear\",\"out\":8,\"in\":\"input\"},"
            "{\"type\":\"weighted_sum\",\"in\":[\"s\",\"d\",\"s2\"]},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"mean_time\"}]}", s);
  gradcheck("weighted_sum of 2 static (output stays static)",
            "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":5,\"in\":\"input\"},"
            "{\"name\":\"b\",\"type\":\"linear\",\"out\":5,\"in\":\"input\"},"
            "{\"type\":\"weighted_sum\",\"in\":[\"a\",\"b\"]}]}", s);
}

static void check_pointwise(void) {
  const case_opts s = VEC_STATIC, d = VEC_DYNAMIC;
  gradcheck("clamp [-0.5, 0.8]", "{\"layers\":[{\"type\":\"linear\",\"out\":8},"
            "{\"type\":\"clamp\",\"min\":-0.5,\"max\":0.8},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  gradcheck("sigmoid", "{\"layers\":[{\"type\":\"linear\",\"out\":8},{\"type\":\"sigmoid\"},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("scale mul (scalar)", "{\"layers\":[{\"type\":\"linear\",\"out\":8},"
            "{\"type\":\"scale\",\"mode\":\"mul\",\"init\":0.2},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  gradcheck("scale abs per channel on a map", "{\"layers\":[" MAP_2x6x6
            "{\"type\":\"scale\",\"mode\":\"abs\",\"init\":-0.3,\"per_channel\":true}," HEAD "]}", d);
  gradcheck("scale inv_abs (APEX temperature)", "{\"layers\":[{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"scale\",\"mode\":\"inv_abs\",\"init\":1.0,\"c\":0.1},{\"type\":\"mean_time\"}]}", s);
}

static void check_kan(void) {
  const case_opts s = VEC_STATIC, d = VEC_DYNAMIC;
  gradcheck("chebyshev_kan notebook 001 (deg 3, residual)", "{\"layers\":[{\"type\":\"linear\",\"out\":8},"
            "{\"type\":\"chebyshev_kan\",\"degree\":3,\"input_scale\":0.3,\"residual\":\"learnable\"},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  gradcheck("chebyshev_kan NEXUS v2 (deg 4, scale, residual)", "{\"layers\":[{\"type\":\"linear\",\"out\":8},"
            "{\"type\":\"chebyshev_kan\",\"degree\":4,\"coeff_std\":0.02,\"scale\":true,\"residual\":\"learnable\"},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("chebyshev_kan APEX on a map (deg 3, a=0.5, scale)", "{\"layers\":[" MAP_2x6x6
            "{\"type\":\"chebyshev_kan\",\"input_scale\":0.5,\"scale\":true,\"coeff_init\":\"normal\",\"coeff_std\":0.3}," HEAD "]}", d);
  gradcheck("chebyshev_kan fixed residual, degree 6", "{\"layers\":[{\"type\":\"linear\",\"out\":8},"
            "{\"type\":\"chebyshev_kan\",\"degree\":6,\"coeff_std\":0.2,\"residual\":\"fixed\",\"residual_init\":0.3},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("power_kan (static input)", "{\"layers\":[{\"type\":\"linear\",\"out\":7},"
            "{\"type\":\"power_kan\",\"out\":6},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
  gradcheck("power_kan after a smooth neuron (dynamic)", "{\"layers\":[{\"type\":\"linear\",\"out\":7},"
            "{\"type\":\"neuron\",\"threshold\":0.4,\"surrogate\":\"sigmoid\",\"alpha\":2},"
            "{\"type\":\"power_kan\",\"out\":6},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", s);
}

static void check_masks_and_time(void) {
  const case_opts s = VEC_STATIC, d = VEC_DYNAMIC;
  gradcheck("sparsity_mask (training, features)", "{\"layers\":[{\"type\":\"linear\",\"out\":8},"
            "{\"type\":\"sparsity_mask\"},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", d);
  gradcheck("sparsity_mask (training, channels of a map)", "{\"layers\":[" MAP_2x6x6
            "{\"type\":\"sparsity_mask\",\"start\":0.3,\"end\":0.9}," HEAD "]}", s);
  const case_opts t4 = {{1, {12, 0, 0}}, 0, 4, 3, 5, 0};
  gradcheck("temporal_attention (dynamic, T=4)", "{\"layers\":[{\"type\":\"linear\",\"out\":6},"
            "{\"type\":\"temporal_attention\",\"dim\":6},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", t4);
  gradcheck("temporal_attention after a smooth neuron", "{\"layers\":[{\"type\":\"linear\",\"out\":6},"
            "{\"type\":\"neuron\",\"threshold\":0.3,\"surrogate\":\"sigmoid\",\"alpha\":2},"
            "{\"type\":\"temporal_attention\"},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", t4);
  gradcheck("time_softmax_readout, hidden [] (NEXUS v2)", "{\"layers\":[{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"time_softmax_readout\",\"hidden\":[]}]}", t4);
  gradcheck("time_softmax_readout, hidden [2] (APEX)", "{\"layers\":[{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"time_softmax_readout\",\"hidden\":[2]}]}", d);
  gradcheck("time_softmax_readout on a static input", "{\"layers\":[{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"time_softmax_readout\",\"hidden\":[3]}]}", s);
  /* A NEXUS v2 hidden layer end to end: Linear, BN, EnhancedKAN, Dropout, neuron, readout. */
  gradcheck("NEXUS v2 block", "{\"layers\":[{\"name\":\"in1\",\"type\":\"linear\",\"out\":10},"
            "{\"type\":\"batchnorm\"},{\"name\":\"s1\",\"type\":\"neuron\",\"threshold\":0.5,\"surrogate\":\"sigmoid\",\"alpha\":2},"
            "{\"type\":\"linear\",\"out\":8},{\"type\":\"batchnorm\"},"
            "{\"type\":\"chebyshev_kan\",\"degree\":4,\"coeff_std\":0.02,\"scale\":true,\"residual\":\"learnable\"},"
            "{\"type\":\"dropout\",\"p\":0.15},{\"name\":\"h\",\"type\":\"neuron\",\"threshold\":0.5,\"surrogate\":\"sigmoid\",\"alpha\":2},"
            "{\"name\":\"proj\",\"type\":\"linear\",\"out\":8,\"in\":\"s1\"},"
            "{\"name\":\"w\",\"type\":\"scale\",\"mode\":\"abs\",\"init\":0.3},"
            "{\"type\":\"add\",\"in\":[\"h\",\"w\"]},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"time_softmax_readout\"}]}", s);
}

/* ================================================================ known answers */

static sb_ctx eval_ctx(int T, int B) {
  return (sb_ctx){.T = T, .B = B, .train = 0, .seed = 1, .n_epochs = 1};
}

static void known_pools(void) {
  const case_opts o = {{3, {1, 4, 4}}, 1, 1, 1, 4, 0};
  float x[16];
  for (int i = 0; i < 16; i++) x[i] = (float)i;
  sb_ctx c = eval_ctx(1, 1);
  struct {
    const char *layer;
    float want[4];
  } cases[] = {
      {"{\"type\":\"avgpool2d\",\"kernel\":2}", {2.5f, 4.5f, 10.5f, 12.5f}},
      {"{\"type\":\"maxpool2d\",\"kernel\":2}", {5, 7, 13, 15}},
      {"{\"type\":\"maxpool2d\",\"kernel\":3,\"stride\":2,\"padding\":1}", {5, 7, 13, 15}},
      /* Padding zeros count: every window divides by 9. */
      {"{\"type\":\"avgpool2d\",\"kernel\":3,\"stride\":2,\"padding\":1}",
       {10.0f / 9, 24.0f / 9, 51.0f / 9, 90.0f / 9}},
      {"{\"type\":\"adaptive_avgpool2d\",\"out\":2}", {2.5f, 4.5f, 10.5f, 12.5f}},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char spec[256];
    snprintf(spec, sizeof spec, "{\"layers\":[%s,{\"type\":\"flatten\"}]}", cases[k].layer);
    sb_model *m = build(cases[k].layer, spec, o, 0);
    if (!m) continue;
    sb_model_forward(m, &c, x);
    for (int i = 0; i < 4; i++)
      CHECK_MSG(fabsf(m->output->x[i] - cases[k].want[i]) < 1e-5f, "%s: out[%d] = %g, want %g",
                cases[k].layer, i, m->output->x[i], cases[k].want[i]);
    sb_model_free(m);
  }
  /* Output sizes floor((H + 2p - k) / s) + 1 on a 7x7 map. */
  {
    const case_opts o7 = {{3, {3, 7, 7}}, 1, 1, 1, 48, 0};
    sb_model *m = build("maxpool 7x7 k3 s2 p1",
                        "{\"layers\":[{\"type\":\"maxpool2d\",\"kernel\":3,\"stride\":2,\"padding\":1},"
                        "{\"type\":\"flatten\"}]}", o7, 0);
    if (m) {
      const sb_shape s = m->layers[0]->out.shape;
      CHECK(s.ndim == 3 && s.d[0] == 3 && s.d[1] == 4 && s.d[2] == 4);
      sb_model_free(m);
    }
  }
  /* Adaptive windows on 5 rows -> 3: [0,2), [1,4), [3,5); x[h][w] = h gives the window means. */
  {
    const case_opts o5 = {{3, {1, 5, 4}}, 1, 1, 1, 3, 0};
    float xr[20];
    for (int i = 0; i < 20; i++) xr[i] = (float)(i / 4);
    sb_model *m = build("adaptive 5x4 -> 3x1",
                        "{\"layers\":[{\"type\":\"adaptive_avgpool2d\",\"out\":[3,1]},{\"type\":\"flatten\"}]}",
                        o5, 0);
    if (m) {
      sb_model_forward(m, &c, xr);
      CHECK_NEAR(m->output->x[0], 0.5, 1e-6);
      CHECK_NEAR(m->output->x[1], 2.0, 1e-6);
      CHECK_NEAR(m->output->x[2], 3.5, 1e-6);
      sb_model_free(m);
    }
  }
  /* sum_pool gives [C,1,1] sums. */
  {
    const case_opts o2 = {{3, {2, 2, 2}}, 1, 1, 1, 2, 0};
    float xs[8] = {1, 2, 3, 4, 10, 20, 30, 40};
    sb_model *m = build("sum_pool", "{\"layers\":[{\"type\":\"sum_pool\"},{\"type\":\"flatten\"}]}", o2, 0);
    if (m) {
      const sb_shape s = m->layers[0]->out.shape;
      CHECK(s.ndim == 3 && s.d[0] == 2 && s.d[1] == 1 && s.d[2] == 1);
      sb_model_forward(m, &c, xs);
      CHECK_NEAR(m->output->x[0], 10.0, 0);
      CHECK_NEAR(m->output->x[1], 100.0, 0);
      sb_model_free(m);
    }
  }
}

/* Max backward routes to the first maximum in raster order on ties, as PyTorch does. */
static void known_maxpool_ties(void) {
  const case_opts o = {{3, {1, 4, 4}}, 1, 1, 1, 4, 0};
  sb_model *m = build("maxpool ties",
                      "{\"layers\":[{\"name\":\"s\",\"type\":\"scale\"},"
                      "{\"type\":\"maxpool2d\",\"kernel\":3,\"stride\":2,\"padding\":1},{\"type\":\"flatten\"}]}",
                      o, 0);
  if (!m) return;
  sb_model_init_params(m, 1);
  float x[16];
  for (int i = 0; i < 16; i++) x[i] = 1.0f;
  sb_ctx c = {.T = 1, .B = 1, .train = 1, .n_epochs = 1};
  sb_model_forward(m, &c, x);
  for (int i = 0; i < 4; i++) m->output->g[i] = (float)(i + 1);
  sb_model_backward(m, &c);
  const float *g = sb_model_find(m, "s")->out.g;
  /* Windows start at (0,0), (0,1), (1,0), (1,1) after clipping the padding. */
  const float want[16] = {1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 16; i++) CHECK_MSG(g[i] == want[i], "dx[%d] = %g, want %g", i, g[i], want[i]);
  sb_model_free(m);
}

/* The 2x2 stride-2 max-pool has vector paths for wide rows (with an overlapping last block) and
 * for maps narrower than eight outputs; every width must match a plain reference: the value,
 * and (through the backward pass) the winner, the first maximum in raster order, NaN winning.
 * Values come from a small set so ties are common. */
static void maxpool_2x2_matches_reference(void) {
  const int sizes[][2] = {{2, 2}, {4, 6}, {5, 5}, {6, 14}, {14, 14}, {7, 15}, {8, 16},
                          {4, 18}, {28, 28}, {3, 34}, {10, 40}};
  sb_rng r;
  sb_rng_init(&r, 3, sb_stream(SB_STREAM_TEST, 11));
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    const int H = sizes[k][0], W = sizes[k][1], C = 3, B = 2, OH = H / 2, OW = W / 2;
    const case_opts o = {{3, {C, H, W}}, 1, 1, B, C * OH * OW, 0};
    char name[64];
    snprintf(name, sizeof name, "maxpool 2x2 on %dx%d", H, W);
    sb_model *m = build(name, "{\"layers\":[{\"name\":\"s\",\"type\":\"scale\"},"
                        "{\"type\":\"maxpool2d\",\"kernel\":2},{\"type\":\"flatten\"}]}", o, 0);
    if (!m) continue;
    sb_model_init_params(m, 1); /* scale = 1: the pool sees x itself */
    const long n_in = (long)B * C * H * W, n_out = (long)B * C * OH * OW;
    float *x = malloc(sizeof(float) * n_in);
    for (long i = 0; i < n_in; i++) {
      const double u = sb_rng_uniform(&r);
      x[i] = u < 0.01 ? NAN : (float)(int)(u * 4.0);
    }
    sb_ctx c = {.T = 1, .B = B, .train = 1, .n_epochs = 1};
    sb_model_forward(m, &c, x);
    for (long i = 0; i < n_out; i++) m->output->g[i] = (float)(i + 1);
    sb_model_backward(m, &c);
    const float *dx = sb_model_find(m, "s")->out.g;
    long bad_value = 0, bad_route = 0;
    for (long q = 0; q < (long)B * C; q++)
      for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
          const long i0 = q * H * W + (long)2 * oy * W + 2 * ox;
          const long cand[4] = {i0, i0 + 1, i0 + W, i0 + W + 1};
          long win = cand[0];
          for (int j = 1; j < 4; j++)
            if (x[cand[j]] > x[win] || (isnan(x[cand[j]]) && !isnan(x[win]))) win = cand[j];
          const long o = q * OH * OW + (long)oy * OW + ox;
          const float got = m->output->x[o];
          bad_value += !(got == x[win] || (isnan(got) && isnan(x[win])));
          bad_route += dx[win] != (float)(o + 1);
        }
    CHECK_MSG(bad_value == 0 && bad_route == 0, "%s: %ld wrong values, %ld wrong winners", name,
              bad_value, bad_route);
    free(x);
    sb_model_free(m);
  }
}

static void known_dropout(void) {
  const int F = 4096, T = 2, B = 4;
  const case_opts o = {{1, {F, 0, 0}}, 1, T, B, F, 0};
  sb_model *m = build("dropout stats", "{\"layers\":[{\"name\":\"d\",\"type\":\"dropout\",\"p\":0.25},"
                      "{\"type\":\"mean_time\"}]}", o, 0);
  if (!m) return;
  float *x = malloc((size_t)B * F * sizeof(float));
  for (long i = 0; i < (long)B * F; i++) x[i] = 1.0f;
  const sb_layer *d = sb_model_find(m, "d");
  CHECK(!d->out.is_static);  /* a static input gets a fresh mask per step */
  const long n = (long)T * B * F;
  float *first = malloc((size_t)n * sizeof(float));
  sb_ctx c = {.T = T, .B = B, .train = 1, .seed = 42, .step = 7, .n_epochs = 1};
  sb_model_forward(m, &c, x);
  memcpy(first, d->out.x, (size_t)n * sizeof(float));
  long kept = 0, wrong_value = 0, same_across_steps = 0;
  for (long i = 0; i < n; i++) {
    kept += first[i] != 0.0f;
    wrong_value += first[i] != 0.0f && first[i] != 1.0f / 0.75f;
  }
  for (long i = 0; i < (long)B * F; i++) same_across_steps += (first[i] != 0) == (first[i + B * F] != 0);
  const double frac = (double)kept / n;
  CHECK_MSG(fabs(frac - 0.75) < 0.01, "kept fraction %.4f, want 0.75", frac);
  CHECK(wrong_value == 0);
  /* Independent masks per step agree on about p^2 + (1-p)^2 = 62.5% of positions, not all. */
  CHECK_MSG(fabs((double)same_across_steps / (B * F) - 0.625) < 0.02, "steps agree on %ld of %d",
            same_across_steps, B * F);
  /* Same seed and step: the same mask, whatever the thread count. */
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  sb_model_forward(m, &c, x);
  omp_set_num_threads(threads);
  CHECK(memcmp(first, d->out.x, (size_t)n * sizeof(float)) == 0);
  c.step = 8;
  sb_model_forward(m, &c, x);
  CHECK(memcmp(first, d->out.x, (size_t)n * sizeof(float)) != 0);
  c.step = 7;
  c.seed = 43;
  sb_model_forward(m, &c, x);
  CHECK(memcmp(first, d->out.x, (size_t)n * sizeof(float)) != 0);
  /* Evaluation: the identity, broadcast over steps. */
  c.train = 0;
  sb_model_forward(m, &c, x);
  long not_one = 0;
  for (long i = 0; i < n; i++) not_one += d->out.x[i] != 1.0f;
  CHECK(not_one == 0);
  free(first);
  free(x);
  sb_model_free(m);
  /* p = 0 keeps a static input static. */
  m = build("dropout p=0", "{\"layers\":[{\"type\":\"dropout\",\"p\":0},{\"type\":\"mean_time\"}]}", o, 0);
  if (m) {
    CHECK(m->layers[0]->out.is_static);
    sb_model_free(m);
  }
}

/* T_0..T_4 in closed form, to check the layer's recurrence. */
static double cheb_closed(int k, double u) {
  switch (k) {
    case 0: return 1;
    case 1: return u;
    case 2: return 2 * u * u - 1;
    case 3: return 4 * u * u * u - 3 * u;
    default: return 8 * u * u * u * u - 8 * u * u + 1;
  }
}

static void known_chebyshev(void) {
  const case_opts o = {{1, {3, 0, 0}}, 1, 1, 1, 3, 0};
  sb_model *m = build("chebyshev values",
                      "{\"layers\":[{\"name\":\"k\",\"type\":\"chebyshev_kan\",\"degree\":4,\"input_scale\":0.5,"
                      "\"scale\":true,\"residual\":\"learnable\"}]}", o, 0);
  if (!m) return;
  sb_model_init_params(m, 3);
  /* Identity initialisation: c0 = 0, c1 = 1, scale 1, residual 0.3, and small higher terms. */
  const sb_param *coeff = &m->params[0], *scale = &m->params[1], *res = &m->params[2];
  CHECK(coeff->n == 15 && scale->n == 3 && res->n == 1);
  for (int ch = 0; ch < 3; ch++) {
    CHECK(coeff->w[ch * 5 + 0] == 0.0f && coeff->w[ch * 5 + 1] == 1.0f);
    for (int k = 2; k < 5; k++) CHECK(fabsf(coeff->w[ch * 5 + k]) < 0.06f && coeff->w[ch * 5 + k] != 0.0f);
    CHECK(scale->w[ch] == 1.0f);
  }
  CHECK(res->w[0] == 0.3f);
  const float cs[3][5] = {{0.5f, -1.0f, 2.0f, 0.25f, -0.75f}, {0, 1, 0, 0, 0}, {1, 0, 0, 0, 1}};
  for (int ch = 0; ch < 3; ch++)
    for (int k = 0; k < 5; k++) coeff->w[ch * 5 + k] = cs[ch][k];
  scale->w[0] = 2.0f;
  res->w[0] = 0.1f;
  const float x[3] = {0.8f, -3.0f, 10.0f};
  sb_ctx c = eval_ctx(1, 1);
  sb_model_forward(m, &c, x);
  for (int ch = 0; ch < 3; ch++) {
    const double u = tanh(0.5 * x[ch]);
    double sum = 0;
    for (int k = 0; k < 5; k++) sum += cs[ch][k] * cheb_closed(k, u);
    const double want = (ch == 0 ? 2.0 : 1.0) * sum + 0.1 * x[ch];
    CHECK_MSG(fabs(m->output->x[ch] - want) < 1e-5, "channel %d: %g vs %g", ch, m->output->x[ch], want);
  }
  sb_model_free(m);
}

static void known_power_kan(void) {
  /* The Spiking-KAN hidden layer: exactly 786,689 parameters for 512 -> 256. */
  const case_opts big = {{1, {512, 0, 0}}, 1, 1, 1, 256, 0};
  sb_model *m = build("power_kan 512->256", "{\"layers\":[{\"type\":\"power_kan\",\"out\":256}]}", big, 0);
  if (m) {
    CHECK_MSG(m->n_param_values == 786689, "%ld parameters", m->n_param_values);
    sb_model_init_params(m, 5);
    /* Init as run: W ~ N(0, 1/512), b = 0, phi ~ N(0, 0.01), a = 0.5. */
    double w2 = 0, p2 = 0, babs = 0;
    for (long i = 0; i < m->params[0].n; i++) w2 += (double)m->params[0].w[i] * m->params[0].w[i];
    for (long i = 0; i < m->params[1].n; i++) babs += fabs(m->params[1].w[i]);
    for (long i = 0; i < m->params[2].n; i++) p2 += (double)m->params[2].w[i] * m->params[2].w[i];
    CHECK_NEAR(w2 / m->params[0].n, 1.0 / 512, 0.05 / 512);
    CHECK_NEAR(p2 / m->params[2].n, 0.01, 0.0005);
    CHECK(babs == 0.0);
    CHECK(m->params[3].n == 1 && m->params[3].w[0] == 0.5f);
    sb_model_free(m);
  }
  /* By hand: in = 2, out = 1, degree 2. */
  const case_opts o = {{1, {2, 0, 0}}, 1, 1, 1, 1, 0};
  m = build("power_kan by hand", "{\"layers\":[{\"type\":\"power_kan\",\"out\":1,\"degree\":2}]}", o, 0);
  if (!m) return;
  float *W = m->params[0].w, *b = m->params[1].w, *phi = m->params[2].w, *a = m->params[3].w;
  W[0] = 0.5f, W[1] = -1.0f, b[0] = 0.25f, a[0] = 0.3f;
  const float ph[6] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f};  /* [i][k] */
  memcpy(phi, ph, sizeof ph);
  const float x[2] = {0.7f, -1.2f};
  sb_ctx c = eval_ctx(1, 1);
  sb_model_forward(m, &c, x);
  const double sg = 1.0 / (1.0 + exp(-0.3));
  double kan = 0;
  for (int i = 0; i < 2; i++) {
    const double u = tanh(x[i]);
    kan += ph[i * 3] + ph[i * 3 + 1] * u + ph[i * 3 + 2] * u * u;
  }
  const double want = sg * (0.5 * 0.7 - 1.0 * -1.2 + 0.25) + (1 - sg) * kan;
  CHECK_NEAR(m->output->x[0], want, 1e-5);
  sb_model_free(m);
}

/* Spike inputs take a folded single-GEMM path; smooth mode forces the general one. Both must
 * give the same outputs and gradients, with dense and with sparse spike trains. */
static void power_kan_spike_path(double density) {
  const int F = 40, T = 3, B = 5;
  const case_opts o = {{1, {F, 0, 0}}, 0, T, B, 16, 1};
  const char *spec = "{\"layers\":[{\"type\":\"power_kan\",\"out\":16},{\"type\":\"mean_time\"}]}";
  sb_model *fast = build("power_kan spikes", spec, o, 1), *slow = build("power_kan spikes", spec, o, 1);
  if (!fast || !slow) return;
  sb_model_init_params(fast, 9);
  sb_model_init_params(slow, 9);
  /* White box: give the model input a gradient buffer so power_kan's input gradient (which a
   * spiking layer upstream would receive) can be compared too. */
  float dx_fast[T * B * F], dx_slow[T * B * F];
  fast->input.needs_grad = slow->input.needs_grad = 1;
  fast->input.g = dx_fast;
  slow->input.g = dx_slow;
  float x[T * B * F];
  sb_rng r;
  sb_rng_init(&r, 5, sb_stream(SB_STREAM_TEST, 2));
  for (int i = 0; i < T * B * F; i++) x[i] = sb_rng_uniform(&r) < density ? 1.0f : 0.0f;
  sb_ctx cf = {.T = T, .B = B, .train = 1, .n_epochs = 1}, cs = cf;
  cs.smooth = 1;
  sb_model_forward(fast, &cf, x);
  sb_model_forward(slow, &cs, x);
  double worst = 0;
  for (int i = 0; i < B * 16; i++) {
    worst = fmax(worst, fabs(fast->output->x[i] - slow->output->x[i]));
    fast->output->g[i] = slow->output->g[i] = (float)sb_rng_normal(&r);
  }
  CHECK_MSG(worst < 1e-5, "density %.2f: outputs differ by %g", density, worst);
  sb_model_backward(fast, &cf);
  sb_model_backward(slow, &cs);
  for (int p = 0; p < fast->n_params; p++) {
    double err = 0, mag = 0;
    for (long i = 0; i < fast->params[p].n; i++) {
      err = fmax(err, fabs(fast->params[p].g[i] - slow->params[p].g[i]));
      mag = fmax(mag, fabs(slow->params[p].g[i]));
    }
    CHECK_MSG(err <= 1e-4 * fmax(1.0, mag), "density %.2f: %s gradients differ by %g (max %g)",
              density, fast->params[p].name, err, mag);
  }
  double dx_err = 0, dx_mag = 0;
  for (int i = 0; i < T * B * F; i++) {
    dx_err = fmax(dx_err, fabs(dx_fast[i] - dx_slow[i]));
    dx_mag = fmax(dx_mag, fabs(dx_slow[i]));
  }
  CHECK_MSG(dx_mag > 0 && dx_err <= 1e-4 * fmax(1.0, dx_mag), "density %.2f: input gradients differ by %g",
            density, dx_err);
  sb_model_free(fast);
  sb_model_free(slow);
}

static void known_sparsity(void) {
  /* torch.quantile, linear: sorted 0.1 0.2 0.3 0.4 at q 0.5 -> 0.25; q 0.672 -> rank 2.016. */
  float v[4] = {0.4f, 0.1f, 0.3f, 0.2f};
  CHECK_NEAR(sb_quantile_linear(v, 4, 0.5f), 0.25, 1e-7);
  float w[4] = {0.4f, 0.1f, 0.3f, 0.2f};
  CHECK_NEAR(sb_quantile_linear(w, 4, 0.672f), 0.3 + 0.016 * 0.1, 1e-6);
  float one[1] = {0.7f};
  CHECK(sb_quantile_linear(one, 1, 0.3f) == 0.7f);

  const int C = 10;
  const case_opts o = {{1, {C, 0, 0}}, 1, 1, 1, C, 0};
  sb_model *m = build("sparsity", "{\"layers\":[{\"type\":\"sparsity_mask\",\"start\":0.2,\"end\":0.7}]}", o, 0);
  if (!m) return;
  sb_model_init_params(m, 1);
  float x[10];
  for (int i = 0; i < C; i++) x[i] = (float)(i + 1);
  /* At init every importance is 1: training scales by sigmoid(1), evaluation keeps everything
   * (the quantile of equal values is that value). */
  sb_ctx c = {.T = 1, .B = 1, .train = 1, .epoch = 34, .n_epochs = 35};
  sb_model_forward(m, &c, x);
  for (int i = 0; i < C; i++) CHECK_NEAR(m->output->x[i], x[i] * 0.7310585786, 1e-5);
  c.train = 0;
  sb_model_forward(m, &c, x);
  for (int i = 0; i < C; i++) CHECK(m->output->x[i] == x[i]);
  /* Distinct importances i - 4.5: APEX's last epoch (34 of 35) gives sparsity 0.2 + 34/36 * 0.5
   * = 0.6722, rank 6.05 of 9, so only features 7, 8, 9 reach the threshold. */
  for (int i = 0; i < C; i++) m->params[0].w[i] = (float)i - 4.5f;
  sb_model_forward(m, &c, x);
  for (int i = 0; i < C; i++)
    CHECK_MSG(m->output->x[i] == (i >= 7 ? x[i] : 0.0f), "feature %d: %g", i, m->output->x[i]);
  /* Epoch 0 of 35: sparsity 0.2, rank 1.8: features 2..9 kept. */
  c.epoch = 0;
  sb_model_forward(m, &c, x);
  for (int i = 0; i < C; i++)
    CHECK_MSG(m->output->x[i] == (i >= 2 ? x[i] : 0.0f), "epoch 0, feature %d: %g", i, m->output->x[i]);
  sb_model_free(m);
}

static void known_temporal_attention(void) {
  const int T = 3, B = 2, D = 4;
  const case_opts o = {{1, {D, 0, 0}}, 0, T, B, D, 0};
  sb_model *m = build("temporal_attention values",
                      "{\"layers\":[{\"name\":\"a\",\"type\":\"temporal_attention\",\"dim\":4},{\"type\":\"mean_time\"}]}",
                      o, 1);
  if (!m) return;
  CHECK(m->n_param_values == 3 * (D * D + D));
  sb_model_init_params(m, 2);
  float x[T * B * D];
  sb_rng r;
  sb_rng_init(&r, 8, sb_stream(SB_STREAM_TEST, 3));
  for (int i = 0; i < T * B * D; i++) x[i] = sb_rng_normal(&r);
  sb_ctx c = eval_ctx(T, B);
  sb_model_forward(m, &c, x);
  const float *y = sb_model_find(m, "a")->out.x;
  /* Step 0 is h_0 itself, bit for bit. */
  CHECK(memcmp(y, x, (size_t)B * D * sizeof(float)) == 0);
  /* Later steps against a double-precision reference of the notebook's formula. */
  const float *W[3] = {m->params[0].w, m->params[2].w, m->params[4].w};
  const float *bias[3] = {m->params[1].w, m->params[3].w, m->params[5].w};
  double proj[3][T][B][D];
  for (int p = 0; p < 3; p++)
    for (int t = 0; t < T; t++)
      for (int b = 0; b < B; b++)
        for (int j = 0; j < D; j++) {
          double s = bias[p][j];
          for (int i = 0; i < D; i++) s += (double)x[(t * B + b) * D + i] * W[p][i * D + j];
          proj[p][t][b][j] = s;
        }
  double worst = 0;
  for (int t = 1; t < T; t++)
    for (int b = 0; b < B; b++) {
      double sc[T], mx = -1e300, sum = 0;
      for (int j = 0; j <= t; j++) {
        sc[j] = 0;
        for (int e = 0; e < D; e++) sc[j] += proj[0][t][b][e] * proj[1][j][b][e];
        sc[j] /= sqrt((double)D);
        mx = fmax(mx, sc[j]);
      }
      for (int j = 0; j <= t; j++) sum += sc[j] = exp(sc[j] - mx);
      for (int e = 0; e < D; e++) {
        double want = 0;
        for (int j = 0; j <= t; j++) want += sc[j] / sum * proj[2][j][b][e];
        worst = fmax(worst, fabs(y[(t * B + b) * D + e] - want));
      }
    }
  CHECK_MSG(worst < 1e-5, "temporal attention differs from the reference by %g", worst);
  sb_model_free(m);
}

static void known_readouts_and_scales(void) {
  const int T = 3, B = 2, C = 4;
  const case_opts o = {{1, {C, 0, 0}}, 0, T, B, C, 0};
  /* Parameter counts of the seeds' scorers: NEXUS v2 Linear(10,1) = 11, APEX 10->2->1 = 25. */
  const case_opts ten = {{1, {10, 0, 0}}, 0, 2, 1, 10, 0};
  sb_model *m = build("tsr nexus", "{\"layers\":[{\"type\":\"time_softmax_readout\"}]}", ten, 0);
  if (m) {
    CHECK(m->n_param_values == 11);
    sb_model_free(m);
  }
  m = build("tsr apex", "{\"layers\":[{\"type\":\"time_softmax_readout\",\"hidden\":[2]}]}", ten, 0);
  if (m) {
    CHECK(m->n_param_values == 25);
    sb_model_free(m);
  }
  /* Values against a reference: softmax over t of the MLP score, per sample. */
  m = build("tsr values", "{\"layers\":[{\"type\":\"time_softmax_readout\",\"hidden\":[2]}]}", o, 1);
  if (m) {
    sb_model_init_params(m, 4);
    float z[T * B * C];
    sb_rng r;
    sb_rng_init(&r, 9, sb_stream(SB_STREAM_TEST, 4));
    for (int i = 0; i < T * B * C; i++) z[i] = 2.0f * sb_rng_normal(&r);
    sb_ctx c = eval_ctx(T, B);
    sb_model_forward(m, &c, z);
    const float *W1 = m->params[0].w, *b1 = m->params[1].w, *w2 = m->params[2].w, *b2 = m->params[3].w;
    double worst = 0;
    for (int b = 0; b < B; b++) {
      double s[T], mx = -1e300, sum = 0;
      for (int t = 0; t < T; t++) {
        s[t] = b2[0];
        for (int j = 0; j < 2; j++) {
          double h = b1[j];
          for (int k = 0; k < C; k++) h += (double)z[(t * B + b) * C + k] * W1[k * 2 + j];
          s[t] += (h > 0 ? h : 0) * w2[j];
        }
        mx = fmax(mx, s[t]);
      }
      for (int t = 0; t < T; t++) sum += s[t] = exp(s[t] - mx);
      for (int k = 0; k < C; k++) {
        double want = 0;
        for (int t = 0; t < T; t++) want += s[t] / sum * z[(t * B + b) * C + k];
        worst = fmax(worst, fabs(m->output->x[b * C + k] - want));
      }
    }
    CHECK_MSG(worst < 1e-5, "time_softmax_readout differs from the reference by %g", worst);
    /* T = 1 gives z_0 itself, as both seeds return outputs[0]. */
    c.T = 1;
    sb_model_forward(m, &c, z);
    for (int i = 0; i < B * C; i++) CHECK_NEAR(m->output->x[i], z[i], 1e-6);
    sb_model_free(m);
  }
  /* weighted_sum at init is the mean; scale inv_abs at init divides by 1.1; clamp clips. */
  const case_opts s3 = {{1, {3, 0, 0}}, 1, 1, 1, 3, 0};
  m = build("weighted_sum init",
            "{\"layers\":[{\"name\":\"a\",\"type\":\"scale\",\"mode\":\"mul\",\"init\":2,\"in\":\"input\"},"
            "{\"name\":\"b\",\"type\":\"scale\",\"mode\":\"inv_abs\",\"init\":-1,\"in\":\"input\"},"
            "{\"name\":\"c\",\"type\":\"clamp\",\"min\":-1,\"max\":0.5,\"in\":\"input\"},"
            "{\"name\":\"w\",\"type\":\"weighted_sum\",\"in\":[\"a\",\"b\",\"c\"]}]}", s3, 0);
  if (m) {
    sb_model_init_params(m, 1);
    const float x[3] = {0.3f, -2.0f, 4.0f};
    sb_ctx c = eval_ctx(1, 1);
    sb_model_forward(m, &c, x);
    for (int i = 0; i < 3; i++) {
      const double a = 2.0 * x[i], b = x[i] / 1.1, cl = fmin(0.5, fmax(-1.0, x[i]));
      CHECK_NEAR(sb_model_find(m, "b")->out.x[i], b, 1e-6);
      CHECK_NEAR(sb_model_find(m, "c")->out.x[i], cl, 0);
      CHECK_NEAR(m->output->x[i], (a + b + cl) / 3.0, 1e-6);
    }
    sb_model_free(m);
  }
}

/* ================================================================ refused specs */

static void expect_refused(const char *what, const char *spec_text, case_opts o, const char *needle) {
  sb_clear_error();
  cJSON *spec = cJSON_Parse(spec_text);
  sb_model_opts mo = {.input_shape = o.shape, .input_static = o.input_static, .n_classes = o.classes,
                      .T = o.T, .B = o.B, .origin = "spec"};
  sb_model *m = NULL;
  sb_status st = sb_model_build(&m, spec, &mo);
  cJSON_Delete(spec);
  CHECK_MSG(st == SB_EINPUT, "%s: accepted", what);
  if (st == SB_OK) {
    sb_model_free(m);
    return;
  }
  CHECK_MSG(strstr(sb_errmsg(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, sb_errmsg(),
            needle);
  CHECK_MSG(strstr(sb_errmsg(), "layer") != NULL, "%s: message \"%s\" names no layer", what, sb_errmsg());
}

static void check_errors(void) {
  const case_opts v = VEC_DYNAMIC;
  const case_opts img = {{3, {2, 6, 6}}, 0, 2, 2, 5, 0};
  expect_refused("pool on a vector", "{\"layers\":[{\"type\":\"maxpool2d\",\"kernel\":2}," HEAD "]}", v,
                 "needs a CxHxW input, got 12");
  expect_refused("pool without kernel", "{\"layers\":[{\"type\":\"avgpool2d\"}," HEAD "]}", img,
                 "\"kernel\" is required");
  expect_refused("padding over half the kernel",
                 "{\"layers\":[{\"type\":\"maxpool2d\",\"kernel\":2,\"padding\":2}," HEAD "]}", img,
                 "padding 2 is more than half the kernel 2");
  expect_refused("kernel larger than the map", "{\"layers\":[{\"type\":\"avgpool2d\",\"kernel\":9}," HEAD "]}",
                 img, "does not fit the 6x6 map");
  expect_refused("add of different shapes",
                 "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":4},{\"name\":\"b\",\"type\":\"linear\",\"out\":5,\"in\":\"input\"},"
                 "{\"type\":\"add\",\"in\":[\"a\",\"b\"]},{\"type\":\"mean_time\"}]}", v,
                 "input 1 is 5 but input 0 is 4");
  expect_refused("add of one input", "{\"layers\":[{\"type\":\"add\"}]}", v, "needs 2 to 4 inputs");
  expect_refused("mul of mismatched shapes",
                 "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":3},{\"type\":\"mul\",\"in\":[\"a\",\"input\"]}]}",
                 img, "cannot multiply 3 by 2x6x6");
  expect_refused("concat of maps with different sizes",
                 "{\"layers\":[{\"name\":\"p\",\"type\":\"avgpool2d\",\"kernel\":2},"
                 "{\"type\":\"concat\",\"in\":[\"input\",\"p\"]}]}", img,
                 "input 1 is 2x3x3 but input 0 is 2x6x6");
  expect_refused("concat over features of maps",
                 "{\"layers\":[{\"type\":\"concat\",\"dim\":\"features\",\"in\":[\"input\",\"input\"]}]}", img,
                 "concat over features needs [F] inputs");
  expect_refused("dropout without p", "{\"layers\":[{\"type\":\"dropout\"}]}", v, "\"p\"");
  expect_refused("dropout p = 1", "{\"layers\":[{\"type\":\"dropout\",\"p\":1}]}", v, "outside");
  expect_refused("clamp with min above max", "{\"layers\":[{\"type\":\"clamp\",\"min\":1,\"max\":0}]}", v,
                 "\"min\" 1 is above \"max\" 0");
  expect_refused("clamp without bounds", "{\"layers\":[{\"type\":\"clamp\"}]}", v, "needs \"min\"");
  expect_refused("scale with an unknown mode", "{\"layers\":[{\"type\":\"scale\",\"mode\":\"exp\"}]}", v,
                 "\"mode\" is \"exp\"");
  expect_refused("scale c outside inv_abs", "{\"layers\":[{\"type\":\"scale\",\"mode\":\"abs\",\"c\":0.1}]}", v,
                 "\"c\" only applies");
  expect_refused("chebyshev residual_init without residual",
                 "{\"layers\":[{\"type\":\"chebyshev_kan\",\"residual_init\":0.3}]}", v, "\"residual_init\" needs");
  expect_refused("chebyshev typo", "{\"layers\":[{\"type\":\"chebyshev_kan\",\"degre\":3}]}", v,
                 "unknown key \"degre\"");
  expect_refused("temporal attention dim mismatch",
                 "{\"layers\":[{\"type\":\"temporal_attention\",\"dim\":8}]}", v,
                 "\"dim\" is 8 but the input has 12 features");
  expect_refused("time readout on a map", "{\"layers\":[{\"type\":\"time_softmax_readout\"}]}", img,
                 "needs per-step logits [C], got 2x6x6");
  expect_refused("time readout hidden of two", "{\"layers\":[{\"type\":\"time_softmax_readout\",\"hidden\":[2,2]}]}",
                 v, "\"hidden\" must be [] or [width]");
  expect_refused("reshape to the wrong size", "{\"layers\":[{\"type\":\"reshape\",\"shape\":[5,2,1]}]}", v,
                 "cannot reshape 12 (12 values) to 5x2x1 (10 values)");
  expect_refused("power_kan without out", "{\"layers\":[{\"type\":\"power_kan\"}]}", v, "\"out\"");
}

/* ================================================================ determinism */

/* One model through most of these layers, trained one step with 1 and with 2 threads: every
 * output and gradient must match bit for bit. Sizes are large enough for the parallel paths. */
static void check_thread_determinism(void) {
  const case_opts o = {{3, {4, 16, 16}}, 0, 2, 32, 10, 0};
  const char *spec =
      "{\"layers\":["
      "{\"name\":\"sc\",\"type\":\"scale\",\"per_channel\":true,\"init\":1.5},"
      "{\"name\":\"mp\",\"type\":\"maxpool2d\",\"kernel\":3,\"stride\":2,\"padding\":1},"
      "{\"name\":\"kan\",\"type\":\"chebyshev_kan\",\"scale\":true,\"residual\":\"learnable\"},"
      "{\"name\":\"sp\",\"type\":\"sparsity_mask\"},"
      "{\"name\":\"dr\",\"type\":\"dropout\",\"p\":0.2},"
      "{\"name\":\"ap\",\"type\":\"avgpool2d\",\"kernel\":2},"
      "{\"name\":\"sum\",\"type\":\"sum_pool\"},"
      "{\"name\":\"sig\",\"type\":\"sigmoid\"},"
      "{\"name\":\"gate\",\"type\":\"mul\",\"in\":[\"ap\",\"sig\"]},"
      "{\"name\":\"cat\",\"type\":\"concat\",\"in\":[\"ap\",\"gate\"]},"
      "{\"name\":\"ad\",\"type\":\"adaptive_avgpool2d\",\"out\":[3,3]},"
      "{\"name\":\"fl\",\"type\":\"flatten\"},"
      "{\"name\":\"bn\",\"type\":\"batchnorm\"},"
      "{\"name\":\"sn\",\"type\":\"neuron\",\"threshold\":0.5},"
      "{\"name\":\"pk\",\"type\":\"power_kan\",\"out\":24},"
      "{\"name\":\"cl\",\"type\":\"clamp\",\"min\":-1,\"max\":1},"
      "{\"name\":\"ta\",\"type\":\"temporal_attention\"},"
      "{\"name\":\"res\",\"type\":\"scale\",\"mode\":\"abs\",\"init\":0.3,\"in\":\"cl\"},"
      "{\"name\":\"add\",\"type\":\"add\",\"in\":[\"ta\",\"res\"]},"
      "{\"name\":\"o1\",\"type\":\"linear\",\"out\":10},"
      "{\"name\":\"o2\",\"type\":\"linear\",\"out\":10,\"in\":\"cl\"},"
      "{\"name\":\"ws\",\"type\":\"weighted_sum\",\"in\":[\"o1\",\"o2\"]},"
      "{\"name\":\"t\",\"type\":\"scale\",\"mode\":\"inv_abs\"},"
      "{\"name\":\"out\",\"type\":\"time_softmax_readout\",\"hidden\":[2]}]}";
  const int threads[2] = {1, 2};
  float *out[2] = {NULL, NULL}, *grad[2] = {NULL, NULL};
  long n_out = 0, n_par = 0;
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
    n_out = (long)o.B * o.classes;
    for (long i = 0; i < n_out; i++) m->output->g[i] = (float)sb_rng_normal(&r);
    sb_model_backward(m, &c);
    omp_set_num_threads(saved);
    n_par = m->n_param_values;
    out[k] = malloc((size_t)n_out * sizeof(float));
    grad[k] = malloc((size_t)n_par * sizeof(float));
    memcpy(out[k], m->output->x, (size_t)n_out * sizeof(float));
    memcpy(grad[k], m->grad_block, (size_t)n_par * sizeof(float));
    double gnorm = sb_sum_squares(m->grad_block, n_par);
    CHECK_MSG(gnorm > 0 && isfinite(gnorm), "gradient norm %g", gnorm);
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
  known_pools();
  known_maxpool_ties();
  maxpool_2x2_matches_reference();
  known_dropout();
  known_chebyshev();
  known_power_kan();
  power_kan_spike_path(0.15);
  power_kan_spike_path(0.6);
  known_sparsity();
  known_temporal_attention();
  known_readouts_and_scales();
  printf("refused specs:\n");
  check_errors();
  printf("gradient checks (smooth mode):\n");
  check_pools();
  check_dropout();
  check_merges();
  check_pointwise();
  check_kan();
  check_masks_and_time();
  printf("threads:\n");
  check_thread_determinism();
  return check_exit("test_gradcheck_layers");
}
