/* N-MNIST: one ATIS .bin file per sample, 5 bytes (40 bits) per event:
 *   byte 0 x, byte 1 y, byte 2 bit 7 polarity, bits 22..0 (bytes 2..4, big-endian) time in µs,
 * on a 34x34 sensor (SpikingJelly's load_ATIS_bin; reference/SEED-REPOS.md §1.5).
 * Layout: DIR/Train/<digit>/<name>.bin and DIR/Test/<digit>/<name>.bin, digit 0..9 = label. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum { NMNIST_SIZE = 34, NMNIST_EVENT = 5 };

sb_status sb_nmnist_read(const char *path, sb_event_list *l) {
  uint8_t *b;
  long len;
  sb_status st = sb_read_file(path, 1L << 30, &b, &len);
  if (st) return st;
  l->n = 0;
  if (len % NMNIST_EVENT) {
    st = sb_fail(SB_EINPUT, "%s: truncated event stream: %ld bytes is not a whole number of "
                 "5-byte events; the last event, from byte %ld, has only %ld byte%s", path, len,
                 len - len % NMNIST_EVENT, len % NMNIST_EVENT, len % NMNIST_EVENT == 1 ? "" : "s");
    free(b);
    return st;
  }
  for (long off = 0; off < len; off += NMNIST_EVENT) {
    const int x = b[off], y = b[off + 1], p = b[off + 2] >> 7;
    const int64_t t = (int64_t)(b[off + 2] & 0x7F) << 16 | (int64_t)b[off + 3] << 8 | b[off + 4];
    if (x >= NMNIST_SIZE || y >= NMNIST_SIZE) {
      st = sb_fail(SB_EINPUT, "%s: event %ld at byte %ld: (x=%d, y=%d) is outside the 34x34 "
                   "sensor", path, off / NMNIST_EVENT, off, x, y);
      break;
    }
    sb_event_list_push(l, sb_event_pack(x, y, p), t);
  }
  free(b);
  return st;
}

static sb_status load_split(const char *dir, const char *split, sb_event_list *l, sb_split *s) {
  char sdir[1100];
  snprintf(sdir, sizeof sdir, "%s/%s", dir, split);
  if (!sb_is_dir(sdir))
    return sb_fail(SB_EINPUT, "%s: not found (dataset nmnist: data.path must hold Train/ and "
                   "Test/, each with one folder per digit 0..9 of .bin files)", sdir);
  char **classes;
  long n_classes;
  sb_status st = sb_list_dir(sdir, "", 1, &classes, &n_classes);
  if (st) return st;
  for (long i = 0; i < n_classes && !st; i++)
    if (strlen(classes[i]) != 1 || classes[i][0] < '0' || classes[i][0] > '9')
      st = sb_fail(SB_EINPUT, "%s/%s: unexpected folder (N-MNIST class folders are 0..9)", sdir,
                   classes[i]);
  if (!st && n_classes != 10)
    st = sb_fail(SB_EINPUT, "%s: %ld class folders, expected the 10 digits 0..9", sdir, n_classes);
  sb_free_names(classes, n_classes);
  if (st) return st;

  sb_split_builder b;
  sb_builder_init_events(&b);
  for (int digit = 0; digit < 10 && !st; digit++) {
    char cdir[1200];
    snprintf(cdir, sizeof cdir, "%s/%d", sdir, digit);
    char **files;
    long n_files;
    if ((st = sb_list_dir(cdir, ".bin", 0, &files, &n_files))) break;
    for (long f = 0; f < n_files && !st; f++) {
      char path[1500];
      snprintf(path, sizeof path, "%s/%s", cdir, files[f]);
      if (!(st = sb_nmnist_read(path, l)))
        st = sb_builder_add_events(&b, l, INT64_MIN, INT64_MAX, digit, path);
    }
    sb_free_names(files, n_files);
  }
  if (st) {
    sb_builder_free(&b);
    return st;
  }
  sb_builder_finish(&b, s);
  s->shape = (sb_shape){3, {2, NMNIST_SIZE, NMNIST_SIZE}};
  return SB_OK;
}

sb_status sb_nmnist_load(const char *dir, sb_split *train, sb_split *test) {
  sb_event_list l = {0};
  sb_status st = load_split(dir, "Train", &l, train);
  if (!st && (st = load_split(dir, "Test", &l, test))) sb_split_free(train);
  sb_event_list_free(&l);
  return st;
}
