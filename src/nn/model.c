/* Model construction from a JSON spec, and the forward/backward drivers. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/layers.h"
#include "snnbench/models.h"
#include "snnbench/nn.h"

typedef struct {
  char name[2 * SB_NAME_LEN];
  float **w, **g;
  long n;
  int q_channels;
  long q_ch_stride, q_el_stride, q_len;
} pending_param;

struct sb_builder {
  sb_model *m;
  const sb_model_opts *opts;
  pending_param *params;
  int n_params, cap_params;
  pending_param *buffers;
  int n_buffers, cap_buffers;
};

const char *sb_shape_str(sb_shape s, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < s.ndim && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, i ? "x%d" : "%d", s.d[i]);
  return buf;
}

const sb_model_opts *sb_builder_opts(const sb_builder *b) { return b->opts; }

sb_status sb_builder_error(const sb_builder *b, const sb_layer *l, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *origin = b->opts->origin ? b->opts->origin : b->m->name;
  if (l)
    return sb_fail(SB_EINPUT, "model %s: layer %d '%s' (%s): %s", origin, l->index, l->name,
                   l->ops->type, msg);
  return sb_fail(SB_EINPUT, "model %s: %s", origin, msg);
}

static void push_pending(pending_param **arr, int *n, int *cap, const sb_layer *l,
                         const char *pname, float **w, float **g, long len) {
  if (*n == *cap) {
    *cap = *cap ? 2 * *cap : 32;
    *arr = sb_xrealloc(*arr, (unsigned long)*cap * sizeof **arr);
  }
  pending_param *p = &(*arr)[(*n)++];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s.%s", l->name, pname);
  p->w = w;
  p->g = g;
  p->n = len;
}

void sb_builder_param(sb_builder *b, sb_layer *l, const char *pname, float **w, float **g,
                      long n) {
  push_pending(&b->params, &b->n_params, &b->cap_params, l, pname, w, g, n);
  l->n_params += n;
}

void sb_builder_quantizable(sb_builder *b, int channels, long ch_stride, long el_stride,
                            long len) {
  pending_param *p = &b->params[b->n_params - 1];
  SB_ASSERT((long)channels * len == p->n);
  p->q_channels = channels;
  p->q_ch_stride = ch_stride;
  p->q_el_stride = el_stride;
  p->q_len = len;
}

void sb_builder_buffer(sb_builder *b, sb_layer *l, const char *bname, float **w, long n) {
  push_pending(&b->buffers, &b->n_buffers, &b->cap_buffers, l, bname, w, NULL, n);
}

void sb_builder_floats(sb_builder *b, float **slot, long n) {
  sb_arena_request_floats(&b->m->acts, slot, n);
}

void sb_builder_bytes(sb_builder *b, void **slot, size_t bytes) {
  sb_arena_request_bytes(&b->m->acts, slot, bytes);
}

/* --- spec accessors --- */

sb_status sb_spec_int(sb_builder *b, const sb_layer *l, const cJSON *spec, const char *key,
                      int def, int min, int max, int *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
  if (!v) {
    *out = def;
    return SB_OK;
  }
  if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble)
    return sb_builder_error(b, l, "\"%s\" must be an integer", key);
  if (v->valueint < min || v->valueint > max)
    return sb_builder_error(b, l, "\"%s\" is %d, outside [%d, %d]", key, v->valueint, min, max);
  *out = v->valueint;
  return SB_OK;
}

sb_status sb_spec_num(sb_builder *b, const sb_layer *l, const cJSON *spec, const char *key,
                      double def, double min, double max, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
  if (!v) {
    *out = def;
    return SB_OK;
  }
  if (!cJSON_IsNumber(v)) return sb_builder_error(b, l, "\"%s\" must be a number", key);
  if (v->valuedouble < min || v->valuedouble > max)
    return sb_builder_error(b, l, "\"%s\" is %g, outside [%g, %g]", key, v->valuedouble, min, max);
  *out = v->valuedouble;
  return SB_OK;
}

sb_status sb_spec_str(sb_builder *b, const sb_layer *l, const cJSON *spec, const char *key,
                      const char *def, char *out, size_t n) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
  const char *s = def;
  if (v) {
    if (!cJSON_IsString(v)) return sb_builder_error(b, l, "\"%s\" must be a string", key);
    s = v->valuestring;
  }
  if (!s) return sb_builder_error(b, l, "\"%s\" is required", key);
  if (strlen(s) >= n) return sb_builder_error(b, l, "\"%s\" is too long", key);
  strcpy(out, s);
  return SB_OK;
}

sb_status sb_spec_bool(sb_builder *b, const sb_layer *l, const cJSON *spec, const char *key,
                       int def, int *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
  if (!v) {
    *out = def;
    return SB_OK;
  }
  if (!cJSON_IsBool(v)) return sb_builder_error(b, l, "\"%s\" must be true or false", key);
  *out = cJSON_IsTrue(v);
  return SB_OK;
}

sb_status sb_spec_check_keys(sb_builder *b, const sb_layer *l, const cJSON *spec,
                             const char *const *allowed) {
  for (const cJSON *k = spec->child; k; k = k->next) {
    int ok = !strcmp(k->string, "name") || !strcmp(k->string, "type") || !strcmp(k->string, "in");
    for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(k->string, *a);
    if (!ok) {
      char list[256] = "";
      size_t used = 0;
      for (const char *const *a = allowed; *a && used < sizeof list; a++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", a == allowed ? "" : ", ", *a);
      return sb_builder_error(b, l, "unknown key \"%s\" (allowed: %s)", k->string,
                              used ? list : "name, type, in");
    }
  }
  return SB_OK;
}

/* --- construction --- */

static sb_act *find_act(sb_model *m, int upto, const char *name) {
  if (strcmp(name, "input") == 0) return &m->input;
  for (int i = upto - 1; i >= 0; i--)
    if (strcmp(m->layers[i]->name, name) == 0) return &m->layers[i]->out;
  return NULL;
}

static sb_status connect_inputs(sb_builder *b, sb_layer *l, const cJSON *spec) {
  sb_model *m = b->m;
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(spec, "in");
  if (!in) {
    l->n_in = 1;
    l->in[0] = l->index == 0 ? &m->input : &m->layers[l->index - 1]->out;
    return SB_OK;
  }
  const cJSON *names[SB_MAX_INPUTS];
  int n = 0;
  if (cJSON_IsString(in)) {
    names[n++] = in;
  } else if (cJSON_IsArray(in)) {
    const cJSON *it;
    cJSON_ArrayForEach(it, in) {
      if (n == SB_MAX_INPUTS)
        return sb_builder_error(b, l, "\"in\" lists more than %d inputs", SB_MAX_INPUTS);
      names[n++] = it;
    }
  }
  if (n == 0) return sb_builder_error(b, l, "\"in\" must be a layer name or a list of names");
  for (int i = 0; i < n; i++) {
    if (!cJSON_IsString(names[i]))
      return sb_builder_error(b, l, "\"in\" entries must be layer names");
    sb_act *a = find_act(m, l->index, names[i]->valuestring);
    if (!a)
      return sb_builder_error(b, l, "input '%s' is not an earlier layer (or \"input\")",
                              names[i]->valuestring);
    l->in[i] = a;
  }
  l->n_in = n;
  return SB_OK;
}

static sb_status commit_params(sb_model *m, sb_builder *b) {
  long total = 0;
  for (int i = 0; i < b->n_params; i++) total += b->params[i].n;
  m->n_param_values = total;
  m->n_params = b->n_params;
  m->params = sb_xcalloc((unsigned long)(b->n_params ? b->n_params : 1), sizeof(sb_param));
  sb_arena_init(&m->param_arena);
  sb_arena_request_floats(&m->param_arena, &m->param_block, total);
  sb_arena_request_floats(&m->param_arena, &m->grad_block, total);
  long nbuf = 0;
  for (int i = 0; i < b->n_buffers; i++) nbuf += b->buffers[i].n;
  float *buffer_block;
  sb_arena_request_floats(&m->param_arena, &buffer_block, nbuf);
  sb_status st = sb_arena_commit(&m->param_arena);
  if (st) return st;
  /* A plan-only build has no block: the parameters stay NULL, the counts are still right. */
  const int planned_only = m->param_block == NULL;
  long off = 0;
  for (int i = 0; i < b->n_params; i++) {
    pending_param *p = &b->params[i];
    sb_param *q = &m->params[i];
    snprintf(q->name, sizeof q->name, "%s", p->name);
    q->w = *p->w = planned_only ? NULL : m->param_block + off;
    q->g = *p->g = planned_only ? NULL : m->grad_block + off;
    q->n = p->n;
    q->q_channels = p->q_channels;
    q->q_ch_stride = p->q_ch_stride;
    q->q_el_stride = p->q_el_stride;
    q->q_len = p->q_len;
    off += p->n;
  }
  m->n_buffers = b->n_buffers;
  m->buffers = sb_xcalloc((unsigned long)(b->n_buffers ? b->n_buffers : 1), sizeof(sb_param));
  off = 0;
  for (int i = 0; i < b->n_buffers; i++) {
    pending_param *p = &b->buffers[i];
    sb_param *q = &m->buffers[i];
    snprintf(q->name, sizeof q->name, "%s", p->name);
    q->w = *p->w = planned_only ? NULL : buffer_block + off;
    q->n = p->n;
    off += p->n;
  }
  return SB_OK;
}

/* Refuses a plan larger than the machine, before touching it: Linux overcommits, so a block
 * larger than RAM may be "allocated" and then kill the process when it is zeroed. Allocation
 * failures become the same one-line input error: batch size, T or the model are too large. */
static sb_status commit_memory(sb_model *m, sb_builder *b, const char *origin) {
  const sb_model_opts *o = b->opts;
  long n_values = 0;
  for (int i = 0; i < b->n_params; i++) n_values += b->params[i].n;
  const size_t params = (size_t)n_values * 2 * sizeof(float), acts = m->acts.bytes;
  const size_t need = acts > SIZE_MAX - params ? SIZE_MAX : acts + params;
  const size_t have = sb_physical_memory_bytes();
  char n1[32], n2[32], n3[32], n4[32], why[512] = "";
  if (!sb_arena_is_plan_only() && have && need > have)
    snprintf(why, sizeof why, "more than this machine's %s of physical memory",
             sb_bytes_str(have, n4, sizeof n4));
  sb_status st = SB_OK;
  if (!why[0] && (st = commit_params(m, b))) snprintf(why, sizeof why, "%s", sb_errmsg());
  if (!why[0] && (st = sb_arena_commit(&m->acts))) snprintf(why, sizeof why, "%s", sb_errmsg());
  if (!why[0]) return SB_OK;
  sb_clear_error();
  return sb_fail(SB_EINPUT, "model %s: batch size %d at T=%d needs %s of memory (activations "
                 "and workspace %s, parameters and gradients %s): %s", origin, o->B, o->T,
                 sb_bytes_str(need, n1, sizeof n1), sb_bytes_str(acts, n2, sizeof n2),
                 sb_bytes_str(params, n3, sizeof n3), why);
}

/* The first consumer to run backward (the last in forward order) overwrites an input's
 * gradient; earlier consumers add to it. */
static void plan_gradient_accumulation(sb_model *m) {
  int total = m->n_layers + 1;
  const sb_act **written = sb_xcalloc((unsigned long)total, sizeof *written);
  int n_written = 0;
  for (int i = m->n_layers - 1; i >= 0; i--) {
    sb_layer *l = m->layers[i];
    for (int k = 0; k < l->n_in; k++) {
      int seen = 0;
      for (int j = 0; j < n_written; j++) seen |= written[j] == l->in[k];
      /* The same activation twice in one layer's inputs: the layer handles the second itself. */
      for (int j = 0; j < k; j++) seen |= l->in[j] == l->in[k];
      l->in_accumulate[k] = seen;
      if (!seen && n_written < total) written[n_written++] = l->in[k];
    }
  }
  free(written);
}

sb_status sb_model_build(sb_model **out, const cJSON *spec, const sb_model_opts *opts) {
  *out = NULL;
  sb_model *m = sb_xcalloc(1, sizeof *m);
  sb_builder b = {.m = m, .opts = opts};
  sb_status st = SB_OK;
  sb_arena_init(&m->acts);
  m->T_max = opts->T;
  m->B_max = opts->B;

  const char *origin = opts->origin ? opts->origin : "(spec)";
  if (!cJSON_IsObject(spec)) {
    st = sb_fail(SB_EINPUT, "model %s: the spec must be a JSON object", origin);
    goto fail;
  }
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(spec, "name");
  snprintf(m->name, sizeof m->name, "%s", cJSON_IsString(name) ? name->valuestring : origin);
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(spec, "layers");
  if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) == 0) {
    st = sb_fail(SB_EINPUT, "model %s: \"layers\" must be a non-empty list", origin);
    goto fail;
  }
  for (const cJSON *k = spec->child; k; k = k->next) {
    if (strcmp(k->string, "name") && strcmp(k->string, "layers") &&
        strcmp(k->string, "description") && strcmp(k->string, "reference") &&
        strcmp(k->string, "input") && strcmp(k->string, "classes")) {
      st = sb_fail(SB_EINPUT, "model %s: unknown key \"%s\" (expected name, description, "
                   "reference, input, classes, layers)", origin, k->string);
      goto fail;
    }
  }
  /* The declared input and classes are model info's defaults; the build uses opts (the data). */
  if ((st = sb_model_spec_declared(spec, origin, NULL, NULL))) goto fail;

  m->input.shape = opts->input_shape;
  m->input.is_static = opts->input_static;
  m->input.is_binary = opts->input_binary;
  m->input.needs_grad = 0;

  const int n = cJSON_GetArraySize(layers);
  m->layers = sb_xcalloc((unsigned long)n, sizeof *m->layers);
  int i = 0;
  const cJSON *ls;
  cJSON_ArrayForEach(ls, layers) {
    if (!cJSON_IsObject(ls)) {
      st = sb_fail(SB_EINPUT, "model %s: layer %d is not an object", origin, i);
      goto fail;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ls, "type");
    if (!cJSON_IsString(type)) {
      st = sb_fail(SB_EINPUT, "model %s: layer %d has no \"type\"", origin, i);
      goto fail;
    }
    const sb_layer_ops *ops = sb_layer_lookup(type->valuestring);
    if (!ops) {
      st = sb_fail(SB_EINPUT, "model %s: layer %d: unknown type \"%s\" (see `snnbench list "
                   "layers`)", origin, i, type->valuestring);
      goto fail;
    }
    /* The twin keeps the spiking layer's name and input; its settings do not apply to a ReLU. */
    const int to_relu = opts->ann_twin && sb_layer_is_spiking(ops);
    if (to_relu) ops = &sb_relu_ops;
    sb_layer *l = sb_xcalloc(1, ops->size);
    m->layers[i] = l;
    m->n_layers = i + 1;
    l->ops = ops;
    l->index = i;
    const cJSON *lname = cJSON_GetObjectItemCaseSensitive(ls, "name");
    if (lname && !cJSON_IsString(lname)) {
      st = sb_fail(SB_EINPUT, "model %s: layer %d: \"name\" must be a string", origin, i);
      goto fail;
    }
    if (lname && strlen(lname->valuestring) >= SB_NAME_LEN) {
      st = sb_fail(SB_EINPUT, "model %s: layer %d: name too long", origin, i);
      goto fail;
    }
    if (lname)
      snprintf(l->name, sizeof l->name, "%s", lname->valuestring);
    else
      snprintf(l->name, sizeof l->name, "%s%d", type->valuestring, i);
    if (strcmp(l->name, "input") == 0 || find_act(m, i, l->name)) {
      st = sb_fail(SB_EINPUT, "model %s: layer %d: name '%s' is already used", origin, i, l->name);
      goto fail;
    }
    if ((st = connect_inputs(&b, l, ls))) goto fail;
    if (to_relu) {
      cJSON *relu_spec = cJSON_CreateObject();
      st = ops->build(l, &b, relu_spec);
      cJSON_Delete(relu_spec);
    } else {
      st = ops->build(l, &b, ls);
    }
    if (st) goto fail;
    l->out.needs_grad = l->n_params > 0;
    for (int k = 0; k < l->n_in; k++) l->out.needs_grad |= l->in[k]->needs_grad;
    const long rows = (long)(l->out.is_static ? 1 : opts->T) * opts->B;
    const long numel = sb_shape_numel(l->out.shape);
    if (numel <= 0) {
      st = sb_builder_error(&b, l, "output shape is empty");
      goto fail;
    }
    sb_arena_request_floats(&m->acts, &l->out.x, rows * numel);
    if (l->out.needs_grad) sb_arena_request_floats(&m->acts, &l->out.g, rows * numel);
    if (l->is_neuron) {
      l->stats.n_neurons = numel;
      l->stats.per_neuron = sb_xcalloc((unsigned long)numel, sizeof(uint32_t));
    }
    i++;
  }

  sb_layer *last = m->layers[m->n_layers - 1];
  m->output = &last->out;
  if (!last->out.is_static || sb_shape_numel(last->out.shape) != opts->n_classes) {
    char buf[32];
    st = sb_fail(SB_EINPUT, "model %s: the last layer '%s' must give one %d-class logit vector "
                 "per sample (time already reduced), but gives %s%s", origin, last->name,
                 opts->n_classes, sb_shape_str(last->out.shape, buf, sizeof buf),
                 last->out.is_static ? "" : " per time step (add a mean_time readout)");
    goto fail;
  }
  plan_gradient_accumulation(m);
  if ((st = commit_memory(m, &b, origin))) goto fail;
  free(b.params);
  free(b.buffers);
  *out = m;
  return SB_OK;

fail:
  free(b.params);
  free(b.buffers);
  sb_model_free(m);
  return st;
}

void sb_model_free(sb_model *m) {
  if (!m) return;
  for (int i = 0; i < m->n_layers; i++) {
    if (m->layers[i]) free(m->layers[i]->stats.per_neuron);
    free(m->layers[i]);
  }
  free(m->layers);
  free(m->params);
  free(m->buffers);
  sb_arena_free(&m->acts);
  sb_arena_free(&m->param_arena);
  free(m);
}

void sb_model_init_params(sb_model *m, uint64_t seed) {
  for (int i = 0; i < m->n_layers; i++)
    if (m->layers[i]->ops->init) m->layers[i]->ops->init(m->layers[i], seed);
}

static void accumulate_spike_stats(sb_layer *l, const sb_ctx *c) {
  const long numel = l->stats.n_neurons;
  const int steps = l->out.is_static ? 1 : c->T;
  const float *s = l->out.x;
  double total = 0.0;
  /* Per neuron, so the parallel split is over neurons and each count sums in a fixed order. */
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (long k = 0; k < numel; k++) {
    uint32_t count = 0;
    for (int t = 0; t < steps; t++)
      for (int b = 0; b < c->B; b++) count += s[((long)t * c->B + b) * numel + k] != 0.0f;
    l->stats.per_neuron[k] += count;
    total += count;
  }
  l->stats.spikes += total;
  l->stats.elements += (double)numel * c->T * c->B;
  l->stats.samples += c->B;
}

/* Whether every input value is -1, 0 or 1: NeuroBench's test for accumulate-only ops. */
static int ternary_input(const sb_act *a, long n) {
  if (a->is_binary) return 1;
  int ok = 1;
#pragma omp parallel for schedule(static) reduction(&& : ok)
  for (long i = 0; i < n; i++) ok = ok && (a->x[i] == 0.0f || a->x[i] == 1.0f || a->x[i] == -1.0f);
  return ok;
}

static void accumulate_ops(sb_layer *l, const sb_ctx *c) {
  double effective, dense;
  l->ops->count_ops(l, c, &effective, &dense);
  const sb_act *in = l->in[0];
  /* A static input is computed once but, as a network, the layer runs at every step. */
  const double steps = in->is_static ? c->T : 1.0;
  if (ternary_input(in, sb_act_rows(in, c->T, c->B) * sb_shape_numel(in->shape)))
    l->op_stats.effective_acs += effective * steps;
  else
    l->op_stats.effective_macs += effective * steps;
  l->op_stats.dense += dense * steps;
  l->op_stats.samples += c->B;
}

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sb_model_forward(sb_model *m, const sb_ctx *c, const float *input) {
  m->input.x = (float *)input;
  for (int i = 0; i < m->n_layers; i++) {
    sb_layer *l = m->layers[i];
    const double t0 = m->profile ? wall_s() : 0.0;
    l->ops->forward(l, c);
    if (m->profile) l->time_fwd += wall_s() - t0;
    if (c->collect_stats && l->is_neuron) accumulate_spike_stats(l, c);
    if (c->collect_stats && l->ops->count_ops) accumulate_ops(l, c);
  }
}

void sb_model_backward(sb_model *m, const sb_ctx *c) {
  for (int i = m->n_layers - 1; i >= 0; i--) {
    sb_layer *l = m->layers[i];
    if (!l->out.needs_grad) continue;
    const double t0 = m->profile ? wall_s() : 0.0;
    l->ops->backward(l, c);
    if (m->profile) l->time_bwd += wall_s() - t0;
  }
}

void sb_model_reset_stats(sb_model *m) {
  for (int i = 0; i < m->n_layers; i++) {
    sb_layer *l = m->layers[i];
    memset(&l->op_stats, 0, sizeof l->op_stats);
    if (!l->is_neuron) continue;
    l->stats.spikes = l->stats.elements = l->stats.samples = 0.0;
    memset(l->stats.per_neuron, 0, (size_t)l->stats.n_neurons * sizeof(uint32_t));
  }
}

sb_layer *sb_model_find(const sb_model *m, const char *name) {
  for (int i = 0; i < m->n_layers; i++)
    if (strcmp(m->layers[i]->name, name) == 0) return m->layers[i];
  return NULL;
}
