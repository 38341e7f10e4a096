/* Loss, optimisers, schedule, clipping and the RNG against hand-computed values. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/optim.h"
#include "snnbench/rng.h"

static void loss_gradient(void) {
  /* Finite differences of the mean cross-entropy with label smoothing. */
  const int B = 3, C = 4;
  float z[12] = {0.1f, -1.2f, 0.7f, 2.0f, 1.5f, 0.3f, -0.4f, 0.0f, -2.0f, 0.5f, 0.25f, 1.0f};
  const int32_t y[3] = {3, 0, 2};
  float g[12];
  int hits;
  const float eps_ls = 0.1f;
  const double l0 = sb_softmax_xent(z, y, NULL, B, C, eps_ls, g, &hits);
  CHECK(hits == 2); /* rows 0 and 1 are argmax-correct, row 2 predicts class 3 */
  /* Hand value for row 0: targets (0.025, 0.025, 0.025, 0.925). */
  double lse = log(exp(0.1) + exp(-1.2) + exp(0.7) + exp(2.0));
  double row0 = -(0.025 * (0.1 - lse) + 0.025 * (-1.2 - lse) + 0.025 * (0.7 - lse) +
                  0.925 * (2.0 - lse));
  float z0[4] = {0.1f, -1.2f, 0.7f, 2.0f};
  int32_t y0 = 3;
  CHECK_NEAR(sb_softmax_xent(z0, &y0, NULL, 1, C, eps_ls, NULL, NULL), row0, 1e-6);
  for (int i = 0; i < B * C; i++) {
    const float saved = z[i];
    z[i] = saved + 1e-3f;
    const double lp = sb_softmax_xent(z, y, NULL, B, C, eps_ls, NULL, NULL);
    z[i] = saved - 1e-3f;
    const double lm = sb_softmax_xent(z, y, NULL, B, C, eps_ls, NULL, NULL);
    z[i] = saved;
    CHECK_NEAR(g[i], (lp - lm) / 2e-3, 2e-4);
  }
  (void)l0;
  /* Soft targets (mixup): a one-hot soft row equals the hard label. */
  float soft[12] = {0};
  for (int b = 0; b < B; b++) soft[b * C + y[b]] = 1.0f;
  float g2[12];
  CHECK_NEAR(sb_softmax_xent(z, y, soft, B, C, eps_ls, g2, NULL), l0, 1e-9);
  for (int i = 0; i < B * C; i++) CHECK_NEAR(g2[i], g[i], 1e-7);
  /* A 50/50 mix gives the mean of the two losses. */
  for (int k = 0; k < C; k++) soft[k] = k == 3 || k == 1 ? 0.5f : 0.0f;
  int32_t y1 = 1;
  const double mixed = sb_softmax_xent(z, y, soft, 1, C, 0.0f, NULL, NULL);
  const double half = 0.5 * sb_softmax_xent(z, y, NULL, 1, C, 0.0f, NULL, NULL) +
                      0.5 * sb_softmax_xent(z, &y1, NULL, 1, C, 0.0f, NULL, NULL);
  CHECK_NEAR(mixed, half, 1e-9);
}

static void optimisers(void) {
  float w[1] = {1.0f}, g[1] = {0.5f};
  sb_optimizer o;
  sb_optimizer_init(&o, SB_OPT_ADAM, 1, 0.0f, 0.0f);
  sb_optimizer_step(&o, w, g, 0.1f);
  CHECK_NEAR(w[0], 0.9, 1e-6); /* bias-corrected first step moves by lr */
  sb_optimizer_step(&o, w, g, 0.1f);
  CHECK_NEAR(w[0], 0.8, 1e-6);
  sb_optimizer_free(&o);

  w[0] = 1.0f;
  sb_optimizer_init(&o, SB_OPT_ADAMW, 1, 0.1f, 0.0f);
  sb_optimizer_step(&o, w, g, 0.1f);
  CHECK_NEAR(w[0], 1.0 * (1 - 0.1 * 0.1) - 0.1, 1e-6); /* decoupled decay, then the Adam step */
  sb_optimizer_free(&o);

  w[0] = 1.0f;
  sb_optimizer_init(&o, SB_OPT_ADAM, 1, 0.1f, 0.0f);
  sb_optimizer_step(&o, w, g, 0.1f);
  CHECK_NEAR(w[0], 0.9, 1e-6); /* L2 folds into the gradient, which Adam normalises away */
  sb_optimizer_free(&o);

  w[0] = 1.0f;
  sb_optimizer_init(&o, SB_OPT_SGD, 1, 0.0f, 0.9f);
  sb_optimizer_step(&o, w, g, 0.1f);
  CHECK_NEAR(w[0], 0.95, 1e-6);
  sb_optimizer_step(&o, w, g, 0.1f);
  CHECK_NEAR(w[0], 0.855, 1e-6);
  sb_optimizer_free(&o);
}

static void schedule_and_clip(void) {
  sb_schedule c = {.kind = SB_SCHED_COSINE, .base_lr = 1e-3, .eta_min = 1e-5, .cosine_epochs = 10};
  CHECK_NEAR(sb_schedule_lr(&c, 0), 1e-3, 1e-15);
  CHECK_NEAR(sb_schedule_lr(&c, 5), (1e-3 + 1e-5) / 2, 1e-15);
  c.eta_min = 0;
  c.cosine_epochs = 8;
  CHECK_NEAR(sb_schedule_lr(&c, 2), 1e-3 * (1 + cos(M_PI * 2 / 8)) / 2, 1e-15);
  c.kind = SB_SCHED_CONSTANT;
  CHECK_NEAR(sb_schedule_lr(&c, 7), 1e-3, 0);
  /* Warm restarts T_0 = 10, T_mult = 2 (APEX): cycles [0,10), [10,30), [30,70). */
  sb_schedule w = {.kind = SB_SCHED_COSINE_RESTARTS, .base_lr = 1e-3, .restart_period = 10,
                   .restart_mult = 2};
  CHECK_NEAR(sb_schedule_lr(&w, 0), 1e-3, 1e-15);
  CHECK_NEAR(sb_schedule_lr(&w, 5), 0.5e-3, 1e-15);
  CHECK_NEAR(sb_schedule_lr(&w, 10), 1e-3, 1e-15);
  CHECK_NEAR(sb_schedule_lr(&w, 20), 0.5e-3, 1e-15);
  CHECK_NEAR(sb_schedule_lr(&w, 34), 1e-3 * (1 + cos(M_PI * 4 / 40)) / 2, 1e-15);
  /* timm warmup + cosine (SDT): 20 warmup epochs from 1e-6, cosine over 300, then 1e-5. */
  sb_schedule t = {.kind = SB_SCHED_WARMUP_COSINE, .base_lr = 3e-4, .eta_min = 1e-5,
                   .cosine_epochs = 300, .warmup_epochs = 20, .warmup_lr = 1e-6};
  CHECK_NEAR(sb_schedule_lr(&t, 0), 1e-6, 1e-18);
  CHECK_NEAR(sb_schedule_lr(&t, 10), 1e-6 + 10 * (3e-4 - 1e-6) / 20, 1e-15);
  CHECK_NEAR(sb_schedule_lr(&t, 20), 1e-5 + (3e-4 - 1e-5) * (1 + cos(M_PI * 20 / 300)) / 2, 1e-15);
  CHECK_NEAR(sb_schedule_lr(&t, 305), 1e-5, 0);
  float g[2] = {3.0f, 4.0f};
  CHECK_NEAR(sb_clip_grad_norm(g, 2, 1.0), 5.0, 1e-12);
  CHECK_NEAR(g[0], 0.6, 1e-6);
  CHECK_NEAR(g[1], 0.8, 1e-6);
  float h[2] = {0.3f, 0.4f};
  sb_clip_grad_norm(h, 2, 1.0);
  CHECK(h[0] == 0.3f && h[1] == 0.4f); /* under the limit: untouched */
}

/* Clipping folded into the update must be the update on the clipped gradients: bitwise for
 * Adam without weight decay (g·s is rounded once either way), within rounding otherwise. */
static void scaled_step_is_clipped_step(void) {
  enum { N = 1000 };
  static float w1[N], w2[N], g1[N], g2[N];
  const sb_optimizer_kind kinds[] = {SB_OPT_ADAM, SB_OPT_ADAMW, SB_OPT_SGD};
  for (int k = 0; k < 3; k++) {
    sb_optimizer a, b;
    const float wd = k == 0 ? 0.0f : 0.01f;
    sb_optimizer_init(&a, kinds[k], N, wd, 0.9f);
    sb_optimizer_init(&b, kinds[k], N, wd, 0.9f);
    for (int i = 0; i < N; i++) w1[i] = w2[i] = 0.01f * (float)((i * 37) % 101 - 50);
    for (int step = 0; step < 3; step++) {
      for (int i = 0; i < N; i++) g1[i] = g2[i] = 0.1f * (float)((i * 53 + step * 7) % 97 - 48);
      const double norm = sb_clip_grad_norm(g1, N, 1.0);
      sb_optimizer_step(&a, w1, g1, 1e-2f);
      CHECK_NEAR(sb_grad_norm(g2, N), norm, 1e-9 * norm);
      const float f = sb_clip_factor(norm, 1.0);
      CHECK(f < 1.0f); /* these gradients are far above the limit */
      sb_optimizer_step_scaled(&b, w2, g2, 1e-2f, f);
    }
    double worst = 0.0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs((double)w1[i] - w2[i]));
    if (k == 0)
      CHECK_MSG(!memcmp(w1, w2, sizeof w1), "Adam: scaled step differs from clip + step");
    else
      CHECK_MSG(worst < 1e-6, "optimiser %d: scaled step differs by %g", k, worst);
    sb_optimizer_free(&a);
    sb_optimizer_free(&b);
  }
  CHECK(sb_clip_factor(0.5, 1.0) == 1.0f && sb_clip_factor(5.0, 0.0) == 1.0f);
}

static void rng(void) {
  /* Philox4x32-10 known-answer vectors from Random123 (kat_vectors). */
  uint32_t out[4];
  sb_philox(0, 0, 0, out);
  CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu &&
        out[3] == 0x9b00dbd8u);
  sb_philox(~0ull, ~0ull, ~0ull, out);
  CHECK(out[0] == 0x408f276du && out[1] == 0x41c83b0eu && out[2] == 0xa20bc7c6u &&
        out[3] == 0x6d5451fdu);
  sb_philox(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull, out);
  CHECK(out[0] == 0xd16cfe09u && out[1] == 0x94fdccebu && out[2] == 0x5001e420u &&
        out[3] == 0x24126ea1u);
  /* Uniform draws stay in [0, 1) and average near 1/2; below() stays below n. */
  sb_rng r;
  sb_rng_init(&r, 42, sb_stream(SB_STREAM_TEST, 0));
  double sum = 0.0;
  int in_range = 1;
  for (int i = 0; i < 100000; i++) {
    const float u = sb_rng_uniform(&r);
    in_range &= u >= 0.0f && u < 1.0f;
    sum += u;
    in_range &= sb_rng_below(&r, 7) < 7;
  }
  CHECK(in_range);
  CHECK_NEAR(sum / 100000, 0.5, 0.005);
}

int main(void) {
  loss_gradient();
  optimisers();
  schedule_and_clip();
  scaled_step_is_clipped_step();
  rng();
  return check_exit("test_optim");
}
