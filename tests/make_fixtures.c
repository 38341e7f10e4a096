/* make_fixtures DIR: writes a small dataset of every format under DIR, for the CLI tests
 * (test_data_cli.sh): small enough to train on in a fraction of a second, with labels a model can
 * pick up, so a run through the CLI exercises every reader end to end.
 *   DIR/mnist/                  IDX, 60 train + 20 test images (28x28), gzip
 *   DIR/cifar10/                data_batch_1..5.bin (8 records each) + test_batch.bin (10)
 *   DIR/cifar-10-binary.tar.gz  the same records as the published archive lays them out
 *   DIR/cifar100/               train.bin (40) + test.bin (10)
 *   DIR/nmnist/                 Train/<d>/ 3 samples per digit, Test/<d>/ 1
 *   DIR/DvsGesture/             two recordings of 11 gestures, trials lists, label CSVs
 *   DIR/c10dvs/                 per class recordings 0 (test), 100 and 101 (train) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "writers.h"

static uint8_t g_buf[1 << 22];
static const char *g_root;

static const char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *at(const char *fmt, ...) {
  static char p[2][1024];
  static int k;
  k ^= 1;
  char rel[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rel, sizeof rel, fmt, ap);
  va_end(ap);
  snprintf(p[k], sizeof p[k], "%s/%s", g_root, rel);
  return p[k];
}

/* A bright square whose position depends on the class, over dim noise. */
static void image(uint8_t *px, int C, int H, int W, int cls, int sample) {
  uint32_t s = 2654435761u * (uint32_t)(sample + 1);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        s = s * 1103515245u + 12345u;
        const int bx = (cls * 5) % (W - 6), by = (cls * 3) % (H - 6);
        const int in = x >= bx && x < bx + 6 && y >= by && y < by + 6;
        px[(c * H + y) * W + x] = (uint8_t)(in ? 200 + (s >> 28) : (s >> 27));
      }
}

/* Events clustered at a class-dependent spot, times increasing from t0. */
static int events(tw_event *ev, int n, int size, int cls, int sample, int64_t t0) {
  uint32_t s = 40503u * (uint32_t)(sample + 7);
  for (int i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    const int cx = (cls * 7) % (size - 4), cy = (cls * 11) % (size - 4);
    ev[i] = (tw_event){cx + (int)((s >> 16) % 4), cy + (int)((s >> 20) % 4), (int)((s >> 24) & 1),
                       t0 + (int64_t)i * 37};
  }
  return n;
}

static void mnist(void) {
  tw_mkdir("%s/mnist", g_root);
  static uint8_t px[60 * 784], lab[60];
  for (int split = 0; split < 2; split++) {
    const int n = split ? 20 : 60;
    for (int i = 0; i < n; i++) {
      lab[i] = (uint8_t)(i % 10);
      image(px + i * 784, 1, 28, 28, i % 10, i + 1000 * split);
    }
    const char *pre = split ? "t10k" : "train";
    tw_write_gz(at("mnist/%s-images-idx3-ubyte.gz", pre), g_buf, tw_idx_images(g_buf, (uint32_t)n, 28, 28, px));
    tw_write_gz(at("mnist/%s-labels-idx1-ubyte.gz", pre), g_buf, tw_idx_labels(g_buf, (uint32_t)n, lab));
  }
}

/* CIFAR records with class-dependent images (tw_cifar_records writes a fixed pattern, so these
 * are built here). */
static size_t cifar_file(uint8_t *buf, int n, int label_bytes, int classes, int first) {
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    const int cls = (first + i) % classes;
    if (label_bytes == 2) buf[o++] = (uint8_t)(cls % 20);
    buf[o++] = (uint8_t)cls;
    image(buf + o, 3, 32, 32, cls, first + i);
    o += 3072;
  }
  return o;
}

static void cifar(void) {
  tw_mkdir("%s/cifar10", g_root);
  static uint8_t files[6][10 * 3073];
  size_t sizes[6];
  tw_member m[6];
  static char names[6][64];
  for (int b = 0; b < 6; b++) {
    sizes[b] = cifar_file(files[b], b < 5 ? 8 : 10, 1, 10, b * 8);
    if (b < 5) snprintf(names[b], sizeof names[b], "data_batch_%d.bin", b + 1);
    else snprintf(names[b], sizeof names[b], "test_batch.bin");
    tw_write(at("cifar10/%s", names[b]), files[b], sizes[b]);
  }
  static char member[6][96];
  for (int b = 0; b < 6; b++) {
    snprintf(member[b], sizeof member[b], "cifar-10-batches-bin/%.63s", names[b]);
    m[b] = (tw_member){member[b], files[b], sizes[b]};
  }
  tw_tar_gz(at("cifar-10-binary.tar.gz"), m, 6);
  tw_mkdir("%s/cifar100", g_root);
  tw_write(at("cifar100/train.bin"), g_buf, cifar_file(g_buf, 40, 2, 100, 0));
  tw_write(at("cifar100/test.bin"), g_buf, cifar_file(g_buf, 10, 2, 100, 40));
}

static void nmnist(void) {
  static tw_event ev[400];
  for (int split = 0; split < 2; split++)
    for (int d = 0; d < 10; d++) {
      tw_mkdir("%s/nmnist/%s/%d", g_root, split ? "Test" : "Train", d);
      for (int k = 0; k < (split ? 1 : 3); k++) {
        const int n = events(ev, 100 + 50 * k, 34, d, d * 10 + k + 100 * split, 1000);
        tw_write(at("nmnist/%s/%d/%05d.bin", split ? "Test" : "Train", d, d * 10 + k), g_buf,
                 tw_nmnist(g_buf, ev, n));
      }
    }
}

static void gesture(void) {
  tw_mkdir("%s/DvsGesture", g_root);
  static tw_event ev[11 * 300];
  const char *users[2] = {"user01_natural", "user02_led"};
  for (int u = 0; u < 2; u++) {
    char csv[2048] = "class,startTime_usec,endTime_usec\r\n";
    int n = 0;
    for (int g = 0; g < 11; g++) {
      const int64_t t0 = 1000000 + (int64_t)g * 100000;
      n += events(ev + n, 300, 128, g, g + 20 * u, t0);
      char row[80];
      snprintf(row, sizeof row, "%d,%lld,%lld\r\n", g + 1, (long long)t0, (long long)(t0 + 300 * 37));
      strcat(csv, row);
    }
    size_t o = tw_aedat3_header(g_buf);
    /* Packets of at most 1000 events, as a recorder would write them. */
    for (int a = 0; a < n; a += 1000) o += tw_aedat3_packet(g_buf + o, ev + a, n - a < 1000 ? n - a : 1000, 0, NULL);
    tw_write(at("DvsGesture/%s.aedat", users[u]), g_buf, o);
    tw_write(at("DvsGesture/%s_labels.csv", users[u]), csv, strlen(csv));
  }
  tw_write(at("DvsGesture/trials_to_train.txt"), "user01_natural.aedat\n", 21);
  tw_write(at("DvsGesture/trials_to_test.txt"), "user02_led.aedat\n", 17);
}

static void cifar10dvs(void) {
  static const char *const classes[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                          "dog",      "frog",       "horse", "ship", "truck"};
  static tw_event ev[500];
  const int ids[3] = {0, 100, 101};
  for (int c = 0; c < 10; c++) {
    tw_mkdir("%s/c10dvs/%s", g_root, classes[c]);
    for (int k = 0; k < 3; k++) {
      const int n = events(ev, 200, 128, c, c * 3 + k, 5000);
      tw_write(at("c10dvs/%s/cifar10_%s_%d.aedat", classes[c], classes[c], ids[k]), g_buf,
               tw_aedat2(g_buf, ev, n));
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_fixtures DIR\n");
    return 2;
  }
  g_root = argv[1];
  tw_mkdir("%s", g_root);
  mnist();
  cifar();
  nmnist();
  gesture();
  cifar10dvs();
  return 0;
}
