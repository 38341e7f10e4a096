/* Known answers for layer state that gradient checks cannot see: BatchNorm's running statistics
 * under its three call conventions ("folded", "per_step", "single_pass"), and the membrane-update
 * counts of neuron and dendritic layers on inputs whose answer is obvious. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/kernels.h"
#include "snnbench/nn.h"

static sb_model *build(const char *spec_text, sb_shape in, int input_static, int T, int B,
                       int classes) {
  cJSON *spec = cJSON_Parse(spec_text);
  sb_model_opts o = {.input_shape = in, .input_static = input_static, .n_classes = classes,
                     .T = T, .B = B, .origin = spec_text};
  sb_model *m = NULL;
  const sb_status st = spec ? sb_model_build(&m, spec, &o) : SB_EINPUT;
  cJSON_Delete(spec);
  CHECK_MSG(st == SB_OK, "%s: %s", spec_text, sb_errmsg());
  if (m) sb_model_init_params(m, 1);
  return m;
}

static const float *buffer(const sb_model *m, const char *name) {
  for (int i = 0; i < m->n_buffers; i++)
    if (!strcmp(m->buffers[i].name, name)) return m->buffers[i].w;
  CHECK_MSG(0, "no buffer %s", name);
  static const float nan_value = NAN;
  return &nan_value;
}

/* One feature, T = 2, B = 2, three training batches, momentum 0.1, running mean 0 and variance
 * 1 at the start. A sequence input x[batch][t][b]:
 *   batch 1: t0 (1, 3), t1 (2, 6);  batch 2: t0 (0, 4), t1 (−1, 1);  batch 3: t0 (2, 2), t1 (5, −3)
 * and a static input x[batch][b]: (1, 3), (0, 4), (2, 5). Each update is
 *   rm ← 0.9 rm + 0.1 mean,  rv ← 0.9 rv + 0.1 var·n/(n − 1)   (var biased over the n values). */
static void batchnorm_running_stats(void) {
  const float dyn[3][4] = {{1, 3, 2, 6}, {0, 4, -1, 1}, {2, 2, 5, -3}};
  const float sta[3][2] = {{1, 3}, {0, 4}, {2, 5}};
  static const struct {
    const char *stats;
    int input_static;
    double mean, var;
  } cases[] = {
      /* folded, sequence: one update over the 4 values of each batch. Batch 1: mean 3, var 3.5,
       * unbiased 14/3: rm 0.3, rv 0.9 + 0.46667 = 1.36667; batch 2: mean 1, unbiased 14/3:
       * rm 0.37, rv 1.69667; batch 3: mean 1.5, var 8.25, unbiased 11: rm 0.483, rv 2.627. */
      {"folded", 0, 0.483, 2.627},
      /* per_step, sequence: an update per step over its 2 values, t0 then t1. Batch 1: t0 mean
       * 2, unbiased 2: rm 0.2, rv 1.1; t1 mean 4, unbiased 8: rm 0.58, rv 1.79; and so on. */
      {"per_step", 0, 0.806338, 5.119619},
      /* single_pass on a sequence is folded. */
      {"single_pass", 0, 0.483, 2.627},
      /* folded, static: the B values stand for T copies, so n = T·B = 4: batch 1 mean 2, var 1,
       * unbiased 4/3: rm 0.2, rv 1.03333. */
      {"folded", 1, 0.692, 1.617},
      /* per_step, static: the same statistics at both steps, n = 2, two updates per batch:
       * batch 1: rm 0.2 then 0.38, rv 1.1 then 1.19. */
      {"per_step", 1, 1.222118, 2.866959},
      /* single_pass, static: one pass, n = 2, one update: batch 1 rm 0.2, rv 1.1. */
      {"single_pass", 1, 0.692, 2.061},
  };
  const sb_shape one = {1, {1, 0, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char spec[256];
    snprintf(spec, sizeof spec,
             "{\"layers\":[{\"name\":\"bn\",\"type\":\"batchnorm\",\"stats\":\"%s\"}%s]}",
             cases[i].stats, cases[i].input_static ? "" : ",{\"type\":\"mean_time\"}");
    sb_model *m = build(spec, one, cases[i].input_static, 2, 2, 1);
    if (!m) continue;
    sb_ctx c = {.T = 2, .B = 2, .train = 1, .n_epochs = 1};
    for (int k = 0; k < 3; k++)
      sb_model_forward(m, &c, cases[i].input_static ? sta[k] : dyn[k]);
    const double rm = *buffer(m, "bn.running_mean"), rv = *buffer(m, "bn.running_var");
    CHECK_MSG(fabs(rm - cases[i].mean) < 1e-5 && fabs(rv - cases[i].var) < 1e-5,
              "batchnorm %s (%s input): running mean %.7g var %.7g, expected %.7g %.7g",
              cases[i].stats, cases[i].input_static ? "static" : "sequence", rm, rv,
              cases[i].mean, cases[i].var);
    /* Training normalises batch 3 with its own statistics: per step (t0 (2, 2) has variance
     * 0: both outputs 0) or over the batch. */
    const float *y = sb_model_find(m, "bn")->out.x;
    if (!cases[i].input_static && !strcmp(cases[i].stats, "per_step")) {
      const double s1 = sqrt(16.0 + 1e-5); /* t1 (5, −3): mean 1, var 16 */
      CHECK_MSG(y[0] == 0.0f && y[1] == 0.0f && fabs(y[2] - 4 / s1) < 1e-6 &&
                    fabs(y[3] + 4 / s1) < 1e-6,
                "per_step output (%g %g %g %g)", y[0], y[1], y[2], y[3]);
    } else if (!cases[i].input_static) {
      const double s = sqrt(8.25 + 1e-5); /* mean 1.5 */
      CHECK_MSG(fabs(y[0] - 0.5 / s) < 1e-6 && fabs(y[2] - 3.5 / s) < 1e-6,
                "%s output (%g %g %g %g)", cases[i].stats, y[0], y[1], y[2], y[3]);
    }
    /* Evaluation normalises with the running statistics. */
    c.train = 0;
    sb_model_forward(m, &c, cases[i].input_static ? sta[0] : dyn[0]);
    const double want = (1.0 - cases[i].mean) / sqrt(cases[i].var + 1e-5);
    CHECK_MSG(fabs(y[0] - want) < 1e-5, "%s eval: %g, expected %g", cases[i].stats, y[0], want);
    sb_model_free(m);
  }
}

/* Membrane updates (NeuroBench: every neuron at t = 0, then each step whose membrane changed),
 * T = 3, B = 2, one input feature that is 0 for sample 0 and 0.5 for sample 1, thresholds too
 * high to fire: sample 0's membranes never leave 0 (1 update each), sample 1's charge at every
 * step (3 each). */
static void membrane_updates(void) {
  const float x[2] = {0.0f, 0.5f};
  static const struct {
    const char *what, *spec;
    sb_shape in;
    double updates;
  } cases[] = {
      {"neuron", "{\"layers\":[{\"name\":\"n\",\"type\":\"neuron\",\"threshold\":10},"
                 "{\"type\":\"linear\",\"out\":2},{\"type\":\"mean_time\"}]}",
       {1, {1, 0, 0}}, 1 + 3},
      /* One neuron with 4 branch potentials: it counts once per step if any of them changed. */
      {"dendritic_conv",
       "{\"layers\":[{\"name\":\"n\",\"type\":\"dendritic_conv\",\"threshold\":10},"
       "{\"type\":\"flatten\"},{\"type\":\"linear\",\"out\":2},{\"type\":\"mean_time\"}]}",
       {3, {1, 1, 1}}, 1 + 3},
      /* Two branches of width 1, each its own potential: 2·1 + 2·3. */
      {"dendritic_mlp",
       "{\"layers\":[{\"name\":\"n\",\"type\":\"dendritic_mlp\",\"branches\":2,\"width\":1},"
       "{\"type\":\"linear\",\"out\":2},{\"type\":\"mean_time\"}]}",
       {1, {1, 0, 0}}, 2 + 6},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    sb_model *m = build(cases[i].spec, cases[i].in, 1, 3, 2, 2);
    if (!m) continue;
    sb_ctx c = {.T = 3, .B = 2, .collect_stats = 1, .n_epochs = 1};
    sb_model_reset_stats(m);
    sb_model_forward(m, &c, x);
    const sb_layer *l = sb_model_find(m, "n");
    CHECK_MSG(l->op_stats.membrane_updates == cases[i].updates, "%s: %g membrane updates, "
              "expected %g", cases[i].what, l->op_stats.membrane_updates, cases[i].updates);
    sb_model_free(m);
  }
}

int main(void) {
  sb_kernels_init();
  batchnorm_running_stats();
  membrane_updates();
  return check_exit("test_layer_kat");
}
