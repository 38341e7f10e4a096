/* Progress of a run on rank 0: one line per event (cell started, done, failed, stopped), each
 * prefixed with the counters and an ETA. When stdout is a terminal a live status line also
 * stays at the bottom and refreshes about once a second; in a log file (Slurm's output) there
 * are only the event lines, so the log stays readable. */
#ifndef SNNBENCH_GRID_PROGRESS_H
#define SNNBENCH_GRID_PROGRESS_H

typedef struct {
  int done, total, running, failed, interrupted;
  double eta_s;  /* < 0: not known yet */
} sb_progress_counts;

typedef struct {
  int live;          /* keep a status line on the terminal */
  int line_shown;    /* the status line is on screen now */
  double t0, last_draw;
  char prefix[48];   /* "shard 1/4 " or "" */
} sb_progress;

/* live_allowed: 0 forces event lines only (per-epoch output would tear a live line). */
void sb_progress_init(sb_progress *p, int live_allowed, const char *prefix);
void sb_progress_event(sb_progress *p, const sb_progress_counts *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Redraws the live line if a second has passed; nothing when not live. */
void sb_progress_tick(sb_progress *p, const sb_progress_counts *c);
/* Removes the live line before other output. */
void sb_progress_end(sb_progress *p);

#endif
