/* The model zoo: every built-in model and every user spec in jobs/models has the parameter
 * count of the system it reproduces, runs one training forward and backward pass, and has a
 * non-spiking twin with the same backbone; specs whose shapes do not fit are refused naming the
 * layer. */
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

int main(void) {
  sb_kernels_init();
  printf("parameter counts:\n");
  check_counts();
  printf("forward + backward, and the non-spiking twins:\n");
  check_every_model_runs_and_twins();
  check_written_twins();
  printf("shape errors:\n");
  check_shape_errors();
  return check_exit("test_models");
}
