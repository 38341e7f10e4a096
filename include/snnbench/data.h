/* Datasets: readers that decode files exactly (or fail with the file, byte offset and problem),
 * a per-process cache so each dataset is decoded once per rank, and the index-based views
 * (train / validation / test subsets) that cells draw batches from. */
#ifndef SNNBENCH_DATA_H
#define SNNBENCH_DATA_H

#include <stdint.h>
#include <stdio.h>

#include "snnbench/error.h"
#include "snnbench/nn.h"

/* An IDX file (MNIST family): big-endian header, unsigned bytes. */
typedef struct {
  int ndim;
  int dims[4];
  long count;      /* dims[0] */
  uint8_t *data;   /* count * (product of the other dims) bytes */
  int gzip;        /* the file was gzip: byte offsets count in the decompressed stream */
} sb_idx;

/* Reads a .gz or raw IDX file (zlib reads both) and checks the magic, the header dimensions and
 * that the payload has exactly the size the header promises. expect_ndim: 3 images, 1 labels. */
sb_status sb_idx_read(const char *path, int expect_ndim, sb_idx *out);
void sb_idx_free(sb_idx *idx);

/* One split of a dataset, kept in its compact decoded form; the pipeline turns samples into
 * floats per batch.
 *   images: u8 holds n samples of shape [C][H][W] bytes, exactly as stored in the files;
 *   events: sample i owns events ev_off[i] .. ev_off[i+1]; each event is a packed address
 *           (x | y << 7 | p << 14, so sensors up to 128x128) and a time in microseconds since
 *           the sample's earliest event. shape is one frame, [2][H][W] (polarity 0 = OFF first). */
typedef struct {
  long n;
  sb_shape shape;
  int32_t *y;
  uint8_t *u8;
  int64_t *ev_off;
  uint16_t *ev_xyp;
  uint32_t *ev_t;
} sb_split;

static inline int sb_event_x(uint16_t a) { return a & 0x7F; }
static inline int sb_event_y(uint16_t a) { return (a >> 7) & 0x7F; }
static inline int sb_event_p(uint16_t a) { return (a >> 14) & 1; }
static inline uint16_t sb_event_pack(int x, int y, int p) {
  return (uint16_t)(x | y << 7 | p << 14);
}

typedef enum { SB_DATA_IMAGES = 0, SB_DATA_EVENTS = 1 } sb_data_kind;

typedef struct {
  char name[32];
  char path[512];
  char labels[8];         /* cifar100: "fine" or "coarse" */
  sb_data_kind kind;
  int n_classes;
  float mean[4], std[4];  /* per-channel normalisation defaults (images; applied by the pipeline) */
  sb_split train, test;
} sb_dataset;

/* Everything that decides how a dataset is decoded: the cache key. */
typedef struct {
  char name[32];       /* see sb_dataset_names() */
  char path[512];      /* directory (or archive) holding the files; unused by "synthetic" */
  char labels[8];      /* cifar100: "fine" or "coarse" */
  int synthetic_shape[3];
  int synthetic_classes;
  long synthetic_samples;
} sb_data_source;

/* The default directory for a named dataset, NULL if it has none, "" if it reads no files. */
const char *sb_dataset_default_path(const char *name);
/* 0 if the dataset name is known. */
int sb_dataset_known(const char *name);
const char *const *sb_dataset_names(void);
/* One line: the format and layout data.path must point at. */
const char *sb_dataset_layout(const char *name);

/* Decodes (once per process) and returns a shared dataset. */
sb_status sb_dataset_get(const sb_data_source *src, const sb_dataset **out);
void sb_dataset_cache_clear(void);

/* Carves train / validation / test index lists for one cell. The validation set comes out of the
 * training split; sizes of 0 mean "all that is left". subset picks the samples:
 *   "random":     validation, then training samples from one seeded permutation; test: first N;
 *   "first":      validation from the seeded permutation, training = the first N of the rest in
 *                 file order; test: first N;
 *   "stratified": validation, training and test each keep the class proportions of their pool
 *                 (largest remainder), members drawn by seeded permutation within each class. */
typedef struct {
  int32_t *train, *val, *test;
  long n_train, n_val, n_test;
} sb_split_view;

sb_status sb_split_view_make(const sb_dataset *d, const char *subset, long train_size,
                             long val_size, long test_size, uint64_t split_seed,
                             sb_split_view *v);
void sb_split_view_free(sb_split_view *v);

/* `snnbench data info PATH`: detects the format (a file of any supported format, or a dataset
 * directory) and prints format, sample count, shape, class histogram, value range and, where the
 * official checksum is known, whether the file's MD5 matches. format may force a reader
 * (idx, cifar10, cifar100, nmnist, aedat3, cifar10-dvs) or be NULL. */
sb_status sb_data_info(const char *path, const char *format, FILE *out);

/* MD5 of a whole file, as 32 lowercase hex digits. */
sb_status sb_md5_file(const char *path, char hex[33]);
void sb_md5_buffer(const void *data, size_t n, char hex[33]);

#endif
