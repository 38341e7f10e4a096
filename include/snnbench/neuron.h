/* The spiking neuron family (one parameterised update covers the seed systems):
 *
 *   charge  H[t] = β V[t−1] + γ X[t] + δ
 *             IF:                   β = 1,        γ = 1
 *             LIF, charge "x":      β = 1 − 1/τ,  γ = 1        (snnTorch Leaky, the seed notebook)
 *             LIF, "decay_input":   β = 1 − 1/τ,  γ = 1/τ      (SpikingJelly, V + (X − V)/τ),
 *                                   δ = V_reset/τ with hard reset (SpikingJelly's charge)
 *   fire    S[t] = Θ(H[t] − θ), Θ(x) = [x >= 0]
 *   reset   soft: V[t] = H[t] − S[t] θ        hard: V[t] = H[t](1 − S[t]) + S[t] V_reset
 *           detach_reset stops the gradient through S in the reset only.
 *
 * V[−1] = 0. BPTT follows SpikingJelly's equations (reference/ANCHORS.md §2). */
#ifndef SNNBENCH_NEURON_H
#define SNNBENCH_NEURON_H

#include "snnbench/surrogate.h"

typedef enum { SB_NEURON_LIF, SB_NEURON_IF } sb_neuron_kind;
typedef enum { SB_RESET_SOFT, SB_RESET_HARD } sb_reset_kind;
typedef enum { SB_CHARGE_X, SB_CHARGE_DECAY_INPUT } sb_charge_kind;

typedef struct {
  sb_neuron_kind kind;
  float tau;
  float threshold;
  sb_reset_kind reset;
  float v_reset;
  sb_charge_kind charge;
  int detach_reset;
  sb_surrogate surrogate;
} sb_neuron_cfg;

typedef struct {
  float beta, gamma, delta;
} sb_neuron_coeffs;

sb_neuron_coeffs sb_neuron_coefficients(const sb_neuron_cfg *cfg);
const char *sb_neuron_kind_name(sb_neuron_kind k);
void sb_neuron_describe(const sb_neuron_cfg *cfg, char *buf, unsigned long n);

/* The recurrences over one block of n neurons, used by neuron layers and known-answer tests.
 * Layout: element e of step t at [t * stride + e]. x_stride_t is 0 when X is static.
 * H (may be NULL in eval) receives the charged potentials the backward needs. */
void sb_neuron_forward_block(const sb_neuron_cfg *cfg, int T, int n, const float *X,
                             long x_stride_t, float *S, float *H, long stride_t, int smooth);
/* dS: upstream gradient of the spikes. Writes (or adds, when static, into) dX. With a static
 * input, dX has one row and receives the sum over t. */
void sb_neuron_backward_block(const sb_neuron_cfg *cfg, int T, int n, const float *S,
                              const float *H, const float *dS, long stride_t, float *dX,
                              long x_stride_t, int accumulate);

#endif
