/* Known-answer tests of neuron dynamics on hand-computed sequences: IF vs LIF, the two charge
 * forms, soft vs hard reset (and the leak toward V_reset), single-spike and strict firing, the
 * BPTT gradient with and without a detached reset or threshold; and every surrogate's g(x) and
 * primitive P(x) against values worked out from its formula (reference/ANCHORS.md §2), not from
 * the code (the gradient checks only prove P' = g). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/neuron.h"
#include "snnbench/surrogate.h"

enum { T = 4 };

/* Runs one neuron over X (one element, T steps) and returns spikes and potentials. */
static void run(const sb_neuron_cfg *cfg, const float *x, float *s, float *h) {
  float beta, gamma, delta, theta = cfg->threshold;
  sb_neuron_charge(cfg, cfg->tau, &beta, &gamma, &delta);
  const sb_neuron_block p = {&beta, &gamma, &delta, &theta};
  sb_neuron_forward_block(cfg, &p, T, 1, x, 1, s, h, 1, 0, NULL);
}

static void expect_seq(const char *what, const float *got, const float *want) {
  for (int t = 0; t < T; t++)
    CHECK_MSG(fabsf(got[t] - want[t]) < 1e-6f, "%s[%d] = %.7g, expected %.7g", what, t, got[t],
              want[t]);
}

static void dynamics(void) {
  const float x[T] = {0.6f, 0.6f, 0.6f, 1.5f};
  float s[T], h[T];
  sb_neuron_cfg c;

  /* LIF, V = 0.5 V + X, soft reset: 0.6, 0.9, 1.05 (fires, V = 0.05), 0.025 + 1.5 (fires). */
  sb_neuron_defaults(&c);
  run(&c, x, s, h);
  expect_seq("LIF soft S", s, (float[]){0, 0, 1, 1});
  expect_seq("LIF soft H", h, (float[]){0.6f, 0.9f, 1.05f, 1.525f});

  /* Hard reset to 0: after the spike at t=2, H[3] = 0 + 1.5. */
  c.reset = SB_RESET_HARD;
  run(&c, x, s, h);
  expect_seq("LIF hard S", s, (float[]){0, 0, 1, 1});
  expect_seq("LIF hard H", h, (float[]){0.6f, 0.9f, 1.05f, 1.5f});

  /* Hard reset to V_reset = -0.5, the "x" charge: SpikingJelly's decay_input=False,
   * H = V − (V − V_reset)/τ + X, so the membrane leaks toward V_reset, not 0 (δ = V_reset/τ).
   * X = (1.5, 0, 0, 0.8), τ = 2, V[−1] = 0:
   *   H0 = 0 − (0 + 0.5)/2 + 1.5 = 1.25 ≥ 1, fires, V = −0.5
   *   H1 = −0.5 − (−0.5 + 0.5)/2 + 0 = −0.5   (at V_reset it stays there; a leak toward 0
   *   H2 = −0.5                                 would give −0.25, −0.125, 0.7375)
   *   H3 = −0.5 + 0.8 = 0.3 */
  c.v_reset = -0.5f;
  const float kick[T] = {1.5f, 0.0f, 0.0f, 0.8f};
  run(&c, kick, s, h);
  expect_seq("LIF x hard(-0.5) S", s, (float[]){1, 0, 0, 0});
  expect_seq("LIF x hard(-0.5) H", h, (float[]){1.25f, -0.5f, -0.5f, 0.3f});
  /* A soft reset leaks toward 0 (SpikingJelly treats V_reset None as 0): 1.5 fires, V = 0.5,
   * then 0.25, 0.125, 0.0625 + 0.8. */
  c.reset = SB_RESET_SOFT;
  run(&c, kick, s, h);
  expect_seq("LIF x soft H", h, (float[]){1.5f, 0.25f, 0.125f, 0.8625f});

  /* IF, soft: 0.6, 1.2 (fires, V = 0.2), 0.8, 2.3 (fires). */
  sb_neuron_defaults(&c);
  c.kind = SB_NEURON_IF;
  run(&c, x, s, h);
  expect_seq("IF soft S", s, (float[]){0, 1, 0, 1});
  expect_seq("IF soft H", h, (float[]){0.6f, 1.2f, 0.8f, 2.3f});

  /* IF, hard: 0.6, 1.2 (fires, V = 0), 0.6, 2.1 (fires). */
  c.reset = SB_RESET_HARD;
  run(&c, x, s, h);
  expect_seq("IF hard S", s, (float[]){0, 1, 0, 1});
  expect_seq("IF hard H", h, (float[]){0.6f, 1.2f, 0.6f, 2.1f});

  /* SpikingJelly's charge V + (X − V)/τ, τ = 2: 0.3, 0.45, 0.525, 1.0125 (fires). */
  sb_neuron_defaults(&c);
  c.charge = SB_CHARGE_DECAY_INPUT;
  run(&c, x, s, h);
  expect_seq("LIF decay_input S", s, (float[]){0, 0, 0, 1});
  expect_seq("LIF decay_input H", h, (float[]){0.3f, 0.45f, 0.525f, 1.0125f});

  /* With a hard reset to V_reset = 0.2 SpikingJelly charges V + (X − (V − V_reset))/τ. */
  c.reset = SB_RESET_HARD;
  c.v_reset = 0.2f;
  run(&c, x, s, h);
  expect_seq("LIF decay_input hard(0.2) H", h, (float[]){0.4f, 0.6f, 0.7f, 1.2f});

  /* Single spike: the same input as IF soft fires only once. */
  sb_neuron_defaults(&c);
  c.kind = SB_NEURON_IF;
  c.single_spike = 1;
  run(&c, x, s, h);
  expect_seq("IF single-spike S", s, (float[]){0, 1, 0, 0});

  /* >= fires at exactly θ, > does not: IF with X = 0.5 reaches H = 1 at t = 1. */
  const float half[T] = {0.5f, 0.5f, 0.0f, 0.0f};
  sb_neuron_defaults(&c);
  c.kind = SB_NEURON_IF;
  run(&c, half, s, h);
  expect_seq("IF >= S", s, (float[]){0, 1, 0, 0});
  c.strict = 1;
  run(&c, half, s, h);
  expect_seq("IF > S", s, (float[]){0, 0, 0, 0});

  /* NEXUS v2's reset subtracts 0.9 θ: IF soft with reset_scale 0.9 keeps V = 0.3 after t=1, so 0.9 then 0.9 + 1.5. */
  sb_neuron_defaults(&c);
  c.kind = SB_NEURON_IF;
  c.reset_scale = 0.9f;
  run(&c, x, s, h);
  expect_seq("IF soft x0.9 H", h, (float[]){0.6f, 1.2f, 0.9f, 2.4f});
}

/* Two steps of LIF (V = 0.5V + X, θ = 1, atan α = 2 so g(u) = 1/(1 + (πu)²)), X = (1.2, 0.5),
 * dL/dS = (1, 1). Expected dL/dX worked out by hand from dV/dH (values in the comments). */
static void gradients(void) {
  const float x[2] = {1.2f, 0.5f}, ds[2] = {1.0f, 1.0f};
  struct {
    sb_reset_kind reset;
    int detach;
    double dx0, dx1;
  } cases[] = {
      /* soft: H1 = 0.6; gH1 = g(−0.4); gH0 = g(0.2) + 0.5 gH1 (1 − g(0.2)) */
      {SB_RESET_SOFT, 0, 0.7718284942558555, 0.3877266367391514},
      /* soft, detached: dV/dH = 1 */
      {SB_RESET_SOFT, 1, 0.9108201186944735, 0.3877266367391514},
      /* hard: H1 = 0.5; dV0/dH0 = (1 − S0) + (0 − H0) g(0.2) */
      {SB_RESET_HARD, 0, 0.5928944066891711, 0.288400439142001},
      /* hard, detached: dV0/dH0 = 1 − S0 = 0 */
      {SB_RESET_HARD, 1, 0.7169568003248978, 0.288400439142001},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    sb_neuron_cfg c;
    sb_neuron_defaults(&c);
    c.reset = cases[i].reset;
    c.detach_reset = cases[i].detach;
    float beta, gamma, delta, theta = 1.0f;
    sb_neuron_charge(&c, c.tau, &beta, &gamma, &delta);
    const sb_neuron_block p = {&beta, &gamma, &delta, &theta};
    float s[2], h[2], dx[2];
    sb_neuron_forward_block(&c, &p, 2, 1, x, 1, s, h, 1, 0, NULL);
    CHECK(s[0] == 1.0f && s[1] == 0.0f);
    sb_neuron_backward_block(&c, &p, 2, 1, x, 1, s, h, ds, 1, dx, 0, NULL, NULL, 0);
    CHECK_NEAR(dx[0], cases[i].dx0, 1e-6);
    CHECK_NEAR(dx[1], cases[i].dx1, 1e-6);
  }
}

/* detach_threshold (APEX's TTFSSpikeFunction returns no gradient for the threshold): dS/dθ = 0.
 * IF, θ = 1, atan α = 2 so g(u) = 1/(1 + (πu)²), X = (1.2, 0.5), dL/dS = (1, 1): H0 = 1.2 fires,
 * V0 = 0.2, H1 = 0.7 does not.
 *  - soft reset: θ keeps only the reset's path, V0 = H0 − S0 θ with S0 held constant:
 *      dL/dθ = −dL/dV0 · S0 = −(dL/dH1 · dH1/dV0) = −g(0.7 − 1) = −1/(1 + 0.09π²) = −0.529586853
 *  - hard reset: every θ path runs through S, so dL/dθ = 0 exactly;
 *  - dL/dX is the same as without the option (θ's gradient is not on X's path). */
static void detached_threshold(void) {
  const float x[2] = {1.2f, 0.5f}, ds[2] = {1.0f, 1.0f};
  for (int hard = 0; hard < 2; hard++) {
    float dx[2][2], dth[2];
    for (int detach = 0; detach < 2; detach++) {
      sb_neuron_cfg c;
      sb_neuron_defaults(&c);
      c.kind = SB_NEURON_IF;
      c.reset = hard ? SB_RESET_HARD : SB_RESET_SOFT;
      c.learn_threshold = SB_THETA_SOFTPLUS;
      c.detach_threshold = detach;
      float beta, gamma, delta, theta = 1.0f;
      sb_neuron_charge(&c, c.tau, &beta, &gamma, &delta);
      const sb_neuron_block p = {&beta, &gamma, &delta, &theta};
      float s[2], h[2];
      sb_neuron_forward_block(&c, &p, 2, 1, x, 1, s, h, 1, 0, NULL);
      CHECK(s[0] == 1.0f && s[1] == 0.0f);
      sb_neuron_backward_block(&c, &p, 2, 1, x, 1, s, h, ds, 1, dx[detach], 0, &dth[detach], NULL, 0);
    }
    CHECK_MSG(dx[0][0] == dx[1][0] && dx[0][1] == dx[1][1], "%s: dX changed by detach_threshold",
              hard ? "hard" : "soft");
    CHECK_MSG(dth[0] != dth[1], "%s: detach_threshold left dθ at %g", hard ? "hard" : "soft",
              dth[0]);
    if (hard)
      CHECK_MSG(dth[1] == 0.0f, "hard reset, detached threshold: dθ = %g, expected exactly 0",
                dth[1]);
    else
      CHECK_NEAR(dth[1], -0.529586853, 1e-6);
  }
}

/* Every surrogate's g(x) and primitive P(x) at x = 0, 0.1, −0.3, 0.75, for its default α and one
 * other, worked out from the formulas (u = |x|; π = 3.14159265…; values to 9 digits). */
static void surrogate_values(void) {
  static const struct {
    const char *name;
    float alpha;
    double g[4], p[4];
  } k[] = {
      /* atan (SpikingJelly): g = α / (2(1 + (π/2 αx)²)), P = arctan(π/2 αx)/π + 1/2.
       * α = 2, x = 0.1: g = 1/(1 + 0.01π²) = 1/1.098696 = 0.910169838 */
      {"atan", 2.0f, {1, 0.910169838, 0.529586853, 0.152633248},
       {0.5, 0.596892192, 0.259423293, 0.872238846}},
      {"atan", 0.5f, {0.25, 0.248467329, 0.236850863, 0.185600617},
       {0.5, 0.524948785, 0.426343439, 0.669445297}},
      /* sigmoid: g = α σ(αx)(1 − σ(αx)), P = σ(αx). α = 4, x = 0.1: σ(0.4) = 0.598687660,
       * g = 4 · 0.598687660 · 0.401312340 = 0.961042983 */
      {"sigmoid", 4.0f, {1, 0.961042983, 0.711577763, 0.180706639},
       {0.5, 0.59868766, 0.231475217, 0.952574127}},
      {"sigmoid", 25.0f, {6.25, 1.75259291, 0.0138118268, 1.79853325e-07},
       {0.5, 0.92414182, 0.000552778637, 0.999999993}},
      /* fast_sigmoid (Quantized_SNN slope form): g = α/(1 + αu)², P = 1/2 + αx/(1 + αu).
       * α = 10, x = 0.1: g = 10/2² = 2.5, P = 0.5 + 1/2 = 1; x = −0.3: g = 10/16 = 0.625 */
      {"fast_sigmoid", 10.0f, {10, 2.5, 0.625, 0.138408304}, {0.5, 1, -0.25, 1.38235294}},
      {"fast_sigmoid", 2.0f, {2, 1.38888889, 0.78125, 0.32}, {0.5, 0.666666667, 0.125, 1.1}},
      /* triangle (Norse): g = α max(0, 1 − u), P = 1/2 + sign(x) α (v − v²/2), v = min(1, u).
       * α = 1, x = 0.75: g = 0.25, P = 0.5 + 0.75 − 0.28125 = 0.96875 */
      {"triangle", 1.0f, {1, 0.9, 0.7, 0.25}, {0.5, 0.595, 0.245, 0.96875}},
      {"triangle", 0.3f, {0.3, 0.27, 0.21, 0.075}, {0.5, 0.5285, 0.4235, 0.640625}},
      /* piecewise_quadratic (SpikingJelly): g = max(0, α − α²u), P = 1/2 + sign(x)(αv − α²v²/2),
       * v = min(1/α, u). α = 2.5, x = −0.3: g = 2.5 − 6.25·0.3 = 0.625, P = 0.5 − (0.75 −
       * 0.28125) = 0.03125; x = 0.75 is past 1/α = 0.4: g = 0, P = 1 */
      {"piecewise_quadratic", 1.0f, {1, 0.9, 0.7, 0.25}, {0.5, 0.595, 0.245, 0.96875}},
      {"piecewise_quadratic", 2.5f, {2.5, 1.875, 0.625, 0}, {0.5, 0.71875, 0.03125, 1}},
      /* superspike (SpikingJelly): g = α/(1 + u)², P = 1/2 + αx/(1 + u). α = 1, x = 0.1:
       * g = 1/1.21 = 0.826446281, P = 0.5 + 0.1/1.1 = 0.590909091 */
      {"superspike", 1.0f, {1, 0.826446281, 0.591715976, 0.326530612},
       {0.5, 0.590909091, 0.269230769, 0.928571429}},
      {"superspike", 3.0f, {3, 2.47933884, 1.77514793, 0.979591837},
       {0.5, 0.772727273, -0.192307692, 1.78571429}},
      /* erf (SpikingJelly): g = α/√π e^(−α²x²), P = 1/2 + erf(αx)/2. α = 2, x = 0: 2/√π =
       * 1.12837917 */
      {"erf", 2.0f, {1.12837917, 1.08413479, 0.787243432, 0.118930289},
       {0.5, 0.611351295, 0.198071955, 0.983052573}},
      {"erf", 0.7f, {0.394932708, 0.393002272, 0.377894627, 0.299792447},
       {0.5, 0.53942886, 0.383239039, 0.771096303}},
      /* rectangular (SpikingJelly Rect): g = α [u < 1/(2α)], P = clamp(αx + 1/2, 0, 1).
       * α = 4: the window is |x| < 0.125, so 0.1 is in and −0.3 out */
      {"rectangular", 1.0f, {1, 1, 1, 0}, {0.5, 0.6, 0.2, 1}},
      {"rectangular", 4.0f, {4, 4, 0, 0}, {0.5, 0.9, 0, 1}},
      /* atan_pi (the seed MNIST scripts): g = 1/(π(1 + (παx)²)), P = 1/2 + arctan(παx)/(π²α).
       * α = 2, x = 0: 1/π = 0.318309886 */
      {"atan_pi", 2.0f, {0.318309886, 0.228214438, 0.0699112366, 0.0137163458},
       {0.5, 0.528419686, 0.445132825, 0.568984107}},
      {"atan_pi", 1.0f, {0.318309886, 0.289716057, 0.168572731, 0.0485846719},
       {0.5, 0.530841742, 0.423422056, 0.618487305}},
      /* fast_sigmoid_snntorch: g = 1/(1 + ku)², P = 1/2 + x/(1 + ku). k = 25, x = 0.1:
       * g = 1/3.5² = 0.0816326531, P = 0.5 + 0.1/3.5 = 0.528571429 */
      {"fast_sigmoid_snntorch", 25.0f, {1, 0.0816326531, 0.0138408304, 0.00256369172},
       {0.5, 0.528571429, 0.464705882, 0.537974684}},
      {"fast_sigmoid_snntorch", 1.0f, {1, 0.826446281, 0.591715976, 0.326530612},
       {0.5, 0.590909091, 0.269230769, 0.928571429}},
      /* superspike_norse: g = 1/(1 + αu)², α = 100, x = 0.1: 1/11² = 0.00826446281 */
      {"superspike_norse", 100.0f, {1, 0.00826446281, 0.00104058273, 0.000173130194},
       {0.5, 0.509090909, 0.490322581, 0.509868421}},
      {"superspike_norse", 5.0f, {1, 0.444444444, 0.16, 0.0443213296},
       {0.5, 0.566666667, 0.38, 0.657894737}},
  };
  const float xs[4] = {0.0f, 0.1f, -0.3f, 0.75f};
  int seen[SB_SG_COUNT] = {0};
  for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
    sb_surrogate s;
    if (sb_surrogate_parse(k[i].name, &s.kind)) {
      CHECK_MSG(0, "surrogate %s is unknown", k[i].name);
      continue;
    }
    seen[s.kind] = 1;
    s.alpha = k[i].alpha;
    for (int j = 0; j < 4; j++) {
      const double g = sb_surrogate_grad(s, xs[j]), p = sb_surrogate_primitive(s, xs[j]);
      CHECK_MSG(fabs(g - k[i].g[j]) <= 2e-6 * fabs(k[i].g[j]) + 1e-9, "%s(alpha=%g): g(%g) = %.9g, "
                "expected %.9g", k[i].name, k[i].alpha, xs[j], g, k[i].g[j]);
      CHECK_MSG(fabs(p - k[i].p[j]) <= 2e-6 * fabs(k[i].p[j]) + 1e-8, "%s(alpha=%g): P(%g) = %.9g, "
                "expected %.9g", k[i].name, k[i].alpha, xs[j], p, k[i].p[j]);
    }
  }
  for (int j = 0; j < SB_SG_COUNT; j++)
    CHECK_MSG(seen[j], "surrogate %s has no known-answer values", sb_surrogate_name(j));
  /* The defaults are the sources' (ANCHORS.md §2 and the seeds). */
  const float defaults[SB_SG_COUNT] = {[SB_SG_ATAN] = 2,          [SB_SG_SIGMOID] = 4,
                                       [SB_SG_FAST_SIGMOID] = 10, [SB_SG_TRIANGLE] = 1,
                                       [SB_SG_PIECEWISE_QUADRATIC] = 1, [SB_SG_SUPERSPIKE] = 1,
                                       [SB_SG_ERF] = 2,           [SB_SG_RECTANGULAR] = 1,
                                       [SB_SG_ATAN_PI] = 2,       [SB_SG_FAST_SIGMOID_SNNTORCH] = 25,
                                       [SB_SG_SUPERSPIKE_NORSE] = 100};
  for (int j = 0; j < SB_SG_COUNT; j++)
    CHECK_MSG(sb_surrogate_default_alpha(j) == defaults[j], "%s: default alpha %g, expected %g",
              sb_surrogate_name(j), sb_surrogate_default_alpha(j), defaults[j]);
}

/* The backward pass that reruns the forward recurrence (H = NULL) must give the bits of the
 * one that reads stored H and S, for every option that shapes the recurrence, with static and
 * per-step inputs, in smooth mode, and over more than one block of neurons (n = 300). */
static void recompute_matches_stored(void) {
  enum { N = 300, TT = 5 };
  static float x[TT * N], s[TT * N], h[TT * N], ds[TT * N], dx_a[TT * N], dx_b[TT * N];
  static float beta[N], gamma[N], delta[N], theta[N], dth_a[N], dth_b[N], dbe_a[N], dbe_b[N];
  uint32_t r = 12345u;
  for (int i = 0; i < TT * N; i++) {
    r = r * 1664525u + 1013904223u;
    x[i] = (float)(r >> 8) / 16777216.0f * 2.4f - 0.6f;
    r = r * 1664525u + 1013904223u;
    ds[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
  }
  for (int variant = 0; variant < 7; variant++)
    for (int is_static = 0; is_static < 2; is_static++) {
      sb_neuron_cfg c;
      sb_neuron_defaults(&c);
      int smooth = 0;
      switch (variant) {
        case 1: c.reset = SB_RESET_HARD; c.v_reset = -0.2f; break;
        case 2: c.detach_reset = 1; break;
        case 3: c.single_spike = 1; c.reset = SB_RESET_HARD; break;
        case 4: smooth = 1; break;
        case 5: c.kind = SB_NEURON_LIF; c.charge = SB_CHARGE_DECAY_INPUT; c.reset = SB_RESET_HARD; break;
        case 6: c.strict = 1; c.reset_scale = 0.9f; c.surrogate.kind = SB_SG_SIGMOID; break;
        default: break;
      }
      for (int e = 0; e < N; e++) {
        sb_neuron_charge(&c, c.tau + 0.01f * (float)(e % 7), &beta[e], &gamma[e], &delta[e]);
        theta[e] = c.threshold + 0.05f * (float)(e % 5);
      }
      const sb_neuron_block p = {beta, gamma, delta, theta};
      const long xs = is_static ? 0 : N;
      sb_neuron_forward_block(&c, &p, TT, N, x, xs, s, h, N, smooth, NULL);
      memset(dx_a, 0, sizeof dx_a);
      memset(dx_b, 0, sizeof dx_b);
      sb_neuron_backward_block(&c, &p, TT, N, x, xs, s, h, ds, N, dx_a, 0, dth_a, dbe_a, smooth);
      sb_neuron_backward_block(&c, &p, TT, N, x, xs, s, NULL, ds, N, dx_b, 0, dth_b, dbe_b,
                               smooth);
      const int nx = is_static ? N : TT * N;
      CHECK_MSG(!memcmp(dx_a, dx_b, sizeof(float) * nx), "recompute dX differs, variant %d%s",
                variant, is_static ? " static" : "");
      CHECK_MSG(!memcmp(dth_a, dth_b, sizeof dth_a), "recompute dtheta differs, variant %d", variant);
      CHECK_MSG(!memcmp(dbe_a, dbe_b, sizeof dbe_a), "recompute dbeta differs, variant %d", variant);
      float nonzero = 0.0f;
      for (int i = 0; i < nx; i++) nonzero += fabsf(dx_a[i]);
      CHECK_MSG(nonzero > 0.0f, "variant %d: the gradient is all zero, the check proves nothing",
                variant);
    }
}

int main(void) {
  dynamics();
  recompute_matches_stored();
  gradients();
  detached_threshold();
  surrogate_values();
  return check_exit("test_neuron_kat");
}
