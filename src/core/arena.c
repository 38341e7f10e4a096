#include "snnbench/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ARENA_ALIGN = 64 };  /* a cache line, and enough for AVX-512 loads */

/* Per thread, so a size check on one thread never turns another thread's build into a plan. */
static _Thread_local int g_plan_only;

void sb_arena_plan_only(int on) { g_plan_only = on != 0; }
int sb_arena_is_plan_only(void) { return g_plan_only; }

void sb_arena_init(sb_arena *a) { memset(a, 0, sizeof *a); }

void sb_arena_request_bytes(sb_arena *a, void **slot, size_t bytes) {
  SB_ASSERT(a->block == NULL);
  if (a->n_req == a->cap_req) {
    a->cap_req = a->cap_req ? 2 * a->cap_req : 64;
    a->req = sb_xrealloc(a->req, (unsigned long)a->cap_req * sizeof *a->req);
  }
  a->req[a->n_req].slot = slot;
  a->req[a->n_req].offset = a->bytes;
  a->n_req++;
  /* A plan past size_t (absurd T x batch x width) saturates, so commit fails instead of
   * allocating a wrapped-around small block. */
  if (bytes > SIZE_MAX - ARENA_ALIGN || a->bytes > SIZE_MAX - ARENA_ALIGN - bytes)
    a->bytes = SIZE_MAX;
  else
    a->bytes += (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
  *slot = NULL;
}

sb_status sb_arena_commit(sb_arena *a) {
  SB_ASSERT(a->block == NULL);
  if (g_plan_only) return SB_OK;
  char buf[32];
  if (a->bytes == SIZE_MAX)
    return sb_fail(SB_ERUNTIME, "the memory plan exceeds the address space");
  size_t total = a->bytes ? a->bytes : ARENA_ALIGN;
  if (posix_memalign(&a->block, ARENA_ALIGN, total) != 0) {
    a->block = NULL;
    return sb_fail(SB_ERUNTIME, "cannot allocate %s (%zu bytes)",
                   sb_bytes_str(total, buf, sizeof buf), total);
  }
  memset(a->block, 0, total);
  for (int i = 0; i < a->n_req; i++) *a->req[i].slot = (char *)a->block + a->req[i].offset;
  return SB_OK;
}

void sb_arena_free(sb_arena *a) {
  free(a->block);
  free(a->req);
  memset(a, 0, sizeof *a);
}

size_t sb_physical_memory_bytes(void) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  if ((unsigned long)pages > SIZE_MAX / (unsigned long)page) return SIZE_MAX;
  return (size_t)pages * (size_t)page;
}

const char *sb_bytes_str(size_t bytes, char *buf, size_t n) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    u++;
  }
  if (u == 0) snprintf(buf, n, "%zu B", bytes);
  else snprintf(buf, n, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
  return buf;
}
