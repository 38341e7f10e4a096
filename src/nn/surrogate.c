#include "snnbench/surrogate.h"

#include <math.h>
#include <string.h>

static const char *const k_names[SB_SG_COUNT] = {
    "atan", "sigmoid", "fast_sigmoid", "triangle", "piecewise_quadratic", "superspike", "erf",
    "rectangular", "atan_pi"};
static const float k_default_alpha[SB_SG_COUNT] = {2.0f, 4.0f, 10.0f, 1.0f, 1.0f,
                                                   1.0f, 2.0f, 1.0f, 2.0f};

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
      for (int i = 0; i < n; i++) {
        const float sg = 1.0f / (1.0f + expf(-a * x[i]));
        g[i] = a * sg * (1.0f - sg);
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
