#include "snnbench/surrogate.h"

#include <math.h>
#include <string.h>

static const char *const k_names[SB_SG_COUNT] = {
    "atan", "sigmoid", "fast_sigmoid", "triangle", "piecewise_quadratic", "superspike", "erf",
    "rectangular", "atan_pi", "fast_sigmoid_snntorch", "superspike_norse"};
static const float k_default_alpha[SB_SG_COUNT] = {2.0f, 4.0f, 10.0f, 1.0f,  1.0f,  1.0f,
                                                   2.0f, 1.0f, 2.0f,  25.0f, 100.0f};
static const char *const k_formulas[SB_SG_COUNT] = {
    "a / (2 (1 + (pi/2 a x)^2))",
    "a sigmoid(a x) (1 - sigmoid(a x))",
    "a / (1 + a|x|)^2",
    "a max(0, 1 - |x|)",
    "max(0, a - a^2 |x|)",
    "a / (1 + |x|)^2",
    "a / sqrt(pi) exp(-a^2 x^2)",
    "a [|x| < 1/(2a)]",
    "1 / (pi (1 + (pi a x)^2))",
    "1 / (1 + a|x|)^2",
    "1 / (1 + a|x|)^2"};
static const char *const k_sources[SB_SG_COUNT] = {
    "SpikingJelly ATan; seed notebooks 000/001",
    "SpikingJelly Sigmoid; Spike-driven Transformer (snnTorch sigmoid has the same form, k=25)",
    "Quantized_SNN FastSigmoidSpike (slope form, peak a); the timestep study's spiking_cnn",
    "Norse triangle; run_nexus_v2.py / run_apex_snn.py (a=1)",
    "SpikingJelly PiecewiseQuadratic",
    "SpikingJelly SuperSpike",
    "SpikingJelly Erf",
    "SpikingJelly Rect",
    "the seed MNIST scripts' ATan (run_triple_comparison.py, peak 1/pi)",
    "snnTorch fast_sigmoid (peak 1)",
    "Norse SuperSpike (\"super\", peak 1)"};

const char *sb_surrogate_name(sb_surrogate_kind k) {
  return (unsigned)k < SB_SG_COUNT ? k_names[k] : "?";
}

int sb_surrogate_parse(const char *name, sb_surrogate_kind *k) {
  for (int i = 0; i < SB_SG_COUNT; i++)
    if (strcmp(name, k_names[i]) == 0) {
      *k = (sb_surrogate_kind)i;
      return 0;
    }
  return -1;
}

float sb_surrogate_default_alpha(sb_surrogate_kind k) {
  return (unsigned)k < SB_SG_COUNT ? k_default_alpha[k] : 1.0f;
}

const char *sb_surrogate_formula(sb_surrogate_kind k) {
  return (unsigned)k < SB_SG_COUNT ? k_formulas[k] : "?";
}

const char *sb_surrogate_source(sb_surrogate_kind k) {
  return (unsigned)k < SB_SG_COUNT ? k_sources[k] : "?";
}

void sb_surrogate_print_list(FILE *out) {
  fprintf(out, "%-22s %-9s %-36s %s\n", "name", "alpha", "g(x), a = alpha", "source");
  for (int k = 0; k < SB_SG_COUNT; k++)
    fprintf(out, "%-22s alpha=%-3g %-36s %s\n", k_names[k], k_default_alpha[k], k_formulas[k],
            k_sources[k]);
}

#define PI_F 3.14159265358979323846f

void sb_surrogate_grad_block(sb_surrogate s, const float *x, float *g, int n) {
  const float a = s.alpha;
  switch (s.kind) {
    case SB_SG_ATAN: {
      const float c = 0.5f * PI_F * a;
      for (int i = 0; i < n; i++) {
        const float u = c * x[i];
        g[i] = 0.5f * a / (1.0f + u * u);
      }
      break;
    }
    case SB_SG_SIGMOID:
      /* σ(1 − σ) = e/(1 + e)² with e = exp(−α|x|): no cancellation in 1 − σ where σ rounds to 1
       * (α = 25 at x = 0.75 would give 0 instead of 1.8e-7). */
      for (int i = 0; i < n; i++) {
        const float e = expf(-a * fabsf(x[i])), d = 1.0f + e;
        g[i] = a * e / (d * d);
      }
      break;
    case SB_SG_FAST_SIGMOID:
      for (int i = 0; i < n; i++) {
        const float d = 1.0f + a * fabsf(x[i]);
        g[i] = a / (d * d);
      }
      break;
    case SB_SG_TRIANGLE:
      for (int i = 0; i < n; i++) g[i] = a * fmaxf(0.0f, 1.0f - fabsf(x[i]));
      break;
    case SB_SG_PIECEWISE_QUADRATIC:
      for (int i = 0; i < n; i++) g[i] = fmaxf(0.0f, a - a * a * fabsf(x[i]));
      break;
    case SB_SG_SUPERSPIKE:
      for (int i = 0; i < n; i++) {
        const float d = 1.0f + fabsf(x[i]);
        g[i] = a / (d * d);
      }
      break;
    case SB_SG_ERF: {
      const float c = a / sqrtf(PI_F);
      for (int i = 0; i < n; i++) g[i] = c * expf(-a * a * x[i] * x[i]);
      break;
    }
    case SB_SG_RECTANGULAR: {
      const float half = 0.5f / a;
      for (int i = 0; i < n; i++) g[i] = fabsf(x[i]) < half ? a : 0.0f;
      break;
    }
    case SB_SG_ATAN_PI: {
      const float c = PI_F * a;
      for (int i = 0; i < n; i++) {
        const float u = c * x[i];
        g[i] = 1.0f / (PI_F * (1.0f + u * u));
      }
      break;
    }
    case SB_SG_FAST_SIGMOID_SNNTORCH:
    case SB_SG_SUPERSPIKE_NORSE:
      for (int i = 0; i < n; i++) {
        const float d = 1.0f + a * fabsf(x[i]);
        g[i] = 1.0f / (d * d);
      }
      break;
    default:
      for (int i = 0; i < n; i++) g[i] = 0.0f;
  }
}

/* Primitives are chosen with P(0) = 1/2 so smooth-mode "spikes" sit around the step's midpoint;
 * only P' = g matters for the gradient checks. */
void sb_surrogate_primitive_block(sb_surrogate s, const float *x, float *p, int n) {
  const float a = s.alpha;
  switch (s.kind) {
    case SB_SG_ATAN:
      for (int i = 0; i < n; i++) p[i] = atanf(0.5f * PI_F * a * x[i]) / PI_F + 0.5f;
      break;
    case SB_SG_SIGMOID:
      for (int i = 0; i < n; i++) p[i] = 1.0f / (1.0f + expf(-a * x[i]));
      break;
    case SB_SG_FAST_SIGMOID:
      for (int i = 0; i < n; i++) p[i] = 0.5f + a * x[i] / (1.0f + a * fabsf(x[i]));
      break;
    case SB_SG_TRIANGLE:
      for (int i = 0; i < n; i++) {
        const float u = fminf(1.0f, fabsf(x[i]));
        p[i] = 0.5f + copysignf(a * (u - 0.5f * u * u), x[i]);
      }
      break;
    case SB_SG_PIECEWISE_QUADRATIC:
      for (int i = 0; i < n; i++) {
        const float u = fminf(1.0f / a, fabsf(x[i]));
        p[i] = 0.5f + copysignf(a * u - 0.5f * a * a * u * u, x[i]);
      }
      break;
    case SB_SG_SUPERSPIKE:
      for (int i = 0; i < n; i++) p[i] = 0.5f + a * x[i] / (1.0f + fabsf(x[i]));
      break;
    case SB_SG_ERF:
      for (int i = 0; i < n; i++) p[i] = 0.5f + 0.5f * erff(a * x[i]);
      break;
    case SB_SG_RECTANGULAR:
      for (int i = 0; i < n; i++) p[i] = fminf(1.0f, fmaxf(0.0f, a * x[i] + 0.5f));
      break;
    case SB_SG_ATAN_PI:
      for (int i = 0; i < n; i++) p[i] = 0.5f + atanf(PI_F * a * x[i]) / (PI_F * PI_F * a);
      break;
    case SB_SG_FAST_SIGMOID_SNNTORCH:
    case SB_SG_SUPERSPIKE_NORSE:
      for (int i = 0; i < n; i++) p[i] = 0.5f + x[i] / (1.0f + a * fabsf(x[i]));
      break;
    default:
      for (int i = 0; i < n; i++) p[i] = 0.0f;
  }
}

float sb_surrogate_grad(sb_surrogate s, float x) {
  float g;
  sb_surrogate_grad_block(s, &x, &g, 1);
  return g;
}

float sb_surrogate_primitive(sb_surrogate s, float x) {
  float p;
  sb_surrogate_primitive_block(s, &x, &p, 1);
  return p;
}
