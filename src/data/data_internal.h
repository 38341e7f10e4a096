/* Internal to src/data (and its tests): the readers of each on-disk format, the builders that
 * collect decoded samples into an sb_split, event binning, encodings and augmentations. */
#ifndef SNNBENCH_DATA_INTERNAL_H
#define SNNBENCH_DATA_INTERNAL_H

#include <stdint.h>

#include "snnbench/data.h"
#include "snnbench/rng.h"

/* ------------------------------------------------------------------ files (files.c) */

/* Reads a whole regular file; refuses files above max_bytes with a clear message. */
sb_status sb_read_file(const char *path, long max_bytes, uint8_t **buf, long *len);
/* Sorted (strcmp) names in dir that end in suffix ("" for all), skipping dot files. dirs_only
 * keeps subdirectories only. The caller frees each name and the array. */
sb_status sb_list_dir(const char *dir, const char *suffix, int dirs_only, char ***names, long *n);
void sb_free_names(char **names, long n);
int sb_is_dir(const char *path);
int sb_is_file(const char *path);

/* ------------------------------------------------------------------ IDX (idx.c) */

/* " of the decompressed stream" for a gzip file, "" for a raw one: appended to "at byte N". */
const char *sb_idx_offset_note(const sb_idx *idx);
/* The error for an images file and a labels file whose header counts (byte 4 of each) differ;
 * only count and gzip of the two need to be set. */
sb_status sb_idx_count_mismatch(const char *labels_path, const sb_idx *labels,
                                const char *images_path, const sb_idx *images);

/* ------------------------------------------------------------------ split builders (events.c) */

/* Collects samples of one split while a reader decodes them. */
typedef struct {
  sb_data_kind kind;
  long n, cap;
  int32_t *y;
  long sample_bytes;    /* images: bytes per sample */
  uint8_t *u8;
  int64_t *off;         /* events: n + 1 offsets */
  int64_t n_ev, cap_ev;
  uint16_t *xyp;
  uint32_t *t;
} sb_split_builder;

void sb_builder_init_images(sb_split_builder *b, long sample_bytes);
void sb_builder_init_events(sb_split_builder *b);
/* Appends one image (sample_bytes bytes). */
void sb_builder_add_image(sb_split_builder *b, const uint8_t *pixels, int32_t label);

/* The events of one recording, decoded: packed addresses and absolute 64-bit times (µs). */
typedef struct {
  int64_t n, cap;
  uint16_t *xyp;
  int64_t *t;
} sb_event_list;

void sb_event_list_push(sb_event_list *l, uint16_t xyp, int64_t t);
void sb_event_list_free(sb_event_list *l);

/* Appends as one sample the events of l with t_lo <= t < t_hi (all of them with INT64_MIN,
 * INT64_MAX). Fails when the sample spans more than 2^32 - 1 µs; what names it in the message. */
sb_status sb_builder_add_events(sb_split_builder *b, const sb_event_list *l, int64_t t_lo,
                                int64_t t_hi, int32_t label, const char *what);
/* Moves the collected samples into s (shape set by the caller) and resets b. */
void sb_builder_finish(sb_split_builder *b, sb_split *s);
void sb_builder_free(sb_split_builder *b);
void sb_split_free(sb_split *s);

/* ------------------------------------------------------------------ readers */

/* CIFAR-10 (1 label byte) or CIFAR-100 (coarse, fine label bytes) records of 3072 pixel bytes.
 * label_byte selects which byte is the label (0 for CIFAR-10; 0 coarse or 1 fine for CIFAR-100).
 * buf/len is a whole file, or an archive member whose data starts at byte base. */
sb_status sb_cifar_records(const char *path, const uint8_t *buf, long len, long base,
                           int label_bytes, int label_byte, sb_split_builder *b);
/* Loads a CIFAR-10 or CIFAR-100 directory (or for CIFAR-10 also cifar-10-binary.tar.gz). */
sb_status sb_cifar_load(const char *path, int cifar100, int coarse, sb_split *train,
                        sb_split *test);

/* Walks a tar archive (optionally gzip-compressed) and calls fn for each regular file. fn returns
 * SB_OK to continue. */
typedef sb_status (*sb_tar_fn)(void *user, const char *name, const uint8_t *data, long size,
                               long offset);
sb_status sb_tar_walk(const char *path, sb_tar_fn fn, void *user);

/* N-MNIST / ATIS .bin: 5 bytes per event, 34x34 sensor. */
sb_status sb_nmnist_read(const char *path, sb_event_list *l);
sb_status sb_nmnist_load(const char *dir, sb_split *train, sb_split *test);

/* AEDAT 3.1 polarity events (DVS128): header lines up to "#!END-HEADER\r\n", then packets. */
typedef struct {
  long header_bytes, packets, other_packets;  /* other: non-polarity packets, skipped */
  long invalid;                               /* polarity events with the valid mark cleared */
} sb_aedat_stats;
sb_status sb_aedat3_read(const char *path, sb_event_list *l, sb_aedat_stats *stats);
/* The AEDAT 2.0 (jAER) stream of CIFAR10-DVS: '#' header lines, big-endian (address, timestamp)
 * u32 pairs, decoded with the CIFAR10-DVS address layout and axis remap. */
sb_status sb_aedat2_cifar10dvs_read(const char *path, sb_event_list *l, long *header_bytes);

sb_status sb_gesture_load(const char *dir, sb_split *train, sb_split *test);
sb_status sb_cifar10dvs_load(const char *dir, sb_split *train, sb_split *test);

/* Deterministic random images: per-class prototypes plus noise, from the counter RNG. */
sb_status sb_synthetic_load(const sb_data_source *src, sb_split *train, sb_split *test);

/* ------------------------------------------------------------------ events to frames */

typedef enum { SB_SPLIT_BY_NUMBER = 0, SB_SPLIT_BY_TIME = 1 } sb_split_by;
typedef enum { SB_FRAMES_COUNTS = 0, SB_FRAMES_BY_CLIP = 1, SB_FRAMES_BY_MAX = 2 } sb_frame_norm;

/* Bins n events into T frames of [2][H][W] per-polarity counts, frame j at frames + j·stride
 * (overwritten; stride 2·H·W for one contiguous sample, larger to write straight into the
 * model's time-major batch). By number (SpikingJelly split_by='number'): di = n / T, frame j
 * takes events [j·di, (j+1)·di) and the last frame runs to n. By time: dt = span / T µs
 * (integer), an event at t lands in frame min(t / dt, T - 1); the caller guarantees
 * span >= T for non-empty samples. */
void sb_events_to_frames(const uint16_t *xyp, const uint32_t *t, int64_t n, int T,
                         sb_split_by by, int H, int W, float *frames, long stride);
/* Clips the T frames of numel values (at frames + j·stride) at clip (0: no clipping), then
 * scales: by clip, by the sample's largest value, or not at all. */
void sb_frames_finish(float *frames, int T, long numel, long stride, int clip,
                      sb_frame_norm norm);
/* Largest time in a sample (its span, since times start at the earliest event). */
uint32_t sb_events_span(const uint32_t *t, int64_t n);

/* ------------------------------------------------------------------ encodings (encode.c) */

/* Rate: at each step t, value k spikes with probability clamp(v[k], 0, 1): a Philox draw
 * u < v[k], the draw for (t, k) being word k % 4 of block index + t·ceil(numel/4) + k/4.
 * out + t·t_stride receives step t. */
void sb_encode_rate(const float *v, long numel, int T, uint64_t seed, uint64_t stream,
                    uint64_t index, float *out, long t_stride);
/* Latency (SpikingJelly's linear LatencyEncoder): value k fires once, at step
 * round((T − 1)(1 − clamp(v[k], 0, 1))); brighter fires earlier, 0 fires at the last step. */
void sb_encode_latency(const float *v, long numel, int T, float *out, long t_stride);

/* ------------------------------------------------------------------ augmentation (augment.c) */

typedef struct {
  int crop_padding;          /* random crop after zero padding by this many pixels */
  float hflip;               /* probability of a horizontal flip */
  float degrees, translate;  /* random affine: rotation in [-deg, deg], shift up to translate·size */
  float scale_min, scale_max;
  float erase;               /* probability of random erasing */
} sb_augment_cfg;

int sb_augment_geometric(const sb_augment_cfg *a);
/* Applies the random affine, then the padded crop, then the flip to P planes of HxW (one draw for
 * all planes). src holds the sample and tmp is scratch of the same size; returns whichever of the
 * two holds the result. */
float *sb_augment_geometry(const sb_augment_cfg *a, sb_rng *r, float *src, float *tmp, int P,
                           int H, int W);
/* The fixed transforms behind it (tests check them against hand-made expectations). */
void sb_affine_apply(const float *src, float *dst, int P, int H, int W, float angle, int tx,
                     int ty, float scale);
void sb_shift_flip_apply(const float *src, float *dst, int P, int H, int W, int dx, int dy,
                         int flip);
/* Random erasing (torchvision's RandomErasing, value 0) on P planes of HxW. */
void sb_augment_erase(const sb_augment_cfg *a, sb_rng *r, float *x, int P, int H, int W);
/* Beta(a, b) sample from two gamma draws (Marsaglia-Tsang). */
double sb_sample_beta(sb_rng *r, double a, double b);

/* ------------------------------------------------------------------ md5 (md5.c) */

typedef struct {
  uint32_t state[4];
  uint64_t bytes;
  uint8_t block[64];
} sb_md5;

void sb_md5_init(sb_md5 *m);
void sb_md5_update(sb_md5 *m, const void *data, size_t n);
void sb_md5_final(sb_md5 *m, char hex[33]);

#endif
