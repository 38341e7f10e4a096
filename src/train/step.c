#include "snnbench/step.h"

sb_step_result sb_train_step(sb_model *m, sb_optimizer *opt, const sb_ctx *c, const float *x,
                             const int32_t *y, const float *soft, float label_smoothing,
                             double grad_clip, float lr) {
  sb_step_result r = {0};
  sb_model_forward(m, c, x);
  const int C = (int)sb_shape_numel(m->output->shape);
  r.loss = sb_softmax_xent(m->output->x, y, soft, c->B, C, label_smoothing, m->output->g,
                           &r.correct);
  sb_model_backward(m, c);
  r.grad_norm = sb_grad_norm(m->grad_block, m->n_param_values);
  sb_optimizer_step_scaled(opt, m->param_block, m->grad_block, lr,
                           sb_clip_factor(r.grad_norm, grad_clip));
  return r;
}
