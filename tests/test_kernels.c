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

/* Spike trains through time: step 0 fires at `rate`, later steps flip each neuron with
 * probability `flip`, as a static input's neurons do. The delta kernels must match BLAS on the
 * same data, give the same bits at any thread count, and count the switches exactly. */
static void delta_gemm_matches_blas(int T, int R, int N, int K, float rate, float flip) {
  const long M = (long)T * R;
  float *X = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * K * N);
  float *Y1 = malloc(sizeof(float) * M * N), *Y2 = malloc(sizeof(float) * M * N);
  float *Y3 = malloc(sizeof(float) * M * N), *G = malloc(sizeof(float) * M * N);
  float *dY = malloc(sizeof(float) * M * N);
  float *dW1 = malloc(sizeof(float) * K * N), *dW2 = malloc(sizeof(float) * K * N);
  float *dW3 = malloc(sizeof(float) * K * N);
  int32_t *idx = malloc(sizeof(int32_t) * M * K), *on = malloc(sizeof(int32_t) * M);
  int32_t *off = malloc(sizeof(int32_t) * M), *cs = malloc(sizeof(int32_t) * (2 * K + 1));
  int32_t *cr = malloc(sizeof(int32_t) * M * K);
  fill_spikes(X, (long)R * K, rate, 6);
  sb_rng r;
  sb_rng_init(&r, 5, sb_stream(SB_STREAM_TEST, 7));
  long switches = 0;
  for (long i = 0; i < (long)R * K; i++) switches += X[i] != 0.0f;
  for (long i = (long)R * K; i < M * K; i++) {
    const float before = X[i - (long)R * K];
    X[i] = sb_rng_uniform(&r) < flip ? 1.0f - before : before;
    switches += X[i] != before;
  }
  fill_normal(W, (long)K * N, 8);
  fill_normal(dY, M * N, 9);
  sb_gemm(0, 0, (int)M, N, K, 1.0f, X, K, W, N, 0.0f, Y1, N);
  sb_gemm(1, 0, K, N, (int)M, 1.0f, X, K, dY, N, 0.0f, dW1, N);
  omp_set_num_threads(1);
  sb_delta_gemm(T, R, N, K, X, W, Y2, idx, on, off);
  sb_delta_gemm_wgrad(T, R, N, K, idx, on, off, dY, G, dW2, cs, cr);
  long counted = 0;
  for (long m = 0; m < M; m++) counted += on[m] + off[m];
  CHECK_MSG(counted == switches, "delta %dx%d: %ld switches indexed, %ld made", T, R, counted,
            switches);
  CHECK_MSG(sb_change_density(X, T, (long)R * K) == (double)switches / (double)(M * K) ||
                (long)R * K * T >= 7 * 4096,
            "change density of %dx%dx%d", T, R, K);
  CHECK_MSG(max_abs_diff(Y1, Y2, M * N) < 1e-3, "delta forward T%d %dx%dx%d rate %.2f flip %.2f",
            T, R, N, K, rate, flip);
  CHECK_MSG(max_abs_diff(dW1, dW2, (long)K * N) < 1e-3, "delta wgrad T%d %dx%dx%d", T, R, N, K);
  omp_set_num_threads(2);
  sb_delta_gemm(T, R, N, K, X, W, Y3, idx, on, off);
  sb_delta_gemm_wgrad(T, R, N, K, idx, on, off, dY, G, dW3, cs, cr);
  CHECK_MSG(memcmp(Y2, Y3, sizeof(float) * M * N) == 0, "delta forward differs by threads");
  CHECK_MSG(memcmp(dW2, dW3, sizeof(float) * K * N) == 0, "delta wgrad differs by threads");
  free(X), free(W), free(Y1), free(Y2), free(Y3), free(G), free(dY), free(dW1), free(dW2);
  free(dW3), free(idx), free(on), free(off), free(cs), free(cr);
}

int main(void) {
  sb_kernels_init();
  const float rates[] = {0.0f, 0.05f, 0.2f, 0.6f, 1.0f};
  for (int i = 0; i < 5; i++) {
    spike_gemm_matches_blas(37, 70, 53, rates[i]);
    spike_gemm_matches_blas(256, 256, 512, rates[i]);
  }
  /* Sizes off the 32-input scan and 64-output block boundaries, silent and saturated trains. */
  delta_gemm_matches_blas(4, 33, 70, 53, 0.3f, 0.1f);
  delta_gemm_matches_blas(6, 64, 256, 512, 0.4f, 0.05f);
  delta_gemm_matches_blas(3, 17, 130, 100, 0.0f, 0.0f);
  delta_gemm_matches_blas(2, 9, 64, 96, 1.0f, 0.5f);
  delta_gemm_matches_blas(1, 40, 65, 31, 0.2f, 0.0f);
  gemm_thread_independent(0, 0, 300, 129, 77);
  gemm_thread_independent(1, 0, 77, 300, 200);
  gemm_thread_independent(0, 1, 130, 900, 64);
  gemm_thread_independent(0, 0, 16, 3000, 40);
  return check_exit("test_kernels");
}
