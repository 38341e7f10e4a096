#include "snnbench/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "snnbench/kernels.h"

void sb_optimizer_init(sb_optimizer *o, sb_optimizer_kind kind, long n_values, float weight_decay,
                       float momentum) {
  o->kind = kind;
  o->beta1 = 0.9f;
  o->beta2 = 0.999f;
  o->eps = 1e-8f;
  o->momentum = momentum;
  o->weight_decay = weight_decay;
  o->step = 0;
  o->n = n_values;
  o->m = sb_xcalloc((unsigned long)n_values, sizeof(float));
  o->v = kind == SB_OPT_SGD ? NULL : sb_xcalloc((unsigned long)n_values, sizeof(float));
}

void sb_optimizer_free(sb_optimizer *o) {
  free(o->m);
  free(o->v);
  o->m = o->v = NULL;
}

/* The update loops take restrict pointers so GCC vectorises them without a runtime alias check,
 * and the gradient scale (clipping) is applied as each gradient is read. */
static void sgd_update(long n, float *restrict w, const float *restrict g, float *restrict m,
                       float gs, float lr, float wd, float mu, int first) {
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) {
    const float d = g[i] * gs + wd * w[i];
    /* torch: the buffer starts as the first gradient, then buf = μ·buf + d. */
    m[i] = mu > 0.0f ? (first ? d : mu * m[i] + d) : d;
    w[i] -= lr * m[i];
  }
}

static void adam_update(long n, float *restrict w, const float *restrict g, float *restrict m,
                        float *restrict v, float gs, float b1, float b2, float eps,
                        float step_size, float inv_sqrt_bc2, float decay, float l2) {
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) {
    const float d = g[i] * gs + l2 * w[i];
    m[i] = b1 * m[i] + (1.0f - b1) * d;
    v[i] = b2 * v[i] + (1.0f - b2) * d * d;
    const float denom = sqrtf(v[i]) * inv_sqrt_bc2 + eps;
    w[i] = w[i] * decay - step_size * m[i] / denom;
  }
}

void sb_optimizer_step_scaled(sb_optimizer *o, float *w, const float *g, float lr,
                              float grad_scale) {
  o->step++;
  if (o->kind == SB_OPT_SGD) {
    sgd_update(o->n, w, g, o->m, grad_scale, lr, o->weight_decay, o->momentum, o->step == 1);
    return;
  }
  const float b1 = o->beta1, b2 = o->beta2;
  const double bc1 = 1.0 - pow(b1, (double)o->step), bc2 = 1.0 - pow(b2, (double)o->step);
  const int decoupled = o->kind == SB_OPT_ADAMW;
  adam_update(o->n, w, g, o->m, o->v, grad_scale, b1, b2, o->eps, (float)(lr / bc1),
              (float)(1.0 / sqrt(bc2)), decoupled ? 1.0f - lr * o->weight_decay : 1.0f,
              decoupled ? 0.0f : o->weight_decay);
}

void sb_optimizer_step(sb_optimizer *o, float *w, const float *g, float lr) {
  sb_optimizer_step_scaled(o, w, g, lr, 1.0f);
}

double sb_grad_norm(const float *g, long n) { return sqrt(sb_sum_squares(g, n)); }

float sb_clip_factor(double norm, double max_norm) {
  return max_norm > 0.0 && norm > max_norm ? (float)(max_norm / (norm + 1e-6)) : 1.0f;
}

double sb_clip_grad_norm(float *g, long n, double max_norm) {
  const double norm = sb_grad_norm(g, n);
  const float f = sb_clip_factor(norm, max_norm);
  if (f != 1.0f) sb_scale(g, n, f);
  return norm;
}

int sb_schedule_parse(const char *name, sb_schedule_kind *kind) {
  static const char *const names[] = {"constant", "cosine", "cosine_restarts", "warmup_cosine"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(name, names[i])) {
      *kind = (sb_schedule_kind)i;
      return 0;
    }
  return -1;
}

static double cosine(double base, double eta_min, double t, double period) {
  return eta_min + (base - eta_min) * (1.0 + cos(M_PI * t / period)) / 2.0;
}

double sb_schedule_lr(const sb_schedule *s, int epoch) {
  switch (s->kind) {
    case SB_SCHED_COSINE:
      return cosine(s->base_lr, s->eta_min, epoch, s->cosine_epochs);
    case SB_SCHED_COSINE_RESTARTS: {
      /* Find the cycle holding `epoch`: cycles last T_0, T_0·mult, T_0·mult², ... */
      long period = s->restart_period, t = epoch;
      while (t >= period) {
        t -= period;
        period *= s->restart_mult;
      }
      return cosine(s->base_lr, s->eta_min, (double)t, (double)period);
    }
    case SB_SCHED_WARMUP_COSINE:
      if (epoch < s->warmup_epochs)
        return s->warmup_lr + epoch * (s->base_lr - s->warmup_lr) / s->warmup_epochs;
      if (epoch >= s->cosine_epochs) return s->eta_min;
      return cosine(s->base_lr, s->eta_min, epoch, s->cosine_epochs);
    default:
      return s->base_lr;
  }
}
