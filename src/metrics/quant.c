/* Int8 weight quantisation, symmetric per output channel (scale = max|w| / 127): post-training
 * (weights replaced by their dequantised values for evaluation) and quantisation-aware training
 * (the forward pass sees fake-quantised weights, the gradient passes straight through to the
 * float master weights). Every weight matrix that multiplies activations quantises: the layers
 * mark theirs with sb_builder_quantizable (linear, conv2d, dendritic_mlp and dendritic_conv's
 * gate, power_kan's W and phi, power_basis, branch_mixture's branches and gate,
 * temporal_attention's projections, time_softmax_readout's scorer). Biases, BatchNorm, the
 * neurons' thresholds and time constants, per-channel scales and KAN activation coefficients
 * stay float32 (README, "Metrics"). */
#include "snnbench/quant.h"

#include <math.h>
#include <string.h>

static void quantize_param(sb_param *p) {
  for (int c = 0; c < p->q_channels; c++) {
    float *base = p->w + c * p->q_ch_stride;
    float amax = 0.0f;
    for (long j = 0; j < p->q_len; j++) amax = fmaxf(amax, fabsf(base[j * p->q_el_stride]));
    if (amax == 0.0f) continue;
    const float scale = amax / 127.0f;
    for (long j = 0; j < p->q_len; j++) {
      float *w = base + j * p->q_el_stride;
      const float q = fminf(127.0f, fmaxf(-127.0f, nearbyintf(*w / scale)));
      *w = q * scale;
    }
  }
}

long sb_quant_master_floats(const sb_model *m) {
  long n = 0;
  for (int i = 0; i < m->n_params; i++)
    if (m->params[i].q_channels) n += m->params[i].n;
  return n;
}

void sb_quant_apply(sb_model *m, float *master) {
  long off = 0;
  for (int i = 0; i < m->n_params; i++) {
    sb_param *p = &m->params[i];
    if (!p->q_channels) continue;
    memcpy(master + off, p->w, (size_t)p->n * sizeof(float));
    off += p->n;
    quantize_param(p);
  }
}

void sb_quant_restore(sb_model *m, const float *master) {
  long off = 0;
  for (int i = 0; i < m->n_params; i++) {
    sb_param *p = &m->params[i];
    if (!p->q_channels) continue;
    memcpy(p->w, master + off, (size_t)p->n * sizeof(float));
    off += p->n;
  }
}

void sb_quant_sizes(const sb_model *m, double *bytes_fp32, double *bytes_int8) {
  double q = 0, other = 0, scales = 0;
  for (int i = 0; i < m->n_params; i++) {
    if (m->params[i].q_channels) {
      q += (double)m->params[i].n;
      scales += m->params[i].q_channels;
    } else {
      other += (double)m->params[i].n;
    }
  }
  *bytes_fp32 = 4.0 * (q + other);
  *bytes_int8 = q + 4.0 * (scales + other);
}
