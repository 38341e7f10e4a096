/* Named datasets, their decoding into normalised floats, the per-process cache, and the
 * per-cell split views. A dataset that cannot be read is an error, never a synthetic stand-in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "snnbench/data.h"
#include "snnbench/rng.h"

typedef sb_status (*dataset_loader)(const sb_data_source *src, const void *info, sb_dataset *d);

typedef struct {
  const char *name;
  const char *default_path;
  int n_classes;
  float mean, std;  /* normalisation defaults (single channel) */
  dataset_loader load;
} dataset_info;

static sb_status load_idx_family(const sb_data_source *src, const void *info, sb_dataset *d);

static const dataset_info k_datasets[] = {
    {"fashion-mnist", "/usr/share/datasets/fashion-mnist", 10, 0.2860f, 0.3530f, load_idx_family},
    {"mnist", NULL, 10, 0.1307f, 0.3081f, load_idx_family},
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

const char *const *sb_dataset_names(void) {
  static const char *names[N_DATASETS + 1];
  for (int i = 0; i < N_DATASETS; i++) names[i] = k_datasets[i].name;
  return names;
}

/* --- IDX family (MNIST, Fashion-MNIST) --- */

static sb_status find_file(const sb_data_source *src, const char *stem, char *out, size_t n) {
  struct stat st;
  snprintf(out, n, "%s/%s.gz", src->path, stem);
  if (stat(out, &st) == 0) return SB_OK;
  snprintf(out, n, "%s/%s", src->path, stem);
  if (stat(out, &st) == 0) return SB_OK;
  return sb_fail(SB_EINPUT, "%s/%s(.gz): not found (dataset %s; set data.path to the directory "
                 "holding the IDX files)", src->path, stem, src->name);
}

static sb_status load_idx_split(const sb_data_source *src, const dataset_info *info,
                                const char *images_stem, const char *labels_stem, sb_split *s,
                                int normalize) {
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
    st = sb_fail(SB_EINPUT, "%s: %ld labels, but %s has %ld images", lpath, labels.count, ipath,
                 images.count);
    goto done;
  }
  for (long i = 0; i < labels.count; i++) {
    if (labels.data[i] >= info->n_classes) {
      st = sb_fail(SB_EINPUT, "%s: label %d at byte %ld is outside 0..%d", lpath, labels.data[i],
                   8 + i, info->n_classes - 1);
      goto done;
    }
  }
  s->n = images.count;
  s->shape = (sb_shape){3, {1, images.dims[1], images.dims[2]}};
  const long numel = (long)images.dims[1] * images.dims[2];
  s->x = sb_xmalloc((unsigned long)(s->n * numel) * sizeof(float));
  s->y = sb_xmalloc((unsigned long)s->n * sizeof(int32_t));
  const float mean = normalize ? info->mean : 0.0f, inv_std = normalize ? 1.0f / info->std : 1.0f;
  for (long i = 0; i < s->n * numel; i++) s->x[i] = (images.data[i] / 255.0f - mean) * inv_std;
  for (long i = 0; i < s->n; i++) s->y[i] = labels.data[i];
done:
  sb_idx_free(&images);
  sb_idx_free(&labels);
  return st;
}

static sb_status load_idx_family(const sb_data_source *src, const void *vinfo, sb_dataset *d) {
  const dataset_info *info = vinfo;
  sb_status st;
  if ((st = load_idx_split(src, info, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           &d->train, src->normalize)))
    return st;
  if ((st = load_idx_split(src, info, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                           &d->test, src->normalize)))
    return st;
  if (d->train.shape.d[1] != d->test.shape.d[1] || d->train.shape.d[2] != d->test.shape.d[2])
    return sb_fail(SB_EINPUT, "%s: train images are %dx%d but test images are %dx%d", src->path,
                   d->train.shape.d[1], d->train.shape.d[2], d->test.shape.d[1],
                   d->test.shape.d[2]);
  d->mean[0] = src->normalize ? info->mean : 0.0f;
  d->std[0] = src->normalize ? info->std : 1.0f;
  return SB_OK;
}

/* --- cache --- */

enum { CACHE_SLOTS = 16 };
static sb_dataset *g_cache[CACHE_SLOTS];

static void dataset_free(sb_dataset *d) {
  if (!d) return;
  free(d->train.x);
  free(d->train.y);
  free(d->test.x);
  free(d->test.y);
  free(d);
}

sb_status sb_dataset_get(const sb_data_source *src, const sb_dataset **out) {
  for (int i = 0; i < CACHE_SLOTS; i++) {
    sb_dataset *d = g_cache[i];
    if (d && !strcmp(d->name, src->name) && !strcmp(d->path, src->path) &&
        d->normalized == src->normalize) {
      *out = d;
      return SB_OK;
    }
  }
  const dataset_info *info = find_info(src->name);
  if (!info) return sb_fail(SB_EINPUT, "data.name: unknown dataset \"%s\"", src->name);
  sb_dataset *d = sb_xcalloc(1, sizeof *d);
  snprintf(d->name, sizeof d->name, "%s", src->name);
  snprintf(d->path, sizeof d->path, "%s", src->path);
  d->n_classes = info->n_classes;
  d->normalized = src->normalize;
  sb_status st = info->load(src, info, d);
  if (st) {
    dataset_free(d);
    return st;
  }
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (!g_cache[i]) {
      g_cache[i] = d;
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

sb_status sb_split_view_make(const sb_dataset *d, long train_size, long val_size, long test_size,
                             uint64_t split_seed, sb_split_view *v) {
  memset(v, 0, sizeof *v);
  const long pool = d->train.n;
  if (val_size >= pool)
    return sb_fail(SB_EINPUT, "data.val_size: %ld leaves no training samples (the training split "
                   "has %ld)", val_size, pool);
  if (val_size + train_size > pool)
    return sb_fail(SB_EINPUT, "data.train_size: %ld + val_size %ld exceeds the %ld training "
                   "samples of %s", train_size, val_size, pool, d->name);
  if (test_size > d->test.n)
    return sb_fail(SB_EINPUT, "data.test_size: %ld exceeds the %ld test samples of %s", test_size,
                   d->test.n, d->name);
  int32_t *perm = sb_xmalloc((unsigned long)pool * sizeof(int32_t));
  for (long i = 0; i < pool; i++) perm[i] = (int32_t)i;
  sb_rng r;
  sb_rng_init(&r, split_seed, sb_stream(SB_STREAM_SPLIT, 0));
  sb_rng_shuffle(&r, perm, (int)pool);
  v->n_val = val_size;
  v->n_train = train_size ? train_size : pool - val_size;
  v->n_test = test_size ? test_size : d->test.n;
  v->val = sb_xmalloc((unsigned long)(v->n_val ? v->n_val : 1) * sizeof(int32_t));
  v->train = sb_xmalloc((unsigned long)v->n_train * sizeof(int32_t));
  v->test = sb_xmalloc((unsigned long)v->n_test * sizeof(int32_t));
  memcpy(v->val, perm, (size_t)v->n_val * sizeof(int32_t));
  memcpy(v->train, perm + v->n_val, (size_t)v->n_train * sizeof(int32_t));
  /* Sorted, so the epoch shuffle depends on which samples were chosen, not on carve order. */
  qsort(v->val, (size_t)v->n_val, sizeof(int32_t), cmp_i32);
  qsort(v->train, (size_t)v->n_train, sizeof(int32_t), cmp_i32);
  for (long i = 0; i < v->n_test; i++) v->test[i] = (int32_t)i;
  free(perm);
  return SB_OK;
}

void sb_split_view_free(sb_split_view *v) {
  free(v->train);
  free(v->val);
  free(v->test);
  memset(v, 0, sizeof *v);
}

void sb_gather_batch(const sb_split *s, const int32_t *idx, int n, float *x, int32_t *y) {
  const long numel = sb_shape_numel(s->shape);
  for (int i = 0; i < n; i++) {
    memcpy(x + (long)i * numel, s->x + (long)idx[i] * numel, (size_t)numel * sizeof(float));
    y[i] = s->y[idx[i]];
  }
}
