/* AEDAT event files of the two DVS datasets.
 *
 * AEDAT 3.1 (DVS128 Gesture; docs.inivation.com "AEDAT 3.1", libcaer events/common.h and
 * polarity.h): ASCII header lines, each starting with '#' and ending in "\r\n", the first
 * "#!AER-DAT3.1", the last "#!END-HEADER". Then packets, little-endian: a 28-byte header
 *   i16 eventType, i16 eventSource, i32 eventSize, i32 eventTSOffset, i32 eventTSOverflow,
 *   i32 eventCapacity, i32 eventNumber, i32 eventValid
 * followed by eventCapacity · eventSize bytes of events. A polarity event (type 1) is 8 bytes:
 *   u32 data: bit 0 valid mark, bit 1 polarity, bits 2..16 y, bits 17..31 x; i32 timestamp (µs),
 * extended to 64 bits by eventTSOverflow << 31. The first eventNumber events are present;
 * events whose valid mark is 0 were invalidated by the recorder and are skipped. Other packet
 * types (special events, frames, IMU) are skipped whole.
 *
 * CIFAR10-DVS (AEDAT 2.0 from jAER; SpikingJelly cifar10_dvs.py): '#' header lines, then
 * big-endian u32 (address, timestamp) pairs with x = (a & 0xFE) >> 1, y = (a & 0x7F00) >> 8,
 * p = a & 1, remapped to x' = 127 − y, y' = 127 − x, p' = 1 − p (reference/SEED-REPOS.md §1.5). */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum { DVS_SIZE = 128, PACKET_HEADER = 28, POLARITY_EVENT = 1 };

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* End of the '\n'-terminated line starting at pos (index after '\n'), or -1. */
static long line_end(const uint8_t *b, long len, long pos) {
  const uint8_t *nl = memchr(b + pos, '\n', (size_t)(len - pos));
  return nl ? (long)(nl - b) + 1 : -1;
}

sb_status sb_aedat3_read(const char *path, sb_event_list *l, sb_aedat_stats *stats) {
  uint8_t *b;
  long len;
  sb_status st = sb_read_file(path, 1L << 34, &b, &len);
  if (st) return st;
  l->n = 0;
  memset(stats, 0, sizeof *stats);
  static const char version[] = "#!AER-DAT3.1";
  static const char end_header[] = "#!END-HEADER\r\n";
  long pos = 0;
  if (len < (long)strlen(version) || memcmp(b, version, strlen(version))) {
    st = sb_fail(SB_EINPUT, "%s: bad magic at byte 0: an AEDAT 3.1 file starts with "
                 "\"#!AER-DAT3.1\\r\\n\"", path);
    goto done;
  }
  for (;;) {
    if (pos >= len || b[pos] != '#') {
      st = sb_fail(SB_EINPUT, "%s: the header ends at byte %ld without the \"#!END-HEADER\" line "
                   "AEDAT 3.1 requires", path, pos);
      goto done;
    }
    const long end = line_end(b, len, pos);
    if (end < 0) {
      st = sb_fail(SB_EINPUT, "%s: truncated header: the line at byte %ld has no end", path, pos);
      goto done;
    }
    const int is_end = end - pos == (long)strlen(end_header) &&
                       !memcmp(b + pos, end_header, strlen(end_header));
    pos = end;
    if (is_end) break;
  }
  stats->header_bytes = pos;
  while (pos < len) {
    if (len - pos < PACKET_HEADER) {
      st = sb_fail(SB_EINPUT, "%s: truncated event stream: packet header at byte %ld has %ld of "
                   "28 bytes", path, pos, len - pos);
      goto done;
    }
    const uint8_t *h = b + pos;
    const int type = (int16_t)(h[0] | h[1] << 8);
    const int32_t size = (int32_t)le32(h + 4), ts_offset = (int32_t)le32(h + 8);
    const int32_t overflow = (int32_t)le32(h + 12), capacity = (int32_t)le32(h + 16);
    const int32_t number = (int32_t)le32(h + 20), valid = (int32_t)le32(h + 24);
    if (size <= 0 || capacity < 0 || number < 0 || number > capacity || valid < 0 ||
        valid > number || overflow < 0) {
      st = sb_fail(SB_EINPUT, "%s: malformed packet header at byte %ld (eventType %d, eventSize "
                   "%d, eventTSOverflow %d, eventCapacity %d, eventNumber %d, eventValid %d)",
                   path, pos, type, size, overflow, capacity, number, valid);
      goto done;
    }
    const int64_t bytes = (int64_t)capacity * size;
    if (bytes > len - pos - PACKET_HEADER) {
      st = sb_fail(SB_EINPUT, "%s: truncated event stream: the packet at byte %ld promises %lld "
                   "bytes of events, only %ld remain", path, pos, (long long)bytes,
                   len - pos - PACKET_HEADER);
      goto done;
    }
    stats->packets++;
    if (type == POLARITY_EVENT) {
      if (size != 8 || ts_offset != 4) {
        st = sb_fail(SB_EINPUT, "%s: polarity packet at byte %ld has eventSize %d and "
                     "eventTSOffset %d (expected 8 and 4)", path, pos, size, ts_offset);
        goto done;
      }
      const uint8_t *ev = h + PACKET_HEADER;
      for (int32_t i = 0; i < number; i++, ev += 8) {
        const uint32_t data = le32(ev), ts = le32(ev + 4);
        if (!(data & 1)) {
          stats->invalid++;
          continue;
        }
        const int x = (int)((data >> 17) & 0x7FFF), y = (int)((data >> 2) & 0x7FFF);
        if (x >= DVS_SIZE || y >= DVS_SIZE) {
          st = sb_fail(SB_EINPUT, "%s: event at byte %ld: (x=%d, y=%d) is outside the 128x128 "
                       "DVS128 sensor", path, (long)(ev - b), x, y);
          goto done;
        }
        const int64_t t = (int64_t)((uint64_t)ts | (uint64_t)overflow << 31);
        sb_event_list_push(l, sb_event_pack(x, y, (int)((data >> 1) & 1)), t);
      }
    } else {
      stats->other_packets++;
    }
    pos += PACKET_HEADER + (long)bytes;
  }
done:
  free(b);
  return st;
}

sb_status sb_aedat2_cifar10dvs_read(const char *path, sb_event_list *l, long *header_bytes) {
  uint8_t *b;
  long len;
  sb_status st = sb_read_file(path, 1L << 34, &b, &len);
  if (st) return st;
  l->n = 0;
  long pos = 0;
  while (pos < len && b[pos] == '#') {
    const long end = line_end(b, len, pos);
    if (end < 0) {
      st = sb_fail(SB_EINPUT, "%s: truncated header: the line at byte %ld has no end", path, pos);
      goto done;
    }
    pos = end;
  }
  if (header_bytes) *header_bytes = pos;
  const long payload = len - pos;
  if (payload % 8) {
    st = sb_fail(SB_EINPUT, "%s: truncated event stream: %ld bytes after the header (from byte "
                 "%ld) is not a whole number of 8-byte (address, timestamp) events; the last "
                 "one, from byte %ld, has %ld bytes", path, payload, pos, len - payload % 8,
                 payload % 8);
    goto done;
  }
  for (; pos < len; pos += 8) {
    const uint32_t a = be32(b + pos), ts = be32(b + pos + 4);
    const int x = (int)((a & 0xFE) >> 1), y = (int)((a & 0x7F00) >> 8), p = (int)(a & 1);
    sb_event_list_push(l, sb_event_pack(DVS_SIZE - 1 - y, DVS_SIZE - 1 - x, 1 - p), ts);
  }
done:
  free(b);
  return st;
}
