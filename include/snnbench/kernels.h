/* Compute kernels shared by layers. Every parallel kernel splits its work into pieces whose
 * boundaries depend only on the problem size, never on the thread count, and each output value
 * is produced by exactly one piece in a fixed order: results are bitwise identical for any
 * OMP_NUM_THREADS. */
#ifndef SNNBENCH_KERNELS_H
#define SNNBENCH_KERNELS_H

#include <stdint.h>

/* Call once per process: BLAS runs single-threaded inside our own OpenMP pieces, so two
 * thread pools never nest. */
void sb_kernels_init(void);

/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major. */
void sb_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* The same product as one BLAS call on the calling thread (for work that is already split). */
void sb_gemm_serial(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* The spike kernels sum rows of W in blocks of this many outputs held in registers; with fewer
 * outputs a gathered row is too short to pay for itself and BLAS is faster at any density. */
enum { SB_SPARSE_MIN_OUTPUTS = 64 };

/* Y[M,N] = beta*Y + X[M,K] * W[K,N] for a mostly-zero X (spike trains, pooled spikes): adds
 * the rows of W selected by each row's nonzeros, times their values unless `binary` says every
 * nonzero is 1. idx/cnt receive each row's nonzero columns, kept for the backward pass. */
void sb_sparse_gemm(int M, int N, int K, const float *X, int binary, const float *W, float beta,
                    float *Y, int32_t *idx, int32_t *cnt);
/* dW[K,N] = beta*dW + X^T * dY for the X that sb_sparse_gemm indexed into idx/cnt.
 * col_start (K+1 ints) and col_rows (one int per nonzero) are scratch for the transposed lists. */
void sb_sparse_gemm_wgrad(int M, int N, int K, const float *X, int binary, const int32_t *idx,
                          const int32_t *cnt, const float *dY, float beta, float *dW,
                          int32_t *col_start, int32_t *col_rows);

/* The same product for binary spike rows ordered [T][R][K] (T steps of R samples), computed
 * through time: step 0 adds the rows of W its spikes select; each later step starts from the
 * step before and adds the rows of inputs that switched on and subtracts those that switched
 * off. Behind a static input most neurons repeat their spike from one step to the next, so far
 * fewer rows move than fire. idx keeps each row's switch-ons (from the front of its K slots)
 * and switch-offs (from the back); n_on/n_off count them. */
void sb_delta_gemm(int T, int R, int N, int K, const float *X, const float *W, float *Y,
                   int32_t *idx, int32_t *n_on, int32_t *n_off);
/* dW[K,N] = X^T * dY for the X sb_delta_gemm indexed. With X[t] = Σ_{τ≤t} D[τ] (D the
 * switches), dW = Σ_τ D[τ]^T G[τ] where G[τ] = Σ_{t≥τ} dY[t]; G (T·R·N floats) is scratch, as
 * are col_start (2K+1 ints) and col_rows (one int per switch). */
void sb_delta_gemm_wgrad(int T, int R, int N, int K, const int32_t *idx, const int32_t *n_on,
                         const int32_t *n_off, const float *dY, float *G, float *dW,
                         int32_t *col_start, int32_t *col_rows);
/* Fraction of the entries of a [T][n] tensor that differ from the step before (step 0 from
 * zero), sampled like sb_density: the work sb_delta_gemm would do, relative to dense. */
double sb_change_density(const float *x, int T, long n);

/* Indices of the nonzeros of x[0..n) in ascending order (NaN counts as nonzero); returns how
 * many. Scans 32 values per compare, so a mostly-zero vector costs little more than a read. */
long sb_nonzero_indices(const float *x, long n, int32_t *idx);

/* Sum of rows: out[n] (+)= sum_m X[m, n]. Fixed order for determinism. */
void sb_sum_rows(int M, int N, const float *X, float beta, float *out);
/* Fold T copies: out[r, n] = sum_t X[t][r][n] for a [T][R][N] tensor. */
void sb_sum_time(int T, long R, const float *X, float *out, int accumulate);

/* Sum of squares in double, with a fixed partition (gradient clipping). */
double sb_sum_squares(const float *x, long n);
/* Single-threaded sums in double over eight fixed lanes: vectorised, and the same bits on every
 * run (unlike a plain loop, which cannot vectorise a strict-order reduction). */
double sb_sum_squares_serial(const float *x, long n);
double sb_sum_serial(const float *x, long n);
void sb_scale(float *x, long n, float s);

/* Fraction of nonzeros, estimated from every 7th value (exact for n < 7·4096): cheap enough to
 * run before every sparse/dense decision, and a pure function of the data, so the decision is
 * the same on every run. */
double sb_density(const float *x, long n);

/* Sizes a deterministic split: number of pieces for `n` units where each piece should hold at
 * least `min_units`; at most `max_pieces`. */
int sb_pieces(long n, long min_units, int max_pieces);

#endif
