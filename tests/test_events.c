/* Event datasets: N-MNIST .bin, AEDAT 3.1 with DVS128 Gesture's label CSVs, and CIFAR10-DVS's
 * AEDAT 2.0 stream. Files written from the format descriptions decode to the known events,
 * labels and sample order; binning by count (SpikingJelly's split_by='number') and by time gives
 * the hand-computed frames; each format's malformed variants give one clear error. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/data_internal.h"
#include "writers.h"

static char g_dir[256];
static uint8_t g_buf[1 << 16];

static void expect_error(sb_status st, const char *needle, const char *file) {
  CHECK_MSG(st == SB_EINPUT, "expected SB_EINPUT for \"%s\", got %d", needle, st);
  CHECK_MSG(strstr(sb_errmsg(), needle) != NULL, "message \"%s\" lacks \"%s\"", sb_errmsg(), needle);
  CHECK_MSG(strstr(sb_errmsg(), file) != NULL, "message \"%s\" does not name %s", sb_errmsg(), file);
  CHECK_MSG(strchr(sb_errmsg(), '\n') == NULL, "message is not one line");
  sb_clear_error();
}

static char *path(const char *fmt, const char *a) {
  static char p[4][700];
  static int k;
  k = (k + 1) % 4;
  char rel[400];
  snprintf(rel, sizeof rel, fmt, a);
  snprintf(p[k], sizeof p[k], "%s/%s", g_dir, rel);
  return p[k];
}

/* Event i of sample s, as the split stores it. */
static int event_is(const sb_split *s, long sample, long i, int x, int y, int p, uint32_t t) {
  const int64_t k = s->ev_off[sample] + i;
  const uint16_t a = s->ev_xyp[k];
  return sb_event_x(a) == x && sb_event_y(a) == y && sb_event_p(a) == p && s->ev_t[k] == t;
}

/* ------------------------------------------------------------------ binning */

static void binning(void) {
  /* Three events on a 4x3 sensor. */
  const uint16_t xyp[3] = {sb_event_pack(0, 0, 1), sb_event_pack(3, 2, 0), sb_event_pack(1, 2, 1)};
  const uint32_t t[3] = {0, 900, 100};
  float f[5 * 2 * 12];
  /* By number, T = 2: di = 1, frame 0 = event 0, frame 1 = events 1 and 2 (last runs to n). */
  sb_events_to_frames(xyp, t, 3, 2, SB_SPLIT_BY_NUMBER, 3, 4, f, 24);
  float want[2 * 2 * 12] = {0};
  want[0 * 24 + 1 * 12 + 0 * 4 + 0] = 1;   /* frame 0, p 1, y 0, x 0 */
  want[1 * 24 + 0 * 12 + 2 * 4 + 3] = 1;   /* frame 1, p 0, y 2, x 3 */
  want[1 * 24 + 1 * 12 + 2 * 4 + 1] = 1;   /* frame 1, p 1, y 2, x 1 */
  CHECK(!memcmp(f, want, sizeof want));
  /* By time, T = 2: dt = 900 / 2 = 450; t = 0, 100 in frame 0, t = 900 in frame 1. */
  sb_events_to_frames(xyp, t, 3, 2, SB_SPLIT_BY_TIME, 3, 4, f, 24);
  float want_t[2 * 2 * 12] = {0};
  want_t[0 * 24 + 1 * 12 + 0 * 4 + 0] = 1;
  want_t[0 * 24 + 1 * 12 + 2 * 4 + 1] = 1;
  want_t[1 * 24 + 0 * 12 + 2 * 4 + 3] = 1;
  CHECK(!memcmp(f, want_t, sizeof want_t));
  /* The same frames written with a larger stride, as into a time-major batch: the gaps between
   * frames are left alone. */
  float wide[2 * 30];
  for (int k = 0; k < 60; k++) wide[k] = -1;
  sb_events_to_frames(xyp, t, 3, 2, SB_SPLIT_BY_TIME, 3, 4, wide, 30);
  CHECK(!memcmp(wide, want_t, 24 * sizeof(float)) && !memcmp(wide + 30, want_t + 24, 24 * sizeof(float)));
  CHECK(wide[24] == -1 && wide[29] == -1 && wide[54] == -1);
  sb_frames_finish(wide, 2, 24, 30, 0, SB_FRAMES_BY_MAX);
  CHECK(wide[24] == -1 && wide[12] == 1);
  /* Fewer events than frames: SpikingJelly's di = 0 puts all of them in the last frame. */
  sb_events_to_frames(xyp, t, 3, 5, SB_SPLIT_BY_NUMBER, 3, 4, f, 24);
  float total_last = 0, total = 0;
  for (int k = 0; k < 5 * 24; k++) total += f[k];
  for (int k = 4 * 24; k < 5 * 24; k++) total_last += f[k];
  CHECK(total == 3 && total_last == 3);

  /* 100 events at t = 0..99 on one pixel. By number, T = 3: di = 33 -> 33, 33, 34 events. */
  uint16_t one[100];
  uint32_t ts[100];
  for (int i = 0; i < 100; i++) {
    one[i] = sb_event_pack(1, 1, i % 2);
    ts[i] = (uint32_t)i;
  }
  float g[4 * 2 * 4];
  sb_events_to_frames(one, ts, 100, 3, SB_SPLIT_BY_NUMBER, 2, 2, g, 8);
  for (int j = 0; j < 3; j++) {
    const float on = g[j * 8 + 4 + 3], off = g[j * 8 + 3];
    CHECK_MSG(on + off == (j < 2 ? 33 : 34), "frame %d has %g events", j, on + off);
  }
  /* The first frame: events 0..32, 17 even (OFF) and 16 odd (ON). */
  CHECK(g[3] == 17 && g[4 + 3] == 16);
  /* By time, T = 4: span 99, dt = 24: windows [0,24) [24,48) [48,72) and [72, end] -> 24, 24, 24,
   * 28 (SpikingJelly's integer dt, last window to the end). */
  sb_events_to_frames(one, ts, 100, 4, SB_SPLIT_BY_TIME, 2, 2, g, 8);
  for (int j = 0; j < 4; j++) {
    const float n = g[j * 8 + 4 + 3] + g[j * 8 + 3];
    CHECK_MSG(n == (j < 3 ? 24 : 28), "time frame %d has %g events", j, n);
  }
  CHECK(sb_events_span(ts, 100) == 99);

  /* Clipping and scaling. */
  float c[4] = {0, 1, 3, 5};
  sb_frames_finish(c, 1, 4, 4, 2, SB_FRAMES_BY_CLIP);
  CHECK(c[0] == 0 && c[1] == 0.5f && c[2] == 1 && c[3] == 1);
  float m[4] = {0, 1, 3, 5};
  sb_frames_finish(m, 1, 4, 4, 0, SB_FRAMES_BY_MAX);
  CHECK(m[1] == 1.0f / 5 && m[2] == 3.0f / 5 && m[3] == 1);
  float k[4] = {0, 1, 3, 5};
  sb_frames_finish(k, 1, 4, 4, 4, SB_FRAMES_COUNTS);
  CHECK(k[2] == 3 && k[3] == 4);
}

/* ------------------------------------------------------------------ N-MNIST */

static void nmnist_tree(const char *root) {
  for (int s = 0; s < 2; s++)
    for (int d = 0; d < 10; d++) tw_mkdir("%s/%s/%d", root, s ? "Test" : "Train", d);
}

static void nmnist(void) {
  char root[300];
  snprintf(root, sizeof root, "%s/nmnist", g_dir);
  nmnist_tree(root);
  const tw_event a[3] = {{0, 0, 1, 100}, {33, 33, 0, 0x7FFFFF}, {5, 6, 1, 200}};
  const tw_event b[1] = {{17, 4, 0, 42}};
  char p[700];
  snprintf(p, sizeof p, "%s/Train/3/00002.bin", root);
  tw_write(p, g_buf, tw_nmnist(g_buf, a, 3));
  snprintf(p, sizeof p, "%s/Train/3/00001.bin", root);
  tw_write(p, g_buf, tw_nmnist(g_buf, b, 1));
  snprintf(p, sizeof p, "%s/Train/7/00010.bin", root);
  tw_write(p, g_buf, tw_nmnist(g_buf, a, 2));
  snprintf(p, sizeof p, "%s/Train/7/README.txt", root);  /* not a .bin: ignored */
  tw_write(p, "x", 1);
  snprintf(p, sizeof p, "%s/Test/1/00003.bin", root);
  tw_write(p, g_buf, 0);  /* a sample without events is valid */

  sb_split tr, te;
  sb_status st = sb_nmnist_load(root, &tr, &te);
  CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
  if (st) return;
  CHECK(tr.n == 3 && te.n == 1);
  CHECK(tr.shape.d[0] == 2 && tr.shape.d[1] == 34 && tr.shape.d[2] == 34);
  /* Class folders in digit order, files sorted: 3/00001, 3/00002, 7/00010. */
  CHECK(tr.y[0] == 3 && tr.y[1] == 3 && tr.y[2] == 7 && te.y[0] == 1);
  CHECK(tr.ev_off[1] == 1 && tr.ev_off[2] == 4 && tr.ev_off[3] == 6 && te.ev_off[1] == 0);
  CHECK(event_is(&tr, 0, 0, 17, 4, 0, 0));
  /* Times are kept relative to the sample's earliest event (100 µs). */
  CHECK(event_is(&tr, 1, 0, 0, 0, 1, 0));
  CHECK(event_is(&tr, 1, 1, 33, 33, 0, 0x7FFFFF - 100));
  CHECK(event_is(&tr, 1, 2, 5, 6, 1, 100));
  CHECK(event_is(&tr, 2, 1, 33, 33, 0, 0x7FFFFF - 100));
  /* The decoded sample bins to the expected frames. */
  float f[2 * 2 * 34 * 34];
  const int64_t o = tr.ev_off[1];
  const long plane = 34 * 34;
  sb_events_to_frames(tr.ev_xyp + o, tr.ev_t + o, 3, 2, SB_SPLIT_BY_NUMBER, 34, 34, f, 2 * plane);
  CHECK(f[plane + 0] == 1 && f[2 * plane + 33 * 34 + 33] == 1 && f[3 * plane + 6 * 34 + 5] == 1);
  float sum = 0;
  for (long k = 0; k < 4 * plane; k++) sum += f[k];
  CHECK(sum == 3);
  sb_split_free(&tr);
  sb_split_free(&te);

  /* Malformed files. */
  snprintf(p, sizeof p, "%s/Train/3/00002.bin", root);
  tw_write(p, g_buf, tw_nmnist(g_buf, a, 3) - 3);
  expect_error(sb_nmnist_load(root, &tr, &te),
               "truncated event stream: 12 bytes is not a whole number of 5-byte events; the "
               "last event, from byte 10, has only 2 bytes", "00002.bin");
  const tw_event off_sensor[2] = {{1, 1, 0, 5}, {34, 0, 1, 6}};
  tw_write(p, g_buf, tw_nmnist(g_buf, off_sensor, 2));
  expect_error(sb_nmnist_load(root, &tr, &te), "event 1 at byte 5: (x=34, y=0) is outside the "
               "34x34 sensor", "00002.bin");
  tw_write(p, g_buf, tw_nmnist(g_buf, a, 3));
  tw_mkdir("%s/Train/10", root);
  expect_error(sb_nmnist_load(root, &tr, &te), "unexpected folder", "Train/10");
  snprintf(p, sizeof p, "rm -rf %s/Train/10 %s/Test/9", root, root);
  CHECK(system(p) == 0);
  expect_error(sb_nmnist_load(root, &tr, &te), "9 class folders", "Test");
  snprintf(p, sizeof p, "rm -rf %s/Test", root);
  CHECK(system(p) == 0);
  expect_error(sb_nmnist_load(root, &tr, &te), "not found", "nmnist/Test");
}

/* ------------------------------------------------------------------ AEDAT 3.1 / DVS128 Gesture */

/* A recording: a special-event packet (skipped), a polarity packet with one invalidated event,
 * and a polarity packet after the 31-bit timestamp wrapped once. */
static size_t recording(uint8_t *buf) {
  size_t n = tw_aedat3_header(buf);
  n += tw_aedat3_special_packet(buf + n, 2);
  const tw_event p1[4] = {{1, 2, 1, 1000}, {127, 0, 0, 1500}, {9, 9, 1, 1600}, {3, 4, 0, 2500}};
  const int valid[4] = {1, 1, 0, 1};
  n += tw_aedat3_packet(buf + n, p1, 4, 0, valid);
  const tw_event p2[2] = {{5, 5, 1, 10}, {6, 127, 0, 20}};  /* t = 2^31 + 10, 2^31 + 20 */
  n += tw_aedat3_packet(buf + n, p2, 2, 1, NULL);
  return n;
}

static void aedat3(void) {
  const char *file = path("rec.aedat", NULL);
  tw_write(file, g_buf, recording(g_buf));
  sb_event_list l = {0};
  sb_aedat_stats stats;
  sb_status st = sb_aedat3_read(file, &l, &stats);
  CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
  CHECK(l.n == 5 && stats.packets == 3 && stats.other_packets == 1 && stats.invalid == 1);
  if (l.n == 5) {
    CHECK(l.xyp[0] == sb_event_pack(1, 2, 1) && l.t[0] == 1000);
    CHECK(l.xyp[1] == sb_event_pack(127, 0, 0) && l.t[1] == 1500);
    CHECK(l.xyp[2] == sb_event_pack(3, 4, 0) && l.t[2] == 2500);
    CHECK(l.xyp[3] == sb_event_pack(5, 5, 1) && l.t[3] == (1LL << 31) + 10);
    CHECK(l.xyp[4] == sb_event_pack(6, 127, 0) && l.t[4] == (1LL << 31) + 20);
  }
  sb_event_list_free(&l);

  /* Malformed variants of the same recording. */
  const size_t full = recording(g_buf);
  const size_t header = tw_aedat3_header(g_buf);
  const char *bad = path("bad.aedat", NULL);
  uint8_t *b = malloc(full + 64);
  memcpy(b, g_buf, full);
  b[11] = '0';  /* "#!AER-DAT3.0" */
  tw_write(bad, b, full);
  expect_error(sb_aedat3_read(bad, &l, &stats), "bad magic at byte 0", "bad.aedat");
  memcpy(b, g_buf, full);
  memcpy(b + header - 14, "#!END-HEADEX\r\n", 14);
  tw_write(bad, b, full);
  expect_error(sb_aedat3_read(bad, &l, &stats), "without the \"#!END-HEADER\" line", "bad.aedat");
  tw_write(bad, g_buf, header + 10);
  char want[200];
  snprintf(want, sizeof want, "packet header at byte %zu has 10 of 28 bytes", header);
  expect_error(sb_aedat3_read(bad, &l, &stats), want, "bad.aedat");
  /* Cut inside the last packet's events: it promises 16 bytes, 5 remain. */
  tw_write(bad, g_buf, full - 11);
  snprintf(want, sizeof want, "truncated event stream: the packet at byte %zu promises 16 bytes "
           "of events, only 5 remain", full - 16 - 28);
  expect_error(sb_aedat3_read(bad, &l, &stats), want, "bad.aedat");
  /* A malicious capacity: 2^31 - 1 events of 8 bytes, without overflow or a huge allocation. */
  memcpy(b, g_buf, full);
  const size_t last = full - 16 - 28;
  b[last + 16] = b[last + 17] = b[last + 18] = 0xFF;
  b[last + 19] = 0x7F;
  tw_write(bad, b, full);
  expect_error(sb_aedat3_read(bad, &l, &stats), "promises 17179869176 bytes", "bad.aedat");
  /* eventNumber above eventCapacity. */
  memcpy(b, g_buf, full);
  b[last + 20] = 9;
  tw_write(bad, b, full);
  expect_error(sb_aedat3_read(bad, &l, &stats), "malformed packet header", "bad.aedat");
  /* A polarity packet whose events are not 8 bytes. */
  memcpy(b, g_buf, full);
  b[last + 4] = 4;
  tw_write(bad, b, full);
  expect_error(sb_aedat3_read(bad, &l, &stats), "eventSize 4 and eventTSOffset 4", "bad.aedat");
  /* x = 200: outside the sensor, at the event's byte offset. */
  size_t n = tw_aedat3_header(b);
  const tw_event off[1] = {{200, 3, 1, 7}};
  n += tw_aedat3_packet(b + n, off, 1, 0, NULL);
  tw_write(bad, b, n);
  snprintf(want, sizeof want, "event at byte %zu: (x=200, y=3) is outside the 128x128", header + 28);
  expect_error(sb_aedat3_read(bad, &l, &stats), want, "bad.aedat");
  free(b);
  sb_event_list_free(&l);
}

static void gesture(void) {
  char dir[300];
  snprintf(dir, sizeof dir, "%s/DvsGesture", g_dir);
  tw_mkdir("%s", dir);
  char p[600];
  snprintf(p, sizeof p, "%s/user01_fluorescent.aedat", dir);
  tw_write(p, g_buf, recording(g_buf));
  snprintf(p, sizeof p, "%s/user02_led.aedat", dir);
  tw_write(p, g_buf, recording(g_buf));
  /* Windows [1000, 2000), [2000, 2^31 + 15) and an overlapping [1500, 3000). */
  const char *csv1 = "class,startTime_usec,endTime_usec\r\n1,1000,2000\r\n11,2000,2147483663\r\n"
                     "4, 1500 ,3000\r\n\r\n";
  snprintf(p, sizeof p, "%s/user01_fluorescent_labels.csv", dir);
  tw_write(p, csv1, strlen(csv1));
  const char *csv2 = "class,startTime_usec,endTime_usec\n2,2147483648,2147483700\n";
  snprintf(p, sizeof p, "%s/user02_led_labels.csv", dir);
  tw_write(p, csv2, strlen(csv2));
  snprintf(p, sizeof p, "%s/trials_to_train.txt", dir);
  tw_write(p, "user01_fluorescent.aedat\n\n", 26);
  snprintf(p, sizeof p, "%s/trials_to_test.txt", dir);
  tw_write(p, "user02_led.aedat\r\n", 18);

  sb_split tr, te;
  sb_status st = sb_gesture_load(dir, &tr, &te);
  CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
  if (st) return;
  CHECK(tr.n == 3 && te.n == 1 && tr.shape.d[1] == 128);
  CHECK(tr.y[0] == 0 && tr.y[1] == 10 && tr.y[2] == 3 && te.y[0] == 1);
  /* Window 1: t = 1000, 1500. Window 2: 2500, 2^31+10. Window 3: 1500, 2500. */
  CHECK(tr.ev_off[1] == 2 && tr.ev_off[2] == 4 && tr.ev_off[3] == 6);
  CHECK(event_is(&tr, 0, 0, 1, 2, 1, 0) && event_is(&tr, 0, 1, 127, 0, 0, 500));
  CHECK(event_is(&tr, 1, 0, 3, 4, 0, 0) && event_is(&tr, 1, 1, 5, 5, 1, 2147483648u + 10 - 2500));
  CHECK(event_is(&tr, 2, 0, 127, 0, 0, 0) && event_is(&tr, 2, 1, 3, 4, 0, 1000));
  CHECK(te.ev_off[1] == 2 && event_is(&te, 0, 1, 6, 127, 0, 10));
  sb_split_free(&tr);
  sb_split_free(&te);

  /* Malformed label files and lists. */
  snprintf(p, sizeof p, "%s/user01_fluorescent_labels.csv", dir);
  const char *bad_class = "class,startTime_usec,endTime_usec\n1,1000,2000\n12,3000,4000\n";
  tw_write(p, bad_class, strlen(bad_class));
  expect_error(sb_gesture_load(dir, &tr, &te), "line 3 (byte 46): class 12 is outside 1..11",
               "user01_fluorescent_labels.csv");
  const char *bad_row = "class,startTime_usec,endTime_usec\n1,1000;2000\n";
  tw_write(p, bad_row, strlen(bad_row));
  expect_error(sb_gesture_load(dir, &tr, &te), "line 2 (byte 34): expected class,startTime_usec,"
               "endTime_usec", "user01_fluorescent_labels.csv");
  const char *backwards = "class,startTime_usec,endTime_usec\n1,3000,2000\n";
  tw_write(p, backwards, strlen(backwards));
  expect_error(sb_gesture_load(dir, &tr, &te), "endTime_usec 2000 is not after startTime_usec 3000",
               "user01_fluorescent_labels.csv");
  const char *no_header = "1,1000,2000\n";
  tw_write(p, no_header, strlen(no_header));
  expect_error(sb_gesture_load(dir, &tr, &te), "line 1 should be the header",
               "user01_fluorescent_labels.csv");
  unlink(p);
  expect_error(sb_gesture_load(dir, &tr, &te), "cannot open", "user01_fluorescent_labels.csv");
  snprintf(p, sizeof p, "%s/trials_to_train.txt", dir);
  tw_write(p, "user01_fluorescent.txt\n", 23);
  expect_error(sb_gesture_load(dir, &tr, &te), "line at byte 0 is not a .aedat file name",
               "trials_to_train.txt");
  unlink(p);
  expect_error(sb_gesture_load(dir, &tr, &te), "not found", "trials_to_train.txt");
}

/* ------------------------------------------------------------------ CIFAR10-DVS */

static void cifar10dvs(void) {
  static const char *const classes[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                          "dog",      "frog",       "horse", "ship", "truck"};
  char root[300];
  snprintf(root, sizeof root, "%s/c10dvs", g_dir);
  for (int c = 0; c < 10; c++) tw_mkdir("%s/%s", root, classes[c]);
  /* Raw (as stored) addresses; the reader remaps x' = 127 - y, y' = 127 - x, p' = 1 - p. */
  const tw_event raw[3] = {{0, 0, 0, 5}, {10, 20, 1, 7}, {127, 127, 1, 9}};
  char p[600];
  const int airplane[4] = {100, 2, 150, 0};
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s/airplane/cifar10_airplane_%d.aedat", root, airplane[i]);
    tw_write(p, g_buf, tw_aedat2(g_buf, raw, 1 + i % 3));
  }
  snprintf(p, sizeof p, "%s/truck/cifar10_truck_100.aedat", root);
  tw_write(p, g_buf, tw_aedat2(g_buf, raw, 3));
  sb_split tr, te;
  sb_status st = sb_cifar10dvs_load(root, &tr, &te);
  CHECK_MSG(st == SB_OK, "%s", sb_errmsg());
  if (st) return;
  /* Recordings 0..99 of each class are the test split; order is by recording number. */
  CHECK(tr.n == 3 && te.n == 2);
  CHECK(tr.y[0] == 0 && tr.y[1] == 0 && tr.y[2] == 9 && te.y[0] == 0 && te.y[1] == 0);
  /* airplane_100 had 1 event, _150 had 3, _0 had 1, _2 had 2. */
  CHECK(tr.ev_off[1] == 1 && tr.ev_off[2] == 4 && te.ev_off[1] == 1 && te.ev_off[2] == 3);
  CHECK(event_is(&tr, 0, 0, 127, 127, 1, 0));
  CHECK(event_is(&tr, 1, 1, 107, 117, 0, 2) && event_is(&tr, 1, 2, 0, 0, 0, 4));
  sb_split_free(&tr);
  sb_split_free(&te);

  /* Malformed. */
  snprintf(p, sizeof p, "%s/airplane/cifar10_airplane_2.aedat", root);
  const size_t n = tw_aedat2(g_buf, raw, 2);
  tw_write(p, g_buf, n - 4);
  char want[300];
  snprintf(want, sizeof want, "the last one, from byte %zu, has 4 bytes", n - 8);
  expect_error(sb_cifar10dvs_load(root, &tr, &te), want, "cifar10_airplane_2.aedat");
  tw_write(p, g_buf, n);
  snprintf(p, sizeof p, "%s/cat/cifar10_cat_07.aedat", root);
  tw_write(p, g_buf, n);
  snprintf(p, sizeof p, "%s/cat/cifar10_cat_7.aedat", root);
  tw_write(p, g_buf, n);
  expect_error(sb_cifar10dvs_load(root, &tr, &te), "are both recording 7", "cat");
  unlink(p);
  snprintf(p, sizeof p, "%s/cat/cat_8.aedat", root);
  tw_write(p, g_buf, n);
  expect_error(sb_cifar10dvs_load(root, &tr, &te), "unexpected file name", "cat_8.aedat");
  snprintf(p, sizeof p, "rm -rf %s/cat", root);
  CHECK(system(p) == 0);
  expect_error(sb_cifar10dvs_load(root, &tr, &te), "not found", "c10dvs/cat");
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/snnbench-test-events-%ld", (long)getpid());
  tw_mkdir("%s", g_dir);
  binning();
  nmnist();
  aedat3();
  gesture();
  cifar10dvs();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  if (system(cmd)) return 1;
  return check_exit("test_events");
}
