/* Int8 weight quantisation of a model's weight matrices (the parameters its layers mark with
 * sb_builder_quantizable), symmetric per output channel: scale = max|w| / 127,
 * q(w) = scale · clamp(round(w / scale), −127, 127).
 *
 * Post-training: sb_quant_apply, evaluate, sb_quant_restore.
 * Quantisation-aware training, fake quantisation with a straight-through estimator:
 * sb_quant_apply before the forward pass (forward and backward see q(w)), sb_quant_restore after
 * the backward pass (the float weights come back, the gradient stays: dL/dw := dL/dq(w)). A
 * channel's clip range is ±max|w|, which holds every weight of the channel, so the estimator
 * passes every gradient through unchanged. */
#ifndef SNNBENCH_QUANT_H
#define SNNBENCH_QUANT_H

#include "snnbench/nn.h"

/* Floats needed to keep the float master copy of every quantisable weight. */
long sb_quant_master_floats(const sb_model *m);
/* Saves the quantisable weights into master and replaces them by their int8 round trip. */
void sb_quant_apply(sb_model *m, float *master);
/* Puts the saved float weights back. */
void sb_quant_restore(sb_model *m, const float *master);
/* Model size with float32 weights, and with int8 weights plus float32 per-channel scales (other
 * parameters stay float32). */
void sb_quant_sizes(const sb_model *m, double *bytes_fp32, double *bytes_int8);

#endif
