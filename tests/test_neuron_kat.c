/* Known-answer tests of neuron dynamics on hand-computed sequences: IF vs LIF, the two charge
 * forms, soft vs hard reset, single-spike and strict firing, and the BPTT gradient with and
 * without a detached reset. */
#include <string.h>

#include "check.h"
#include "snnbench/neuron.h"

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

  /* Hard reset to V_reset = -0.5: H[3] = 0.5·(−0.5) + 1.5. */
  c.v_reset = -0.5f;
  run(&c, x, s, h);
  expect_seq("LIF hard(-0.5) H", h, (float[]){0.6f, 0.9f, 1.05f, 1.25f});

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
    sb_neuron_backward_block(&c, &p, 2, 1, x, 1, s, h, ds, 1, dx, 0, NULL, NULL);
    CHECK_NEAR(dx[0], cases[i].dx0, 1e-6);
    CHECK_NEAR(dx[1], cases[i].dx1, 1e-6);
  }
}

int main(void) {
  dynamics();
  gradients();
  return check_exit("test_neuron_kat");
}
