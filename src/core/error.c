#include "snnbench/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One message per process; the first failure wins because later ones are usually consequences. */
static char g_errmsg[1024];
static int g_have_error;

sb_status sb_fail(sb_status code, const char *fmt, ...) {
  if (!g_have_error) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_errmsg, sizeof g_errmsg, fmt, ap);
    va_end(ap);
    g_have_error = 1;
  }
  return code;
}

void sb_error_prefix(const char *fmt, ...) {
  char prefix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t pl = strlen(prefix), ol = strlen(g_errmsg);
  if (pl + ol >= sizeof g_errmsg) ol = sizeof g_errmsg - 1 - pl;
  memmove(g_errmsg + pl, g_errmsg, ol);
  memcpy(g_errmsg, prefix, pl);
  g_errmsg[pl + ol] = 0;
}

const char *sb_errmsg(void) { return g_have_error ? g_errmsg : "unknown error"; }

void sb_clear_error(void) {
  g_have_error = 0;
  g_errmsg[0] = 0;
}

void sb_panic(const char *file, int line, const char *what) {
  fprintf(stderr, "snnbench: internal error at %s:%d: %s\n", file, line, what);
  abort();
}

static void *check_alloc(void *p, unsigned long bytes) {
  if (!p && bytes) {
    fprintf(stderr, "snnbench: out of memory allocating %lu bytes\n", bytes);
    abort();
  }
  return p;
}

void *sb_xmalloc(unsigned long bytes) { return check_alloc(malloc(bytes ? bytes : 1), bytes); }
void *sb_xcalloc(unsigned long n, unsigned long size) {
  return check_alloc(calloc(n ? n : 1, size ? size : 1), n * size);
}
void *sb_xrealloc(void *p, unsigned long bytes) {
  return check_alloc(realloc(p, bytes ? bytes : 1), bytes);
}
char *sb_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = sb_xmalloc(n);
  memcpy(d, s, n);
  return d;
}
