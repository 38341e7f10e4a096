/* See writers.h. Each writer follows its format's published description:
 *   IDX: yann.lecun.com/exdb/mnist; CIFAR: cs.toronto.edu/~kriz/cifar.html (binary version);
 *   tar: POSIX ustar; N-MNIST: garrickorchard.com/datasets/n-mnist (40-bit events);
 *   AEDAT 3.1: docs.inivation.com (file formats) and libcaer's packet and polarity headers;
 *   AEDAT 2.0: docs.inivation.com, with the DVS128 address layout CIFAR10-DVS uses. */
#include "writers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

void tw_mkdir(const char *fmt, ...) {
  char path[1024], cmd[1100];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(path, sizeof path, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
  if (system(cmd)) {
    fprintf(stderr, "cannot create %s\n", path);
    exit(1);
  }
}

void tw_write(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}

void tw_write_gz(const char *path, const void *data, size_t n) {
  gzFile g = gzopen(path, "wb");
  if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}

size_t tw_idx_images(uint8_t *buf, uint32_t count, uint32_t rows, uint32_t cols,
                     const uint8_t *pixels) {
  be32(buf, 0x803);
  be32(buf + 4, count);
  be32(buf + 8, rows);
  be32(buf + 12, cols);
  memcpy(buf + 16, pixels, (size_t)count * rows * cols);
  return 16 + (size_t)count * rows * cols;
}

size_t tw_idx_labels(uint8_t *buf, uint32_t count, const uint8_t *labels) {
  be32(buf, 0x801);
  be32(buf + 4, count);
  memcpy(buf + 8, labels, count);
  return 8 + count;
}

uint8_t tw_cifar_pixel(long record, long k) { return (uint8_t)((record * 31 + k * 7 + k / 1024) % 256); }

size_t tw_cifar_records(uint8_t *buf, long n, int label_bytes, const uint8_t *labels) {
  size_t o = 0;
  for (long i = 0; i < n; i++) {
    for (int b = 0; b < label_bytes; b++) buf[o++] = labels[i * label_bytes + b];
    for (long k = 0; k < 3072; k++) buf[o++] = tw_cifar_pixel(i, k);
  }
  return o;
}

void tw_tar_gz(const char *path, const tw_member *m, int n) {
  gzFile g = gzopen(path, "wb");
  uint8_t hdr[512], zero[512] = {0};
  for (int i = 0; i < n; i++) {
    memset(hdr, 0, sizeof hdr);
    snprintf((char *)hdr, 100, "%s", m[i].name);
    snprintf((char *)hdr + 100, 8, "%07o", 0644);
    snprintf((char *)hdr + 108, 8, "%07o", 0);
    snprintf((char *)hdr + 116, 8, "%07o", 0);
    snprintf((char *)hdr + 124, 12, "%011lo", (unsigned long)m[i].size);
    snprintf((char *)hdr + 136, 12, "%011o", 0);
    hdr[156] = '0';
    memcpy(hdr + 257, "ustar", 6);
    memcpy(hdr + 263, "00", 2);
    memset(hdr + 148, ' ', 8);
    unsigned sum = 0;
    for (int k = 0; k < 512; k++) sum += hdr[k];
    snprintf((char *)hdr + 148, 8, "%06o", sum);
    gzwrite(g, hdr, 512);
    gzwrite(g, m[i].data, (unsigned)m[i].size);
    const size_t pad = (512 - m[i].size % 512) % 512;
    if (pad) gzwrite(g, zero, (unsigned)pad);
  }
  gzwrite(g, zero, 512);
  gzwrite(g, zero, 512);
  gzclose(g);
}

size_t tw_nmnist(uint8_t *buf, const tw_event *ev, int n) {
  for (int i = 0; i < n; i++) {
    uint8_t *b = buf + 5 * i;
    b[0] = (uint8_t)ev[i].x;
    b[1] = (uint8_t)ev[i].y;
    b[2] = (uint8_t)(ev[i].p << 7 | ((ev[i].t >> 16) & 0x7F));
    b[3] = (uint8_t)(ev[i].t >> 8);
    b[4] = (uint8_t)ev[i].t;
  }
  return 5 * (size_t)n;
}

size_t tw_aedat3_header(uint8_t *buf) {
  const char *h =
      "#!AER-DAT3.1\r\n"
      "#Format: RAW\r\n"
      "#Source 1: DVS128\r\n"
      "#Start-Time: 2017-01-01 10:00:00 (TZ+0000)\r\n"
      "#!END-HEADER\r\n";
  memcpy(buf, h, strlen(h));
  return strlen(h);
}

static size_t packet_header(uint8_t *buf, int type, int size, int ts_offset, uint32_t overflow,
                            int capacity, int number, int valid) {
  buf[0] = (uint8_t)type;
  buf[1] = 0;
  buf[2] = 1;  /* eventSource 1 */
  buf[3] = 0;
  le32(buf + 4, (uint32_t)size);
  le32(buf + 8, (uint32_t)ts_offset);
  le32(buf + 12, overflow);
  le32(buf + 16, (uint32_t)capacity);
  le32(buf + 20, (uint32_t)number);
  le32(buf + 24, (uint32_t)valid);
  return 28;
}

size_t tw_aedat3_packet(uint8_t *buf, const tw_event *ev, int n, uint32_t overflow,
                        const int *valid) {
  int n_valid = 0;
  for (int i = 0; i < n; i++) n_valid += valid ? valid[i] != 0 : 1;
  size_t o = packet_header(buf, 1, 8, 4, overflow, n, n, n_valid);
  for (int i = 0; i < n; i++) {
    const uint32_t mark = valid ? (valid[i] != 0) : 1;
    le32(buf + o, (uint32_t)ev[i].x << 17 | (uint32_t)ev[i].y << 2 | (uint32_t)ev[i].p << 1 | mark);
    le32(buf + o + 4, (uint32_t)(ev[i].t & 0x7FFFFFFF));
    o += 8;
  }
  return o;
}

size_t tw_aedat3_special_packet(uint8_t *buf, int n) {
  size_t o = packet_header(buf, 0, 8, 4, 0, n, n, n);
  for (int i = 0; i < n; i++) {
    le32(buf + o, 0xFFFFFFFFu);  /* would be far outside the sensor if decoded as polarity */
    le32(buf + o + 4, (uint32_t)i);
    o += 8;
  }
  return o;
}

size_t tw_aedat2(uint8_t *buf, const tw_event *raw, int n) {
  const char *h =
      "#!AER-DAT2.0\r\n"
      "# This is a raw AE data file - do not edit\r\n"
      "# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n"
      "# Timestamps tick is 1 us\r\n";
  size_t o = strlen(h);
  memcpy(buf, h, o);
  for (int i = 0; i < n; i++) {
    be32(buf + o, (uint32_t)raw[i].y << 8 | (uint32_t)raw[i].x << 1 | (uint32_t)raw[i].p);
    be32(buf + o + 4, (uint32_t)raw[i].t);
    o += 8;
  }
  return o;
}
