/* Finite-difference checks of every backward pass. Spiking layers run in smooth mode: the
 * forward uses the surrogate's primitive, so the network is differentiable and its exact
 * gradient must equal what BPTT computes with the surrogate derivative. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/kernels.h"
#include "snnbench/nn.h"
#include "snnbench/rng.h"
#include "snnbench/surrogate.h"

typedef struct {
  sb_shape shape;
  int input_static;
  int T, B, classes;
  float zero_fraction;  /* this share of inputs is exactly 0 (exercises the sparse kernels) */
} case_opts;

/* Saved buffers (running statistics, NEXUS's running spike rate) as they were before the first
 * forward, so every finite-difference evaluation starts from the same state. */
static float *g_buffers;

static void restore_buffers(sb_model *m) {
  long off = 0;
  for (int i = 0; i < m->n_buffers; i++) {
    memcpy(m->buffers[i].w, g_buffers + off, (size_t)m->buffers[i].n * sizeof(float));
    off += m->buffers[i].n;
  }
}

static double loss_of(sb_model *m, const sb_ctx *c, const float *x, const double *r) {
  restore_buffers(m);
  sb_model_forward(m, c, x);
  const long n = (long)c->B * sb_shape_numel(m->output->shape);
  double l = 0.0;
  for (long i = 0; i < n; i++) l += r[i] * m->output->x[i];
  return l;
}

/* Returns the worst relative error seen. */
static double gradcheck(const char *name, const char *spec_text, case_opts o) {
  cJSON *spec = cJSON_Parse(spec_text);
  if (!spec) {
    CHECK_MSG(0, "%s: spec does not parse", name);
    return 1.0;
  }
  sb_model_opts mo = {.input_shape = o.shape, .input_static = o.input_static, .n_classes = o.classes,
                      .T = o.T, .B = o.B, .origin = name};
  sb_model *m;
  sb_status st = sb_model_build(&m, spec, &mo);
  cJSON_Delete(spec);
  CHECK_MSG(st == SB_OK, "%s: build failed: %s", name, sb_errmsg());
  if (st) return 1.0;
  sb_model_init_params(m, 7);
  long nbuf = 0;
  for (int i = 0; i < m->n_buffers; i++) nbuf += m->buffers[i].n;
  g_buffers = malloc((size_t)(nbuf ? nbuf : 1) * sizeof(float));
  nbuf = 0;
  for (int i = 0; i < m->n_buffers; i++) {
    memcpy(g_buffers + nbuf, m->buffers[i].w, (size_t)m->buffers[i].n * sizeof(float));
    nbuf += m->buffers[i].n;
  }

  const long in_rows = (long)(o.input_static ? 1 : o.T) * o.B;
  const long in_n = in_rows * sb_shape_numel(o.shape);
  float *x = malloc((size_t)in_n * sizeof(float));
  sb_rng r;
  sb_rng_init(&r, 11, sb_stream(SB_STREAM_TEST, 1));
  for (long i = 0; i < in_n; i++) {
    x[i] = 1.5f * sb_rng_normal(&r);
    if (sb_rng_uniform(&r) < o.zero_fraction) x[i] = 0.0f;
  }
  const long out_n = (long)o.B * o.classes;
  double *proj = calloc((size_t)out_n, sizeof(double));
  for (long i = 0; i < out_n; i++) proj[i] = sb_rng_normal(&r);

  sb_ctx c = {.T = o.T, .B = o.B, .train = 1, .smooth = 1, .seed = 3, .n_epochs = 1};
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
      /* Two step sizes: where they disagree, the step crossed a kink of a piecewise function
       * (ReLU, rectangular or triangular surrogates) and the difference quotient is not a
       * derivative; such samples are skipped, and too many skips fail the case. */
      double numeric[3];
      const float eps[3] = {4e-3f, 2e-3f, 1e-3f};
      for (int k = 0; k < 3; k++) {
        prm->w[i] = saved + eps[k];
        const double lp = loss_of(m, &c, x, proj);
        prm->w[i] = saved - eps[k];
        const double lm = loss_of(m, &c, x, proj);
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
      if (err > worst) worst = err;
      CHECK_MSG(err < 2e-2, "%s: %s[%ld]: analytic %.6g vs numeric %.6g", name, prm->name, i, a,
                numeric[1]);
    }
  }
  CHECK_MSG(skipped * 4 <= tried, "%s: %d of %d samples sat on kinks", name, skipped, tried);
  printf("  %-44s params %6ld  worst rel err %.2e  (%d/%d at kinks)\n", name, m->n_param_values,
         worst, skipped, tried);
  free(x);
  free(proj);
  free(analytic);
  free(g_buffers);
  sb_model_free(m);
  return worst;
}

static const case_opts MLP = {{1, {12, 0, 0}}, 1, 3, 4, 5, 0.0f};
static const case_opts MLP_DYNAMIC = {{1, {12, 0, 0}}, 0, 3, 4, 5, 0.0f};
static const case_opts IMAGE = {{3, {3, 7, 6}}, 1, 2, 3, 5, 0.0f};
static const case_opts IMAGE_SPARSE = {{3, {4, 7, 6}}, 0, 2, 3, 5, 0.9f};

static void check_convs(void) {
  const char *head = "{\"type\":\"flatten\"},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}";
  char spec[1024];
  const struct {
    const char *name, *conv;
    case_opts o;
  } cases[] = {
      {"conv 3x3 pad 1", "\"out\":4,\"kernel\":3,\"padding\":1", IMAGE},
      {"conv 3x3 stride 2 pad 1", "\"out\":4,\"kernel\":3,\"stride\":2,\"padding\":1", IMAGE},
      {"conv 2x3 no bias", "\"out\":5,\"kernel\":[2,3],\"bias\":false", IMAGE},
      {"conv 1x1", "\"out\":6,\"kernel\":1", IMAGE},
      {"conv groups 2", "\"out\":4,\"kernel\":3,\"padding\":1,\"groups\":2", IMAGE_SPARSE},
      {"conv sparse input 3x3 s2", "\"out\":4,\"kernel\":3,\"stride\":2,\"padding\":1", IMAGE_SPARSE},
      {"conv sparse input 1x1", "\"out\":3,\"kernel\":1", IMAGE_SPARSE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(spec, sizeof spec, "{\"layers\":[{\"type\":\"conv2d\",%s},%s]}", cases[i].conv, head);
    gradcheck(cases[i].name, spec, cases[i].o);
  }
  /* Two convs with a neuron between: the first conv's gradient passes through the second's
   * input gradient (dense col2im and, for the spiking input, the sparse forward). */
  gradcheck("conv -> neuron -> conv (BPTT through dX)",
            "{\"layers\":[{\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"padding\":1},"
            "{\"type\":\"batchnorm\"},{\"type\":\"neuron\",\"threshold\":0.4},"
            "{\"type\":\"conv2d\",\"out\":3,\"kernel\":3,\"stride\":2},"
            "{\"type\":\"flatten\"},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}",
            IMAGE);
}

static void check_neurons(void) {
  const char *kinds[] = {"lif", "if"};
  const char *resets[] = {"soft", "hard"};
  const char *charges[] = {"x", "decay_input"};
  for (int k = 0; k < 2; k++)
    for (int rs = 0; rs < 2; rs++)
      for (int ch = 0; ch < (k == 0 ? 2 : 1); ch++)
        for (int sg = 0; sg < SB_SG_COUNT; sg++) {
          char spec[1024], name[128];
          const char *sgn = sb_surrogate_name((sb_surrogate_kind)sg);
          /* Low thresholds and a nonzero V_reset keep every term of the recurrence active. */
          snprintf(spec, sizeof spec,
                   "{\"layers\":[{\"type\":\"linear\",\"out\":9},"
                   "{\"type\":\"neuron\",\"neuron\":\"%s\",\"tau\":2.5,\"threshold\":0.4,"
                   "\"reset\":\"%s\",\"v_reset\":-0.2,\"charge\":\"%s\",\"surrogate\":\"%s\"},"
                   "{\"type\":\"linear\",\"out\":7},"
                   "{\"type\":\"neuron\",\"neuron\":\"%s\",\"tau\":3,\"threshold\":0.3,"
                   "\"reset\":\"%s\",\"charge\":\"%s\",\"surrogate\":\"%s\"},"
                   "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}",
                   kinds[k], resets[rs], charges[ch], sgn, kinds[k], resets[rs], charges[ch], sgn);
          snprintf(name, sizeof name, "%s/%s/%s/%s", kinds[k], resets[rs], charges[ch], sgn);
          gradcheck(name, spec, MLP);
        }
}

/* The learnable and seed-specific neuron options, each in a small MLP and a small conv net. */
static void check_neuron_options(void) {
  const struct {
    const char *name, *opts;
  } cases[] = {
      {"learn threshold abs per channel", "\"learn_threshold\":\"abs\",\"threshold\":0.5"},
      {"learn threshold offset per layer", "\"learn_threshold\":\"offset\",\"per_channel\":false,\"threshold\":0.4"},
      {"learn threshold softplus, hard", "\"learn_threshold\":\"softplus\",\"threshold\":0.2,\"reset\":\"hard\""},
      {"PLIF sigmoid (per layer)", "\"learn_tau\":\"sigmoid\",\"per_channel\":false,\"tau\":2.5,\"charge\":\"decay_input\",\"threshold\":0.3"},
      {"PLIF log per channel, hard", "\"learn_tau\":\"log\",\"tau\":2.0,\"charge\":\"decay_input\",\"threshold\":0.3,\"reset\":\"hard\",\"v_reset\":-0.1"},
      {"learn tau abs, x charge", "\"learn_tau\":\"abs\",\"tau\":3.0,\"threshold\":0.5"},
      {"learn tau log, x charge, hard reset to -0.3", "\"learn_tau\":\"log\",\"tau\":2.5,\"threshold\":0.4,\"reset\":\"hard\",\"v_reset\":-0.3"},
      {"tau and threshold learned", "\"learn_tau\":\"log\",\"learn_threshold\":\"abs\",\"threshold\":0.5,\"charge\":\"decay_input\""},
      {"reset scale 0.9", "\"reset_scale\":0.9,\"threshold\":0.4"},
      {"single spike (TTFS), hard", "\"single_spike\":true,\"reset\":\"hard\",\"threshold\":0.3,\"learn_threshold\":\"softplus\""},
      {"strict threshold", "\"strict\":true,\"threshold\":0.4,\"reset\":\"hard\",\"surrogate\":\"fast_sigmoid\""},
      {"adaptive threshold (NEXUS v2)", "\"adapt\":0.3,\"learn_threshold\":\"offset\",\"threshold\":0.4,\"reset_scale\":0.9,\"charge\":\"decay_input\",\"tau\":1.5"},
      {"adaptive threshold, hard reset", "\"adapt\":0.2,\"threshold\":0.3,\"reset\":\"hard\""},
      {"detached soft reset", "\"detach_reset\":true,\"threshold\":0.4"},
      {"detached hard reset, decay_input", "\"detach_reset\":true,\"threshold\":0.3,\"reset\":\"hard\",\"v_reset\":-0.2,\"charge\":\"decay_input\""},
      {"detached, learned threshold and tau", "\"detach_reset\":true,\"learn_threshold\":\"abs\",\"learn_tau\":\"log\",\"threshold\":0.4"},
      {"detached single spike", "\"detach_reset\":true,\"single_spike\":true,\"threshold\":0.3"},
      {"detached adaptive threshold", "\"detach_reset\":true,\"adapt\":0.3,\"learn_threshold\":\"offset\",\"threshold\":0.4"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char spec[1024], name[160];
    snprintf(spec, sizeof spec,
             "{\"layers\":[{\"type\":\"linear\",\"out\":9},{\"type\":\"neuron\",%s},"
             "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", cases[i].opts);
    snprintf(name, sizeof name, "mlp: %s", cases[i].name);
    gradcheck(name, spec, MLP);
    snprintf(spec, sizeof spec,
             "{\"layers\":[{\"type\":\"conv2d\",\"out\":3,\"kernel\":3,\"padding\":1},"
             "{\"type\":\"neuron\",%s},{\"type\":\"flatten\"},{\"type\":\"linear\",\"out\":5},"
             "{\"type\":\"mean_time\"}]}", cases[i].opts);
    snprintf(name, sizeof name, "conv: %s", cases[i].name);
    gradcheck(name, spec, (case_opts){{3, {2, 4, 3}}, 0, 3, 3, 5, 0.0f});
  }
}

static void check_dendritic(void) {
  gradcheck("dendritic_mlp on a static input",
            "{\"layers\":[{\"type\":\"dendritic_mlp\",\"branches\":3,\"width\":4},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", MLP);
  gradcheck("linear -> neuron -> dendritic_mlp -> bn -> soma",
            "{\"layers\":[{\"type\":\"linear\",\"out\":10},{\"type\":\"neuron\",\"threshold\":0.4},"
            "{\"type\":\"dendritic_mlp\",\"branches\":4,\"width\":3,\"tau_min\":2,\"tau_max\":16},"
            "{\"type\":\"batchnorm\"},{\"type\":\"neuron\",\"threshold\":1.2,\"charge\":\"decay_input\",\"detach_reset\":true},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", MLP);
  /* The detached reset uses hard decisions, which jump when a soma crosses threshold; small
   * images keep the number of such crossings (skipped samples) low. */
  gradcheck("dendritic_conv on a static input",
            "{\"layers\":[{\"type\":\"conv2d\",\"out\":3,\"kernel\":3,\"padding\":1},"
            "{\"type\":\"dendritic_conv\",\"threshold\":0.3},{\"type\":\"flatten\"},"
            "{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}",
            (case_opts){{3, {2, 3, 3}}, 1, 3, 2, 5, 0.0f});
  gradcheck("dendritic_conv on a dynamic input, 3 branches",
            "{\"layers\":[{\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"padding\":1},"
            "{\"type\":\"dendritic_conv\",\"branches\":3,\"threshold\":0.3,\"surrogate\":\"sigmoid\"},"
            "{\"type\":\"flatten\"},{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}",
            (case_opts){{3, {2, 3, 3}}, 0, 3, 2, 5, 0.0f});
}

int main(void) {
  sb_kernels_init();
  printf("layers:\n");
  gradcheck("linear static -> mean_time",
            "{\"layers\":[{\"type\":\"linear\",\"out\":5},{\"type\":\"mean_time\"}]}", MLP);
  gradcheck("linear dynamic -> relu -> linear -> mean",
            "{\"layers\":[{\"type\":\"linear\",\"out\":8},{\"type\":\"relu\"},"
            "{\"type\":\"linear\",\"out\":5,\"bias\":false},{\"type\":\"mean_time\"}]}",
            MLP_DYNAMIC);
  gradcheck("batchnorm over T*B",
            "{\"layers\":[{\"type\":\"linear\",\"out\":8},{\"type\":\"batchnorm\"},"
            "{\"type\":\"neuron\",\"threshold\":0.5},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"batchnorm\"},{\"type\":\"mean_time\"}]}",
            MLP_DYNAMIC);
  gradcheck("batchnorm on a static input",
            "{\"layers\":[{\"type\":\"linear\",\"out\":8},{\"type\":\"batchnorm\"},"
            "{\"type\":\"neuron\",\"threshold\":0.5},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"mean_time\"}]}",
            MLP);
  gradcheck("batchnorm per step (static, then a sequence)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":8},{\"type\":\"batchnorm\",\"stats\":\"per_step\"},"
            "{\"type\":\"neuron\",\"threshold\":0.5},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"batchnorm\",\"stats\":\"per_step\"},{\"type\":\"mean_time\"}]}",
            MLP);
  gradcheck("batchnorm per step on a sequence input",
            "{\"layers\":[{\"type\":\"linear\",\"out\":8},{\"type\":\"batchnorm\",\"stats\":\"per_step\"},"
            "{\"type\":\"neuron\",\"threshold\":0.5},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"mean_time\"}]}",
            MLP_DYNAMIC);
  gradcheck("batchnorm single_pass (static, then a sequence)",
            "{\"layers\":[{\"type\":\"linear\",\"out\":8},{\"type\":\"batchnorm\",\"stats\":\"single_pass\"},"
            "{\"type\":\"neuron\",\"threshold\":0.5},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"batchnorm\",\"stats\":\"single_pass\"},{\"type\":\"mean_time\"}]}",
            MLP);
  gradcheck("flatten of an image",
            "{\"layers\":[{\"type\":\"flatten\"},{\"type\":\"linear\",\"out\":5},"
            "{\"type\":\"mean_time\"}]}",
            (case_opts){{3, {2, 3, 2}}, 0, 2, 3, 5, 0.0f});
  gradcheck("skip input: two consumers of one activation",
            "{\"layers\":[{\"name\":\"a\",\"type\":\"linear\",\"out\":8},"
            "{\"name\":\"s\",\"type\":\"neuron\",\"threshold\":0.3},"
            "{\"name\":\"b\",\"type\":\"linear\",\"out\":5,\"in\":\"s\"},"
            "{\"name\":\"c\",\"type\":\"linear\",\"out\":5,\"in\":\"s\"},"
            "{\"name\":\"m\",\"type\":\"mean_time\",\"in\":\"c\"}]}",
            MLP);
  printf("convolutions:\n");
  check_convs();
  printf("neurons (smooth mode):\n");
  check_neurons();
  printf("neuron options (smooth mode):\n");
  check_neuron_options();
  printf("dendritic neurons (smooth mode):\n");
  check_dendritic();
  return check_exit("test_gradcheck");
}
