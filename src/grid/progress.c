/* Progress lines of the grid runner: see progress.h. */
#include "grid/progress.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 42s, 5m12s, 3h07m. */
static void fmt_duration(double s, char *buf, size_t n) {
  const long t = (long)(s + 0.5);
  if (t < 60) snprintf(buf, n, "%lds", t);
  else if (t < 3600) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
  else snprintf(buf, n, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
}

static void counters(const sb_progress *p, const sb_progress_counts *c, char *buf, size_t n) {
  char elapsed[32], eta[32] = "--";
  fmt_duration(now_s() - p->t0, elapsed, sizeof elapsed);
  if (c->eta_s >= 0) fmt_duration(c->eta_s, eta, sizeof eta);
  int k = snprintf(buf, n, "[%s%d/%d done, %d running, %d failed", p->prefix, c->done, c->total,
                   c->running, c->failed);
  if (c->interrupted && k > 0 && (size_t)k < n)
    k += snprintf(buf + k, n - (size_t)k, ", %d stopped", c->interrupted);
  if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, ", %s, ETA %s]", elapsed, eta);
}

/* Whether the person running this sees stdout on a terminal. Open MPI gives the ranks it starts
 * a pseudo-terminal even when mpirun's own output goes to a file, so under mpirun the question
 * is asked of the launcher's stdout (the rank's parent on its node). */
static int stdout_is_terminal(void) {
  if (!isatty(STDOUT_FILENO)) return 0;
  if (!getenv("OMPI_COMM_WORLD_SIZE")) return 1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/fd/1", (long)getppid());
  const int fd = open(path, O_WRONLY | O_NOCTTY);
  if (fd < 0) return 0;
  const int tty = isatty(fd);
  close(fd);
  return tty;
}

void sb_progress_init(sb_progress *p, int live_allowed, const char *prefix) {
  p->live = live_allowed && stdout_is_terminal();
  p->line_shown = 0;
  p->t0 = now_s();
  p->last_draw = 0;
  snprintf(p->prefix, sizeof p->prefix, "%s", prefix ? prefix : "");
}

static void clear_line(sb_progress *p) {
  if (p->line_shown) printf("\r\033[K");
  p->line_shown = 0;
}

static void draw(sb_progress *p, const sb_progress_counts *c) {
  char line[256];
  counters(p, c, line, sizeof line);
  printf("\r\033[K%s", line);
  fflush(stdout);
  p->line_shown = 1;
  p->last_draw = now_s();
}

void sb_progress_event(sb_progress *p, const sb_progress_counts *c, const char *fmt, ...) {
  char head[256], what[1024];
  counters(p, c, head, sizeof head);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  clear_line(p);
  printf("%s %s\n", head, what);
  if (p->live) draw(p, c);
  fflush(stdout);
}

void sb_progress_tick(sb_progress *p, const sb_progress_counts *c) {
  if (p->live && now_s() - p->last_draw >= 1.0) draw(p, c);
}

void sb_progress_end(sb_progress *p) {
  clear_line(p);
  fflush(stdout);
}
