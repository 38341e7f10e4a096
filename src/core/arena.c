#include "snnbench/arena.h"

#include <stdlib.h>
#include <string.h>

#include "snnbench/error.h"

enum { ARENA_ALIGN = 64 };  /* a cache line, and enough for AVX-512 loads */

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
  a->bytes += (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
  *slot = NULL;
}

void sb_arena_commit(sb_arena *a) {
  SB_ASSERT(a->block == NULL);
  size_t total = a->bytes ? a->bytes : ARENA_ALIGN;
  if (posix_memalign(&a->block, ARENA_ALIGN, total) != 0) {
    sb_panic(__FILE__, __LINE__, "arena allocation failed");
  }
  memset(a->block, 0, total);
  for (int i = 0; i < a->n_req; i++) *a->req[i].slot = (char *)a->block + a->req[i].offset;
}

void sb_arena_free(sb_arena *a) {
  free(a->block);
  free(a->req);
  memset(a, 0, sizeof *a);
}
