/* `snnbench data info PATH`: what a dataset file or directory holds, decoded by the same readers
 * training uses (so a file that info accepts, training accepts), and whether a file matches its
 * published MD5 where one is known. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/data_internal.h"

/* Published checksums: reference/HPC.md §5 (MNIST, CIFAR-10) and the md5sum list of
 * zalandoresearch/fashion-mnist. Fashion-MNIST reuses MNIST's file names, so a name can have two
 * official digests. */
typedef struct {
  const char *file, *dataset, *md5;
} official_md5;

static const official_md5 k_md5[] = {
    {"train-images-idx3-ubyte.gz", "MNIST", "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
    {"train-labels-idx1-ubyte.gz", "MNIST", "d53e105ee54ea40749a09fcbcd1e9432"},
    {"t10k-images-idx3-ubyte.gz", "MNIST", "9fb629c4189551a2d022fa330f9573f3"},
    {"t10k-labels-idx1-ubyte.gz", "MNIST", "ec29112dd5afa0611ce80d1b7f02629c"},
    {"train-images-idx3-ubyte.gz", "Fashion-MNIST", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
    {"train-labels-idx1-ubyte.gz", "Fashion-MNIST", "25c81989df183df01b3e8a0aad5dffbe"},
    {"t10k-images-idx3-ubyte.gz", "Fashion-MNIST", "bef4ecab320f06d8554ea6380940ec79"},
    {"t10k-labels-idx1-ubyte.gz", "Fashion-MNIST", "bb300cfdad3c16e7a12a480ee83cd310"},
    {"cifar-10-binary.tar.gz", "CIFAR-10", "c32a1d4ab5d03f1284b67883e8d87530"},
};
enum { N_MD5 = sizeof k_md5 / sizeof k_md5[0] };

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static int ends_with(const char *s, const char *suffix) {
  const size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

/* MD5 of a gzip file's decompressed content; *is_gzip 0 (and no digest) for a file that is not
 * gzip. */
static sb_status md5_decompressed(const char *path, int *is_gzip, char hex[33]) {
  gzFile gz = gzopen(path, "rb");
  if (!gz) return sb_fail(SB_EINPUT, "%s: cannot open", path);
  uint8_t buf[1 << 16];
  int got = gzread(gz, buf, sizeof buf);
  *is_gzip = !gzdirect(gz);
  sb_md5 m;
  sb_md5_init(&m);
  long total = 0;
  while (*is_gzip && got > 0) {
    sb_md5_update(&m, buf, (size_t)got);
    total += got;
    got = gzread(gz, buf, sizeof buf);
  }
  int errnum = Z_OK;
  const char *msg = gzerror(gz, &errnum);
  const int bad = *is_gzip && (got < 0 || (errnum != Z_OK && errnum != Z_STREAM_END));
  sb_status st = bad ? sb_fail(SB_EINPUT, "%s: corrupt or truncated gzip stream after %ld "
                               "decompressed bytes: %s", path, total, msg)
                     : SB_OK;
  gzclose(gz);
  if (!st && *is_gzip) sb_md5_final(&m, hex);
  return st;
}

static sb_status print_md5(const char *path, FILE *out) {
  char hex[33], inner[33];
  int is_gzip = 0;
  sb_status st = sb_md5_file(path, hex);
  if (!st) st = md5_decompressed(path, &is_gzip, inner);
  if (st) return st;
  const char *name = base_name(path);
  char expected[200] = "";
  int matched = 0;
  for (int i = 0; i < N_MD5 && !matched; i++) {
    if (strcmp(k_md5[i].file, name)) continue;
    if (!strcmp(k_md5[i].md5, hex)) {
      fprintf(out, "md5        %s  matches the official %s %s\n", hex, k_md5[i].dataset, name);
      matched = 1;
      break;
    }
    const size_t used = strlen(expected);
    snprintf(expected + used, sizeof expected - used, "%s%s %s", used ? ", " : "",
             k_md5[i].dataset, k_md5[i].md5);
  }
  if (!matched && expected[0]) {
    fprintf(out, "md5        %s  does NOT match the official checksum of %s (%s)\n", hex, name,
            expected);
    if (is_gzip)
      fprintf(out, "           the .gz file differs from the published one; a recompressed copy "
              "(Debian's dataset-fashion-mnist is one) differs in its gzip wrapper even when its "
              "content is identical: compare \"md5 data\" with a trusted copy's\n");
  } else if (!matched) {
    fprintf(out, "md5        %s  (no official checksum is known for this file name)\n", hex);
  }
  /* The published checksums are of the .gz files; the content's digest lets a user compare a
   * repacked file with a trusted copy (`gzip -dc FILE | md5sum`). */
  if (is_gzip)
    fprintf(out, "md5 data   %s  of the decompressed content (gzip -dc FILE | md5sum); snnbench "
            "knows no official checksum of it\n", inner);
  return SB_OK;
}

static void print_histogram(FILE *out, const char *indent, const int32_t *y, long n, int classes) {
  long *h = sb_xcalloc((unsigned long)classes, sizeof(long));
  for (long i = 0; i < n; i++)
    if (y[i] >= 0 && y[i] < classes) h[y[i]]++;
  fprintf(out, "%shistogram ", indent);
  for (int c = 0; c < classes; c++) fprintf(out, " %d:%ld", c, h[c]);
  fprintf(out, "\n");
  free(h);
}

static void print_image_split(FILE *out, const char *name, const sb_split *s, int classes) {
  char shape[64];
  const long numel = sb_shape_numel(s->shape);
  int lo = 255, hi = 0;
  double sum = 0;
  for (long i = 0; i < s->n * numel; i++) {
    const int v = s->u8[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sum += v;
  }
  fprintf(out, "%-10s %ld samples, shape %s, %d classes, pixel values %d..%d (mean %.1f)\n", name,
          s->n, sb_shape_str(s->shape, shape, sizeof shape), classes, s->n ? lo : 0, s->n ? hi : 0,
          s->n ? sum / ((double)s->n * numel) : 0.0);
  print_histogram(out, "  ", s->y, s->n, classes);
}

/* Ranges over a set of packed events. */
typedef struct {
  int64_t n;
  int xmin, xmax, ymin, ymax;
  int64_t on;
} event_ranges;

static void add_events(event_ranges *r, const uint16_t *xyp, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const int x = sb_event_x(xyp[i]), y = sb_event_y(xyp[i]);
    if (x < r->xmin) r->xmin = x;
    if (x > r->xmax) r->xmax = x;
    if (y < r->ymin) r->ymin = y;
    if (y > r->ymax) r->ymax = y;
    r->on += sb_event_p(xyp[i]);
  }
  r->n += n;
}

static void print_event_ranges(FILE *out, const char *indent, const event_ranges *r) {
  if (!r->n) {
    fprintf(out, "%sno events\n", indent);
    return;
  }
  fprintf(out, "%sx %d..%d, y %d..%d, ON (p=1) %.1f%% of %lld events\n", indent, r->xmin, r->xmax,
          r->ymin, r->ymax, 100.0 * (double)r->on / (double)r->n, (long long)r->n);
}

static void print_event_split(FILE *out, const char *name, const sb_split *s, int classes) {
  char shape[64];
  int64_t emin = INT64_MAX, emax = 0;
  uint32_t smin = UINT32_MAX, smax = 0;
  event_ranges r = {0, INT_MAX, -1, INT_MAX, -1, 0};
  for (long i = 0; i < s->n; i++) {
    const int64_t a = s->ev_off[i], n = s->ev_off[i + 1] - a;
    if (n < emin) emin = n;
    if (n > emax) emax = n;
    const uint32_t span = sb_events_span(s->ev_t + a, n);
    if (span < smin) smin = span;
    if (span > smax) smax = span;
    add_events(&r, s->ev_xyp + a, n);
  }
  fprintf(out, "%-10s %ld samples, frames of %s (T frames per sample, set by timesteps), %d "
          "classes\n", name, s->n, sb_shape_str(s->shape, shape, sizeof shape), classes);
  print_histogram(out, "  ", s->y, s->n, classes);
  if (s->n)
    fprintf(out, "  events per sample %lld..%lld (mean %.1f), duration %u..%u µs\n",
            (long long)emin, (long long)emax, (double)r.n / (double)s->n, smin, smax);
  print_event_ranges(out, "  ", &r);
}

/* ------------------------------------------------------------------ single files */

static sb_status info_idx(const char *path, FILE *out) {
  gzFile gz = gzopen(path, "rb");
  if (!gz) return sb_fail(SB_EINPUT, "%s: cannot open", path);
  uint8_t m[4] = {0};
  const int got = gzread(gz, m, 4);
  const int direct = gzdirect(gz);
  gzclose(gz);
  if (got < 4) return sb_fail(SB_EINPUT, "%s: truncated at byte %d: an IDX file starts with a 4-byte "
                              "magic", path, got < 0 ? 0 : got);
  const int ndim = m[0] == 0 && m[1] == 0 && m[2] == 8 && (m[3] == 1 || m[3] == 3) ? m[3] : 3;
  sb_idx idx;
  sb_status st = sb_idx_read(path, ndim, &idx);
  if (st) return st;
  const char *kind = direct ? "raw" : "gzip";
  if (ndim == 1) {
    int hi = 0;
    for (long i = 0; i < idx.count; i++)
      if (idx.data[i] > hi) hi = idx.data[i];
    int32_t *y = sb_xmalloc((unsigned long)idx.count * sizeof(int32_t));
    for (long i = 0; i < idx.count; i++) y[i] = idx.data[i];
    fprintf(out, "format     IDX labels (%s), magic 0x00000801\n", kind);
    fprintf(out, "samples    %ld\n", idx.count);
    fprintf(out, "labels     0..%d\n", hi);
    print_histogram(out, "", y, idx.count, hi + 1);
    free(y);
  } else {
    int lo = 255, hi = 0;
    double sum = 0;
    const long n = idx.count * idx.dims[1] * idx.dims[2];
    for (long i = 0; i < n; i++) {
      if (idx.data[i] < lo) lo = idx.data[i];
      if (idx.data[i] > hi) hi = idx.data[i];
      sum += idx.data[i];
    }
    fprintf(out, "format     IDX images (%s), magic 0x00000803\n", kind);
    fprintf(out, "samples    %ld\n", idx.count);
    fprintf(out, "shape      1x%dx%d\n", idx.dims[1], idx.dims[2]);
    fprintf(out, "values     %d..%d (mean %.2f)\n", lo, hi, sum / (double)n);
  }
  sb_idx_free(&idx);
  return SB_OK;
}

static sb_status info_cifar_file(const char *path, int cifar100, FILE *out) {
  uint8_t *buf;
  long len;
  sb_status st = sb_read_file(path, 1L << 31, &buf, &len);
  if (st) return st;
  fprintf(out, "format     CIFAR-%d binary records (%d label byte%s + 3072 pixels)\n",
          cifar100 ? 100 : 10, cifar100 ? 2 : 1, cifar100 ? "s" : "");
  for (int which = 0; which < (cifar100 ? 2 : 1) && !st; which++) {
    sb_split_builder b;
    sb_builder_init_images(&b, 3072);
    st = sb_cifar_records(path, buf, len, 0, cifar100 ? 2 : 1, which, &b);
    if (st) {
      sb_builder_free(&b);
      break;
    }
    sb_split s;
    sb_builder_finish(&b, &s);
    s.shape = (sb_shape){3, {3, 32, 32}};
    print_image_split(out, !cifar100 ? "records" : which ? "fine" : "coarse", &s,
                      !cifar100 ? 10 : which ? 100 : 20);
    sb_split_free(&s);
  }
  free(buf);
  return st;
}

static sb_status info_events_file(const char *path, const char *format, FILE *out) {
  sb_event_list l = {0};
  sb_status st;
  if (!strcmp(format, "nmnist")) {
    if ((st = sb_nmnist_read(path, &l))) return st;
    fprintf(out, "format     N-MNIST / ATIS events (5 bytes each), sensor 34x34\n");
    /* The folder names the class in the N-MNIST layout. */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    const char *cls = base_name(dir);
    if (slash && strlen(cls) == 1 && cls[0] >= '0' && cls[0] <= '9')
      fprintf(out, "label      %s (from the folder name)\n", cls);
  } else if (!strcmp(format, "aedat3")) {
    sb_aedat_stats s;
    if ((st = sb_aedat3_read(path, &l, &s))) return st;
    fprintf(out, "format     AEDAT 3.1, %ld header bytes, %ld packets (%ld not polarity, skipped), "
            "sensor 128x128\n", s.header_bytes, s.packets, s.other_packets);
    if (s.invalid) fprintf(out, "invalid    %ld events with the valid mark cleared, skipped\n", s.invalid);
  } else {
    long header;
    if ((st = sb_aedat2_cifar10dvs_read(path, &l, &header))) return st;
    fprintf(out, "format     AEDAT 2.0 (CIFAR10-DVS address layout, remapped), %ld header bytes, "
            "sensor 128x128\n", header);
  }
  event_ranges r = {0, INT_MAX, -1, INT_MAX, -1, 0};
  add_events(&r, l.xyp, l.n);
  int64_t tmin = INT64_MAX, tmax = INT64_MIN;
  for (int64_t i = 0; i < l.n; i++) {
    if (l.t[i] < tmin) tmin = l.t[i];
    if (l.t[i] > tmax) tmax = l.t[i];
  }
  fprintf(out, "events     %lld\n", (long long)l.n);
  if (l.n) fprintf(out, "time       %lld..%lld µs (span %lld)\n", (long long)tmin, (long long)tmax,
                   (long long)(tmax - tmin));
  print_event_ranges(out, "values     ", &r);
  sb_event_list_free(&l);
  return SB_OK;
}

/* Which CIFAR archive a tar holds, from its member names. */
static sb_status note_member(void *user, const char *name, const uint8_t *d, long size, long off) {
  (void)d;
  (void)size;
  (void)off;
  int *kind = user;
  if (strstr(name, "cifar-10-batches-bin/")) *kind = 10;
  if (strstr(name, "cifar-100-binary/")) *kind = 100;
  return SB_OK;
}

/* ------------------------------------------------------------------ datasets */

static sb_status info_dataset(const char *path, const char *format, FILE *out) {
  sb_split tr, te;
  sb_status st;
  memset(&tr, 0, sizeof tr);
  memset(&te, 0, sizeof te);
  int classes = 10, events = 0;
  if (!strcmp(format, "cifar10")) {
    st = sb_cifar_load(path, 0, 0, &tr, &te);
    fprintf(out, "format     CIFAR-10 binary\n");
  } else if (!strcmp(format, "cifar100")) {
    /* Both label sets; the coarse ones first. */
    if ((st = sb_cifar_load(path, 1, 1, &tr, &te))) return st;
    fprintf(out, "format     CIFAR-100 binary (coarse labels, then fine)\n");
    print_image_split(out, "train", &tr, 20);
    print_image_split(out, "test", &te, 20);
    sb_split_free(&tr);
    sb_split_free(&te);
    st = sb_cifar_load(path, 1, 0, &tr, &te);
    classes = 100;
  } else if (!strcmp(format, "nmnist")) {
    st = sb_nmnist_load(path, &tr, &te);
    events = 1;
    fprintf(out, "format     N-MNIST (Train/ and Test/, one folder per digit of ATIS .bin files)\n");
  } else if (!strcmp(format, "dvs-gesture")) {
    st = sb_gesture_load(path, &tr, &te);
    classes = 11;
    events = 1;
    fprintf(out, "format     DVS128 Gesture (AEDAT 3.1 recordings split by their label CSVs)\n");
  } else {
    st = sb_cifar10dvs_load(path, &tr, &te);
    events = 1;
    fprintf(out, "format     CIFAR10-DVS (AEDAT 2.0 per recording; test split = recordings 0..99 "
            "of each class)\n");
  }
  if (st) return st;
  if (events) {
    print_event_split(out, "train", &tr, classes);
    print_event_split(out, "test", &te, classes);
  } else {
    print_image_split(out, "train", &tr, classes);
    print_image_split(out, "test", &te, classes);
  }
  sb_split_free(&tr);
  sb_split_free(&te);
  return SB_OK;
}

/* The sample count of an IDX header (big-endian at byte 4), or -1 when the file does not start
 * with an IDX header (info_idx then reports what is wrong with it). */
static long idx_header_count(const char *path, int *is_gzip) {
  gzFile gz = gzopen(path, "rb");
  if (!gz) return -1;
  uint8_t h[8];
  const int got = gzread(gz, h, 8);
  *is_gzip = !gzdirect(gz);
  gzclose(gz);
  if (got < 8 || h[0] || h[1] || h[2] != 8) return -1;
  return (long)((uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7]);
}

static sb_status info_idx_dir(const char *path, FILE *out) {
  static const char *const stems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                       "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  char files[4][1200];
  for (int i = 0; i < 4; i++) {
    snprintf(files[i], sizeof files[i], "%s/%s.gz", path, stems[i]);
    if (!sb_is_file(files[i])) snprintf(files[i], sizeof files[i], "%s/%s", path, stems[i]);
    if (!sb_is_file(files[i])) files[i][0] = 0;
  }
  /* Training refuses a split whose images and labels disagree in number: so does info. */
  for (int s = 0; s < 4; s += 2) {
    if (!files[s][0] || !files[s + 1][0]) continue;
    sb_idx images = {0}, labels = {0};
    images.count = idx_header_count(files[s], &images.gzip);
    labels.count = idx_header_count(files[s + 1], &labels.gzip);
    if (images.count >= 0 && labels.count >= 0 && images.count != labels.count)
      return sb_idx_count_mismatch(files[s + 1], &labels, files[s], &images);
  }
  int found = 0;
  for (int i = 0; i < 4; i++) {
    if (!files[i][0]) continue;
    found++;
    fprintf(out, "%sfile       %s\n", found > 1 ? "\n" : "", files[i]);
    sb_status st = info_idx(files[i], out);
    if (!st) st = print_md5(files[i], out);
    if (st) return st;
  }
  return SB_OK;
}

/* The format of a directory, from the files that identify each layout. */
static const char *detect_dir(const char *path) {
  char p[1200];
  static const struct {
    const char *marker, *format;
  } k[] = {{"train-images-idx3-ubyte.gz", "idx"},      {"train-images-idx3-ubyte", "idx"},
           {"t10k-images-idx3-ubyte.gz", "idx"},       {"t10k-images-idx3-ubyte", "idx"},
           {"data_batch_1.bin", "cifar10"},            {"cifar-10-batches-bin", "cifar10"},
           {"train.bin", "cifar100"},                  {"cifar-100-binary", "cifar100"},
           {"Train", "nmnist"},                        {"trials_to_train.txt", "dvs-gesture"},
           {"airplane", "cifar10-dvs"}};
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", path, k[i].marker);
    if (sb_is_file(p) || sb_is_dir(p)) return k[i].format;
  }
  return NULL;
}

static sb_status detect_file(const char *path, const char **format) {
  const char *name = base_name(path);
  *format = NULL;
  if (ends_with(name, ".tar.gz") || ends_with(name, ".tgz") || ends_with(name, ".tar")) {
    *format = "archive";
  } else if (ends_with(name, ".aedat")) {
    FILE *f = fopen(path, "rb");
    char line[16] = {0};
    if (f) {
      if (!fgets(line, sizeof line, f)) line[0] = 0;
      fclose(f);
    }
    *format = !strncmp(line, "#!AER-DAT3", 10) ? "aedat3" : "cifar10-dvs";
  } else if (!strcmp(name, "train.bin") || !strcmp(name, "test.bin")) {
    *format = "cifar100";
  } else if (!strncmp(name, "data_batch_", 11) || !strcmp(name, "test_batch.bin")) {
    *format = "cifar10";
  } else if (ends_with(name, ".bin")) {
    *format = "nmnist";
  } else if (strstr(name, "-ubyte") || ends_with(name, ".idx") || ends_with(name, ".gz")) {
    *format = "idx";
  }
  if (!*format)
    return sb_fail(SB_EINPUT, "%s: cannot tell the format from the name; pass --format idx, "
                   "cifar10, cifar100, nmnist, aedat3 or cifar10-dvs", path);
  return SB_OK;
}

static const char *const k_formats[] = {"idx",    "cifar10",     "cifar100", "nmnist",
                                        "aedat3", "cifar10-dvs", "dvs-gesture", NULL};

sb_status sb_data_info(const char *path, const char *format, FILE *out) {
  if (format) {
    int ok = 0;
    for (int i = 0; k_formats[i]; i++) ok |= !strcmp(k_formats[i], format);
    if (!ok)
      return sb_fail(SB_EINPUT, "--format: unknown format \"%s\" (idx, cifar10, cifar100, nmnist, "
                     "aedat3, cifar10-dvs, dvs-gesture)", format);
  }
  fprintf(out, "path       %s\n", path);
  if (sb_is_dir(path)) {
    const char *f = format ? format : detect_dir(path);
    if (!f)
      return sb_fail(SB_EINPUT, "%s: no dataset layout recognised (IDX files, CIFAR binary files, "
                     "N-MNIST Train/, DvsGesture trials lists, CIFAR10-DVS class folders); pass "
                     "--format", path);
    if (!strcmp(f, "idx")) return info_idx_dir(path, out);
    if (!strcmp(f, "aedat3"))
      return sb_fail(SB_EINPUT, "%s: --format aedat3 describes one recording, not a directory",
                     path);
    return info_dataset(path, f, out);
  }
  if (!sb_is_file(path)) return sb_fail(SB_EINPUT, "%s: no such file or directory", path);
  const char *f = format;
  sb_status st = SB_OK;
  if (!f && (st = detect_file(path, &f))) return st;
  if (!strcmp(f, "archive")) {
    int kind = 0;
    if ((st = sb_tar_walk(path, note_member, &kind))) return st;
    if (!kind)
      return sb_fail(SB_EINPUT, "%s: a tar archive without cifar-10-batches-bin/ or "
                     "cifar-100-binary/ members", path);
    st = info_dataset(path, kind == 10 ? "cifar10" : "cifar100", out);
  } else if (!strcmp(f, "idx")) {
    st = info_idx(path, out);
  } else if (!strcmp(f, "cifar10") || !strcmp(f, "cifar100")) {
    st = info_cifar_file(path, !strcmp(f, "cifar100"), out);
  } else if (!strcmp(f, "dvs-gesture")) {
    st = sb_fail(SB_EINPUT, "%s: --format dvs-gesture describes the DvsGesture directory; for one "
                 "recording use --format aedat3", path);
  } else {
    st = info_events_file(path, f, out);
  }
  if (!st) st = print_md5(path, out);
  return st;
}
