/* Writers of every on-disk dataset format snnbench reads, built from the format specifications
 * (not from snnbench's readers), so the tests can check the readers against files whose content
 * they know exactly. No real CIFAR or neuromorphic files exist offline. */
#ifndef SNNBENCH_TESTS_WRITERS_H
#define SNNBENCH_TESTS_WRITERS_H

#include <stddef.h>
#include <stdint.h>

/* One event as the tests think of it: sensor coordinates, polarity, time in µs. */
typedef struct {
  int x, y, p;
  int64_t t;
} tw_event;

void tw_mkdir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tw_write(const char *path, const void *data, size_t n);
void tw_write_gz(const char *path, const void *data, size_t n);

/* IDX: magic 0x00000803 (images, count x rows x cols) or 0x00000801 (labels). */
size_t tw_idx_images(uint8_t *buf, uint32_t count, uint32_t rows, uint32_t cols,
                     const uint8_t *pixels);
size_t tw_idx_labels(uint8_t *buf, uint32_t count, const uint8_t *labels);

/* CIFAR records: label byte(s) then 3072 pixels. labels has 1 (CIFAR-10) or 2 (coarse, fine)
 * bytes per record; pixel k of record i is tw_cifar_pixel(i, k). */
uint8_t tw_cifar_pixel(long record, long k);
size_t tw_cifar_records(uint8_t *buf, long n, int label_bytes, const uint8_t *labels);

/* A ustar archive of the given members, gzip-compressed. */
typedef struct {
  const char *name;
  const void *data;
  size_t size;
} tw_member;
void tw_tar_gz(const char *path, const tw_member *m, int n);

/* N-MNIST/ATIS: 5 bytes per event. Returns the bytes written to buf. */
size_t tw_nmnist(uint8_t *buf, const tw_event *ev, int n);

/* AEDAT 3.1: the standard header lines, then one polarity packet per call of tw_aedat3_packet.
 * overflow is the packet's eventTSOverflow; events get t & 0x7FFFFFFF as timestamp. valid[i] = 0
 * clears event i's valid mark (NULL: all valid). */
size_t tw_aedat3_header(uint8_t *buf);
size_t tw_aedat3_packet(uint8_t *buf, const tw_event *ev, int n, uint32_t overflow,
                        const int *valid);
/* A non-polarity packet (a special-event packet, type 0, 8-byte events) the reader must skip. */
size_t tw_aedat3_special_packet(uint8_t *buf, int n);

/* CIFAR10-DVS (AEDAT 2.0): '#' header lines, then big-endian (address, timestamp) u32 pairs with
 * the raw address fields x = bits 1..7, y = bits 8..14, p = bit 0, exactly as stored (the reader
 * remaps them). */
size_t tw_aedat2(uint8_t *buf, const tw_event *raw, int n);

#endif
