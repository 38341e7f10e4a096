/* A minimal tar reader (POSIX ustar and old-style headers, gzip-compressed or not), so that
 * CIFAR-10 can be read straight from cifar-10-binary.tar.gz, the file whose MD5 is published. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/data_internal.h"

enum { TAR_BLOCK = 512, TAR_MAX_MEMBER = 1 << 30 };

/* Reads exactly n bytes; returns the count actually read (short at end of stream). */
static long read_full(gzFile gz, uint8_t *buf, long n, int *err) {
  long got = 0;
  while (got < n) {
    const int r = gzread(gz, buf + got, (unsigned)(n - got));
    if (r < 0) {
      *err = 1;
      return got;
    }
    if (r == 0) break;
    got += r;
  }
  return got;
}

/* Octal field, NUL- or space-terminated; -1 if malformed. */
static long parse_octal(const uint8_t *f, int n) {
  long v = 0;
  int i = 0, digits = 0;
  while (i < n && f[i] == ' ') i++;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
    if (v > (1L << 40)) return -1;
    v = v * 8 + (f[i] - '0');
  }
  for (; i < n; i++)
    if (f[i] != ' ' && f[i] != 0) return -1;
  return digits ? v : -1;
}

static int all_zero(const uint8_t *b) {
  for (int i = 0; i < TAR_BLOCK; i++)
    if (b[i]) return 0;
  return 1;
}

sb_status sb_tar_walk(const char *path, sb_tar_fn fn, void *user) {
  gzFile gz = gzopen(path, "rb");
  if (!gz) return sb_fail(SB_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  uint8_t hdr[TAR_BLOCK];
  long pos = 0;
  sb_status st = SB_OK;
  uint8_t *data = NULL;
  for (;;) {
    int err = 0;
    const long got = read_full(gz, hdr, TAR_BLOCK, &err);
    if (err) {
      int e;
      st = sb_fail(SB_EINPUT, "%s: corrupt gzip stream at byte %ld of the archive: %s", path,
                   pos + got, gzerror(gz, &e));
      break;
    }
    if (got == 0) {
      st = sb_fail(SB_EINPUT, "%s: truncated tar archive: no end-of-archive block at byte %ld",
                   path, pos);
      break;
    }
    if (got < TAR_BLOCK) {
      st = sb_fail(SB_EINPUT, "%s: truncated tar header at byte %ld (%ld of 512 bytes)", path,
                   pos, got);
      break;
    }
    if (all_zero(hdr)) break;  /* end of archive */
    /* Some old tars summed signed chars; accept either, as GNU tar does. */
    long sum = 0, sum_signed = 0;
    for (int i = 0; i < TAR_BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : hdr[i];
      sum_signed += (i >= 148 && i < 156) ? ' ' : (signed char)hdr[i];
    }
    const long want = parse_octal(hdr + 148, 8);
    if (want != sum && want != sum_signed) {
      st = sb_fail(SB_EINPUT, "%s: not a tar archive, or a corrupt one: header checksum mismatch "
                   "at byte %ld", path, pos);
      break;
    }
    const long size = parse_octal(hdr + 124, 12);
    if (size < 0 || size > TAR_MAX_MEMBER) {
      st = sb_fail(SB_EINPUT, "%s: tar member size field at byte %ld is malformed or above 1 GiB",
                   path, pos + 124);
      break;
    }
    char name[256 + 2];
    if (!memcmp(hdr + 257, "ustar", 5) && hdr[345])
      snprintf(name, sizeof name, "%.155s/%.100s", (const char *)hdr + 345, (const char *)hdr);
    else
      snprintf(name, sizeof name, "%.100s", (const char *)hdr);
    const int regular = hdr[156] == '0' || hdr[156] == 0;
    pos += TAR_BLOCK;
    const long padded = (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
    data = sb_xrealloc(data, (unsigned long)(padded ? padded : 1));
    const long n = read_full(gz, data, padded, &err);
    if (err || n < padded) {
      st = sb_fail(SB_EINPUT, "%s: truncated tar member %s: %ld bytes promised from byte %ld, "
                   "the archive ends at byte %ld", path, name, size, pos, pos + n);
      break;
    }
    if (regular && (st = fn(user, name, data, size, pos))) break;
    pos += padded;
  }
  free(data);
  gzclose(gz);
  return st;
}
