#include "snnbench/kernels.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "snnbench/error.h"

void sb_kernels_init(void) {
  /* The OpenMP build of OpenBLAS implements this with omp_set_num_threads(1), which would also
   * serialise our own loops; restore OpenMP's count afterwards. OpenBLAS keeps its own count at 1
   * and then never forks, inside or outside our parallel regions. */
  const int threads = omp_get_max_threads();
  openblas_set_num_threads(1);
  omp_set_num_threads(threads);
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

enum { GEMM_MIN_ROWS = 32, GEMM_MAX_PIECES = 64 };

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
  const int pieces = sb_pieces(units, GEMM_MIN_ROWS, GEMM_MAX_PIECES);
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

enum { SPIKE_BLOCK = 64, SPIKE_MIN_ROWS = 8 };

void sb_sparse_gemm(int M, int N, int K, const float *X, int binary, const float *W, float beta,
                    float *Y, int32_t *idx, int32_t *cnt) {
  const int pieces = sb_pieces(M, SPIKE_MIN_ROWS, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(dynamic, 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(M, pieces, p, &lo, &hi);
    for (long m = lo; m < hi; m++) {
      const float *x = X + m * K;
      int32_t *id = idx + m * K;
      int c = 0;
      for (int k = 0; k < K; k++) {
        id[c] = k;
        c += x[k] != 0.0f;
      }
      cnt[m] = c;
      float *y = Y + m * N;
      /* Accumulate a block of outputs in registers over all active inputs. */
      for (int n0 = 0; n0 < N; n0 += SPIKE_BLOCK) {
        const int nb = N - n0 < SPIKE_BLOCK ? N - n0 : SPIKE_BLOCK;
        float acc[SPIKE_BLOCK];
        if (beta == 0.0f) {
          for (int j = 0; j < SPIKE_BLOCK; j++) acc[j] = 0.0f;
        } else {
          for (int j = 0; j < nb; j++) acc[j] = beta * y[n0 + j];
        }
        if (binary && nb == SPIKE_BLOCK) {
          for (int a = 0; a < c; a++) {
            const float *w = W + (long)id[a] * N + n0;
            for (int j = 0; j < SPIKE_BLOCK; j++) acc[j] += w[j];
          }
        } else if (nb == SPIKE_BLOCK) {
          for (int a = 0; a < c; a++) {
            const float v = x[id[a]];
            const float *w = W + (long)id[a] * N + n0;
            for (int j = 0; j < SPIKE_BLOCK; j++) acc[j] += v * w[j];
          }
        } else {
          for (int a = 0; a < c; a++) {
            const float v = x[id[a]];
            const float *w = W + (long)id[a] * N + n0;
            for (int j = 0; j < nb; j++) acc[j] += v * w[j];
          }
        }
        for (int j = 0; j < nb; j++) y[n0 + j] = acc[j];
      }
    }
  }
}

enum { WGRAD_MIN_ROWS = 16 };

void sb_sparse_gemm_wgrad(int M, int N, int K, const float *X, int binary, const int32_t *idx,
                          const int32_t *cnt, const float *dY, float beta, float *dW) {
  /* Each piece owns a range of weight rows and walks every sample's spike list in order, so each
   * dW element sums its terms in ascending sample order whatever the thread count. */
  const int pieces = sb_pieces(K, WGRAD_MIN_ROWS, GEMM_MAX_PIECES);
#pragma omp parallel for schedule(dynamic, 1)
  for (int p = 0; p < pieces; p++) {
    long lo, hi;
    piece_range(K, pieces, p, &lo, &hi);
    if (beta == 0.0f) {
      memset(dW + lo * N, 0, (size_t)(hi - lo) * N * sizeof(float));
    } else if (beta != 1.0f) {
      for (long i = lo * N; i < hi * N; i++) dW[i] *= beta;
    }
    for (long m = 0; m < M; m++) {
      const int32_t *id = idx + m * K;
      const int c = cnt[m];
      /* Spike lists are sorted: skip to this piece's range. */
      int a = 0;
      while (a < c && id[a] < lo) a++;
      const float *dy = dY + m * N;
      const float *x = X + m * K;
      for (; a < c && id[a] < hi; a++) {
        float *w = dW + (long)id[a] * N;
        if (binary) {
          for (int n = 0; n < N; n++) w[n] += dy[n];
        } else {
          const float v = x[id[a]];
          for (int n = 0; n < N; n++) w[n] += v * dy[n];
        }
      }
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

enum { ELEM_MIN = 4096 };

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

double sb_sum_squares(const float *x, long n) {
  long piece = SQ_PIECE;
  while ((n + piece - 1) / piece > SQ_MAX_PIECES) piece *= 2;
  const int pieces = (int)((n + piece - 1) / piece);
  double partial[SQ_MAX_PIECES];
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (int p = 0; p < pieces; p++) {
    long lo = (long)p * piece, hi = lo + piece < n ? lo + piece : n;
    double s = 0.0;
    for (long i = lo; i < hi; i++) s += (double)x[i] * x[i];
    partial[p] = s;
  }
  double total = 0.0;
  for (int p = 0; p < pieces; p++) total += partial[p];
  return total;
}

void sb_scale(float *x, long n, float s) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (long i = 0; i < n; i++) x[i] *= s;
}
