/* IDX (the MNIST family's format): magic 0x0000 08 NN (unsigned bytes, NN dimensions), NN
 * big-endian uint32 sizes, then the payload. zlib's gzread also reads uncompressed files, so one
 * path handles .gz and raw; the sizes are checked against the bytes actually present. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/data_internal.h"

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads everything gzread gives; *len is the decompressed size. */
static sb_status slurp(gzFile gz, const char *path, uint8_t **buf, long *len) {
  long cap = 1 << 20, n = 0;
  uint8_t *b = sb_xmalloc((unsigned long)cap);
  for (;;) {
    if (n == cap) {
      cap *= 2;
      b = sb_xrealloc(b, (unsigned long)cap);
    }
    int got = gzread(gz, b + n, (unsigned)(cap - n > (1 << 30) ? (1 << 30) : cap - n));
    if (got < 0) {
      int errnum;
      const char *msg = gzerror(gz, &errnum);
      free(b);
      return sb_fail(SB_EINPUT, "%s: corrupt gzip stream after %ld decompressed bytes: %s", path,
                     n, msg);
    }
    if (got == 0) break;
    n += got;
  }
  /* A gzip member cut short reads as EOF with an error flag set. */
  int errnum = Z_OK;
  const char *msg = gzerror(gz, &errnum);
  if (errnum != Z_OK && errnum != Z_STREAM_END) {
    free(b);
    return sb_fail(SB_EINPUT, "%s: corrupt or truncated gzip stream after %ld decompressed bytes: %s",
                   path, n, msg);
  }
  *buf = b;
  *len = n;
  return SB_OK;
}

sb_status sb_idx_read(const char *path, int expect_ndim, sb_idx *out) {
  memset(out, 0, sizeof *out);
  gzFile gz = gzopen(path, "rb");
  if (!gz) return sb_fail(SB_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  uint8_t *buf = NULL;
  long len = 0;
  sb_status st = slurp(gz, path, &buf, &len);
  out->gzip = !gzdirect(gz);
  gzclose(gz);
  if (st) return st;
  /* Offsets in a .gz file count in its decompressed stream, and the messages say so. */
  const char *in = sb_idx_offset_note(out);

  const char *what = expect_ndim == 1 ? "labels" : "images";
  if (len < 4) {
    free(buf);
    return sb_fail(SB_EINPUT, "%s: truncated at byte %ld%s: an IDX file starts with a 4-byte "
                   "magic", path, len, in);
  }
  const uint32_t magic = be32(buf);
  const uint32_t want = 0x00000800u | (uint32_t)expect_ndim;
  if (magic != want) {
    free(buf);
    return sb_fail(SB_EINPUT, "%s: bad magic 0x%08x at byte 0%s (expected 0x%08x: IDX "
                   "unsigned-byte %s with %d dimension%s)", path, magic, in, want, what, expect_ndim,
                   expect_ndim > 1 ? "s" : "");
  }
  const long header = 4 + 4L * expect_ndim;
  if (len < header) {
    free(buf);
    return sb_fail(SB_EINPUT, "%s: truncated at byte %ld%s: the header needs %ld bytes", path, len,
                   in, header);
  }
  long payload = 1;
  out->ndim = expect_ndim;
  for (int i = 0; i < expect_ndim; i++) {
    const uint32_t d = be32(buf + 4 + 4 * i);
    if (d == 0 || d > (1u << 28)) {
      free(buf);
      return sb_fail(SB_EINPUT, "%s: dimension %d at byte %d%s is %u, not a plausible size", path,
                     i, 4 + 4 * i, in, d);
    }
    out->dims[i] = (int)d;
    payload *= d;
    if (payload > (1L << 34)) {
      free(buf);
      return sb_fail(SB_EINPUT, "%s: header dimensions describe more than 16 GiB", path);
    }
  }
  out->count = out->dims[0];
  if (len < header + payload) {
    free(buf);
    return sb_fail(SB_EINPUT, "%s: truncated: the header promises %ld %s (%ld payload bytes from "
                   "byte %ld) but the data ends at byte %ld%s", path, out->count, what, payload,
                   header, len, in);
  }
  if (len > header + payload) {
    free(buf);
    return sb_fail(SB_EINPUT, "%s: %ld unexpected bytes after the payload, from byte %ld%s (the "
                   "count %ld at byte 4 does not match the data)", path, len - header - payload,
                   header + payload, in, out->count);
  }
  out->data = sb_xmalloc((unsigned long)payload);
  memcpy(out->data, buf + header, (size_t)payload);
  free(buf);
  return SB_OK;
}

const char *sb_idx_offset_note(const sb_idx *idx) {
  return idx->gzip ? " of the decompressed stream" : "";
}

sb_status sb_idx_count_mismatch(const char *labels_path, const sb_idx *labels,
                                const char *images_path, const sb_idx *images) {
  return sb_fail(SB_EINPUT, "%s: the header counts %ld labels (byte 4%s), but %s counts %ld "
                 "images (byte 4%s)", labels_path, labels->count, sb_idx_offset_note(labels),
                 images_path, images->count, sb_idx_offset_note(images));
}

void sb_idx_free(sb_idx *idx) {
  free(idx->data);
  memset(idx, 0, sizeof *idx);
}
