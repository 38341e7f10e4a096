/* Named datasets, the per-process cache, and the per-cell split views. A dataset that cannot be
 * read is an error, never a synthetic stand-in: "synthetic" is a dataset of its own that only a
 * config naming it gets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

typedef sb_status (*dataset_loader)(const sb_data_source *src, sb_dataset *d);

typedef struct {
  const char *name;
  const char *default_path;  /* NULL: data.path is required; "": reads no files */
  sb_data_kind kind;
  int n_classes;             /* 0: decided by the source (cifar100 labels, synthetic) */
  float mean[3], std[3];     /* per-channel normalisation defaults (images) */
  dataset_loader load;
  const char *layout;
} dataset_info;

static sb_status load_idx_family(const sb_data_source *src, sb_dataset *d);
static sb_status load_cifar10(const sb_data_source *src, sb_dataset *d);
static sb_status load_cifar100(const sb_data_source *src, sb_dataset *d);
static sb_status load_nmnist(const sb_data_source *src, sb_dataset *d);
static sb_status load_gesture(const sb_data_source *src, sb_dataset *d);
static sb_status load_cifar10dvs(const sb_data_source *src, sb_dataset *d);
static sb_status load_synthetic(const sb_data_source *src, sb_dataset *d);

/* Image statistics are the ones the seed recipes normalise with (torchvision convention: pixel
 * / 255, then (x − mean) / std per channel). Event datasets are counts and have none. */
static const dataset_info k_datasets[] = {
    {"fashion-mnist", "/usr/share/datasets/fashion-mnist", SB_DATA_IMAGES, 10, {0.2860f},
     {0.3530f}, load_idx_family,
     "IDX: {train,t10k}-{images-idx3,labels-idx1}-ubyte, raw or .gz"},
    {"mnist", NULL, SB_DATA_IMAGES, 10, {0.1307f}, {0.3081f}, load_idx_family,
     "IDX: {train,t10k}-{images-idx3,labels-idx1}-ubyte, raw or .gz"},
    {"cifar10", NULL, SB_DATA_IMAGES, 10, {0.4914f, 0.4822f, 0.4465f},
     {0.2470f, 0.2435f, 0.2616f}, load_cifar10,
     "binary version: data_batch_1..5.bin + test_batch.bin, or cifar-10-binary.tar.gz"},
    {"cifar100", NULL, SB_DATA_IMAGES, 0, {0.5071f, 0.4867f, 0.4408f},
     {0.2675f, 0.2565f, 0.2761f}, load_cifar100,
     "binary version: train.bin + test.bin, or cifar-100-binary.tar.gz"},
    {"nmnist", NULL, SB_DATA_EVENTS, 10, {0}, {0}, load_nmnist,
     "Train/0..9/*.bin and Test/0..9/*.bin (ATIS 40-bit events, 34x34)"},
    {"dvs-gesture", NULL, SB_DATA_EVENTS, 11, {0}, {0}, load_gesture,
     "DvsGesture/: trials_to_{train,test}.txt, *.aedat (AEDAT 3.1), *_labels.csv"},
    {"cifar10-dvs", NULL, SB_DATA_EVENTS, 10, {0}, {0}, load_cifar10dvs,
     "airplane/ .. truck/ of cifar10_<class>_<i>.aedat (AEDAT 2.0); test = i < 100"},
    {"synthetic", "", SB_DATA_IMAGES, 0, {0}, {0}, load_synthetic,
     "generated (data.synthetic.*), reads no files"},
};
enum { N_DATASETS = sizeof k_datasets / sizeof k_datasets[0] };

static const dataset_info *find_info(const char *name) {
  for (int i = 0; i < N_DATASETS; i++)
    if (strcmp(k_datasets[i].name, name) == 0) return &k_datasets[i];
  return NULL;
}

const char *sb_dataset_default_path(const char *name) {
  const dataset_info *i = find_info(name);
  return i ? i->default_path : NULL;
}

int sb_dataset_known(const char *name) { return find_info(name) ? 0 : -1; }

const char *sb_dataset_layout(const char *name) {
  const dataset_info *i = find_info(name);
  return i ? i->layout : NULL;
}

const char *const *sb_dataset_names(void) {
  static const char *names[N_DATASETS + 1];
  for (int i = 0; i < N_DATASETS; i++) names[i] = k_datasets[i].name;
  return names;
}

/* --- IDX family (MNIST, Fashion-MNIST) --- */

static sb_status find_file(const sb_data_source *src, const char *stem, char *out, size_t n) {
  snprintf(out, n, "%s/%s.gz", src->path, stem);
  if (sb_is_file(out)) return SB_OK;
  snprintf(out, n, "%s/%s", src->path, stem);
  if (sb_is_file(out)) return SB_OK;
  return sb_fail(SB_EINPUT, "%s/%s(.gz): not found (dataset %s; set data.path to the directory "
                 "holding the IDX files)", src->path, stem, src->name);
}

static sb_status load_idx_split(const sb_data_source *src, int n_classes,
                                const char *images_stem, const char *labels_stem, sb_split *s) {
  char ipath[640], lpath[640];
  sb_status st;
  if ((st = find_file(src, images_stem, ipath, sizeof ipath))) return st;
  if ((st = find_file(src, labels_stem, lpath, sizeof lpath))) return st;
  sb_idx images, labels;
  if ((st = sb_idx_read(ipath, 3, &images))) return st;
  if ((st = sb_idx_read(lpath, 1, &labels))) {
    sb_idx_free(&images);
    return st;
  }
  if (images.count != labels.count) {
    st = sb_idx_count_mismatch(lpath, &labels, ipath, &images);
    goto done;
  }
  for (long i = 0; i < labels.count; i++) {
    if (labels.data[i] >= n_classes) {
      st = sb_fail(SB_EINPUT, "%s: label %d at byte %ld%s is outside 0..%d", lpath,
                   labels.data[i], 8 + i, sb_idx_offset_note(&labels), n_classes - 1);
      goto done;
    }
  }
  s->n = images.count;
  s->shape = (sb_shape){3, {1, images.dims[1], images.dims[2]}};
  s->u8 = images.data;  /* already [n][H][W] bytes: keep them as they are */
  images.data = NULL;
  s->y = sb_xmalloc((unsigned long)s->n * sizeof(int32_t));
  for (long i = 0; i < s->n; i++) s->y[i] = labels.data[i];
done:
  sb_idx_free(&images);
  sb_idx_free(&labels);
  return st;
}

static sb_status load_idx_family(const sb_data_source *src, sb_dataset *d) {
  sb_status st;
  if ((st = load_idx_split(src, d->n_classes, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           &d->train)))
    return st;
  if ((st = load_idx_split(src, d->n_classes, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                           &d->test)))
    return st;
  if (d->train.shape.d[1] != d->test.shape.d[1] || d->train.shape.d[2] != d->test.shape.d[2])
    return sb_fail(SB_EINPUT, "%s: train images are %dx%d but test images are %dx%d", src->path,
                   d->train.shape.d[1], d->train.shape.d[2], d->test.shape.d[1],
                   d->test.shape.d[2]);
  return SB_OK;
}

/* --- the other formats: each reader lives in its own file --- */

static sb_status load_cifar10(const sb_data_source *src, sb_dataset *d) {
  return sb_cifar_load(src->path, 0, 0, &d->train, &d->test);
}

static sb_status load_cifar100(const sb_data_source *src, sb_dataset *d) {
  const int coarse = !strcmp(src->labels, "coarse");
  d->n_classes = coarse ? 20 : 100;
  snprintf(d->labels, sizeof d->labels, "%s", coarse ? "coarse" : "fine");
  return sb_cifar_load(src->path, 1, coarse, &d->train, &d->test);
}

static sb_status load_nmnist(const sb_data_source *src, sb_dataset *d) {
  return sb_nmnist_load(src->path, &d->train, &d->test);
}

static sb_status load_gesture(const sb_data_source *src, sb_dataset *d) {
  return sb_gesture_load(src->path, &d->train, &d->test);
}

static sb_status load_cifar10dvs(const sb_data_source *src, sb_dataset *d) {
  return sb_cifar10dvs_load(src->path, &d->train, &d->test);
}

/* The synthetic set's normalisation statistics are measured on its training split. */
static sb_status load_synthetic(const sb_data_source *src, sb_dataset *d) {
  d->n_classes = src->synthetic_classes;
  sb_status st = sb_synthetic_load(src, &d->train, &d->test);
  if (st) return st;
  const int C = d->train.shape.d[0];
  const long plane = (long)d->train.shape.d[1] * d->train.shape.d[2];
  for (int c = 0; c < C && c < 4; c++) {
    double sum = 0.0, sq = 0.0;
    for (long i = 0; i < d->train.n; i++)
      for (long k = 0; k < plane; k++) {
        const double v = d->train.u8[(i * C + c) * plane + k] / 255.0;
        sum += v;
        sq += v * v;
      }
    const double n = (double)d->train.n * plane, mean = sum / n;
    const double var = sq / n - mean * mean;
    d->mean[c] = (float)mean;
    d->std[c] = (float)(var > 1e-12 ? sqrt(var) : 1.0);
  }
  return SB_OK;
}

/* --- cache --- */

enum { CACHE_SLOTS = 16 };
static sb_dataset *g_cache[CACHE_SLOTS];

static void dataset_free(sb_dataset *d) {
  if (!d) return;
  sb_split_free(&d->train);
  sb_split_free(&d->test);
  free(d);
}

/* Only what changes the decoded data is part of the key. */
static sb_data_source cache_key(const sb_data_source *src) {
  sb_data_source k;
  memset(&k, 0, sizeof k);
  snprintf(k.name, sizeof k.name, "%s", src->name);
  if (!strcmp(src->name, "synthetic")) {
    memcpy(k.synthetic_shape, src->synthetic_shape, sizeof k.synthetic_shape);
    k.synthetic_classes = src->synthetic_classes;
    k.synthetic_samples = src->synthetic_samples;
    return k;
  }
  snprintf(k.path, sizeof k.path, "%s", src->path);
  if (!strcmp(src->name, "cifar100"))
    snprintf(k.labels, sizeof k.labels, "%s", strcmp(src->labels, "coarse") ? "fine" : "coarse");
  return k;
}

static sb_data_source g_keys[CACHE_SLOTS];

static int same_key(const sb_data_source *a, const sb_data_source *b) {
  return !strcmp(a->name, b->name) && !strcmp(a->path, b->path) && !strcmp(a->labels, b->labels) &&
         !memcmp(a->synthetic_shape, b->synthetic_shape, sizeof a->synthetic_shape) &&
         a->synthetic_classes == b->synthetic_classes &&
         a->synthetic_samples == b->synthetic_samples;
}

sb_status sb_dataset_get(const sb_data_source *src, const sb_dataset **out) {
  const sb_data_source key = cache_key(src);
  for (int i = 0; i < CACHE_SLOTS; i++) {
    if (g_cache[i] && same_key(&g_keys[i], &key)) {
      *out = g_cache[i];
      return SB_OK;
    }
  }
  const dataset_info *info = find_info(src->name);
  if (!info) return sb_fail(SB_EINPUT, "data.name: unknown dataset \"%s\"", src->name);
  if (!strcmp(src->name, "synthetic")) {
    const int *s = src->synthetic_shape;
    if (s[0] < 1 || s[0] > 4 || s[1] < 1 || s[2] < 1 || (long)s[0] * s[1] * s[2] > (1L << 22) ||
        src->synthetic_classes < 2 || src->synthetic_samples < 1)
      return sb_fail(SB_EINPUT, "data.synthetic: shape %dx%dx%d, %d classes, %ld samples is not a "
                     "dataset it can generate (1..4 channels, at most 4M values per sample, 2+ "
                     "classes)", s[0], s[1], s[2], src->synthetic_classes,
                     src->synthetic_samples);
  }
  sb_dataset *d = sb_xcalloc(1, sizeof *d);
  snprintf(d->name, sizeof d->name, "%s", src->name);
  snprintf(d->path, sizeof d->path, "%s", key.path);
  d->kind = info->kind;
  d->n_classes = info->n_classes;
  for (int c = 0; c < 3; c++) {
    d->mean[c] = info->mean[c];
    d->std[c] = info->std[c] > 0 ? info->std[c] : 1.0f;
  }
  d->std[3] = 1.0f;
  sb_status st = info->load(src, d);
  if (st) {
    dataset_free(d);
    return st;
  }
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (!g_cache[i]) {
      g_cache[i] = d;
      g_keys[i] = key;
      *out = d;
      return SB_OK;
    }
  dataset_free(d);
  return sb_fail(SB_EINPUT, "more than %d distinct datasets in one run", CACHE_SLOTS);
}

void sb_dataset_cache_clear(void) {
  for (int i = 0; i < CACHE_SLOTS; i++) {
    dataset_free(g_cache[i]);
    g_cache[i] = NULL;
  }
}

/* --- split views --- */

static int cmp_i32(const void *a, const void *b) {
  const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static void sort_i32(int32_t *a, long n) { qsort(a, (size_t)n, sizeof(int32_t), cmp_i32); }

/* Picks k of the n candidates (sorted indices into labels) keeping class proportions: class c
 * gets floor(k·n_c/n), the leftover goes to the largest remainders (ties: lower class), and its
 * members are drawn by a seeded shuffle. Writes the picks sorted to out; returns how many. */
static long stratified_pick(const int32_t *labels, int n_classes, const int32_t *cand, long n,
                            long k, uint64_t seed, uint32_t purpose, int32_t *out) {
  if (k <= 0 || n <= 0) return 0;
  long *count = sb_xcalloc((unsigned long)n_classes, sizeof(long));
  long *quota = sb_xcalloc((unsigned long)n_classes, sizeof(long));
  char *extra = sb_xcalloc((unsigned long)n_classes, 1);
  for (long i = 0; i < n; i++) count[labels[cand[i]]]++;
  long given = 0;
  for (int c = 0; c < n_classes; c++) {
    quota[c] = (long)((int64_t)k * count[c] / n);
    given += quota[c];
  }
  /* The leftover is the sum of the fractional parts, so it is smaller than the number of classes
   * with a nonzero remainder: each gets at most one extra sample, largest remainder first. */
  for (; given < k; given++) {
    int best = -1;
    int64_t best_rem = 0;
    for (int c = 0; c < n_classes; c++) {
      const int64_t rem = (int64_t)k * count[c] % n;
      if (!extra[c] && rem > best_rem) {
        best_rem = rem;
        best = c;
      }
    }
    SB_ASSERT(best >= 0);
    extra[best] = 1;
    quota[best]++;
  }
  free(extra);
  int32_t *members = sb_xmalloc((unsigned long)(n ? n : 1) * sizeof(int32_t));
  long picked = 0;
  for (int c = 0; c < n_classes; c++) {
    long m = 0;
    for (long i = 0; i < n; i++)
      if (labels[cand[i]] == c) members[m++] = cand[i];
    sb_rng r;
    sb_rng_init(&r, seed, sb_stream(SB_STREAM_SUBSET, purpose * 65536u + (uint32_t)c));
    sb_rng_shuffle(&r, members, (int)m);
    memcpy(out + picked, members, (size_t)quota[c] * sizeof(int32_t));
    picked += quota[c];
  }
  free(members);
  free(count);
  free(quota);
  sort_i32(out, picked);
  return picked;
}

sb_status sb_split_view_make(const sb_dataset *d, const char *subset, long train_size,
                             long val_size, long test_size, uint64_t split_seed,
                             sb_split_view *v) {
  memset(v, 0, sizeof *v);
  const long pool = d->train.n;
  if (val_size >= pool)
    return sb_fail(SB_EINPUT, "data.val_size: %ld leaves no training samples (the training split "
                   "of %s has %ld)", val_size, d->name, pool);
  if (val_size + train_size > pool)
    return sb_fail(SB_EINPUT, "data.train_size: %ld + val_size %ld exceeds the %ld training "
                   "samples of %s", train_size, val_size, pool, d->name);
  if (test_size > d->test.n)
    return sb_fail(SB_EINPUT, "data.test_size: %ld exceeds the %ld test samples of %s", test_size,
                   d->test.n, d->name);
  if (d->test.n == 0)
    return sb_fail(SB_EINPUT, "%s: the test split of %s is empty", d->path, d->name);
  v->n_val = val_size;
  v->n_train = train_size ? train_size : pool - val_size;
  v->n_test = test_size ? test_size : d->test.n;
  v->val = sb_xmalloc((unsigned long)(v->n_val ? v->n_val : 1) * sizeof(int32_t));
  v->train = sb_xmalloc((unsigned long)v->n_train * sizeof(int32_t));
  v->test = sb_xmalloc((unsigned long)v->n_test * sizeof(int32_t));
  int32_t *perm = sb_xmalloc((unsigned long)pool * sizeof(int32_t));
  for (long i = 0; i < pool; i++) perm[i] = (int32_t)i;

  if (!strcmp(subset, "stratified")) {
    /* perm is the identity here: the candidate pools, sorted. */
    stratified_pick(d->train.y, d->n_classes, perm, pool, v->n_val, split_seed, 0, v->val);
    long rest = 0;
    for (long i = 0, j = 0; i < pool; i++) {  /* pool minus val, both sorted */
      if (j < v->n_val && v->val[j] == i) {
        j++;
        continue;
      }
      perm[rest++] = (int32_t)i;
    }
    stratified_pick(d->train.y, d->n_classes, perm, rest, v->n_train, split_seed, 1, v->train);
    int32_t *all = sb_xmalloc((unsigned long)d->test.n * sizeof(int32_t));
    for (long i = 0; i < d->test.n; i++) all[i] = (int32_t)i;
    stratified_pick(d->test.y, d->n_classes, all, d->test.n, v->n_test, split_seed, 2, v->test);
    free(all);
  } else {
    sb_rng r;
    sb_rng_init(&r, split_seed, sb_stream(SB_STREAM_SPLIT, 0));
    sb_rng_shuffle(&r, perm, (int)pool);
    memcpy(v->val, perm, (size_t)v->n_val * sizeof(int32_t));
    if (!strcmp(subset, "first")) {
      /* The first n_train of the non-validation samples, in file order. */
      sort_i32(perm + v->n_val, pool - v->n_val);
      memcpy(v->train, perm + v->n_val, (size_t)v->n_train * sizeof(int32_t));
    } else {
      memcpy(v->train, perm + v->n_val, (size_t)v->n_train * sizeof(int32_t));
    }
    /* Sorted, so the epoch shuffle depends on which samples were chosen, not on carve order. */
    sort_i32(v->val, v->n_val);
    sort_i32(v->train, v->n_train);
    for (long i = 0; i < v->n_test; i++) v->test[i] = (int32_t)i;
  }
  free(perm);
  return SB_OK;
}

void sb_split_view_free(sb_split_view *v) {
  free(v->train);
  free(v->val);
  free(v->test);
  memset(v, 0, sizeof *v);
}
