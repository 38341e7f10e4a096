/* Error reporting: functions return an sb_status; the first failure records a one-line message
 * that the CLI prints. Exit codes follow the status values. */
#ifndef SNNBENCH_ERROR_H
#define SNNBENCH_ERROR_H

typedef enum {
  SB_OK = 0,
  SB_ERUNTIME = 1,      /* something failed while running (I/O, MPI, numerics) */
  SB_EINPUT = 2,        /* bad config, arguments or data files: the user must fix the input */
  SB_EINTERRUPTED = 75  /* stopped by SIGTERM/SIGUSR1 after checkpointing: run again with --resume */
} sb_status;

/* Records the message (printf-style) and returns code, so callers write `return sb_fail(...)`. */
sb_status sb_fail(sb_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sb_errmsg(void);
/* Prepends context ("config.json: ") to the recorded message. */
void sb_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sb_clear_error(void);

/* For conditions that are programming errors, not user errors: print and abort. */
#define SB_ASSERT(cond)                                                                    \
  do {                                                                                     \
    if (!(cond)) sb_panic(__FILE__, __LINE__, #cond);                                      \
  } while (0)
_Noreturn void sb_panic(const char *file, int line, const char *what);

/* malloc that treats exhaustion as fatal: out of memory is not recoverable mid-training. */
void *sb_xmalloc(unsigned long bytes);
void *sb_xcalloc(unsigned long n, unsigned long size);
void *sb_xrealloc(void *p, unsigned long bytes);
char *sb_xstrdup(const char *s);

#endif
