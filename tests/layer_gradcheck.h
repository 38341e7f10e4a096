/* The finite-difference harness of the layer tests: build a spec at small sizes, and check every
 * parameter gradient of a smooth-mode training pass against central differences. Included by
 * test_gradcheck_layers.c and test_gradcheck_zoo.c (static functions: one copy per test). */
#ifndef SNNBENCH_TESTS_LAYER_GRADCHECK_H
#define SNNBENCH_TESTS_LAYER_GRADCHECK_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/nn.h"
#include "snnbench/rng.h"

typedef struct {
  sb_shape shape;
  int input_static;
  int T, B, classes;
  int input_binary;
} case_opts;

/* Set to build the non-spiking twin ("ann": true) of the cases that follow. */
static int g_ann_twin;

/* Builds with planned maxima above the sizes the test runs at, so every layer must index with
 * the call's T and B, not the planned ones. */
static sb_model *build(const char *name, const char *spec_text, case_opts o, int spare) {
  cJSON *spec = cJSON_Parse(spec_text);
  if (!spec) {
    CHECK_MSG(0, "%s: spec does not parse", name);
    return NULL;
  }
  sb_model_opts mo = {.input_shape = o.shape, .input_static = o.input_static,
                      .input_binary = o.input_binary, .n_classes = o.classes,
                      .T = o.T + spare, .B = o.B + 2 * spare, .ann_twin = g_ann_twin,
                      .origin = name};
  sb_model *m;
  sb_status st = sb_model_build(&m, spec, &mo);
  cJSON_Delete(spec);
  CHECK_MSG(st == SB_OK, "%s: build failed: %s", name, sb_errmsg());
  return st ? NULL : m;
}

static long input_len(case_opts o) {
  return (long)(o.input_static ? 1 : o.T) * o.B * sb_shape_numel(o.shape);
}

static double loss_of(sb_model *m, const sb_ctx *c, const float *x, const double *r) {
  sb_model_forward(m, c, x);
  const long n = (long)c->B * sb_shape_numel(m->output->shape);
  double l = 0.0;
  for (long i = 0; i < n; i++) l += r[i] * m->output->x[i];
  return l;
}

/* Finite differences against backward for up to 16 entries of every parameter tensor, as in
 * test_gradcheck.c. */
static void gradcheck(const char *name, const char *spec_text, case_opts o) {
  sb_model *m = build(name, spec_text, o, 1);
  if (!m) return;
  sb_model_init_params(m, 7);
  const long in_n = input_len(o);
  float *x = malloc((size_t)in_n * sizeof(float));
  sb_rng r;
  sb_rng_init(&r, 11, sb_stream(SB_STREAM_TEST, 1));
  for (long i = 0; i < in_n; i++) x[i] = 1.5f * sb_rng_normal(&r);
  const long out_n = (long)o.B * o.classes;
  double *proj = malloc((size_t)out_n * sizeof(double));
  for (long i = 0; i < out_n; i++) proj[i] = sb_rng_normal(&r);

  sb_ctx c = {.T = o.T, .B = o.B, .train = 1, .smooth = 1, .seed = 3, .step = 5, .n_epochs = 1};
  loss_of(m, &c, x, proj);
  for (long i = 0; i < out_n; i++) m->output->g[i] = (float)proj[i];
  sb_model_backward(m, &c);
  float *analytic = malloc((size_t)m->n_param_values * sizeof(float));
  memcpy(analytic, m->grad_block, (size_t)m->n_param_values * sizeof(float));

  double worst = 0.0;
  int skipped = 0, tried = 0;
  for (int p = 0; p < m->n_params; p++) {
    const sb_param *prm = &m->params[p];
    const int samples = prm->n < 16 ? (int)prm->n : 16;
    for (int s = 0; s < samples; s++) {
      const long i = prm->n <= 16 ? s : (long)sb_rng_below(&r, (uint32_t)prm->n);
      const float saved = prm->w[i];
      /* Where two step sizes disagree the step crossed a kink (max, clamp, ReLU): skipped. */
      double numeric[3], lp = 0, lm = 0;
      const float eps[3] = {4e-3f, 2e-3f, 1e-3f};
      for (int k = 0; k < 3; k++) {
        prm->w[i] = saved + eps[k];
        lp = loss_of(m, &c, x, proj);
        prm->w[i] = saved - eps[k];
        lm = loss_of(m, &c, x, proj);
        prm->w[i] = saved;
        numeric[k] = (lp - lm) / (2.0 * eps[k]);
      }
      tried++;
      const double scale = fmax(1e-2, fmax(fabs(numeric[0]), fabs(numeric[1])));
      if (fabs(numeric[0] - numeric[1]) / scale > 1e-2 ||
          fabs(numeric[1] - numeric[2]) / scale > 1e-2) {
        skipped++;
        continue;
      }
      const double a = analytic[prm->w - m->param_block + i];
      const double err = fabs(a - numeric[1]) / fmax(1e-2, fmax(fabs(a), fabs(numeric[1])));
      if (err >= 2e-2) {
        /* A kink between the point and the steps (a max whose runner-up is 1e-4 away) can make
         * all three differences agree on a blend of two slopes. Such a sample is excused only
         * with evidence of the kink: one-sided differences at the 1e-3 step that disagree by at
         * least the mismatch (a kink gives about twice it; a smooth function with a wrong
         * backward gives eps * L''), and a 10x finer central difference that agrees with
         * backward (its allowance covers the loss's float rounding over the small step). */
        const double l0 = loss_of(m, &c, x, proj);
        const double one_sided_gap = fabs((lp - l0) - (l0 - lm)) / eps[2];
        const float fine = 1e-4f;
        prm->w[i] = saved + fine;
        const double fp = loss_of(m, &c, x, proj);
        prm->w[i] = saved - fine;
        const double fm = loss_of(m, &c, x, proj);
        prm->w[i] = saved;
        const double nf = (fp - fm) / (2.0 * fine);
        if (one_sided_gap >= fabs(numeric[2] - a) &&
            fabs(a - nf) <= 2e-2 * fmax(fabs(a), fabs(nf)) + 5e-3) {
          skipped++;
          continue;
        }
      }
      if (err > worst) worst = err;
      CHECK_MSG(err < 2e-2, "%s: %s[%ld]: analytic %.6g vs numeric %.6g", name, prm->name, i, a,
                numeric[1]);
    }
  }
  CHECK_MSG(skipped * 4 <= tried, "%s: %d of %d samples sat on kinks", name, skipped, tried);
  printf("  %-52s params %6ld  worst rel err %.2e  (%d/%d at kinks)\n", name, m->n_param_values,
         worst, skipped, tried);
  free(x);
  free(proj);
  free(analytic);
  sb_model_free(m);
}

#endif
