#include "snnbench/kernels.h"

#include <cblas.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "snnbench/error.h"

/* GEMMs split into (at most) this many fixed pieces: enough for two threads, and few enough
 * that one thread loses little to repeated packing. The split must not follow the thread count:
 * OpenBLAS results depend on how a product is divided. */
enum { GEMM_PIECES = 2 };

void sb_kernels_init(void) {
  /* The OpenMP build of OpenBLAS implements this with omp_set_num_threads(1), which would also
   * serialise our own loops; restore OpenMP's count afterwards. OpenBLAS keeps its own count at 1
   * and then never forks, inside or outside our parallel regions. */
  const int threads = omp_get_max_threads();
  openblas_set_num_threads(1);
  omp_set_num_threads(threads);
}

double sb_density(const float *x, long n) {
  const long stride = n < 7 * 4096 ? 1 : 7;
  long nz = 0, seen = 0;
  for (long i = 0; i < n; i += stride, seen++) nz += x[i] != 0.0f;
  return seen ? (double)nz / (double)seen : 0.0;
}

int sb_pieces(long n, long min_units, int max_pieces) {
  long p = n / (min_units > 0 ? min_units : 1);
  if (p < 1) p = 1;
  if (p > max_pieces) p = max_pieces;
  return (int)p;
}

/* Piece i of n units split into p nearly equal parts: [*lo, *hi). */
static inline void piece_range(long n, int p, int i, long *lo, long *hi) {
  *lo = n * i / p;
  *hi = n * (i + 1) / p;
}

enum { GEMM_MIN_ROWS = 64, GEMM_MAX_PIECES = 64 };

void sb_gemm_serial(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sb_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  const enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if (K <= 0) {
    for (int m = 0; m < M; m++)
      for (int n = 0; n < N; n++) C[(long)m * ldc + n] = beta == 0.0f ? 0.0f : beta * C[(long)m * ldc + n];
    return;
  }
  /* Split the longer side of C. Each piece is an independent sgemm whose boundaries depend only
   * on (M, N), so every element is computed identically whatever the thread count. */
  const int split_rows = M >= N;
  const long units = split_rows ? M : N;
  const int pieces = sb_pieces(units, GEMM_MIN_ROWS, GEMM_PIECES);
  if (pieces == 1) {
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(units, pieces, p, &lo, &hi);
    if (split_rows) {
      /* Rows lo..hi of op(A): row r of A when not transposed, column r when transposed. */
      const float *a = trans_a ? A + lo : A + lo * lda;
      cblas_sgemm(CblasRowMajor, ta, tb, (int)(hi - lo), N, K, alpha, a, lda, B, ldb, beta,
                  C + lo * ldc, ldc);
    } else {
      const float *b = trans_b ? B + lo * ldb : B + lo;
      cblas_sgemm(CblasRowMajor, ta, tb, M, (int)(hi - lo), K, alpha, A, lda, b, ldb, beta,
                  C + lo, ldc);
    }
  }
}

/* Eight floats, loadable from any 4-byte aligned address: with -march=native GCC maps it to one
 * AVX register, without it to two SSE registers. */
typedef float v8sf __attribute__((vector_size(32), aligned(4)));

enum { SPIKE_BLOCK = SB_SPARSE_MIN_OUTPUTS, SPIKE_MIN_ROWS = 8, ELEM_MIN = 4096 };

/* Bit i set where x[i] != 0, for n <= 32 values (NaN counts as nonzero, as in x != 0). */
static inline uint32_t nonzero_mask(const float *x, int n) {
  uint32_t m = 0;
#if defined(__AVX__)
  if (n == 32) {
    const __m256 zero = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++)
      m |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + 8 * i), zero,
                                                      _CMP_NEQ_UQ))
           << (8 * i);
    return m;
  }
#endif
  for (int i = 0; i < n; i++) m |= (uint32_t)(x[i] != 0.0f) << i;
  return m;
}

/* Appends k0 + (each set bit of m), ascending, to id; returns the new count. */
static inline long append_bits(uint32_t m, long k0, int32_t *id, long c) {
  for (; m; m &= m - 1) id[c++] = (int32_t)(k0 + __builtin_ctz(m));
  return c;
}

long sb_nonzero_indices(const float *x, long n, int32_t *idx) {
  long c = 0;
  for (long k0 = 0; k0 < n; k0 += 32)
    c = append_bits(nonzero_mask(x + k0, n - k0 < 32 ? (int)(n - k0) : 32), k0, idx, c);
  return c;
}

/* y[0..N) = beta·y + Σ_a vals[a]·R[id[a]][0..N), with vals NULL meaning all ones. Each block of
 * 64 outputs stays in eight vector registers over the whole sum. */
static void accumulate_rows(const float *R, int N, const int32_t *id, const float *vals, int c,
                            float beta, float *y) {
  const int full = N / SPIKE_BLOCK * SPIKE_BLOCK;
  for (int n0 = 0; n0 < full; n0 += SPIKE_BLOCK) {
    v8sf a0, a1, a2, a3, a4, a5, a6, a7;
    v8sf *yv = (v8sf *)(y + n0);
    if (beta == 0.0f) {
      a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = (v8sf){0};
    } else {
      a0 = beta * yv[0], a1 = beta * yv[1], a2 = beta * yv[2], a3 = beta * yv[3];
      a4 = beta * yv[4], a5 = beta * yv[5], a6 = beta * yv[6], a7 = beta * yv[7];
    }
    if (!vals) {
      for (int a = 0; a < c; a++) {
        const v8sf *r = (const v8sf *)(R + (long)id[a] * N + n0);
        a0 += r[0], a1 += r[1], a2 += r[2], a3 += r[3];
        a4 += r[4], a5 += r[5], a6 += r[6], a7 += r[7];
      }
    } else {
      for (int a = 0; a < c; a++) {
        const v8sf *r = (const v8sf *)(R + (long)id[a] * N + n0);
        const float v = vals[a];
        a0 += v * r[0], a1 += v * r[1], a2 += v * r[2], a3 += v * r[3];
        a4 += v * r[4], a5 += v * r[5], a6 += v * r[6], a7 += v * r[7];
      }
    }
    yv[0] = a0, yv[1] = a1, yv[2] = a2, yv[3] = a3, yv[4] = a4, yv[5] = a5, yv[6] = a6, yv[7] = a7;
  }
  if (full < N) { /* columns past the last full block, row by row for contiguous loads */
    const int w = N - full;
    float acc[SPIKE_BLOCK];
    for (int n = 0; n < w; n++) acc[n] = beta == 0.0f ? 0.0f : beta * y[full + n];
    for (int a = 0; a < c; a++) {
      const float *r = R + (long)id[a] * N + full, v = vals ? vals[a] : 1.0f;
      for (int n = 0; n < w; n++) acc[n] += v * r[n];
    }
    memcpy(y + full, acc, (size_t)w * sizeof(float));
  }
}

enum { VALUE_CHUNK = 1024 };

/* accumulate_rows with multipliers read from X: entry a weighs R[id[a]] by
 * X[base + id[a]·stride], gathered a chunk at a time. */
static void accumulate_valued(const float *R, int N, const int32_t *id, int c, const float *X,
                              long base, long stride, float beta, float *y) {
  float vals[VALUE_CHUNK];
  if (c == 0) accumulate_rows(R, N, id, NULL, 0, beta, y);
  for (int done = 0; done < c; done += VALUE_CHUNK) {
    const int n = c - done < VALUE_CHUNK ? c - done : VALUE_CHUNK;
    for (int a = 0; a < n; a++) vals[a] = X[base + (long)id[done + a] * stride];
    accumulate_rows(R, N, id + done, vals, n, done ? 1.0f : beta, y);
  }
}

void sb_sparse_gemm(int M, int N, int K, const float *X, int binary, const float *W, float beta,
                    float *Y, int32_t *idx, int32_t *cnt) {
  const int pieces = sb_pieces(M, SPIKE_MIN_ROWS, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(dynamic, 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(M, pieces, p, &lo, &hi);
    for (long m = lo; m < hi; m++) {
      int32_t *id = idx + m * K;
      const int c = cnt[m] = (int)sb_nonzero_indices(X + m * K, K, id);
      if (binary)
        accumulate_rows(W, N, id, NULL, c, beta, Y + m * N);
      else /* values X[m][id[a]] */
        accumulate_valued(W, N, id, c, X, m * K, 1, beta, Y + m * N);
    }
  }
}

/* Row lists to column lists by a counting sort, so each column's rows stay ascending: count
 * every entry into its bucket (stride·id + which), turn the counts into starts, place the rows,
 * then rewind the starts the placing advanced. starts holds n_buckets + 1 ints. */
static void bucket_count(int32_t *starts, const int32_t *ids, int n, int stride, int which) {
  for (int a = 0; a < n; a++) starts[stride * ids[a] + which + 1]++;
}
static void bucket_place(int32_t *starts, int32_t *rows, const int32_t *ids, int n, int stride,
                         int which, int32_t row) {
  for (int a = 0; a < n; a++) rows[starts[stride * ids[a] + which]++] = row;
}
static void bucket_starts(int32_t *starts, int n_buckets) {
  for (int b = 0; b < n_buckets; b++) starts[b + 1] += starts[b];
}
static void bucket_rewind(int32_t *starts, int n_buckets) {
  for (int b = n_buckets; b > 0; b--) starts[b] = starts[b - 1];
  starts[0] = 0;
}

enum { WGRAD_MIN_ROWS = 16 };

void sb_sparse_gemm_wgrad(int M, int N, int K, const float *X, int binary, const int32_t *idx,
                          const int32_t *cnt, const float *dY, float beta, float *dW,
                          int32_t *col_start, int32_t *col_rows) {
  /* Transpose the row lists into column lists (a counting sort keeps rows ascending), so each
   * weight row sums its terms in registers and in ascending sample order. */
  memset(col_start, 0, (size_t)(K + 1) * sizeof(int32_t));
  for (long m = 0; m < M; m++) bucket_count(col_start, idx + m * K, cnt[m], 1, 0);
  bucket_starts(col_start, K);
  for (long m = 0; m < M; m++)
    bucket_place(col_start, col_rows, idx + m * K, cnt[m], 1, 0, (int32_t)m);
  bucket_rewind(col_start, K);

  const int pieces = sb_pieces(K, WGRAD_MIN_ROWS, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(dynamic, 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(K, pieces, p, &lo, &hi);
    for (long k = lo; k < hi; k++) {
      const int32_t *rows = col_rows + col_start[k];
      const int c = col_start[k + 1] - col_start[k];
      if (binary)
        accumulate_rows(dY, N, rows, NULL, c, beta, dW + k * N);
      else /* values X[rows[a]][k] */
        accumulate_valued(dY, N, rows, c, X, k, K, beta, dW + k * N);
    }
  }
}

/* ---------------------------------------------------------------- spikes through time */

/* y[0..N) = start + Σ R[on[a]] − Σ R[off[a]], with start NULL meaning zeros. */
static void accumulate_signed(const float *R, int N, const int32_t *on, int c_on,
                              const int32_t *off, int c_off, const float *start, float *y) {
  const int full = N / SPIKE_BLOCK * SPIKE_BLOCK;
  for (int n0 = 0; n0 < full; n0 += SPIKE_BLOCK) {
    v8sf a0, a1, a2, a3, a4, a5, a6, a7;
    if (start) {
      const v8sf *s = (const v8sf *)(start + n0);
      a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7];
    } else {
      a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = (v8sf){0};
    }
    for (int a = 0; a < c_on; a++) {
      const v8sf *r = (const v8sf *)(R + (long)on[a] * N + n0);
      a0 += r[0], a1 += r[1], a2 += r[2], a3 += r[3];
      a4 += r[4], a5 += r[5], a6 += r[6], a7 += r[7];
    }
    for (int a = 0; a < c_off; a++) {
      const v8sf *r = (const v8sf *)(R + (long)off[a] * N + n0);
      a0 -= r[0], a1 -= r[1], a2 -= r[2], a3 -= r[3];
      a4 -= r[4], a5 -= r[5], a6 -= r[6], a7 -= r[7];
    }
    v8sf *yv = (v8sf *)(y + n0);
    yv[0] = a0, yv[1] = a1, yv[2] = a2, yv[3] = a3, yv[4] = a4, yv[5] = a5, yv[6] = a6, yv[7] = a7;
  }
  if (full < N) { /* the columns past the last full block, row by row */
    const int w = N - full;
    float acc[SPIKE_BLOCK];
    for (int n = 0; n < w; n++) acc[n] = start ? start[full + n] : 0.0f;
    for (int a = 0; a < c_on; a++)
      for (int n = 0; n < w; n++) acc[n] += R[(long)on[a] * N + full + n];
    for (int a = 0; a < c_off; a++)
      for (int n = 0; n < w; n++) acc[n] -= R[(long)off[a] * N + full + n];
    memcpy(y + full, acc, (size_t)w * sizeof(float));
  }
}

double sb_change_density(const float *x, int T, long n) {
  const long stride = (long)T * n < 7 * 4096 ? 1 : 7;
  long changed = 0, seen = 0;
  for (long i = 0; i < n; i += stride, seen++) {
    float prev = 0.0f;
    for (int t = 0; t < T; t++) {
      const float v = x[(long)t * n + i];
      changed += v != prev;
      prev = v;
    }
  }
  return seen ? (double)changed / ((double)seen * T) : 0.0;
}

enum { DELTA_MIN_SAMPLES = 4 };

void sb_delta_gemm(int T, int R, int N, int K, const float *X, const float *W, float *Y,
                   int32_t *idx, int32_t *n_on, int32_t *n_off) {
  const int pieces = sb_pieces(R, DELTA_MIN_SAMPLES, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(dynamic, 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(R, pieces, p, &lo, &hi);
    for (long r = lo; r < hi; r++)
      for (int t = 0; t < T; t++) {
        const long m = (long)t * R + r;
        const float *x = X + m * K;
        const float *prev = t ? x - (long)R * K : NULL;
        int32_t *on = idx + m * K, *off_end = on + K; /* off ids fill the slot from its end */
        int c_on = 0, c_off = 0;
        for (int k0 = 0; k0 < K; k0 += 32) {
          const int n = K - k0 < 32 ? K - k0 : 32;
          const uint32_t now = nonzero_mask(x + k0, n), before = prev ? nonzero_mask(prev + k0, n) : 0;
          c_on = (int)append_bits(now & ~before, k0, on, c_on);
          for (uint32_t m = before & ~now; m; m &= m - 1) off_end[-1 - c_off++] = k0 + __builtin_ctz(m);
        }
        n_on[m] = c_on;
        n_off[m] = c_off;
        accumulate_signed(W, N, on, c_on, off_end - c_off, c_off, t ? Y + (m - R) * N : NULL,
                          Y + m * N);
      }
  }
}

void sb_delta_gemm_wgrad(int T, int R, int N, int K, const int32_t *idx, const int32_t *n_on,
                         const int32_t *n_off, const float *dY, float *G, float *dW,
                         int32_t *col_start, int32_t *col_rows) {
  /* G[t] = Σ_{t' ≥ t} dY[t']: the gradient every step from t on sends to an input that
   * switched at t and stayed. */
  const long RN = (long)R * N;
  const int pieces_g = sb_pieces(RN, ELEM_MIN, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(static) if (pieces_g > 1)
  for (int p = 0; p < pieces_g; p++) {
    long lo, hi;
    piece_range(RN, pieces_g, p, &lo, &hi);
    for (long i = lo; i < hi; i++) {
      float acc = 0.0f;
      for (int t = T - 1; t >= 0; t--) G[(long)t * RN + i] = acc += dY[(long)t * RN + i];
    }
  }
  /* Row lists to column lists, switch-ons of input k in bucket 2k and switch-offs in 2k+1, each
   * in ascending row order (a counting sort). */
  const long M = (long)T * R;
  memset(col_start, 0, (size_t)(2 * K + 1) * sizeof(int32_t));
  for (long m = 0; m < M; m++) {
    const int32_t *on = idx + m * K, *off = on + K - n_off[m];
    bucket_count(col_start, on, n_on[m], 2, 0);
    bucket_count(col_start, off, n_off[m], 2, 1);
  }
  bucket_starts(col_start, 2 * K);
  for (long m = 0; m < M; m++) {
    const int32_t *on = idx + m * K, *off = on + K - n_off[m];
    bucket_place(col_start, col_rows, on, n_on[m], 2, 0, (int32_t)m);
    bucket_place(col_start, col_rows, off, n_off[m], 2, 1, (int32_t)m);
  }
  bucket_rewind(col_start, 2 * K);

  const int pieces = sb_pieces(K, WGRAD_MIN_ROWS, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(dynamic, 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(K, pieces, p, &lo, &hi);
    for (long k = lo; k < hi; k++) {
      const int32_t *on = col_rows + col_start[2 * k], *off = col_rows + col_start[2 * k + 1];
      accumulate_signed(G, N, on, col_start[2 * k + 1] - col_start[2 * k], off,
                        col_start[2 * k + 2] - col_start[2 * k + 1], NULL, dW + k * N);
    }
  }
}

enum { SUM_MIN_COLS = 256 };

void sb_sum_rows(int M, int N, const float *X, float beta, float *out) {
  const int pieces = sb_pieces(N, SUM_MIN_COLS, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(N, pieces, p, &lo, &hi);
    for (long n = lo; n < hi; n++) out[n] = beta == 0.0f ? 0.0f : beta * out[n];
    for (long m = 0; m < M; m++) {
      const float *x = X + m * N;
      for (long n = lo; n < hi; n++) out[n] += x[n];
    }
  }
}

void sb_sum_time(int T, long R, const float *X, float *out, int accumulate) {
  const int pieces = sb_pieces(R, ELEM_MIN, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(R, pieces, p, &lo, &hi);
    if (!accumulate)
      for (long i = lo; i < hi; i++) out[i] = 0.0f;
    for (int t = 0; t < T; t++) {
      const float *x = X + (long)t * R;
      for (long i = lo; i < hi; i++) out[i] += x[i];
    }
  }
}

enum { SQ_PIECE = 1 << 16, SQ_MAX_PIECES = 4096 };

double sb_sum_squares_serial(const float *x, long n) {
  /* Eight fixed lanes break the add dependency chain so the loop vectorises, and the lanes are
   * combined in a fixed order: the same bits on every run. */
  double lane[8] = {0};
  long i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) lane[j] += (double)x[i + j] * x[i + j];
  for (; i < n; i++) lane[i & 7] += (double)x[i] * x[i];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

double sb_sum_serial(const float *x, long n) {
  double lane[8] = {0};
  long i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) lane[j] += x[i + j];
  for (; i < n; i++) lane[i & 7] += x[i];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

double sb_sum_squares(const float *x, long n) {
  long piece = SQ_PIECE;
  while ((n + piece - 1) / piece > SQ_MAX_PIECES) piece *= 2;
  const int pieces = (int)((n + piece - 1) / piece);
  double partial[SQ_MAX_PIECES];
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (int p = 0; p < pieces; p++) {
    long lo = (long)p * piece, hi = lo + piece < n ? lo + piece : n;
    partial[p] = sb_sum_squares_serial(x + lo, hi - lo);
  }
  double total = 0.0;
  for (int p = 0; p < pieces; p++) total += partial[p];
  return total;
}

void sb_scale(float *x, long n, float s) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long i = 0; i < n; i++) x[i] *= s;
}
