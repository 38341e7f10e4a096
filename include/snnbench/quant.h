/* Int8 weight quantisation of a model's linear and conv weights (per output channel). */
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
