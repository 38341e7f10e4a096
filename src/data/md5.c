/* MD5 (RFC 1321), only to compare dataset files with their published checksums: zlib has none,
 * and a 100-line implementation beats a dependency for one use. Not for anything secure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "data/data_internal.h"

static const uint32_t k_sine[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
    0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
    0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
    0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
    0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391};
static const int k_shift[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static uint32_t rotl(uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

static void compress(uint32_t s[4], const uint8_t blk[64]) {
  uint32_t w[16];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 | (uint32_t)blk[4 * i + 2] << 16 |
           (uint32_t)blk[4 * i + 3] << 24;
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const uint32_t tmp = d;
    d = c;
    c = b;
    b = b + rotl(a + f + k_sine[i] + w[g], k_shift[i]);
    a = tmp;
  }
  s[0] += a;
  s[1] += b;
  s[2] += c;
  s[3] += d;
}

void sb_md5_init(sb_md5 *m) {
  m->state[0] = 0x67452301;
  m->state[1] = 0xefcdab89;
  m->state[2] = 0x98badcfe;
  m->state[3] = 0x10325476;
  m->bytes = 0;
}

void sb_md5_update(sb_md5 *m, const void *data, size_t n) {
  const uint8_t *p = data;
  size_t fill = (size_t)(m->bytes % 64);
  m->bytes += n;
  if (fill) {
    const size_t take = n < 64 - fill ? n : 64 - fill;
    memcpy(m->block + fill, p, take);
    p += take;
    n -= take;
    if (fill + take < 64) return;
    compress(m->state, m->block);
  }
  for (; n >= 64; p += 64, n -= 64) compress(m->state, p);
  memcpy(m->block, p, n);
}

void sb_md5_final(sb_md5 *m, char hex[33]) {
  const uint64_t bits = m->bytes * 8;
  const uint8_t pad = 0x80, zero = 0;
  sb_md5_update(m, &pad, 1);
  while (m->bytes % 64 != 56) sb_md5_update(m, &zero, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (8 * i));
  sb_md5_update(m, len, 8);
  for (int i = 0; i < 16; i++) sprintf(hex + 2 * i, "%02x", (m->state[i / 4] >> (8 * (i % 4))) & 0xff);
  hex[32] = 0;
}

void sb_md5_buffer(const void *data, size_t n, char hex[33]) {
  sb_md5 m;
  sb_md5_init(&m);
  sb_md5_update(&m, data, n);
  sb_md5_final(&m, hex);
}

sb_status sb_md5_file(const char *path, char hex[33]) {
  FILE *f = fopen(path, "rb");
  if (!f) return sb_fail(SB_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  sb_md5 m;
  sb_md5_init(&m);
  uint8_t buf[1 << 16];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) sb_md5_update(&m, buf, got);
  const int err = ferror(f);
  fclose(f);
  if (err) return sb_fail(SB_EINPUT, "%s: read error", path);
  sb_md5_final(&m, hex);
  return SB_OK;
}
