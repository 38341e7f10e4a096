/* Surrogate gradients for the spike nonlinearity. The forward pass is always the step
 * Θ(x) = [x >= 0]; backward uses g(x) below. In smooth mode (gradient checks) the forward uses
 * the primitive P(x) with P' = g exactly, so finite differences can check BPTT end to end.
 * The formulas and α conventions are those of reference/ANCHORS.md §2 and the seeds' code:
 *
 *   atan                  g = α / (2 (1 + (π/2 α x)²))          SpikingJelly ATan, α=2
 *   sigmoid               g = α σ(αx)(1 − σ(αx))                  SpikingJelly Sigmoid, α=4
 *                                                                 (snnTorch's sigmoid, k=25)
 *   fast_sigmoid          g = α / (1 + α|x|)²                     Quantized_SNN FastSigmoidSpike
 *                                                                 (slope), α=10
 *   triangle              g = α max(0, 1 − |x|)                   Norse triangle; NEXUS v2 and
 *                                                                 APEX (α=1)
 *   piecewise_quadratic   g = α − α²|x| for |x| ≤ 1/α, else 0     SpikingJelly, α=1
 *   superspike            g = α / (1 + |x|)²                      SpikingJelly SuperSpike, α=1
 *   erf                   g = α/√π · exp(−α²x²)                   SpikingJelly Erf, α=2
 *   rectangular           g = α · [|x| < 1/(2α)]                  SpikingJelly Rect, α=1
 *   atan_pi               g = 1 / (π (1 + (π α x)²))              the seed MNIST scripts' "ATan"
 *                                                                 (peak 1/π), α=2
 *   fast_sigmoid_snntorch g = 1 / (1 + α|x|)²                     snnTorch fast_sigmoid (peak 1),
 *                                                                 k=α=25
 *   superspike_norse      g = 1 / (1 + α|x|)²                     Norse "super", α=100
 *
 * fast_sigmoid and fast_sigmoid_snntorch differ by the factor α: the seed's slope form peaks at
 * α, snnTorch's at 1. The last two are the same function with different default α; each has
 * its name so a config says which library it follows. New kinds are appended, so the numbers
 * of the older ones do not change. */
#ifndef SNNBENCH_SURROGATE_H
#define SNNBENCH_SURROGATE_H

#include <stdio.h>

typedef enum {
  SB_SG_ATAN,
  SB_SG_SIGMOID,
  SB_SG_FAST_SIGMOID,
  SB_SG_TRIANGLE,
  SB_SG_PIECEWISE_QUADRATIC,
  SB_SG_SUPERSPIKE,
  SB_SG_ERF,
  SB_SG_RECTANGULAR,
  SB_SG_ATAN_PI,
  SB_SG_FAST_SIGMOID_SNNTORCH,
  SB_SG_SUPERSPIKE_NORSE,
  SB_SG_COUNT
} sb_surrogate_kind;

typedef struct {
  sb_surrogate_kind kind;
  float alpha;
} sb_surrogate;

const char *sb_surrogate_name(sb_surrogate_kind k);
/* Returns 0 and sets *k when the name is known. */
int sb_surrogate_parse(const char *name, sb_surrogate_kind *k);
float sb_surrogate_default_alpha(sb_surrogate_kind k);
/* g(x) as a formula, and the code it reproduces (for `snnbench list surrogates`). */
const char *sb_surrogate_formula(sb_surrogate_kind k);
const char *sb_surrogate_source(sb_surrogate_kind k);
/* One line per surrogate: name, default α, g(x), source. */
void sb_surrogate_print_list(FILE *out);

/* g(x[i]) for a block; the switch sits outside the loop so each case vectorises. */
void sb_surrogate_grad_block(sb_surrogate s, const float *x, float *g, int n);
/* P(x[i]) for a block (smooth mode forward). */
void sb_surrogate_primitive_block(sb_surrogate s, const float *x, float *p, int n);
/* Scalar versions, for tests. */
float sb_surrogate_grad(sb_surrogate s, float x);
float sb_surrogate_primitive(sb_surrogate s, float x);

#endif
