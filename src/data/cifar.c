/* CIFAR-10 and CIFAR-100, binary version: fixed-size records, no header.
 *   CIFAR-10:  <label byte 0..9> <3072 pixel bytes>                 = 3073 bytes
 *   CIFAR-100: <coarse label 0..19> <fine label 0..99> <3072 pixels> = 3074 bytes
 * Pixels are 1024 red, 1024 green, 1024 blue bytes, each plane row-major 32x32: already the
 * [C][H][W] layout the pipeline uses. Files: data_batch_1..5.bin + test_batch.bin (CIFAR-10),
 * train.bin + test.bin (CIFAR-100), in a directory or inside the published .tar.gz. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum { CIFAR_PIXELS = 3072 };

sb_status sb_cifar_records(const char *path, const uint8_t *buf, long len, long base,
                           int label_bytes, int label_byte, sb_split_builder *b) {
  const long rec = label_bytes + CIFAR_PIXELS;
  const int which = label_bytes == 1 ? 10 : 100;
  if (len == 0)
    return sb_fail(SB_EINPUT, "%s: empty: expected %ld-byte CIFAR-%d records", path, rec, which);
  if (len % rec)
    return sb_fail(SB_EINPUT, "%s: %ld bytes is not a whole number of %ld-byte CIFAR-%d records: "
                   "record %ld is cut short at byte %ld", path, len, rec, which, len / rec,
                   base + len);
  for (long off = 0; off < len; off += rec) {
    /* Both label bytes of a CIFAR-100 record are checked, whichever one is used. */
    for (int k = 0; k < label_bytes; k++) {
      const int limit = label_bytes == 1 ? 10 : k == 0 ? 20 : 100;
      if (buf[off + k] >= limit)
        return sb_fail(SB_EINPUT, "%s: %s %d at byte %ld (record %ld) is outside 0..%d", path,
                       label_bytes == 1 ? "label" : k == 0 ? "coarse label" : "fine label",
                       buf[off + k], base + off + k, off / rec, limit - 1);
    }
    sb_builder_add_image(b, buf + off + label_bytes, buf[off + label_byte]);
  }
  return SB_OK;
}

/* The files of one variant, in the order their records are concatenated. */
typedef struct {
  const char *names[6];
  int n_train;  /* the first n_train names make the training split, the rest the test split */
  int n;
  const char *subdir;  /* the folder the archive unpacks to */
} cifar_layout;

static const cifar_layout k_cifar10 = {
    {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
     "data_batch_5.bin", "test_batch.bin"},
    5, 6, "cifar-10-batches-bin"};
static const cifar_layout k_cifar100 = {{"train.bin", "test.bin"}, 1, 2, "cifar-100-binary"};

/* Archive members, captured by name while walking the tar. */
typedef struct {
  const cifar_layout *layout;
  uint8_t *data[6];
  long size[6], offset[6];
} archive_slots;

static sb_status capture_member(void *user, const char *name, const uint8_t *data, long size,
                                long offset) {
  archive_slots *s = user;
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  for (int i = 0; i < s->layout->n; i++) {
    if (strcmp(base, s->layout->names[i]) || s->data[i]) continue;
    s->data[i] = sb_xmalloc((unsigned long)(size ? size : 1));
    memcpy(s->data[i], data, (size_t)size);
    s->size[i] = size;
    s->offset[i] = offset;
  }
  return SB_OK;
}

sb_status sb_cifar_load(const char *path, int cifar100, int coarse, sb_split *train,
                        sb_split *test) {
  const cifar_layout *L = cifar100 ? &k_cifar100 : &k_cifar10;
  const int label_bytes = cifar100 ? 2 : 1;
  const int label_byte = cifar100 ? (coarse ? 0 : 1) : 0;
  sb_split_builder btrain, btest;
  sb_builder_init_images(&btrain, CIFAR_PIXELS);
  sb_builder_init_images(&btest, CIFAR_PIXELS);
  sb_status st = SB_OK;

  if (sb_is_dir(path)) {
    /* The directory holding the .bin files, or the one the archive was unpacked in. */
    char dir[1024], file[1300];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(file, sizeof file, "%s/%s", path, L->names[0]);
    if (!sb_is_file(file)) {
      snprintf(dir, sizeof dir, "%s/%s", path, L->subdir);
      snprintf(file, sizeof file, "%s/%s", dir, L->names[0]);
      if (!sb_is_file(file)) {
        st = sb_fail(SB_EINPUT, "%s/%s: not found (nor under %s/%s/): set data.path to the "
                     "directory of the CIFAR-%d binary files or to the .tar.gz", path,
                     L->names[0], path, L->subdir, cifar100 ? 100 : 10);
        goto done;
      }
    }
    for (int i = 0; i < L->n && !st; i++) {
      snprintf(file, sizeof file, "%s/%s", dir, L->names[i]);
      uint8_t *buf;
      long len;
      if ((st = sb_read_file(file, 1L << 31, &buf, &len))) break;
      st = sb_cifar_records(file, buf, len, 0, label_bytes, label_byte,
                            i < L->n_train ? &btrain : &btest);
      free(buf);
    }
  } else if (sb_is_file(path)) {
    archive_slots slots = {.layout = L};
    st = sb_tar_walk(path, capture_member, &slots);
    for (int i = 0; i < L->n && !st; i++) {
      if (!slots.data[i]) {
        st = sb_fail(SB_EINPUT, "%s: the archive has no %s/%s", path, L->subdir, L->names[i]);
        break;
      }
      char member[600];
      snprintf(member, sizeof member, "%s (member %s; byte offsets count in the decompressed "
               "archive)", path, L->names[i]);
      st = sb_cifar_records(member, slots.data[i], slots.size[i], slots.offset[i], label_bytes,
                            label_byte, i < L->n_train ? &btrain : &btest);
    }
    for (int i = 0; i < L->n; i++) free(slots.data[i]);
  } else {
    st = sb_fail(SB_EINPUT, "%s: not found (dataset cifar%s: set data.path to the directory of "
                 "the binary files or to the .tar.gz)", path, cifar100 ? "100" : "10");
  }
done:
  if (st) {
    sb_builder_free(&btrain);
    sb_builder_free(&btest);
    return st;
  }
  sb_builder_finish(&btrain, train);
  sb_builder_finish(&btest, test);
  train->shape = test->shape = (sb_shape){3, {3, 32, 32}};
  return SB_OK;
}
