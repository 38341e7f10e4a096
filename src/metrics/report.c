/* Turning a model's accumulated evaluation statistics into per-sample metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snnbench/metrics.h"

static double weight_zero_fraction(const sb_model *m, const sb_layer *l, long *n_weights) {
  /* The layer's "weight" tensors: NeuroBench counts .weight of Linear/Conv only, not biases. */
  char prefix[2 * SB_NAME_LEN];
  snprintf(prefix, sizeof prefix, "%s.weight", l->name);
  long zeros = 0, n = 0;
  for (int i = 0; i < m->n_params; i++) {
    if (strcmp(m->params[i].name, prefix)) continue;
    for (long k = 0; k < m->params[i].n; k++) zeros += m->params[i].w[k] == 0.0f;
    n += m->params[i].n;
  }
  *n_weights = n;
  return n ? (double)zeros / (double)n : 0.0;
}

void sb_model_report_build(const sb_model *m, int T, const sb_energy_model *e, sb_model_report *r) {
  memset(r, 0, sizeof *r);
  r->layers = sb_xcalloc((unsigned long)(m->n_layers ? m->n_layers : 1), sizeof *r->layers);
  double spikes = 0, elements = 0, samples = 0, zero_w = 0, all_w = 0, dead = 0, neurons = 0;
  for (int i = 0; i < m->n_layers; i++) {
    const sb_layer *l = m->layers[i];
    const int has_ops = l->ops->count_ops != NULL && l->op_stats.samples > 0;
    if (!l->is_neuron && !has_ops) continue;
    sb_layer_report *q = &r->layers[r->n_layers++];
    snprintf(q->name, sizeof q->name, "%s", l->name);
    snprintf(q->type, sizeof q->type, "%s", l->ops->type);
    q->params = l->n_params;
    /* Fields that do not apply to a layer are NaN, so tables say n/a rather than 0. */
    q->spike_rate = q->spikes_per_sample = q->dead_fraction = q->activation_sparsity = NAN;
    q->membrane_updates = q->neuron_ops_effective = q->neuron_ops_dense = NAN;
    q->synops_ac = q->synops_mac = q->dense_ops = q->energy_pj = q->connection_sparsity = NAN;
    if (l->is_neuron && l->stats.samples > 0) {
      const sb_spike_stats *s = &l->stats;
      q->neurons = s->n_neurons;
      q->spike_rate = s->elements > 0 ? s->spikes / s->elements : 0.0;
      q->spikes_per_sample = s->spikes / s->samples;
      q->activation_sparsity = 1.0 - q->spike_rate; /* binary outputs: nonzeros are spikes */
      long never = 0;
      const double per_neuron_slots = (double)T * s->samples;
      for (long k = 0; k < s->n_neurons; k++) {
        never += s->per_neuron[k] == 0;
        const double rate = s->per_neuron[k] / per_neuron_slots;
        int bin = (int)(rate * SB_RATE_BINS);
        if (bin >= SB_RATE_BINS) bin = SB_RATE_BINS - 1;
        q->rate_histogram[bin]++;
      }
      q->dead_fraction = s->n_neurons ? (double)never / s->n_neurons : 0.0;
      q->membrane_updates = l->op_stats.samples > 0 ? l->op_stats.membrane_updates / l->op_stats.samples : 0.0;
      q->neuron_ops_effective = q->membrane_updates * SB_NEURON_UPDATE_OPS;
      q->neuron_ops_dense = (double)s->n_neurons * T * SB_NEURON_UPDATE_OPS;
      spikes += s->spikes;
      elements += s->elements;
      samples = s->samples;
      dead += never;
      neurons += s->n_neurons;
    }
    if (has_ops) {
      const sb_op_stats *o = &l->op_stats;
      q->synops_ac = o->effective_acs / o->samples;
      q->synops_mac = o->effective_macs / o->samples;
      q->dense_ops = o->dense / o->samples;
      q->energy_pj = q->synops_ac * e->e_ac_pj + q->synops_mac * e->e_mac_pj;
      long nw;
      q->connection_sparsity = weight_zero_fraction(m, l, &nw);
      zero_w += q->connection_sparsity * nw;
      all_w += nw;
    }
    if (!isnan(q->membrane_updates)) {
      r->membrane_updates += q->membrane_updates;
      r->neuron_ops_effective += q->neuron_ops_effective;
      r->neuron_ops_dense += q->neuron_ops_dense;
    }
    if (!isnan(q->synops_ac)) {
      r->synops_ac += q->synops_ac;
      r->synops_mac += q->synops_mac;
      r->dense_ops += q->dense_ops;
      r->energy_pj += q->energy_pj;
    }
  }
  r->spike_rate = elements > 0 ? spikes / elements : 0.0;
  r->spikes_per_sample = samples > 0 ? spikes / samples : 0.0;
  r->activation_sparsity = elements > 0 ? 1.0 - spikes / elements : 0.0;
  r->dead_fraction = neurons > 0 ? dead / neurons : 0.0;
  r->connection_sparsity = all_w > 0 ? zero_w / all_w : 0.0;
  r->params = m->n_param_values;
  long buffers = 0, state = 0;
  for (int i = 0; i < m->n_buffers; i++) buffers += m->buffers[i].n;
  for (int i = 0; i < m->n_layers; i++)
    if (m->layers[i]->is_neuron) state += sb_shape_numel(m->layers[i]->out.shape);
  r->footprint_bytes = 4.0 * (double)(m->n_param_values + buffers);
  r->footprint_with_state_bytes = r->footprint_bytes + 4.0 * (double)state;
}

void sb_model_report_free(sb_model_report *r) {
  free(r->layers);
  memset(r, 0, sizeof *r);
}

double sb_model_dense_ops_static(sb_model *m, const float *sample) {
  sb_ctx c = {.T = 1, .B = 1, .collect_stats = 1, .n_epochs = 1};
  sb_model_reset_stats(m);
  sb_model_forward(m, &c, sample);
  double dense = 0.0;
  for (int i = 0; i < m->n_layers; i++) dense += m->layers[i]->op_stats.dense;
  return dense;
}
