/* Gradient plumbing shared by layers: broadcast inputs and deterministic parameter sums. */
#include <string.h>

#include "nn/layers.h"

/* Each piece should hold enough rows to pay for its own partial slot. */
enum { PARTIAL_MIN_ROWS = 16 };

int sb_partial_pieces(long rows) {
  return sb_pieces(rows, PARTIAL_MIN_ROWS, SB_PARTIAL_MAX_PIECES);
}

void sb_builder_partials(sb_builder *b, double **slot, long n) {
  sb_builder_bytes(b, (void **)slot, (size_t)SB_PARTIAL_MAX_PIECES * (size_t)n * sizeof(double));
}

void sb_partials_reduce(const double *partial, int pieces, long n, float *out) {
#pragma omp parallel for schedule(static) if (n * pieces > 65536)
  for (long i = 0; i < n; i++) {
    double s = 0.0;
    for (int p = 0; p < pieces; p++) s += partial[(long)p * n + i];
    out[i] = (float)s;
  }
}

void sb_grad_store_seq(sb_act *in, const float *g, int T, long R, int accumulate) {
  if (in->is_static)
    sb_sum_time(T, R, g, in->g, accumulate);
  else
    sb_grad_store(in->g, g, (long)T * R, accumulate);
}
