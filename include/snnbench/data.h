/* Datasets: readers that decode files exactly (or fail with the file, byte offset and problem),
 * a per-process cache so each dataset is decoded once per rank, and the index-based views
 * (train / validation / test subsets) that cells draw batches from. */
#ifndef SNNBENCH_DATA_H
#define SNNBENCH_DATA_H

#include <stdint.h>

#include "snnbench/error.h"
#include "snnbench/nn.h"

/* An IDX file (MNIST family): big-endian header, unsigned bytes. */
typedef struct {
  int ndim;
  int dims[4];
  long count;      /* dims[0] */
  uint8_t *data;   /* count * (product of the other dims) bytes */
} sb_idx;

/* Reads a .gz or raw IDX file (zlib reads both) and checks the magic, the header dimensions and
 * that the payload has exactly the size the header promises. expect_ndim: 3 images, 1 labels. */
sb_status sb_idx_read(const char *path, int expect_ndim, sb_idx *out);
void sb_idx_free(sb_idx *idx);

/* One split of a dataset, decoded into floats (normalised if asked). */
typedef struct {
  long n;
  sb_shape shape;  /* per sample, e.g. 1x28x28 */
  float *x;        /* n * numel */
  int32_t *y;
} sb_split;

typedef struct {
  char name[32];
  char path[512];
  int n_classes;
  int normalized;
  float mean[4], std[4];  /* per channel, as applied */
  sb_split train, test;
} sb_dataset;

typedef struct {
  char name[32];   /* fashion-mnist, mnist */
  char path[512];  /* directory holding the files */
  int normalize;
} sb_data_source;

/* The default directory for a named dataset, or NULL if it has none. */
const char *sb_dataset_default_path(const char *name);
/* 0 if the dataset name is known. */
int sb_dataset_known(const char *name);
const char *const *sb_dataset_names(void);

/* Decodes (once per process) and returns a shared dataset. */
sb_status sb_dataset_get(const sb_data_source *src, const sb_dataset **out);
void sb_dataset_cache_clear(void);

/* Carves train / validation / test index lists for one cell: the validation set comes out of
 * the training split, chosen by a seeded permutation; sizes of 0 mean "all that is left". */
typedef struct {
  int32_t *train, *val, *test;
  long n_train, n_val, n_test;
} sb_split_view;

sb_status sb_split_view_make(const sb_dataset *d, long train_size, long val_size, long test_size,
                             uint64_t split_seed, sb_split_view *v);
void sb_split_view_free(sb_split_view *v);

/* Gathers samples idx[0..n) of split s into a contiguous [n][numel] batch and their labels. */
void sb_gather_batch(const sb_split *s, const int32_t *idx, int n, float *x, int32_t *y);

#endif
