/* The model zoo: every built-in model and every user spec in jobs/models has the parameter
 * count of the system it reproduces, runs one training forward and backward pass, and has a
 * non-spiking twin with the same backbone; specs whose shapes do not fit are refused naming the
 * layer. Also: the input each built-in declares, the SDT neuron study's talking-heads neuron,
 * APEX's untrained thresholds, config overrides of dendritic neurons and their membrane-update
 * counts. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/kernels.h"
#include "snnbench/models.h"
#include "snnbench/nn.h"
#include "snnbench/rng.h"

typedef struct {
  const char *model;  /* built-in name, or a file under jobs/models */
  sb_shape input;
  long params;        /* the published (or hand-counted) total */
} zoo_entry;

#define MNIST {3, {1, 28, 28}}
#define CIFAR {3, {3, 32, 32}}

static const zoo_entry k_zoo[] = {
    {"baseline_lif", MNIST, 537354},
    {"dasnn", MNIST, 668430},
    {"spiking_kan", MNIST, 1192715},
    {"nexus", MNIST, 671001},
    {"apex", MNIST, 1599237},
    {"baseline_lif_conv", CIFAR, 2474506},
    {"dasnn_conv", CIFAR, 2476310},
    {"spiking_kan_conv", CIFAR, 2476301},
    {"nexus_conv", CIFAR, 2510542},
    {"apex_conv", CIFAR, 2482223},
    {"ann_conv", CIFAR, 2474506},
    {"spiking_cnn", MNIST, 824458},
    {"ann_cnn", MNIST, 824458},
    {"sdt", CIFAR, 2567082},
    {"nb000_baseline.json", MNIST, 535818},
    {"nb000_dasnn.json", MNIST, 2140754},
    {"nb000_spiking_kan.json", MNIST, 935178},
    {"nb000_nexus.json", MNIST, 736266},
    {"nb000_apex.json", MNIST, 391370},
};
enum { N_ZOO = sizeof k_zoo / sizeof k_zoo[0] };

static cJSON *load_spec(const char *model) {
  char path[1024];
  snprintf(path, sizeof path, "%s/../jobs/models/%s", SNNBENCH_TEST_DIR, model);
  cJSON *spec = NULL;
  sb_status st = sb_model_spec_load(model, path, &spec);
  CHECK_MSG(st == SB_OK, "%s: spec does not load: %s", model, sb_errmsg());
  return st ? NULL : spec;
}

static sb_model *build(const char *model, const cJSON *spec, sb_shape input, int T, int B, int twin) {
  sb_model_opts o = {.input_shape = input, .input_static = 1, .n_classes = 10, .T = T, .B = B,
                     .ann_twin = twin, .origin = model};
  sb_model *m = NULL;
  sb_status st = sb_model_build(&m, spec, &o);
  CHECK_MSG(st == SB_OK, "%s%s: build failed: %s", model, twin ? " (twin)" : "", sb_errmsg());
  return st ? NULL : m;
}

/* "1,599,237" */
static void with_commas(long v, char *buf, size_t n) {
  char digits[32];
  snprintf(digits, sizeof digits, "%ld", v);
  const size_t len = strlen(digits);
  size_t k = 0;
  for (size_t i = 0; i < len && k + 2 < n; i++) {
    if (i && (len - i) % 3 == 0) buf[k++] = ',';
    buf[k++] = digits[i];
  }
  buf[k] = 0;
}

static void check_counts(void) {
  for (int i = 0; i < N_ZOO; i++) {
    const zoo_entry *z = &k_zoo[i];
    cJSON *spec = load_spec(z->model);
    if (!spec) continue;
    sb_model *m = build(z->model, spec, z->input, 1, 1, 0);
    if (m) {
      CHECK_MSG(m->n_param_values == z->params, "%s: %ld parameters, want %ld", z->model,
                m->n_param_values, z->params);
      /* The description states the count, so `list models` cannot drift from the spec. */
      char want[32];
      with_commas(z->params, want, sizeof want);
      const cJSON *d = cJSON_GetObjectItemCaseSensitive(spec, "description");
      CHECK_MSG(cJSON_IsString(d) && strstr(d->valuestring, want), "%s: description lacks \"%s\"",
                z->model, want);
      sb_model_free(m);
    }
    cJSON_Delete(spec);
  }
  /* Every built-in model has a row in the table above. */
  for (const char *const *n = sb_builtin_model_names(); *n; n++) {
    int found = 0;
    for (int i = 0; i < N_ZOO; i++) found |= !strcmp(k_zoo[i].model, *n);
    CHECK_MSG(found, "built-in model %s has no expected parameter count", *n);
  }
}

static int all_finite(const float *x, long n) {
  for (long i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

/* One training step's forward and backward at T=2, B=3 (B=3 keeps BatchNorm's variance
 * defined): the logits and every parameter gradient are finite, and the loss reaches the
 * parameters (some gradient is nonzero). Then one evaluation forward. */
static void forward_backward(const char *model, sb_model *m, sb_shape input) {
  const int T = 2, B = 3;
  const long n_in = (long)B * sb_shape_numel(input);
  float *x = malloc((size_t)n_in * sizeof(float));
  sb_rng r;
  sb_rng_init(&r, 3, sb_stream(SB_STREAM_TEST, 7));
  for (long i = 0; i < n_in; i++) x[i] = 1.5f * sb_rng_normal(&r);
  sb_model_init_params(m, 1);
  sb_ctx c = {.T = T, .B = B, .train = 1, .seed = 5, .epoch = 0, .n_epochs = 2};
  sb_model_forward(m, &c, x);
  const long n_out = (long)B * 10;
  CHECK_MSG(all_finite(m->output->x, n_out), "%s: non-finite logits", model);
  for (long i = 0; i < n_out; i++) m->output->g[i] = (float)sb_rng_normal(&r) / (float)B;
  memset(m->grad_block, 0x7f, (size_t)m->n_param_values * sizeof(float)); /* must be overwritten */
  sb_model_backward(m, &c);
  CHECK_MSG(all_finite(m->grad_block, m->n_param_values), "%s: non-finite gradients", model);
  double norm = 0.0;
  for (long i = 0; i < m->n_param_values; i++) norm += (double)m->grad_block[i] * m->grad_block[i];
  CHECK_MSG(norm > 0.0, "%s: every gradient is zero", model);
  /* Evaluation mode too (hard sparsity masks, no dropout, running statistics). */
  c.train = 0;
  c.epoch = 1;
  sb_model_forward(m, &c, x);
  CHECK_MSG(all_finite(m->output->x, n_out), "%s: non-finite logits in evaluation", model);
  free(x);
}

static long spiking_params(const sb_model *m) {
  long n = 0;
  for (int i = 0; i < m->n_layers; i++)
    if (sb_layer_is_spiking(m->layers[i]->ops)) n += m->layers[i]->n_params;
  return n;
}

static void check_every_model_runs_and_twins(void) {
  for (int i = 0; i < N_ZOO; i++) {
    const zoo_entry *z = &k_zoo[i];
    cJSON *spec = load_spec(z->model);
    if (!spec) continue;
    sb_model *m = build(z->model, spec, z->input, 2, 3, 0);
    sb_model *t = build(z->model, spec, z->input, 2, 3, 1);
    cJSON_Delete(spec);
    if (!m || !t) {
      sb_model_free(m);
      sb_model_free(t);
      continue;
    }
    forward_backward(z->model, m, z->input);
    /* The twin: the same layers by name and order, ReLU for every spiking one, and the
     * parameters of everything but the spiking layers. */
    CHECK_MSG(t->n_layers == m->n_layers, "%s: twin has %d layers, model %d", z->model, t->n_layers,
              m->n_layers);
    CHECK_MSG(t->n_param_values == m->n_param_values - spiking_params(m),
              "%s: twin has %ld parameters, want %ld - %ld", z->model, t->n_param_values,
              m->n_param_values, spiking_params(m));
    int spiking_in_twin = 0, renamed = 0, relus = 0, spiking = 0;
    for (int k = 0; k < t->n_layers && k < m->n_layers; k++) {
      spiking_in_twin += sb_layer_is_spiking(t->layers[k]->ops) || t->layers[k]->is_neuron;
      renamed += strcmp(t->layers[k]->name, m->layers[k]->name) != 0;
      spiking += sb_layer_is_spiking(m->layers[k]->ops);
      relus += sb_layer_is_spiking(m->layers[k]->ops) && !strcmp(t->layers[k]->ops->type, "relu");
    }
    CHECK_MSG(spiking_in_twin == 0, "%s: twin keeps %d spiking layers", z->model, spiking_in_twin);
    CHECK_MSG(renamed == 0, "%s: twin renames %d layers", z->model, renamed);
    CHECK_MSG(relus == spiking, "%s: %d of %d spiking layers became ReLU", z->model, relus, spiking);
    forward_backward(z->model, t, z->input);
    printf("  %-24s %9ld params  twin %9ld  (%d spiking layers)\n", z->model, m->n_param_values,
           t->n_param_values, spiking);
    sb_model_free(m);
    sb_model_free(t);
  }
}

/* ann_conv and ann_cnn, written out as the seeds wrote them, are layer for layer the twins of
 * baseline_lif_conv and spiking_cnn: the same types in the same order and the same count. */
static void check_written_twins(void) {
  const char *pairs[2][2] = {{"ann_conv", "baseline_lif_conv"}, {"ann_cnn", "spiking_cnn"}};
  const sb_shape shapes[2] = {CIFAR, MNIST};
  for (int k = 0; k < 2; k++) {
    cJSON *a = load_spec(pairs[k][0]), *b = load_spec(pairs[k][1]);
    sb_model *ma = a ? build(pairs[k][0], a, shapes[k], 1, 1, 0) : NULL;
    sb_model *mt = b ? build(pairs[k][1], b, shapes[k], 1, 1, 1) : NULL;
    if (ma && mt) {
      int same = ma->n_layers == mt->n_layers && ma->n_param_values == mt->n_param_values;
      for (int i = 0; same && i < ma->n_layers; i++)
        same = !strcmp(ma->layers[i]->ops->type, mt->layers[i]->ops->type);
      CHECK_MSG(same, "%s is not the twin of %s", pairs[k][0], pairs[k][1]);
    }
    sb_model_free(ma);
    sb_model_free(mt);
    cJSON_Delete(a);
    cJSON_Delete(b);
  }
}

/* A zoo spec edited so that shapes no longer fit: one line naming the layer and the mismatch. */
static void expect_refused(const char *what, cJSON *spec, sb_shape input, const char *needle) {
  sb_clear_error();
  sb_model_opts o = {.input_shape = input, .input_static = 1, .n_classes = 10, .T = 2, .B = 2,
                     .origin = what};
  sb_model *m = NULL;
  const sb_status st = sb_model_build(&m, spec, &o);
  CHECK_MSG(st == SB_EINPUT, "%s: accepted", what);
  if (st == SB_OK) {
    sb_model_free(m);
    return;
  }
  CHECK_MSG(strstr(sb_errmsg(), needle) != NULL, "%s: \"%s\" lacks \"%s\"", what, sb_errmsg(), needle);
  CHECK_MSG(strchr(sb_errmsg(), '\n') == NULL, "%s: message spans lines", what);
}

static cJSON *layer_named(cJSON *spec, const char *name) {
  cJSON *l;
  cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(spec, "layers")) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(l, "name");
    if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) return l;
  }
  return NULL;
}

static void check_shape_errors(void) {
  const sb_shape cifar = CIFAR, mnist = MNIST;
  /* NEXUS's skip projected to the wrong width cannot be added to fc1's output. */
  cJSON *spec = load_spec("nexus_conv");
  if (spec) {
    cJSON_ReplaceItemInObject(layer_named(spec, "skip_fc"), "out", cJSON_CreateNumber(256));
    expect_refused("nexus_conv, skip 256 wide", spec, cifar,
                   "layer 21 'fc1_skip' (add): input 1 is 256 but input 0 is 512");
    cJSON_Delete(spec);
  }
  /* SDT's product of Q and the talking-heads spikes needs matching channels. */
  spec = load_spec("sdt");
  if (spec) {
    cJSON_ReplaceItemInObject(layer_named(spec, "b1_q_conv"), "out", cJSON_CreateNumber(128));
    expect_refused("sdt, q with 128 channels", spec, cifar, "'b1_attn' (mul): cannot multiply 128x8x8 by 256x1x1");
    cJSON_Delete(spec);
  }
  /* A convolution fed a flat vector. */
  spec = load_spec("baseline_lif");
  if (spec) {
    cJSON *fc2 = layer_named(spec, "fc2");
    cJSON_ReplaceItemInObject(fc2, "type", cJSON_CreateString("conv2d"));
    cJSON_AddNumberToObject(fc2, "kernel", 3);
    expect_refused("baseline_lif with fc2 as a conv", spec, mnist,
                   "layer 3 'fc2' (conv2d): needs a [C,H,W] input, got 1 dimension(s)");
    cJSON_Delete(spec);
  }
  /* The last layer must give the class logits. */
  spec = load_spec("ann_cnn");
  if (spec) {
    cJSON_ReplaceItemInObject(layer_named(spec, "fc2"), "out", cJSON_CreateNumber(7));
    expect_refused("ann_cnn with 7 outputs", spec, mnist, "must give one 10-class logit vector");
    cJSON_Delete(spec);
  }
}

/* Every built-in declares the input and classes of its dataset (model info's default). */
static void check_declared_inputs(void) {
  for (int i = 0; i < N_ZOO; i++) {
    const zoo_entry *z = &k_zoo[i];
    if (sb_model_is_file(z->model)) continue;
    cJSON *spec = load_spec(z->model);
    if (!spec) continue;
    sb_shape in = {0, {0, 0, 0}};
    int classes = 0;
    CHECK(sb_model_spec_declared(spec, z->model, &in, &classes) == SB_OK);
    CHECK_MSG(in.ndim == 3 && in.d[0] == z->input.d[0] && in.d[1] == z->input.d[1] &&
                  in.d[2] == z->input.d[2] && classes == 10,
              "%s declares input %dx%dx%d and %d classes", z->model, in.d[0], in.d[1], in.d[2],
              classes);
    cJSON_Delete(spec);
  }
  /* A malformed declaration is refused at build, naming the model. */
  cJSON *spec = load_spec("baseline_lif");
  if (spec) {
    cJSON_ReplaceItemInObject(spec, "input", cJSON_Parse("[1, 0, 28]"));
    expect_refused("bad input", spec, (sb_shape)MNIST, "model bad input: \"input\" must be a list");
    cJSON_ReplaceItemInObject(spec, "input", cJSON_Parse("[1, 28, 28]"));
    cJSON_ReplaceItemInObject(spec, "classes", cJSON_CreateString("ten"));
    expect_refused("bad classes", spec, (sb_shape)MNIST, "\"classes\" must be a whole number");
    cJSON_Delete(spec);
  }
}

static void layer_settings(const sb_model *m, const char *layer, char *buf, size_t n) {
  const sb_layer *l = sb_model_find(m, layer);
  buf[0] = 0;
  if (l && l->ops->describe) l->ops->describe(l, buf, n);
}

/* The FPT paper's SDT neuron study (SEED-REPOS.md §3.3, the fork's ms_conv.py): in the IF modes
 * the talking-heads neuron is MultiStepIFNode(v_threshold=0.5, v_reset=0.0 or None): type and
 * reset follow the study, θ stays 0.5; every other neuron takes the study's θ. */
static void check_sdt_neuron_study(void) {
  static const struct {
    const char *type, *reset;
    float theta;
    const char *talking_heads, *q_lif;
  } cells[] = {
      {NULL, NULL, 0,
       "lif tau=2 charge=decay_input theta=0.5 reset=hard(v_reset=0) detach_reset surrogate=sigmoid(alpha=4)",
       "lif tau=2 charge=decay_input theta=1 reset=hard(v_reset=0) detach_reset surrogate=sigmoid(alpha=4)"},
      {"lif", "hard", 1.0f,
       "lif tau=2 charge=decay_input theta=0.5 reset=hard(v_reset=0) detach_reset surrogate=sigmoid(alpha=4)",
       "lif tau=2 charge=decay_input theta=1 reset=hard(v_reset=0) detach_reset surrogate=sigmoid(alpha=4)"},
      {"if", "hard", 0.8f, "if theta=0.5 reset=hard(v_reset=0) detach_reset surrogate=sigmoid(alpha=4)",
       "if theta=0.8 reset=hard(v_reset=0) detach_reset surrogate=sigmoid(alpha=4)"},
      {"if", "hard", 1.2f, "if theta=0.5 reset=hard(v_reset=0) detach_reset surrogate=sigmoid(alpha=4)",
       "if theta=1.2 reset=hard(v_reset=0) detach_reset surrogate=sigmoid(alpha=4)"},
      {"if", "soft", 0.8f, "if theta=0.5 reset=soft detach_reset surrogate=sigmoid(alpha=4)",
       "if theta=0.8 reset=soft detach_reset surrogate=sigmoid(alpha=4)"},
      {"if", "soft", 1.0f, "if theta=0.5 reset=soft detach_reset surrogate=sigmoid(alpha=4)",
       "if theta=1 reset=soft detach_reset surrogate=sigmoid(alpha=4)"},
  };
  cJSON *spec = load_spec("sdt");
  if (!spec) return;
  for (size_t i = 0; i < sizeof cells / sizeof *cells; i++) {
    sb_neuron_override ov = {0};
    if (cells[i].type) {
      ov.has_type = ov.has_reset = ov.has_threshold = 1;
      snprintf(ov.type, sizeof ov.type, "%s", cells[i].type);
      snprintf(ov.reset, sizeof ov.reset, "%s", cells[i].reset);
      ov.threshold = cells[i].theta;
    }
    sb_model_opts o = {.input_shape = CIFAR, .input_static = 1, .n_classes = 10, .T = 1, .B = 1,
                       .neuron = cells[i].type ? &ov : NULL, .origin = "sdt"};
    sb_model *m = NULL;
    if (sb_model_build(&m, spec, &o)) {
      CHECK_MSG(0, "sdt %s/%s: build failed: %s", cells[i].type, cells[i].reset, sb_errmsg());
      continue;
    }
    char got[256];
    const char *th_layers[] = {"b1_talking_heads_lif", "b2_talking_heads_lif"};
    for (int k = 0; k < 2; k++) {
      layer_settings(m, th_layers[k], got, sizeof got);
      CHECK_MSG(!strcmp(got, cells[i].talking_heads), "sdt %s %s %g: %s is \"%s\", expected \"%s\"",
                cells[i].type ? cells[i].type : "(spec)", cells[i].reset, cells[i].theta,
                th_layers[k], got, cells[i].talking_heads);
    }
    layer_settings(m, "b2_q_lif", got, sizeof got);
    CHECK_MSG(!strcmp(got, cells[i].q_lif), "sdt %s: b2_q_lif is \"%s\", expected \"%s\"",
              cells[i].type ? cells[i].type : "(spec)", got, cells[i].q_lif);
    CHECK(m->n_param_values == 2567082);
    sb_model_free(m);
  }
  cJSON_Delete(spec);
}

/* One training step of `model` at T=2, B=3; returns the sum of squared gradients of the
 * parameters whose name ends in `suffix` (into *match) and of all the others (*rest). */
static void gradient_split(const char *model, const cJSON *spec, const char *suffix, double *match,
                           double *rest, int *exact_zero) {
  *match = *rest = 0.0;
  *exact_zero = 1;
  sb_model *m = build(model, spec, (sb_shape)MNIST, 2, 3, 0);
  if (!m) return;
  const long n_in = 3L * 784;
  float *x = malloc((size_t)n_in * sizeof(float));
  sb_rng r;
  sb_rng_init(&r, 3, sb_stream(SB_STREAM_TEST, 9));
  for (long i = 0; i < n_in; i++) x[i] = 1.5f * sb_rng_normal(&r);
  sb_model_init_params(m, 1);
  sb_ctx c = {.T = 2, .B = 3, .train = 1, .seed = 5, .epoch = 0, .n_epochs = 2};
  sb_model_forward(m, &c, x);
  for (long i = 0; i < 30; i++) m->output->g[i] = (float)sb_rng_normal(&r) / 3.0f;
  sb_model_backward(m, &c);
  const size_t ls = strlen(suffix);
  for (int p = 0; p < m->n_params; p++) {
    const sb_param *q = &m->params[p];
    const size_t ln = strlen(q->name);
    const int is = ln >= ls && !strcmp(q->name + ln - ls, suffix);
    for (long k = 0; k < q->n; k++) {
      const double g = q->g[k];
      if (is) {
        *match += g * g;
        *exact_zero &= q->g[k] == 0.0f;
      } else {
        *rest += g * g;
      }
    }
  }
  free(x);
  sb_model_free(m);
}

/* APEX's threshold offsets are parameters (the count needs them) that the seed never trained:
 * TTFSSpikeFunction.backward returns None for the threshold. With "detach_threshold" their
 * gradient is exactly 0 while everything else still learns; without it they would train. */
static void check_apex_thresholds(void) {
  cJSON *spec = load_spec("apex");
  if (!spec) return;
  double th, rest;
  int zero;
  gradient_split("apex", spec, ".threshold", &th, &rest, &zero);
  CHECK_MSG(zero, "apex: threshold offsets get a gradient (%g)", th);
  CHECK_MSG(rest > 0.0, "apex: the other parameters get no gradient");
  int n_detached = 0;
  cJSON *l;
  cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(spec, "layers")) {
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(l, "detach_threshold"))) n_detached++;
    cJSON_DeleteItemFromObject(l, "detach_threshold");
  }
  CHECK_MSG(n_detached == 3, "apex: %d neurons with detach_threshold, expected 3", n_detached);
  gradient_split("apex without detach_threshold", spec, ".threshold", &th, &rest, &zero);
  CHECK_MSG(!zero && th > 0.0, "apex without detach_threshold: thresholds get no gradient");
  cJSON_Delete(spec);
}

/* A config's neuron.threshold / surrogate / alpha reach dendritic_conv neurons; settings that
 * would make them another neuron are refused with the layer named. */
static void check_dendritic_overrides(void) {
  cJSON *spec = load_spec("dasnn_conv");
  if (!spec) return;
  sb_neuron_override ov = {0};
  ov.has_threshold = 1;
  ov.threshold = 0.7f;
  ov.has_surrogate = 1;
  snprintf(ov.surrogate, sizeof ov.surrogate, "sigmoid");
  ov.has_type = ov.has_reset = 1; /* the values it already has pass */
  snprintf(ov.type, sizeof ov.type, "lif");
  snprintf(ov.reset, sizeof ov.reset, "soft");
  sb_model_opts o = {.input_shape = CIFAR, .input_static = 1, .n_classes = 10, .T = 1, .B = 1,
                     .neuron = &ov, .origin = "dasnn_conv"};
  sb_model *m = NULL;
  if (sb_model_build(&m, spec, &o) == SB_OK) {
    const char *layers[] = {"lif1", "lif2", "lif3"};
    for (int k = 0; k < 3; k++) {
      char got[256];
      layer_settings(m, layers[k], got, sizeof got);
      CHECK_MSG(strstr(got, "theta=0.7 ") && strstr(got, "sigmoid(alpha=4)"),
                "dasnn_conv %s under neuron.threshold 0.7, surrogate sigmoid: \"%s\"", layers[k],
                got);
    }
    /* The soma neuron (a plain LIF) takes them too. */
    char got[256];
    layer_settings(m, "lif4", got, sizeof got);
    CHECK_MSG(strstr(got, "theta=0.7 ") != NULL, "dasnn_conv lif4: \"%s\"", got);
    sb_model_free(m);
  } else {
    CHECK_MSG(0, "dasnn_conv with a threshold override: %s", sb_errmsg());
  }
  snprintf(ov.type, sizeof ov.type, "if");
  sb_clear_error();
  CHECK(sb_model_build(&m, spec, &o) == SB_EINPUT);
  CHECK_MSG(strstr(sb_errmsg(), "'lif1' (dendritic_conv): neuron.type \"if\" does not apply to a "
                                "dendritic neuron") != NULL, "message: %s", sb_errmsg());
  snprintf(ov.type, sizeof ov.type, "lif");
  snprintf(ov.reset, sizeof ov.reset, "hard");
  sb_clear_error();
  CHECK(sb_model_build(&m, spec, &o) == SB_EINPUT);
  CHECK_MSG(strstr(sb_errmsg(), "neuron.reset \"hard\" does not apply") != NULL, "message: %s",
            sb_errmsg());
  cJSON_Delete(spec);
}

/* NeuroBench's membrane updates (every neuron at t = 0, then each step whose membrane changed)
 * are counted by dendritic neurons as by "neuron" layers: dasnn_conv's dendritic_conv layers
 * and dasnn's dendritic_mlp branches. */
static void check_dendritic_membrane_updates(void) {
  const struct {
    const char *model;
    sb_shape input;
    const char *layers[3];
  } cases[] = {{"dasnn_conv", CIFAR, {"lif1", "lif2", "lif3"}},
               {"dasnn", MNIST, {"dendrites", NULL, NULL}}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cJSON *spec = load_spec(cases[i].model);
    if (!spec) continue;
    const int T = 3, B = 2;
    sb_model *m = build(cases[i].model, spec, cases[i].input, T, B, 0);
    cJSON_Delete(spec);
    if (!m) continue;
    sb_model_init_params(m, 1);
    const long n_in = (long)B * sb_shape_numel(cases[i].input);
    float *x = malloc((size_t)n_in * sizeof(float));
    sb_rng r;
    sb_rng_init(&r, 3, sb_stream(SB_STREAM_TEST, 8));
    for (long k = 0; k < n_in; k++) x[k] = 1.5f * sb_rng_normal(&r);
    sb_ctx c = {.T = T, .B = B, .collect_stats = 1, .n_epochs = 1};
    sb_model_reset_stats(m);
    sb_model_forward(m, &c, x);
    for (int k = 0; k < 3 && cases[i].layers[k]; k++) {
      const sb_layer *l = sb_model_find(m, cases[i].layers[k]);
      if (!l) {
        CHECK_MSG(0, "%s: no layer %s", cases[i].model, cases[i].layers[k]);
        continue;
      }
      const double n = (double)sb_shape_numel(l->out.shape) * B, u = l->op_stats.membrane_updates;
      CHECK_MSG(u >= n && u <= n * T && u > n, "%s %s: %g membrane updates for %g neurons x %d "
                "steps", cases[i].model, l->name, u, n, T);
    }
    free(x);
    sb_model_free(m);
  }
}

int main(void) {
  sb_kernels_init();
  printf("parameter counts:\n");
  check_counts();
  printf("forward + backward, and the non-spiking twins:\n");
  check_every_model_runs_and_twins();
  check_written_twins();
  printf("shape errors:\n");
  check_shape_errors();
  printf("declared inputs, the SDT neuron study, APEX thresholds, dendritic neurons:\n");
  check_declared_inputs();
  check_sdt_neuron_study();
  check_apex_thresholds();
  check_dendritic_overrides();
  check_dendritic_membrane_updates();
  return check_exit("test_models");
}
