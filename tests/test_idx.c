/* IDX reading: exact decoding of raw and gzip files, and one clear error (file, offset, problem,
 * exit code 2) for every malformed variant. With an argument, also decodes the real MNIST test
 * split found in that directory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "snnbench/data.h"

static char g_dir[256];

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static void write_raw(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(b, 1, n, f);
  fclose(f);
}

static void write_gz(const char *path, const unsigned char *b, size_t n) {
  gzFile g = gzopen(path, "wb");
  gzwrite(g, b, (unsigned)n);
  gzclose(g);
}

/* count images of rows x cols, pixel value = (i*7 + k) mod 256. */
static size_t make_images(unsigned char *buf, uint32_t magic, uint32_t count, uint32_t rows,
                          uint32_t cols, uint32_t actual) {
  put_be32(buf, magic);
  put_be32(buf + 4, count);
  put_be32(buf + 8, rows);
  put_be32(buf + 12, cols);
  size_t n = 16;
  for (uint32_t i = 0; i < actual * rows * cols; i++) buf[n++] = (unsigned char)((i * 7) % 256);
  return n;
}

static size_t make_labels(unsigned char *buf, uint32_t count, const unsigned char *labels,
                          uint32_t actual) {
  put_be32(buf, 0x801);
  put_be32(buf + 4, count);
  memcpy(buf + 8, labels, actual);
  return 8 + actual;
}

static char *path(const char *name) {
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", g_dir, name);
  return p;
}

static void expect_error(const char *file, int ndim, const char *needle) {
  sb_clear_error();
  sb_idx idx;
  sb_status st = sb_idx_read(path(file), ndim, &idx);
  CHECK_MSG(st == SB_EINPUT, "%s: expected SB_EINPUT, got %d", file, st);
  CHECK_MSG(strstr(sb_errmsg(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", file,
            sb_errmsg(), needle);
  CHECK_MSG(strstr(sb_errmsg(), file) != NULL, "message \"%s\" does not name the file", sb_errmsg());
  CHECK_MSG(strchr(sb_errmsg(), '\n') == NULL, "message is not one line");
  if (!st) sb_idx_free(&idx);
}

static void valid_files(void) {
  unsigned char buf[4096];
  size_t n = make_images(buf, 0x803, 3, 2, 3, 3);
  write_raw(path("ok-images"), buf, n);
  write_gz(path("ok-images.gz"), buf, n);
  for (int gz = 0; gz < 2; gz++) {
    sb_idx idx;
    sb_clear_error();
    sb_status st = sb_idx_read(path(gz ? "ok-images.gz" : "ok-images"), 3, &idx);
    CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
    if (st) continue;
    CHECK(idx.count == 3 && idx.dims[1] == 2 && idx.dims[2] == 3);
    int exact = 1;
    for (int i = 0; i < 18; i++) exact &= idx.data[i] == (unsigned char)((i * 7) % 256);
    CHECK(exact);
    sb_idx_free(&idx);
  }
}

static void malformed_files(void) {
  unsigned char buf[4096];
  size_t n;
  /* Header promises 4 images, 3 present. */
  n = make_images(buf, 0x803, 4, 2, 3, 3);
  write_raw(path("truncated-images"), buf, n);
  expect_error("truncated-images", 3, "truncated");
  CHECK(strstr(sb_errmsg(), "decompressed") == NULL); /* a raw file's offsets are its own */
  write_gz(path("truncated-images.gz"), buf, n);
  expect_error("truncated-images.gz", 3, "but the data ends at byte 34 of the decompressed stream");
  /* Header says 2 images, 3 present: the count does not match the data. */
  n = make_images(buf, 0x803, 2, 2, 3, 3);
  write_raw(path("count-mismatch"), buf, n);
  expect_error("count-mismatch", 3, "the count 2 at byte 4 does not match");
  write_gz(path("count-mismatch.gz"), buf, n);
  expect_error("count-mismatch.gz", 3, "from byte 28 of the decompressed stream");
  /* Labels magic where images are expected, and a garbage magic. */
  n = make_images(buf, 0x801, 3, 2, 3, 3);
  write_raw(path("wrong-magic"), buf, n);
  expect_error("wrong-magic", 3, "bad magic");
  n = make_images(buf, 0x12345678, 3, 2, 3, 3);
  write_raw(path("garbage-magic"), buf, n);
  expect_error("garbage-magic", 3, "bad magic");
  /* Cut inside the header. */
  n = make_images(buf, 0x803, 3, 2, 3, 3);
  write_raw(path("short-header"), buf, 10);
  expect_error("short-header", 3, "truncated");
  write_raw(path("empty"), buf, 0);
  expect_error("empty", 3, "truncated");
  /* A gzip stream cut in half. */
  n = make_images(buf, 0x803, 3, 20, 20, 3);
  write_gz(path("full.gz"), buf, n);
  FILE *f = fopen(path("full.gz"), "rb");
  unsigned char gzbuf[8192];
  size_t gzn = fread(gzbuf, 1, sizeof gzbuf, f);
  fclose(f);
  write_raw(path("cut.gz"), gzbuf, gzn / 2);
  expect_error("cut.gz", 3, "gzip");
  expect_error("does-not-exist", 3, "cannot open");
}

/* A dataset directory whose files disagree with each other. */
static void dataset_errors(void) {
  unsigned char buf[4096], lab[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  char dir[300];
  snprintf(dir, sizeof dir, "%s/ds", g_dir);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
  CHECK(system(cmd) == 0);
  size_t n = make_images(buf, 0x803, 3, 28, 28, 3);
  snprintf(cmd, sizeof cmd, "%s/train-images-idx3-ubyte", dir);
  write_raw(cmd, buf, n);
  snprintf(cmd, sizeof cmd, "%s/t10k-images-idx3-ubyte.gz", dir);
  write_gz(cmd, buf, n);
  n = make_labels(buf, 2, lab, 2); /* 2 labels for 3 images */
  snprintf(cmd, sizeof cmd, "%s/train-labels-idx1-ubyte", dir);
  write_raw(cmd, buf, n);
  snprintf(cmd, sizeof cmd, "%s/t10k-labels-idx1-ubyte", dir);
  write_raw(cmd, buf, n);
  sb_data_source src = {.name = "mnist"};
  snprintf(src.path, sizeof src.path, "%s", dir);
  const sb_dataset *d;
  sb_clear_error();
  CHECK(sb_dataset_get(&src, &d) == SB_EINPUT);
  /* The mismatch names both header fields it compares (byte 4 of each file). */
  CHECK_MSG(strstr(sb_errmsg(), "train-labels-idx1-ubyte: the header counts 2 labels (byte 4), "
                   "but ") != NULL && strstr(sb_errmsg(), "counts 3 images (byte 4)") != NULL,
            "%s", sb_errmsg());
  /* Label out of range, in a raw file and in a gzip one (whose offset is in its decompressed
   * stream, and says so). */
  lab[1] = 10;
  n = make_labels(buf, 3, lab, 3);
  snprintf(cmd, sizeof cmd, "%s/train-labels-idx1-ubyte", dir);
  write_raw(cmd, buf, n);
  sb_clear_error();
  CHECK(sb_dataset_get(&src, &d) == SB_EINPUT);
  CHECK_MSG(strstr(sb_errmsg(), "label 10 at byte 9 is outside 0..9") != NULL, "%s", sb_errmsg());
  remove(cmd);
  snprintf(cmd, sizeof cmd, "%s/train-labels-idx1-ubyte.gz", dir);
  write_gz(cmd, buf, n);
  sb_clear_error();
  CHECK(sb_dataset_get(&src, &d) == SB_EINPUT);
  CHECK_MSG(strstr(sb_errmsg(), "label 10 at byte 9 of the decompressed stream is outside 0..9") !=
            NULL, "%s", sb_errmsg());
  remove(cmd);
  snprintf(cmd, sizeof cmd, "%s/train-labels-idx1-ubyte", dir);
  /* Fixed: decodes; pixels stay the file's bytes (the pipeline scales and normalises them). */
  lab[1] = 2;
  n = make_labels(buf, 3, lab, 3);
  write_raw(cmd, buf, n);
  snprintf(cmd, sizeof cmd, "%s/t10k-labels-idx1-ubyte", dir);
  write_raw(cmd, buf, n);
  sb_clear_error();
  CHECK_MSG(sb_dataset_get(&src, &d) == SB_OK, "%s", sb_errmsg());
  if (d) {
    CHECK(d->train.n == 3 && d->test.n == 3 && d->train.y[1] == 2);
    CHECK(d->train.u8[1] == 7 && d->train.u8[3 * 28 * 28 - 1] == (3 * 28 * 28 - 1) * 7 % 256);
    CHECK(d->kind == SB_DATA_IMAGES && d->n_classes == 10);
    CHECK_NEAR(d->mean[0], 0.1307, 1e-6);
  }
  /* A missing directory names the file it looked for. */
  sb_data_source missing = {.name = "mnist"};
  snprintf(missing.path, sizeof missing.path, "%s/nowhere", g_dir);
  sb_clear_error();
  CHECK(sb_dataset_get(&missing, &d) == SB_EINPUT);
  CHECK_MSG(strstr(sb_errmsg(), "nowhere/train-images-idx3-ubyte") != NULL, "%s", sb_errmsg());
  sb_dataset_cache_clear();
}

static int real_mnist(const char *dir) {
  char p[600];
  sb_idx img, lab;
  snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", dir);
  CHECK_MSG(sb_idx_read(p, 3, &img) == SB_OK, "%s", sb_errmsg());
  snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", dir);
  CHECK_MSG(sb_idx_read(p, 1, &lab) == SB_OK, "%s", sb_errmsg());
  CHECK(img.count == 10000 && img.dims[1] == 28 && img.dims[2] == 28 && lab.count == 10000);
  /* The MNIST test split famously begins 7, 2, 1, 0, 4, 1, 4, 9, 5, 9. */
  const unsigned char first[10] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
  CHECK(memcmp(lab.data, first, 10) == 0);
  long hist[10] = {0};
  for (int i = 0; i < 10000; i++) hist[lab.data[i]]++;
  CHECK(hist[0] == 980 && hist[1] == 1135 && hist[9] == 1009);
  sb_idx_free(&img);
  sb_idx_free(&lab);
  return 0;
}

int main(int argc, char **argv) {
  snprintf(g_dir, sizeof g_dir, "/tmp/snnbench-test-idx-%ld", (long)getpid());
  char cmd[300];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", g_dir);
  if (system(cmd)) return 1;
  valid_files();
  malformed_files();
  dataset_errors();
  if (argc > 1) real_mnist(argv[1]);
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  if (system(cmd)) return 1;
  return check_exit("test_idx");
}
