/* Loss, optimisers, learning-rate schedules and gradient clipping, PyTorch semantics. */
#ifndef SNNBENCH_OPTIM_H
#define SNNBENCH_OPTIM_H

#include <stdint.h>

#include "snnbench/nn.h"

/* Mean softmax cross-entropy over B rows with label smoothing ε: targets are
 * (1−ε)·onehot(label) + ε/C, or (1−ε)·soft + ε/C when soft targets ([B][C], rows summing to 1,
 * as mixup makes them) are given. Writes dLoss/dlogits into dlogits (may be NULL) and the number
 * of rows whose argmax equals the label into *correct (may be NULL). */
double sb_softmax_xent(const float *logits, const int32_t *labels, const float *soft, int B, int C,
                       float smoothing, float *dlogits, int *correct);

typedef enum { SB_OPT_ADAM, SB_OPT_ADAMW, SB_OPT_SGD } sb_optimizer_kind;

typedef struct {
  sb_optimizer_kind kind;
  float beta1, beta2, eps;  /* Adam(W) */
  float momentum;           /* SGD */
  float weight_decay;       /* L2 for Adam and SGD, decoupled for AdamW (applied to every
                               parameter, as torch.optim does by default) */
  long step;
  long n;
  float *m, *v;             /* moments, or the SGD momentum buffer in m */
} sb_optimizer;

void sb_optimizer_init(sb_optimizer *o, sb_optimizer_kind kind, long n_values, float weight_decay,
                       float momentum);
void sb_optimizer_free(sb_optimizer *o);
void sb_optimizer_step(sb_optimizer *o, float *w, const float *g, float lr);
/* The same step on the gradients g·grad_scale, without writing the scaled gradients: clipping
 * folded into the update saves a pass over every gradient. */
void sb_optimizer_step_scaled(sb_optimizer *o, float *w, const float *g, float lr,
                              float grad_scale);

/* Global L2 norm of the gradients, and the factor torch's clip_grad_norm_ multiplies them by
 * (max_norm / (norm + 1e-6) when the norm is above max_norm > 0, else 1). */
double sb_grad_norm(const float *g, long n);
float sb_clip_factor(double norm, double max_norm);
/* Rescales gradients so their global L2 norm is at most max_norm (torch's clip_grad_norm_).
 * Returns the norm before clipping. */
double sb_clip_grad_norm(float *g, long n, double max_norm);

/* Learning-rate schedules, stepped once per epoch:
 *   constant
 *   cosine           torch CosineAnnealingLR(T_max = cosine_epochs), from base to eta_min
 *   cosine_restarts  torch CosineAnnealingWarmRestarts(T_0 = restart_period, T_mult)
 *   warmup_cosine    timm CosineLRScheduler: linear warmup from warmup_lr over warmup_epochs
 *                    (epochs counted from 0, no warmup prefix), cosine over cosine_epochs, then
 *                    eta_min (the cooldown epochs after cosine_epochs) */
typedef enum {
  SB_SCHED_CONSTANT,
  SB_SCHED_COSINE,
  SB_SCHED_COSINE_RESTARTS,
  SB_SCHED_WARMUP_COSINE
} sb_schedule_kind;

typedef struct {
  sb_schedule_kind kind;
  double base_lr, eta_min;
  int cosine_epochs;
  int restart_period, restart_mult;
  int warmup_epochs;
  double warmup_lr;
} sb_schedule;

/* Parses a schedule name; 0 on success. */
int sb_schedule_parse(const char *name, sb_schedule_kind *kind);
/* Learning rate for epoch e (0-based). */
double sb_schedule_lr(const sb_schedule *s, int epoch);

#endif
