/* Planned memory: every buffer a model needs (activations, gradients, saved state, workspace) is
 * requested once while the model is built, then one aligned block is allocated and the requested
 * pointers are filled in. Training never calls malloc, so memory is flat across epochs. */
#ifndef SNNBENCH_ARENA_H
#define SNNBENCH_ARENA_H

#include <stddef.h>

#include "snnbench/error.h"

typedef struct {
  void **slot;  /* where to store the pointer once the block exists */
  size_t offset;
} sb_arena_request;

typedef struct {
  sb_arena_request *req;
  int n_req, cap_req;
  size_t bytes;  /* total planned so far; SIZE_MAX once the plan overflows size_t */
  void *block;   /* NULL until committed (and after a plan-only commit) */
} sb_arena;

void sb_arena_init(sb_arena *a);
/* Requests `bytes` (64-byte aligned, zero-filled at commit); *slot is set by sb_arena_commit. */
void sb_arena_request_bytes(sb_arena *a, void **slot, size_t bytes);
#define sb_arena_request_floats(a, slot, n) \
  sb_arena_request_bytes((a), (void **)(slot), (size_t)(n) * sizeof(float))
/* Allocates the planned block and fills in every requested pointer. A block the machine cannot
 * give is an error (SB_ERUNTIME, the message names the size), never an abort: a plan that is too
 * large comes from the user's batch size, T or model, and the caller says which. */
sb_status sb_arena_commit(sb_arena *a);
void sb_arena_free(sb_arena *a);

/* Plan-only mode, for memory checks before a run: while on (on the calling thread), commit
 * allocates nothing and leaves every slot NULL; `bytes` keeps the plan. A model built in this
 * mode can be inspected (layers, shapes, parameter counts, planned bytes) and freed, never run.
 * It builds the model exactly as training will, so the planned size is the real one. */
void sb_arena_plan_only(int on);
int sb_arena_is_plan_only(void);

/* Physical memory of this machine in bytes (sysconf), 0 if unknown: what plans are checked
 * against. */
size_t sb_physical_memory_bytes(void);
/* "1.5 GiB", "512 MiB", "64 KiB", "12 B". */
const char *sb_bytes_str(size_t bytes, char *buf, size_t n);

#endif
