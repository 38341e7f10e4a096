/* The config schema and the resolution of one cell's config against it. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid/config_internal.h"
#include "snnbench/data.h"
#include "snnbench/surrogate.h"

/* Integer fields come in the widths the struct uses: int, long, int64_t. */
/* Integer fields come in the widths the struct uses: int, long, int64_t. F_INT_LIST is an array
 * of ints followed in the struct by its count. */
typedef enum { F_INT, F_LONG, F_I64, F_NUM, F_STR, F_BOOL, F_INT_LIST } field_type;

typedef struct {
  const char *path;
  field_type type;
  size_t off;      /* into sb_cell_config */
  size_t size;     /* strings: buffer size */
  long has_off;    /* optional fields: offset of the "was set" flag; -1 for fields with defaults */
  double def_num;
  const char *def_str;
  double min, max;
  int min_exclusive;
  const char *choices;            /* "a|b|c", or NULL */
  int (*check)(const char *value); /* dynamic choice lists; 0 = ok */
  const char *help;
} field;

#define OFF(member) offsetof(sb_cell_config, member)
#define STR(member) OFF(member), sizeof(((sb_cell_config *)0)->member)
#define HAS(flag) (long)OFF(neuron.flag)
#define HAS_TOP(flag) (long)OFF(flag)

static int check_dataset(const char *s) { return sb_dataset_known(s); }
/* "CxHxW" with 1..4 channels and at most 4M values: what the synthetic generator can make. */
static int check_shape(const char *s) {
  int c, h, w;
  char tail;
  if (sscanf(s, "%dx%dx%d%c", &c, &h, &w, &tail) != 3) return -1;
  return c >= 1 && c <= 4 && h >= 1 && w >= 1 && h <= 4096 && w <= 4096 &&
                 (long)c * h * w <= (1L << 22)
             ? 0
             : -1;
}
static int check_preset(const char *s) { return sb_preset_find(s) ? 0 : -1; }
static int check_surrogate(const char *s) {
  sb_surrogate_kind k;
  return sb_surrogate_parse(s, &k);
}

static const field k_fields[] = {
    {"model", F_STR, STR(model), -1, 0, "baseline_lif", 0, 0, 0, NULL, NULL,
     "built-in model name (snnbench list models) or a model spec .json file"},
    {"preset", F_STR, STR(preset), HAS_TOP(has_preset), 0, NULL, 0, 0, 0, NULL, check_preset,
     "published training recipe: fills every key the config leaves unset (snnbench list presets)"},
    {"ann", F_BOOL, OFF(ann), 0, HAS_TOP(has_ann), 0, NULL, 0, 1, 0, NULL, NULL,
     "train the model's non-spiking twin: every spiking layer becomes a ReLU (the ANN reference)"},
    {"timesteps", F_INT, OFF(timesteps), 0, -1, 4, NULL, 1, 100000, 0, NULL, NULL,
     "simulation steps T"},
    {"seed", F_I64, OFF(seed), 0, -1, 0, NULL, 0, 9007199254740992.0, 0, NULL, NULL,
     "trial seed: init, data order, split (unless data.split_seed), dropout"},
    {"data.name", F_STR, STR(data.name), -1, 0, "fashion-mnist", 0, 0, 0, NULL, check_dataset,
     "dataset (snnbench list datasets)"},
    {"data.path", F_STR, STR(data.path), -1, 0, NULL, 0, 0, 0, NULL, NULL,
     "dataset directory or archive (default: the dataset's standard location)"},
    {"data.train_size", F_LONG, OFF(data.train_size), 0, -1, 0, NULL, 0, 1e9, 0, NULL, NULL,
     "training samples used (0: all left after the validation split)"},
    {"data.val_size", F_LONG, OFF(data.val_size), 0, -1, 5000, NULL, 0, 1e9, 0, NULL, NULL,
     "validation samples carved from the training split"},
    {"data.test_size", F_LONG, OFF(data.test_size), 0, -1, 0, NULL, 0, 1e9, 0, NULL, NULL,
     "test samples (0: all): the first N, or a stratified draw under data.subset stratified"},
    {"data.split_seed", F_I64, OFF(data.split_seed), 0, -1, -1, NULL, -1, 9007199254740992.0, 0,
     NULL, NULL, "seed of the train/validation split (-1: the trial seed)"},
    {"data.subset", F_STR, STR(data.subset), -1, 0, "random", 0, 0, 0, "random|first|stratified",
     NULL, "how train_size/test_size pick samples: random (seeded), first N, or stratified"},
    {"data.encoding", F_STR, STR(data.encoding), -1, 0, "direct", 0, 0, 0,
     "direct|rate|latency", NULL,
     "image input: direct (analog, every step), rate (Bernoulli spikes), latency (1st spike)"},
    {"data.normalize", F_BOOL, OFF(data.normalize), 0, -1, 1, NULL, 0, 1, 0, NULL, NULL,
     "direct encoding: per-channel (x - mean) / std with the dataset's statistics"},
    {"data.cifar100_labels", F_STR, STR(data.cifar100_labels), -1, 0, "fine", 0, 0, 0,
     "fine|coarse", NULL, "cifar100: the 100 fine classes or the 20 coarse superclasses"},
    {"data.frames.split_by", F_STR, STR(data.frames.split_by), -1, 0, "number", 0, 0, 0,
     "number|time", NULL, "event datasets: T frames of equal event count, or equal time"},
    {"data.frames.clip", F_INT, OFF(data.frames.clip), 0, -1, 0, NULL, 0, 1000000, 0, NULL, NULL,
     "event datasets: clip per-pixel counts at this value (0: no clipping)"},
    {"data.frames.normalize", F_STR, STR(data.frames.normalize), -1, 0, "none", 0, 0, 0,
     "none|clip|max", NULL, "event datasets: counts as they are, / clip, or / sample maximum"},
    {"data.augment.crop_padding", F_INT, OFF(data.augment.crop_padding), 0, -1, 0, NULL, 0, 64, 0,
     NULL, NULL, "training: random crop after zero padding by this many pixels (0: off)"},
    {"data.augment.hflip", F_NUM, OFF(data.augment.hflip), 0, -1, 0, NULL, 0, 1, 0, NULL, NULL,
     "training: probability of a horizontal flip"},
    {"data.augment.affine.degrees", F_NUM, OFF(data.augment.affine.degrees), 0, -1, 0, NULL, 0,
     180, 0, NULL, NULL, "training: random rotation in [-degrees, degrees]"},
    {"data.augment.affine.translate", F_NUM, OFF(data.augment.affine.translate), 0, -1, 0, NULL, 0,
     0.5, 0, NULL, NULL, "training: random shift up to this fraction of width/height"},
    {"data.augment.affine.scale_min", F_NUM, OFF(data.augment.affine.scale_min), 0, -1, 1, NULL,
     0.1, 10, 0, NULL, NULL, "training: random scale, lower bound"},
    {"data.augment.affine.scale_max", F_NUM, OFF(data.augment.affine.scale_max), 0, -1, 1, NULL,
     0.1, 10, 0, NULL, NULL, "training: random scale, upper bound"},
    {"data.augment.erase", F_NUM, OFF(data.augment.erase), 0, -1, 0, NULL, 0, 1, 0, NULL, NULL,
     "training: probability of random erasing (torchvision defaults, value 0)"},
    {"data.mixup.alpha", F_NUM, OFF(data.mixup.alpha), 0, -1, 0, NULL, 0, 100, 0, NULL, NULL,
     "training: mixup with lambda ~ Beta(alpha, alpha) (0: off)"},
    {"data.mixup.prob", F_NUM, OFF(data.mixup.prob), 0, -1, 1, NULL, 0, 1, 0, NULL, NULL,
     "training: probability that a batch is mixed"},
    {"data.synthetic.shape", F_STR, STR(data.synthetic.shape), -1, 0, "1x28x28", 0, 0, 0, NULL,
     check_shape, "synthetic: sample shape CxHxW (C 1..4)"},
    {"data.synthetic.classes", F_INT, OFF(data.synthetic.classes), 0, -1, 10, NULL, 2, 1000, 0,
     NULL, NULL, "synthetic: number of classes"},
    {"data.synthetic.samples", F_LONG, OFF(data.synthetic.samples), 0, -1, 6000, NULL, 1, 1e7, 0,
     NULL, NULL, "synthetic: training samples (the test split has a fifth as many)"},
    {"neuron.type", F_STR, STR(neuron.type), HAS(has_type), 0, NULL, 0, 0, 0, "lif|if", NULL,
     "override every neuron layer's model"},
    {"neuron.tau", F_NUM, OFF(neuron.tau), 0, HAS(has_tau), 0, NULL, 1, 1e6, 1, NULL, NULL,
     "override the membrane time constant (> 1)"},
    {"neuron.threshold", F_NUM, OFF(neuron.threshold), 0, HAS(has_threshold), 0, NULL, 0, 1e6, 1,
     NULL, NULL, "override the firing threshold"},
    {"neuron.reset", F_STR, STR(neuron.reset), HAS(has_reset), 0, NULL, 0, 0, 0, "soft|hard", NULL,
     "override the reset"},
    {"neuron.v_reset", F_NUM, OFF(neuron.v_reset), 0, HAS(has_v_reset), 0, NULL, -1e6, 1e6, 0,
     NULL, NULL, "override the hard-reset potential"},
    {"neuron.charge", F_STR, STR(neuron.charge), HAS(has_charge), 0, NULL, 0, 0, 0,
     "x|decay_input", NULL, "override the LIF charge form"},
    {"neuron.detach_reset", F_BOOL, OFF(neuron.detach_reset), 0, HAS(has_detach_reset), 0, NULL,
     0, 1, 0, NULL, NULL, "override gradient detachment through the reset"},
    {"neuron.surrogate", F_STR, STR(neuron.surrogate), HAS(has_surrogate), 0, NULL, 0, 0, 0, NULL,
     check_surrogate, "override the surrogate gradient (snnbench list surrogates)"},
    {"neuron.alpha", F_NUM, OFF(neuron.alpha), 0, HAS(has_alpha), 0, NULL, 0, 1e6, 1, NULL, NULL,
     "override the surrogate's alpha"},
    {"train.epochs", F_INT, OFF(train.epochs), 0, -1, 10, NULL, 1, 1e6, 0, NULL, NULL, "epochs"},
    {"train.batch_size", F_INT, OFF(train.batch_size), 0, -1, 128, NULL, 1, 65536, 0, NULL, NULL,
     "training batch size"},
    {"train.optimizer", F_STR, STR(train.optimizer), -1, 0, "adam", 0, 0, 0, "adam|adamw|sgd",
     NULL, "optimiser"},
    {"train.lr", F_NUM, OFF(train.lr), 0, -1, 1e-3, NULL, 0, 10, 1, NULL, NULL, "learning rate"},
    {"train.weight_decay", F_NUM, OFF(train.weight_decay), 0, -1, 0, NULL, 0, 1, 0, NULL, NULL,
     "weight decay (L2 for adam/sgd, decoupled for adamw)"},
    {"train.momentum", F_NUM, OFF(train.momentum), 0, -1, 0.9, NULL, 0, 1, 0, NULL, NULL,
     "SGD momentum"},
    {"train.schedule", F_STR, STR(train.schedule), -1, 0, "cosine", 0, 0, 0,
     "cosine|constant|cosine_restarts|warmup_cosine", NULL,
     "learning-rate schedule, stepped per epoch"},
    {"train.cosine_epochs", F_INT, OFF(train.cosine_epochs), 0, -1, 0, NULL, 0, 1e6, 0, NULL, NULL,
     "length of the cosine (0: train.epochs); warmup_cosine holds eta_min after it"},
    {"train.restart_period", F_INT, OFF(train.restart_period), 0, -1, 10, NULL, 1, 1e6, 0, NULL,
     NULL, "cosine_restarts: epochs of the first cycle (T_0)"},
    {"train.restart_mult", F_INT, OFF(train.restart_mult), 0, -1, 2, NULL, 1, 100, 0, NULL, NULL,
     "cosine_restarts: cycle length multiplier (T_mult)"},
    {"train.warmup_epochs", F_INT, OFF(train.warmup_epochs), 0, -1, 0, NULL, 0, 1e6, 0, NULL, NULL,
     "warmup_cosine: epochs of linear warmup"},
    {"train.warmup_lr", F_NUM, OFF(train.warmup_lr), 0, -1, 1e-6, NULL, 0, 10, 0, NULL, NULL,
     "warmup_cosine: learning rate at epoch 0"},
    {"train.eta_min", F_NUM, OFF(train.eta_min), 0, -1, 0, NULL, 0, 10, 0, NULL, NULL,
     "final learning rate of the cosine schedule"},
    {"train.grad_clip", F_NUM, OFF(train.grad_clip), 0, -1, 1.0, NULL, 0, 1e9, 0, NULL, NULL,
     "maximum global gradient norm (0: no clipping)"},
    {"train.label_smoothing", F_NUM, OFF(train.label_smoothing), 0, -1, 0, NULL, 0, 1, 0, NULL,
     NULL, "label smoothing epsilon"},
    {"train.qat", F_BOOL, OFF(train.qat), 0, (long)OFF(train.has_qat), 0, NULL, 0, 1, 0, NULL, NULL,
     "quantisation-aware training: the forward pass sees int8 weight matrices (every weight the "
     "int8 report quantises; straight-through gradient)"},
    {"eval.timesteps", F_INT_LIST, OFF(eval.timesteps), 16, (long)OFF(eval.has_timesteps), 0,
     NULL, 1, 100000, 0, NULL, NULL,
     "timestep study: also evaluate the trained model at each of these T (up to 16 values)"},
    {"metrics.e_ac_pj", F_NUM, OFF(metrics.e_ac_pj), 0, (long)OFF(metrics.has_e_ac_pj), 0, NULL,
     0, 1e9, 0, NULL, NULL, "energy of one accumulate in pJ (absent: 0.9, 45 nm)"},
    {"metrics.e_mac_pj", F_NUM, OFF(metrics.e_mac_pj), 0, (long)OFF(metrics.has_e_mac_pj), 0,
     NULL, 0, 1e9, 0, NULL, NULL, "energy of one multiply-accumulate in pJ (absent: 4.6, 45 nm)"},
    {"eval.batch_size", F_INT, OFF(eval.batch_size), 0, -1, 1000, NULL, 1, 65536, 0, NULL, NULL,
     "evaluation batch size"},
};
enum { N_FIELDS = sizeof k_fields / sizeof k_fields[0] };

static const field *find_field(const char *path) {
  for (int i = 0; i < N_FIELDS; i++)
    if (strcmp(k_fields[i].path, path) == 0) return &k_fields[i];
  return NULL;
}

/* True when `path` is a known object ("data", "train", ...): a prefix of some field path. */
static int is_section(const char *path) {
  size_t n = strlen(path);
  for (int i = 0; i < N_FIELDS; i++)
    if (strncmp(k_fields[i].path, path, n) == 0 && k_fields[i].path[n] == '.') return 1;
  return 0;
}

int sb_config_known_path(const char *path) { return find_field(path) != NULL; }

/* Top-level keys that describe the experiment rather than a cell. */
static int is_experiment_key(const char *k) {
  return !strcmp(k, "name") || !strcmp(k, "description") || !strcmp(k, "grid");
}

static sb_status check_value(const sb_experiment *e, const field *f, const cJSON *v,
                             const char *where, sb_cell_config *cfg) {
  char *base = (char *)cfg;
  switch (f->type) {
    case F_INT:
    case F_LONG:
    case F_I64: {
      if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return sb_fail(SB_EINPUT, "%s: %s%s: must be an integer", e->path, f->path, where);
      if (v->valuedouble < f->min || v->valuedouble > f->max)
        return sb_fail(SB_EINPUT, "%s: %s%s: %.17g is outside [%g, %g]", e->path, f->path, where,
                       v->valuedouble, f->min, f->max);
      const double d = v->valuedouble;
      if (f->type == F_INT)
        *(int *)(base + f->off) = (int)d;
      else if (f->type == F_LONG)
        *(long *)(base + f->off) = (long)d;
      else
        *(int64_t *)(base + f->off) = (int64_t)d;
      break;
    }
    case F_NUM: {
      if (!cJSON_IsNumber(v))
        return sb_fail(SB_EINPUT, "%s: %s%s: must be a number", e->path, f->path, where);
      const double d = v->valuedouble;
      const int low = f->min_exclusive ? d <= f->min : d < f->min;
      if (low || d > f->max || !isfinite(d))
        return sb_fail(SB_EINPUT, "%s: %s%s: %g is outside %s%g, %g]", e->path, f->path, where, d,
                       f->min_exclusive ? "(" : "[", f->min, f->max);
      if (f->has_off >= 0)
        *(float *)(base + f->off) = (float)d;
      else
        *(double *)(base + f->off) = d;
      break;
    }
    case F_INT_LIST: {
      const int cap = (int)f->size;
      if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0 || cJSON_GetArraySize(v) > cap)
        return sb_fail(SB_EINPUT, "%s: %s%s: must be a list of 1 to %d integers", e->path, f->path,
                       where, cap);
      int *out = (int *)(base + f->off), n = 0;
      const cJSON *it;
      cJSON_ArrayForEach(it, v) {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) ||
            it->valuedouble < f->min || it->valuedouble > f->max)
          return sb_fail(SB_EINPUT, "%s: %s[%d]%s: must be an integer in [%g, %g]", e->path,
                         f->path, n, where, f->min, f->max);
        out[n++] = (int)it->valuedouble;
      }
      *(int *)(out + cap) = n; /* the count follows the array */
      break;
    }
    case F_BOOL:
      if (!cJSON_IsBool(v))
        return sb_fail(SB_EINPUT, "%s: %s%s: must be true or false", e->path, f->path, where);
      *(int *)(base + f->off) = cJSON_IsTrue(v);
      break;
    case F_STR: {
      if (!cJSON_IsString(v))
        return sb_fail(SB_EINPUT, "%s: %s%s: must be a string", e->path, f->path, where);
      const char *s = v->valuestring;
      if (strlen(s) >= f->size)
        return sb_fail(SB_EINPUT, "%s: %s%s: longer than %zu characters", e->path, f->path, where,
                       f->size - 1);
      if (f->choices) {
        int ok = 0;
        size_t n = strlen(s);
        for (const char *c = f->choices; *c;) {
          const char *bar = strchr(c, '|');
          size_t len = bar ? (size_t)(bar - c) : strlen(c);
          ok |= len == n && strncmp(c, s, n) == 0;
          c += len + (bar ? 1 : 0);
        }
        if (!ok)
          return sb_fail(SB_EINPUT, "%s: %s%s: \"%s\" is not one of %s", e->path, f->path, where,
                         s, f->choices);
      }
      if (f->check && f->check(s))
        return sb_fail(SB_EINPUT, "%s: %s%s: unknown value \"%s\" (%s)", e->path, f->path, where, s,
                       f->help);
      strcpy(base + f->off, s);
      break;
    }
  }
  if (f->has_off >= 0) *(int *)(base + f->has_off) = 1;
  return SB_OK;
}

/* Refuses keys the schema does not know, naming the full path. */
static sb_status check_unknown(const sb_experiment *e, const cJSON *obj, const char *prefix) {
  for (const cJSON *k = obj->child; k; k = k->next) {
    char path[256];
    snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k->string);
    if (!*prefix && is_experiment_key(k->string)) continue;
    if (find_field(path)) continue;
    if (is_section(path)) {
      if (!cJSON_IsObject(k))
        return sb_fail(SB_EINPUT, "%s: %s: must be an object", e->path, path);
      sb_status st = check_unknown(e, k, path);
      if (st) return st;
      continue;
    }
    return sb_fail(SB_EINPUT, "%s: %s: unknown config key (snnbench validate --schema lists them)",
                   e->path, path);
  }
  return SB_OK;
}

/* Finds (or with create, makes) the object holding the last component of a dotted path. */
cJSON *sb_json_parent(cJSON *root, const char *path, const char **leaf, int create) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  cJSON *cur = root;
  char *start = buf;
  for (char *dot; (dot = strchr(start, '.')); start = dot + 1) {
    *dot = 0;
    cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, start);
    if (!next) {
      if (!create) return NULL;
      next = cJSON_AddObjectToObject(cur, start);
    }
    if (!cJSON_IsObject(next)) return NULL;
    cur = next;
  }
  *leaf = path + (start - buf);
  return cur;
}

/* Copies every key of src that dst does not set, recursing into objects both have. */
static void merge_missing(cJSON *dst, const cJSON *src) {
  for (const cJSON *k = src->child; k; k = k->next) {
    cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, k->string);
    if (!d)
      cJSON_AddItemToObject(dst, k->string, cJSON_Duplicate(k, 1));
    else if (cJSON_IsObject(d) && cJSON_IsObject(k))
      merge_missing(d, k);
  }
}

/* A preset's values become the cell's own wherever the cell leaves a key unset, before the
 * schema fills defaults: explicit keys win over the preset, the preset over the defaults. */
static sb_status apply_preset(const sb_experiment *e, cJSON *cell, const char *where_fmt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cell, "preset");
  if (!cJSON_IsString(v)) return SB_OK;  /* absent, or a type error the schema reports */
  const sb_preset *p = sb_preset_find(v->valuestring);
  int from_grid = 0;
  for (int a = 0; a < e->n_axes; a++) from_grid |= !strcmp(e->axes[a], "preset");
  if (!p) {
    char known[512] = "";
    size_t k = 0;
    for (const sb_preset *q = sb_presets(); q->name && k < sizeof known; q++)
      k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", q->name);
    return sb_fail(SB_EINPUT, "%s: preset%s%s%s: unknown preset \"%s\" (known: %s)", e->path,
                   from_grid && where_fmt ? " (" : "", from_grid && where_fmt ? where_fmt : "",
                   from_grid && where_fmt ? ")" : "", v->valuestring, known);
  }
  cJSON *values = cJSON_Parse(p->json);
  if (!values) return sb_fail(SB_ERUNTIME, "preset %s: built-in values do not parse", p->name);
  merge_missing(cell, values);
  cJSON_Delete(values);
  return SB_OK;
}

sb_status sb_config_resolve_cell(const sb_experiment *e, cJSON *cell, const char *where_fmt,
                                 sb_cell_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  sb_status st = check_unknown(e, cell, "");
  if (st) return st;
  if ((st = apply_preset(e, cell, where_fmt))) return st;
  for (int i = 0; i < N_FIELDS; i++) {
    const field *f = &k_fields[i];
    const char *leaf = NULL;
    cJSON *parent = sb_json_parent(cell, f->path, &leaf, 1);
    cJSON *v = parent ? cJSON_GetObjectItemCaseSensitive(parent, leaf) : NULL;
    char where[160] = "";
    int from_grid = 0;
    for (int a = 0; a < e->n_axes; a++) from_grid |= !strcmp(e->axes[a], f->path);
    if (from_grid && where_fmt) snprintf(where, sizeof where, " (%s)", where_fmt);
    if (v) {
      if ((st = check_value(e, f, v, where, cfg))) return st;
      continue;
    }
    if (f->has_off >= 0) continue;  /* optional override, absent */
    cJSON *def = NULL;
    if (f->type == F_STR && f->def_str) def = cJSON_CreateString(f->def_str);
    else if (f->type == F_BOOL) def = cJSON_CreateBool(f->def_num != 0);
    else if (f->type != F_STR) def = cJSON_CreateNumber(f->def_num);
    if (!def) continue;  /* filled below (data.path) */
    cJSON_AddItemToObject(parent, leaf, def);
    if ((st = check_value(e, f, def, "", cfg))) return st;
  }
  /* data.path defaults to where the named dataset is normally installed. */
  cJSON *data = cJSON_GetObjectItemCaseSensitive(cell, "data");
  if (!cJSON_GetObjectItemCaseSensitive(data, "path")) {
    const char *def = sb_dataset_default_path(cfg->data.name);
    if (!def)
      return sb_fail(SB_EINPUT, "%s: data.path: required for dataset \"%s\", which has no standard "
                     "location", e->path, cfg->data.name);
    cJSON_AddStringToObject(data, "path", def);
    snprintf(cfg->data.path, sizeof cfg->data.path, "%s", def);
  }
  /* "ann": false is the default model, so it resolves (and hashes) like no "ann" at all. */
  if (cfg->has_ann && !cfg->ann) {
    cJSON_DeleteItemFromObjectCaseSensitive(cell, "ann");
    cfg->has_ann = 0;
  }
  /* Drop empty override sections so "neuron": {} and no neuron block give the same id. */
  cJSON *neuron = cJSON_GetObjectItemCaseSensitive(cell, "neuron");
  if (neuron && !neuron->child) cJSON_DeleteItemFromObjectCaseSensitive(cell, "neuron");
  return SB_OK;
}

void sb_config_print_schema(void) {
  printf("%-30s %-7s %-18s %s\n", "key", "type", "default", "meaning");
  for (int i = 0; i < N_FIELDS; i++) {
    const field *f = &k_fields[i];
    char def[64];
    if (f->has_off >= 0)
      snprintf(def, sizeof def, "%s", !strcmp(f->path, "preset") ? "(none)"
                                      : !strcmp(f->path, "ann") ? "false" : "(model's)");
    else if (f->type == F_STR)
      snprintf(def, sizeof def, "%s", f->def_str ? f->def_str : "(dataset's)");
    else if (f->type == F_BOOL)
      snprintf(def, sizeof def, "%s", f->def_num ? "true" : "false");
    else
      snprintf(def, sizeof def, "%g", f->def_num);
    const char *type = f->type <= F_I64 ? "int" : f->type == F_NUM ? "number"
                       : f->type == F_BOOL ? "bool" : f->type == F_INT_LIST ? "ints" : "string";
    printf("%-30s %-7s %-18s %s%s%s\n", f->path, type, def, f->help, f->choices ? ": " : "",
           f->choices ? f->choices : "");
  }
  printf("\nTop level also takes \"name\", \"description\" and \"grid\": {\"dotted.path\": [values]}.\n");
}
