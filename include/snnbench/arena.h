/* Planned memory: every buffer a model needs (activations, gradients, saved state, workspace) is
 * requested once while the model is built, then one aligned block is allocated and the requested
 * pointers are filled in. Training never calls malloc, so memory is flat across epochs. */
#ifndef SNNBENCH_ARENA_H
#define SNNBENCH_ARENA_H

#include <stddef.h>

typedef struct {
  void **slot;  /* where to store the pointer once the block exists */
  size_t offset;
} sb_arena_request;

typedef struct {
  sb_arena_request *req;
  int n_req, cap_req;
  size_t bytes;  /* total planned so far */
  void *block;   /* NULL until committed */
} sb_arena;

void sb_arena_init(sb_arena *a);
/* Requests `bytes` (64-byte aligned, zero-filled at commit); *slot is set by sb_arena_commit. */
void sb_arena_request_bytes(sb_arena *a, void **slot, size_t bytes);
#define sb_arena_request_floats(a, slot, n) \
  sb_arena_request_bytes((a), (void **)(slot), (size_t)(n) * sizeof(float))
void sb_arena_commit(sb_arena *a);
void sb_arena_free(sb_arena *a);

#endif
