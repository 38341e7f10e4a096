/* CIFAR-10 and CIFAR-100 binary: files written from the format description decode to the
 * expected pixels and labels, from a directory and from the .tar.gz; CIFAR-100 gives coarse or
 * fine labels; every malformed variant is one clear error naming file and byte offset. Also the
 * MD5 implementation, on RFC 1321's test vectors. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/data_internal.h"
#include "writers.h"

static char g_dir[256];
static uint8_t g_buf[8 * 3074 * 4];

static void expect_error(sb_status st, const char *needle, const char *file) {
  CHECK_MSG(st == SB_EINPUT, "expected SB_EINPUT for \"%s\", got %d", needle, st);
  CHECK_MSG(strstr(sb_errmsg(), needle) != NULL, "message \"%s\" lacks \"%s\"", sb_errmsg(), needle);
  CHECK_MSG(strstr(sb_errmsg(), file) != NULL, "message \"%s\" does not name %s", sb_errmsg(), file);
  CHECK_MSG(strchr(sb_errmsg(), '\n') == NULL, "message is not one line");
  sb_clear_error();
}

static int pixels_match(const sb_split *s, long sample, long record) {
  for (long k = 0; k < 3072; k++)
    if (s->u8[sample * 3072 + k] != tw_cifar_pixel(record, k)) return 0;
  return 1;
}

/* Five training batches of 2 records and a test batch of 3, labels i % 10. */
static void write_cifar10_dir(const char *dir) {
  tw_mkdir("%s", dir);
  char p[600];
  for (int b = 1; b <= 5; b++) {
    const uint8_t labels[2] = {(uint8_t)(2 * b % 10), (uint8_t)((2 * b + 1) % 10)};
    snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, b);
    tw_write(p, g_buf, tw_cifar_records(g_buf, 2, 1, labels));
  }
  const uint8_t test_labels[3] = {9, 0, 5};
  snprintf(p, sizeof p, "%s/test_batch.bin", dir);
  tw_write(p, g_buf, tw_cifar_records(g_buf, 3, 1, test_labels));
}

static void cifar10(void) {
  char dir[300];
  snprintf(dir, sizeof dir, "%s/c10", g_dir);
  write_cifar10_dir(dir);
  sb_split tr, te;
  sb_status st = sb_cifar_load(dir, 0, 0, &tr, &te);
  CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
  if (st) return;
  CHECK(tr.n == 10 && te.n == 3);
  CHECK(tr.shape.ndim == 3 && tr.shape.d[0] == 3 && tr.shape.d[1] == 32 && tr.shape.d[2] == 32);
  /* Batches in order 1..5; within a batch, record order. */
  CHECK(tr.y[0] == 2 && tr.y[1] == 3 && tr.y[8] == 0 && tr.y[9] == 1);
  CHECK(te.y[0] == 9 && te.y[1] == 0 && te.y[2] == 5);
  CHECK(pixels_match(&tr, 0, 0) && pixels_match(&tr, 1, 1) && pixels_match(&tr, 9, 1));
  CHECK(pixels_match(&te, 2, 2));
  /* Channel planes: red first. Pixel (c=1, y=0, x=5) of record 1 is byte 1024 + 5. */
  CHECK(tr.u8[3072 + 1029] == tw_cifar_pixel(1, 1029));
  sb_split_free(&tr);
  sb_split_free(&te);

  /* The parent folder the archive unpacks into also works. */
  char parent[300];
  snprintf(parent, sizeof parent, "%s/c10p", g_dir);
  char sub[400];
  snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", parent);
  write_cifar10_dir(sub);
  st = sb_cifar_load(parent, 0, 0, &tr, &te);
  CHECK_MSG(st == SB_OK && tr.n == 10, "%s", sb_errmsg());
  if (!st) {
    sb_split_free(&tr);
    sb_split_free(&te);
  }
}

static void cifar10_archive(void) {
  /* Members deliberately out of order: the reader orders them by name. */
  static uint8_t data[6][2 * 3073];
  const char *names[6] = {"cifar-10-batches-bin/test_batch.bin",
                          "cifar-10-batches-bin/data_batch_2.bin",
                          "cifar-10-batches-bin/data_batch_1.bin",
                          "cifar-10-batches-bin/data_batch_3.bin",
                          "cifar-10-batches-bin/data_batch_4.bin",
                          "cifar-10-batches-bin/data_batch_5.bin"};
  tw_member m[7];
  for (int i = 0; i < 6; i++) {
    const uint8_t labels[2] = {(uint8_t)i, 7};
    m[i] = (tw_member){names[i], data[i], tw_cifar_records(data[i], 2, 1, labels)};
  }
  m[6] = (tw_member){"cifar-10-batches-bin/readme.html", "<html></html>", 13};
  char path[400];
  snprintf(path, sizeof path, "%s/cifar-10-binary.tar.gz", g_dir);
  tw_tar_gz(path, m, 7);
  sb_split tr, te;
  sb_status st = sb_cifar_load(path, 0, 0, &tr, &te);
  CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
  if (st) return;
  CHECK(tr.n == 10 && te.n == 2);
  /* data_batch_1 (member 2, label 2) first, then data_batch_2 (label 1). */
  CHECK(tr.y[0] == 2 && tr.y[1] == 7 && tr.y[2] == 1 && te.y[0] == 0);
  CHECK(pixels_match(&tr, 1, 1) && pixels_match(&te, 0, 0));
  sb_split_free(&tr);
  sb_split_free(&te);

  /* A truncated archive, and one missing a member. */
  char cut[400];
  snprintf(cut, sizeof cut, "%s/cut.tar.gz", g_dir);
  FILE *f = fopen(path, "rb");
  static uint8_t gz[1 << 16];
  const size_t n = fread(gz, 1, sizeof gz, f);
  fclose(f);
  tw_write(cut, gz, n / 2);
  expect_error(sb_cifar_load(cut, 0, 0, &tr, &te), "truncated", "cut.tar.gz");
  char partial[400];
  snprintf(partial, sizeof partial, "%s/partial.tar.gz", g_dir);
  tw_tar_gz(partial, m, 3);
  expect_error(sb_cifar_load(partial, 0, 0, &tr, &te), "has no cifar-10-batches-bin/data_batch_3.bin",
               "partial.tar.gz");
  /* Not a tar at all (a gzip of text): the header checksum fails at byte 0. */
  char notar[400];
  snprintf(notar, sizeof notar, "%s/notar.tar.gz", g_dir);
  static char text[2048];
  memset(text, 'a', sizeof text);
  tw_write_gz(notar, text, sizeof text);
  expect_error(sb_cifar_load(notar, 0, 0, &tr, &te), "header checksum mismatch at byte 0",
               "notar.tar.gz");
  /* A bad label inside an archive member names the member and the decompressed offset. */
  data[3][0] = 10;  /* data_batch_3, record 0 */
  char badl[400];
  snprintf(badl, sizeof badl, "%s/badlabel.tar.gz", g_dir);
  tw_tar_gz(badl, m, 6);
  /* Each earlier member takes a 512-byte header and 6146 data bytes padded to 6656: data_batch_3
   * (the fourth member) starts at 3 * (512 + 6656) + 512 = 22016. */
  expect_error(sb_cifar_load(badl, 0, 0, &tr, &te), "label 10 at byte 22016 (record 0)",
               "member data_batch_3.bin");
}

static void cifar100(void) {
  char dir[300];
  snprintf(dir, sizeof dir, "%s/c100", g_dir);
  tw_mkdir("%s", dir);
  char p[400];
  const uint8_t train_labels[8] = {3, 33, 19, 99, 0, 0, 7, 71};  /* (coarse, fine) pairs */
  snprintf(p, sizeof p, "%s/train.bin", dir);
  tw_write(p, g_buf, tw_cifar_records(g_buf, 4, 2, train_labels));
  const uint8_t test_labels[2] = {11, 50};
  snprintf(p, sizeof p, "%s/test.bin", dir);
  tw_write(p, g_buf, tw_cifar_records(g_buf, 1, 2, test_labels));
  for (int coarse = 0; coarse < 2; coarse++) {
    sb_split tr, te;
    sb_status st = sb_cifar_load(dir, 1, coarse, &tr, &te);
    CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
    if (st) continue;
    CHECK(tr.n == 4 && te.n == 1);
    if (coarse)
      CHECK(tr.y[0] == 3 && tr.y[1] == 19 && tr.y[2] == 0 && tr.y[3] == 7 && te.y[0] == 11);
    else
      CHECK(tr.y[0] == 33 && tr.y[1] == 99 && tr.y[2] == 0 && tr.y[3] == 71 && te.y[0] == 50);
    CHECK(pixels_match(&tr, 3, 3) && pixels_match(&te, 0, 0));
    sb_split_free(&tr);
    sb_split_free(&te);
  }
  /* Through the dataset registry: coarse and fine are two cached datasets with 20 / 100 classes. */
  sb_data_source src = {.name = "cifar100"};
  snprintf(src.path, sizeof src.path, "%s", dir);
  snprintf(src.labels, sizeof src.labels, "coarse");
  const sb_dataset *dc = NULL, *df = NULL;
  CHECK_MSG(sb_dataset_get(&src, &dc) == SB_OK, "%s", sb_errmsg());
  snprintf(src.labels, sizeof src.labels, "fine");
  CHECK_MSG(sb_dataset_get(&src, &df) == SB_OK, "%s", sb_errmsg());
  if (dc && df) {
    CHECK(dc != df && dc->n_classes == 20 && df->n_classes == 100);
    CHECK(dc->train.y[1] == 19 && df->train.y[1] == 99);
    CHECK_NEAR(df->mean[2], 0.4408, 1e-6);
  }
  const sb_dataset *again = NULL;
  CHECK(sb_dataset_get(&src, &again) == SB_OK && again == df);  /* decoded once */
  sb_dataset_cache_clear();
}

static void malformed(void) {
  char dir[300], p[400];
  sb_split tr, te;
  snprintf(dir, sizeof dir, "%s/bad", g_dir);
  write_cifar10_dir(dir);
  /* A record cut short: 2 records minus 100 bytes. */
  const uint8_t labels[2] = {1, 2};
  snprintf(p, sizeof p, "%s/data_batch_4.bin", dir);
  tw_write(p, g_buf, tw_cifar_records(g_buf, 2, 1, labels) - 100);
  expect_error(sb_cifar_load(dir, 0, 0, &tr, &te),
               "6046 bytes is not a whole number of 3073-byte CIFAR-10 records: record 1 is cut "
               "short at byte 6046", "data_batch_4.bin");
  /* A CIFAR-100 file given as CIFAR-10: the record size does not fit. */
  tw_write(p, g_buf, tw_cifar_records(g_buf, 3, 2, (const uint8_t[]){1, 1, 2, 2, 3, 3}));
  expect_error(sb_cifar_load(dir, 0, 0, &tr, &te), "not a whole number of 3073-byte",
               "data_batch_4.bin");
  /* Label out of range, in record 1. */
  tw_write(p, g_buf, tw_cifar_records(g_buf, 2, 1, (const uint8_t[]){1, 12}));
  expect_error(sb_cifar_load(dir, 0, 0, &tr, &te), "label 12 at byte 3073 (record 1) is outside 0..9",
               "data_batch_4.bin");
  /* Empty file, missing file, missing directory. */
  tw_write(p, g_buf, 0);
  expect_error(sb_cifar_load(dir, 0, 0, &tr, &te), "empty", "data_batch_4.bin");
  unlink(p);
  expect_error(sb_cifar_load(dir, 0, 0, &tr, &te), "cannot open", "data_batch_4.bin");
  snprintf(p, sizeof p, "%s/nowhere", g_dir);
  expect_error(sb_cifar_load(p, 0, 0, &tr, &te), "not found", "nowhere");
  /* CIFAR-100: coarse label 20 is out of range even when fine labels are used. */
  snprintf(dir, sizeof dir, "%s/bad100", g_dir);
  tw_mkdir("%s", dir);
  snprintf(p, sizeof p, "%s/train.bin", dir);
  tw_write(p, g_buf, tw_cifar_records(g_buf, 2, 2, (const uint8_t[]){1, 1, 20, 5}));
  snprintf(p, sizeof p, "%s/test.bin", dir);
  tw_write(p, g_buf, tw_cifar_records(g_buf, 1, 2, (const uint8_t[]){1, 1}));
  expect_error(sb_cifar_load(dir, 1, 0, &tr, &te),
               "coarse label 20 at byte 3074 (record 1) is outside 0..19", "train.bin");
  snprintf(p, sizeof p, "%s/train.bin", dir);
  tw_write(p, g_buf, tw_cifar_records(g_buf, 2, 2, (const uint8_t[]){1, 1, 2, 100}));
  expect_error(sb_cifar_load(dir, 1, 1, &tr, &te),
               "fine label 100 at byte 3075 (record 1) is outside 0..99", "train.bin");
}

static void md5(void) {
  /* RFC 1321, appendix A.5. */
  static const char *const in[] = {"", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
                                   "12345678901234567890123456789012345678901234567890123456789012345678901234567890"};
  static const char *const out[] = {"d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
                                    "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
                                    "c3fcd3d76192e4007dfb496cca67e13b", "57edf4a22be3c955ac49da2e2107b67a"};
  for (int i = 0; i < 6; i++) {
    char hex[33];
    sb_md5_buffer(in[i], strlen(in[i]), hex);
    CHECK_MSG(!strcmp(hex, out[i]), "md5(\"%s\") = %s, expected %s", in[i], hex, out[i]);
  }
  /* Fed in odd-sized pieces, the digest is the same as in one piece. */
  sb_md5 m;
  sb_md5_init(&m);
  const char *s = in[5];
  for (size_t o = 0, step = 1; o < strlen(s); o += step, step = step % 13 + 1)
    sb_md5_update(&m, s + o, o + step <= strlen(s) ? step : strlen(s) - o);
  char hex[33];
  sb_md5_final(&m, hex);
  CHECK(!strcmp(hex, out[5]));
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/snnbench-test-cifar-%ld", (long)getpid());
  tw_mkdir("%s", g_dir);
  cifar10();
  cifar10_archive();
  cifar100();
  malformed();
  md5();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  if (system(cmd)) return 1;
  return check_exit("test_cifar");
}
