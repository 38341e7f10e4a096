/* Kernel-level checks: the spike kernels against BLAS on the same 0/1 data, and bitwise
 * independence of the thread count. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/kernels.h"
#include "snnbench/rng.h"

static void fill_spikes(float *x, long n, float rate, uint32_t stream) {
  sb_rng r;
  sb_rng_init(&r, 5, sb_stream(SB_STREAM_TEST, stream));
  for (long i = 0; i < n; i++) x[i] = sb_rng_uniform(&r) < rate ? 1.0f : 0.0f;
}

static void fill_normal(float *x, long n, uint32_t stream) {
  sb_rng r;
  sb_rng_init(&r, 5, sb_stream(SB_STREAM_TEST, stream));
  for (long i = 0; i < n; i++) x[i] = sb_rng_normal(&r);
}

static double max_abs_diff(const float *a, const float *b, long n) {
  double m = 0.0;
  for (long i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
  return m;
}

static void spike_gemm_matches_blas(int M, int N, int K, float rate) {
  float *X = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * K * N);
  float *Y1 = malloc(sizeof(float) * M * N), *Y2 = malloc(sizeof(float) * M * N);
  float *dY = malloc(sizeof(float) * M * N);
  float *dW1 = malloc(sizeof(float) * K * N), *dW2 = malloc(sizeof(float) * K * N);
  int32_t *idx = malloc(sizeof(int32_t) * M * K), *cnt = malloc(sizeof(int32_t) * M);
  int32_t *cs = malloc(sizeof(int32_t) * (K + 1)), *cr = malloc(sizeof(int32_t) * M * K);
  fill_spikes(X, (long)M * K, rate, 1);
  fill_normal(W, (long)K * N, 2);
  fill_normal(dY, (long)M * N, 3);
  sb_gemm(0, 0, M, N, K, 1.0f, X, K, W, N, 0.0f, Y1, N);
  sb_sparse_gemm(M, N, K, X, 1, W, 0.0f, Y2, idx, cnt);
  CHECK_MSG(max_abs_diff(Y1, Y2, (long)M * N) < 1e-4, "forward %dx%dx%d rate %.2f", M, N, K, rate);
  sb_gemm(1, 0, K, N, M, 1.0f, X, K, dY, N, 0.0f, dW1, N);
  sb_sparse_gemm_wgrad(M, N, K, X, 1, idx, cnt, dY, 0.0f, dW2, cs, cr);
  CHECK_MSG(max_abs_diff(dW1, dW2, (long)K * N) < 1e-3, "wgrad %dx%dx%d rate %.2f", M, N, K, rate);
  /* beta = 1 accumulates onto what is there. */
  memcpy(dW1, dW2, sizeof(float) * K * N);
  sb_sparse_gemm_wgrad(M, N, K, X, 1, idx, cnt, dY, 1.0f, dW2, cs, cr);
  for (long i = 0; i < (long)K * N; i++) dW1[i] *= 2.0f;
  CHECK(max_abs_diff(dW1, dW2, (long)K * N) < 1e-3);
  /* Graded inputs (pooled spikes): values other than 1 must be multiplied in. */
  for (long i = 0; i < (long)M * K; i++) X[i] *= 0.25f * (float)(1 + i % 4);
  sb_gemm(0, 0, M, N, K, 1.0f, X, K, W, N, 0.0f, Y1, N);
  sb_sparse_gemm(M, N, K, X, 0, W, 0.0f, Y2, idx, cnt);
  CHECK_MSG(max_abs_diff(Y1, Y2, (long)M * N) < 1e-4, "graded forward rate %.2f", rate);
  sb_gemm(1, 0, K, N, M, 1.0f, X, K, dY, N, 0.0f, dW1, N);
  sb_sparse_gemm_wgrad(M, N, K, X, 0, idx, cnt, dY, 0.0f, dW2, cs, cr);
  CHECK_MSG(max_abs_diff(dW1, dW2, (long)K * N) < 1e-3, "graded wgrad rate %.2f", rate);
  free(X), free(W), free(Y1), free(Y2), free(dY), free(dW1), free(dW2), free(idx), free(cnt);
  free(cs), free(cr);
}

/* The same call with 1 and 2 threads must give the same bits. */
static void gemm_thread_independent(int ta, int tb, int M, int N, int K) {
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
  float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
  fill_normal(A, (long)M * K, 4);
  fill_normal(B, (long)K * N, 5);
  const int lda = ta ? M : K, ldb = tb ? K : N;
  omp_set_num_threads(1);
  sb_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C1, N);
  omp_set_num_threads(2);
  sb_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C2, N);
  CHECK_MSG(memcmp(C1, C2, sizeof(float) * M * N) == 0, "gemm %d%d %dx%dx%d differs by threads",
            ta, tb, M, N, K);
  double s1, s2;
  omp_set_num_threads(1);
  s1 = sb_sum_squares(A, (long)M * K);
  omp_set_num_threads(2);
  s2 = sb_sum_squares(A, (long)M * K);
  CHECK(s1 == s2);
  free(A), free(B), free(C1), free(C2);
}

int main(void) {
  sb_kernels_init();
  const float rates[] = {0.0f, 0.05f, 0.2f, 0.6f, 1.0f};
  for (int i = 0; i < 5; i++) {
    spike_gemm_matches_blas(37, 70, 53, rates[i]);
    spike_gemm_matches_blas(256, 256, 512, rates[i]);
  }
  gemm_thread_independent(0, 0, 300, 129, 77);
  gemm_thread_independent(1, 0, 77, 300, 200);
  gemm_thread_independent(0, 1, 130, 900, 64);
  gemm_thread_independent(0, 0, 16, 3000, 40);
  return check_exit("test_kernels");
}
