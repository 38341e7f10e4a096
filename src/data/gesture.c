/* DVS128 Gesture (IBM): DIR (the unpacked DvsGesture folder) holds trials_to_train.txt and
 * trials_to_test.txt, each listing recordings userNN_<lighting>.aedat (AEDAT 3.1), and next to
 * each recording userNN_<lighting>_labels.csv with the header class,startTime_usec,endTime_usec
 * and one row per gesture: class 1..11 and the time window [start, end) in the recording's µs.
 * Every row becomes one sample, label class − 1, of the events with start <= t < end (as
 * SpikingJelly's DVS128Gesture splits them). Samples are in trials-file order, then row order. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum { GESTURE_CLASSES = 11 };

typedef struct {
  int label;
  int64_t start, end;
} gesture_row;

/* Parses one unsigned decimal field; advances *p past it and any surrounding blanks. */
static int parse_field(const char **p, const char *end, int64_t *out) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t')) s++;
  if (s == end || !isdigit((unsigned char)*s)) return -1;
  int64_t v = 0;
  for (; s < end && isdigit((unsigned char)*s); s++) {
    if (v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  while (s < end && (*s == ' ' || *s == '\t')) s++;
  *p = s;
  *out = v;
  return 0;
}

static sb_status read_labels(const char *path, gesture_row **rows, long *n_rows) {
  uint8_t *buf;
  long len;
  sb_status st = sb_read_file(path, 1L << 24, &buf, &len);
  if (st) return st;
  const char *b = (const char *)buf;
  long cap = 16, n = 0, pos = 0;
  gesture_row *r = sb_xmalloc((unsigned long)cap * sizeof *r);
  for (int line = 1; pos < len && !st; line++) {
    const char *nl = memchr(b + pos, '\n', (size_t)(len - pos));
    const long next = nl ? (long)(nl - b) + 1 : len;
    const char *s = b + pos, *e = b + next;
    while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
    if (line == 1) {
      if (e - s < 5 || memcmp(s, "class", 5))
        st = sb_fail(SB_EINPUT, "%s: line 1 should be the header class,startTime_usec,"
                     "endTime_usec", path);
    } else if (e > s) {
      int64_t cls, start, end;
      const char *p = s;
      const int ok = !parse_field(&p, e, &cls) && p < e && *p++ == ',' &&
                     !parse_field(&p, e, &start) && p < e && *p++ == ',' &&
                     !parse_field(&p, e, &end) && p == e;
      if (!ok)
        st = sb_fail(SB_EINPUT, "%s: line %d (byte %ld): expected class,startTime_usec,"
                     "endTime_usec as three unsigned integers", path, line, pos);
      else if (cls < 1 || cls > GESTURE_CLASSES)
        st = sb_fail(SB_EINPUT, "%s: line %d (byte %ld): class %lld is outside 1..11", path, line,
                     pos, (long long)cls);
      else if (end <= start)
        st = sb_fail(SB_EINPUT, "%s: line %d (byte %ld): endTime_usec %lld is not after "
                     "startTime_usec %lld", path, line, pos, (long long)end, (long long)start);
      if (!st) {
        if (n == cap) {
          cap *= 2;
          r = sb_xrealloc(r, (unsigned long)cap * sizeof *r);
        }
        r[n++] = (gesture_row){(int)cls - 1, start, end};
      }
    }
    pos = next;
  }
  free(buf);
  if (!st && n == 0) st = sb_fail(SB_EINPUT, "%s: no gesture rows after the header", path);
  if (st) {
    free(r);
    return st;
  }
  *rows = r;
  *n_rows = n;
  return SB_OK;
}

static sb_status load_split(const char *dir, const char *list_name, sb_event_list *l,
                            sb_split *s) {
  char list[1100];
  snprintf(list, sizeof list, "%s/%s", dir, list_name);
  if (!sb_is_file(list))
    return sb_fail(SB_EINPUT, "%s: not found (dataset dvs-gesture: data.path must be the "
                   "DvsGesture folder with trials_to_train.txt, trials_to_test.txt, the .aedat "
                   "recordings and their _labels.csv files)", list);
  uint8_t *buf;
  long len;
  sb_status st = sb_read_file(list, 1L << 24, &buf, &len);
  if (st) return st;
  sb_split_builder b;
  sb_builder_init_events(&b);
  long pos = 0;
  while (pos < len && !st) {
    const char *s0 = (const char *)buf + pos;
    const char *nl = memchr(s0, '\n', (size_t)(len - pos));
    const long next = nl ? (long)(nl - (const char *)buf) + 1 : len;
    const char *e = (const char *)buf + next;
    while (s0 < e && isspace((unsigned char)*s0)) s0++;
    while (e > s0 && isspace((unsigned char)e[-1])) e--;
    pos = next;
    if (e == s0) continue;
    const int n = (int)(e - s0);
    if (n < 7 || memcmp(e - 6, ".aedat", 6) || n > 200) {
      st = sb_fail(SB_EINPUT, "%s: line at byte %ld is not a .aedat file name", list,
                   (long)(s0 - (const char *)buf));
      break;
    }
    char aedat[1400], csv[1400];
    snprintf(aedat, sizeof aedat, "%s/%.*s", dir, n, s0);
    snprintf(csv, sizeof csv, "%s/%.*s_labels.csv", dir, n - 6, s0);
    gesture_row *rows = NULL;
    long n_rows = 0;
    sb_aedat_stats stats;
    if ((st = sb_aedat3_read(aedat, l, &stats))) break;
    if ((st = read_labels(csv, &rows, &n_rows))) break;
    for (long r = 0; r < n_rows && !st; r++) {
      char what[3000];
      snprintf(what, sizeof what, "%s (gesture window %ld of %s)", aedat, r + 1, csv);
      st = sb_builder_add_events(&b, l, rows[r].start, rows[r].end, rows[r].label, what);
    }
    free(rows);
  }
  free(buf);
  if (st) {
    sb_builder_free(&b);
    return st;
  }
  sb_builder_finish(&b, s);
  s->shape = (sb_shape){3, {2, 128, 128}};
  return SB_OK;
}

sb_status sb_gesture_load(const char *dir, sb_split *train, sb_split *test) {
  sb_event_list l = {0};
  sb_status st = load_split(dir, "trials_to_train.txt", &l, train);
  if (!st && (st = load_split(dir, "trials_to_test.txt", &l, test))) sb_split_free(train);
  sb_event_list_free(&l);
  return st;
}
