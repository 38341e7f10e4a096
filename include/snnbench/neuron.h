/* The spiking neuron family (one parameterised update covers the seed systems):
 *
 *   charge  H[t] = β V[t−1] + γ X[t] + δ
 *             IF:                   β = 1,        γ = 1
 *             LIF, charge "x":      β = 1 − 1/τ,  γ = 1        (snnTorch Leaky, the seed notebook;
 *                                                               SpikingJelly decay_input=False)
 *             LIF, "decay_input":   β = 1 − 1/τ,  γ = 1/τ      (SpikingJelly, V + (X − V)/τ)
 *             with a hard reset both LIF forms leak toward V_reset, δ = V_reset/τ, as SpikingJelly
 *             charges (V − (V − V_reset)/τ + X, and V + (X − (V − V_reset))/τ); with V_reset = 0,
 *             the value of every seed model, δ = 0. A soft reset leaks toward 0.
 *   fire    S[t] = Θ(H[t] − θ), Θ(x) = [x >= 0]  (or [x > 0] with "strict", Quantized_SNN)
 *   reset   soft: V[t] = H[t] − ρ S[t] θ  (ρ = reset_scale, 1 except NEXUS v2's 0.9)
 *           hard: V[t] = H[t](1 − S[t]) + S[t] V_reset
 *           detach_reset stops the gradient through S in the reset only.
 *
 * Options for the seed systems:
 *   learn_tau        τ per channel (or per layer) is a parameter p:
 *                      "sigmoid": 1/τ = sigmoid(p), p₀ = −ln(τ₀ − 1)   (SpikingJelly PLIF)
 *                      "log":     τ = clamp(exp(p), 1.1, 20), p₀ = ln τ₀ (APEX ParametricLIF)
 *                      "abs":     τ = max(|p|, 1.1), p₀ = τ₀          (seed notebook AdaptiveLIF)
 *   learn_threshold  θ per channel (or per layer) is a parameter p:
 *                      "abs":      θ = |p|, p₀ = θ₀                   (notebook AdaptiveLIFNeuron)
 *                      "offset":   θ = θ₀ + p, p₀ = 0                 (NEXUS v2 per-neuron offset)
 *                      "softplus": θ = θ₀ + softplus(p), p₀ = 0       (APEX TTFS_LIF)
 *   detach_threshold the spike function treats θ as a constant (dS/dθ = 0): a learnable θ then
 *                    gets a gradient only through a soft reset's −ρSθ, and with a hard reset none
 *                    at all. run_apex_snn.py's TTFSSpikeFunction.backward returns None for the
 *                    threshold, so APEX's softplus offsets never train (θ stays θ₀ + ln 2)
 *   adapt            NEXUS v2's running-rate term, training only: θ[t] += |a|·r, with
 *                    r ← decay·r + (1 − decay)·mean over the batch of S[t] after each step
 *                    (r is a saved buffer per neuron, a a learnable scalar initialised to adapt)
 *   single_spike     at most one spike per neuron over T (APEX's "TTFS"): S[t] is masked once
 *                    the neuron has fired; the mask is a constant for the gradient
 *
 * V[−1] = 0 (SpikingJelly starts at V_reset: the same for V_reset = 0). BPTT follows SpikingJelly's
 * equations (reference/ANCHORS.md §2). */
#ifndef SNNBENCH_NEURON_H
#define SNNBENCH_NEURON_H

#include "snnbench/surrogate.h"

typedef enum { SB_NEURON_LIF, SB_NEURON_IF } sb_neuron_kind;
typedef enum { SB_RESET_SOFT, SB_RESET_HARD } sb_reset_kind;
typedef enum { SB_CHARGE_X, SB_CHARGE_DECAY_INPUT } sb_charge_kind;
typedef enum { SB_LEARN_NONE, SB_TAU_SIGMOID, SB_TAU_LOG, SB_TAU_ABS } sb_tau_param;
typedef enum { SB_THETA_FIXED, SB_THETA_ABS, SB_THETA_OFFSET, SB_THETA_SOFTPLUS } sb_theta_param;

typedef struct {
  sb_neuron_kind kind;
  float tau;
  float threshold;
  sb_reset_kind reset;
  float v_reset;
  sb_charge_kind charge;
  int detach_reset;
  sb_surrogate surrogate;
  int strict;
  float reset_scale;
  int single_spike;
  sb_tau_param learn_tau;
  sb_theta_param learn_threshold;
  int detach_threshold;  /* dS/dθ = 0 in the backward pass */
  int per_channel;
  float adapt, adapt_decay;  /* adapt = 0: no running-rate term */
} sb_neuron_cfg;

/* Per-element coefficients of one block of neurons (resolved from scalars or learnable
 * per-channel values). */
typedef struct {
  const float *beta, *gamma, *delta, *theta;
} sb_neuron_block;

/* The default configuration (LIF τ=2, θ=1, soft reset, atan). */
void sb_neuron_defaults(sb_neuron_cfg *cfg);
const char *sb_neuron_kind_name(sb_neuron_kind k);
void sb_neuron_describe(const sb_neuron_cfg *cfg, char *buf, unsigned long n);
/* The neuron family for `snnbench list neurons`: kinds, resets, charge forms and every option of
 * a "neuron" layer, one line each. */
void sb_neuron_print_list(FILE *out);
/* β, γ, δ for a time constant tau. */
void sb_neuron_charge(const sb_neuron_cfg *cfg, float tau, float *beta, float *gamma, float *delta);

/* The recurrences over one block of n independent neurons (no adapt). Element e of step t is
 * at [t * stride_t + e]; x_stride_t is 0 when X is static. H (may be NULL in eval) receives
 * the charged potentials that the backward pass needs. updates (may be NULL) gains NeuroBench's
 * membrane-update count: every neuron at t = 0, then each step whose membrane changed. */
void sb_neuron_forward_block(const sb_neuron_cfg *cfg, const sb_neuron_block *p, int T, int n,
                             const float *X, long x_stride_t, float *S, float *H, long stride_t,
                             int smooth, long *updates);
/* dS: upstream gradient of the spikes. Writes dX (adds when accumulate); a static input gets the
 * sum over t. dtheta/dbeta (may be NULL) receive per-element dL/dθ and dL/dβ summed over t.
 * H NULL (allowed for T <= SB_NEURON_RECOMPUTE_MAX_T): the block reruns the forward recurrence
 * from X (with `smooth` as the forward had it) instead of reading S and H. The rerun is the
 * same arithmetic on the same blocks, so the result is bitwise that of the stored path; it
 * trades a cheap pass over L1-resident data for storing and re-reading two floats per
 * neuron-step, which is what bounds a neuron layer's time. */
enum { SB_NEURON_RECOMPUTE_MAX_T = 32 };
void sb_neuron_backward_block(const sb_neuron_cfg *cfg, const sb_neuron_block *p, int T, int n,
                              const float *X, long x_stride_t, const float *S, const float *H,
                              const float *dS, long stride_t, float *dX, int accumulate,
                              float *dtheta, float *dbeta, int smooth);

#endif
