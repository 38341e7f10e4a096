/* Turning a model's accumulated evaluation statistics into per-sample metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snnbench/metrics.h"

int sb_model_is_spiking(const sb_model *m) {
  for (int i = 0; i < m->n_layers; i++)
    if (m->layers[i]->is_neuron) return 1;
  return 0;
}

int sb_layer_is_activation(const sb_layer *l) {
  return !strcmp(l->ops->type, "relu") || !strcmp(l->ops->type, "sigmoid");
}

/* ------------------------------------------------------------------ activation tally */

void sb_activation_tally_init(sb_activation_tally *t, const sb_model *m) {
  t->n_layers = m->n_layers;
  t->nonzero = sb_xcalloc((unsigned long)(m->n_layers ? m->n_layers : 1), sizeof(double));
  t->elements = sb_xcalloc((unsigned long)(m->n_layers ? m->n_layers : 1), sizeof(double));
}

void sb_activation_tally_reset(sb_activation_tally *t) {
  memset(t->nonzero, 0, (size_t)t->n_layers * sizeof(double));
  memset(t->elements, 0, (size_t)t->n_layers * sizeof(double));
}

void sb_activation_tally_add(sb_activation_tally *t, const sb_model *m, const sb_ctx *c) {
  const int spiking = sb_model_is_spiking(m);
  for (int i = 0; i < m->n_layers && i < t->n_layers; i++) {
    const sb_layer *l = m->layers[i];
    if (!sb_layer_is_activation(l)) continue;
    const long n = sb_act_rows(&l->out, c->T, c->B) * sb_shape_numel(l->out.shape);
    const float *x = l->out.x;
    long long nz = 0; /* an integer count: the same for any thread count */
#pragma omp parallel for schedule(static) reduction(+ : nz) if (n > 65536)
    for (long k = 0; k < n; k++) nz += x[k] != 0.0f;
    const double steps = l->out.is_static && spiking ? c->T : 1.0;
    t->nonzero[i] += (double)nz * steps;
    t->elements[i] += (double)n * steps;
  }
}

void sb_activation_tally_free(sb_activation_tally *t) {
  free(t->nonzero);
  free(t->elements);
  memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ the report */

/* Zeros and values of every weight matrix (the parameters int8 quantisation covers: linear and
 * conv weights, attention projections, gates, KAN coefficients) of each layer. A layer's
 * parameters are registered together, in layer order, so a walk over both lists pairs them. */
static void weight_zero_counts(const sb_model *m, double *zeros, double *n) {
  int p = 0;
  for (int i = 0; i < m->n_layers; i++) {
    zeros[i] = n[i] = 0.0;
    for (long left = m->layers[i]->n_params; left > 0 && p < m->n_params; p++) {
      const sb_param *q = &m->params[p];
      left -= q->n;
      if (!q->q_channels) continue;
      long z = 0;
      for (long k = 0; k < q->n; k++) z += q->w[k] == 0.0f;
      zeros[i] += (double)z;
      n[i] += (double)q->n;
    }
  }
}

void sb_model_report_build(const sb_model *m, const sb_activation_tally *act, int T,
                           const sb_energy_model *e, sb_model_report *r) {
  memset(r, 0, sizeof *r);
  const int L = m->n_layers ? m->n_layers : 1;
  r->layers = sb_xcalloc((unsigned long)L, sizeof *r->layers);
  r->spiking = sb_model_is_spiking(m);
  double *wz = sb_xcalloc((unsigned long)L, sizeof(double));
  double *wn = sb_xcalloc((unsigned long)L, sizeof(double));
  weight_zero_counts(m, wz, wn);
  double spikes = 0, elements = 0, samples = 0, dead = 0, neurons = 0, act_nz = 0, act_el = 0;
  double zero_w = 0, all_w = 0;
  int n_membrane = 0, n_ops = 0;
  r->membrane_updates = r->neuron_ops_effective = r->neuron_ops_dense = 0.0;
  for (int i = 0; i < m->n_layers; i++) {
    const sb_layer *l = m->layers[i];
    zero_w += wz[i];
    all_w += wn[i];
    const int has_ops = l->ops->count_ops != NULL && l->op_stats.samples > 0;
    const int has_act = act && i < act->n_layers && sb_layer_is_activation(l) &&
                        act->elements[i] > 0;
    const int has_spikes = l->is_neuron && l->stats.samples > 0;
    if (!has_spikes && !has_ops && !has_act) continue;
    sb_layer_report *q = &r->layers[r->n_layers++];
    snprintf(q->name, sizeof q->name, "%s", l->name);
    snprintf(q->type, sizeof q->type, "%s", l->ops->type);
    q->params = l->n_params;
    q->spike_rate = q->spikes_per_sample = q->dead_fraction = q->activation_sparsity = NAN;
    q->membrane_updates = q->neuron_ops_effective = q->neuron_ops_dense = NAN;
    q->synops_ac = q->synops_mac = q->dense_ops = q->energy_pj = NAN;
    q->connection_sparsity = wn[i] > 0 ? wz[i] / wn[i] : NAN;
    if (has_spikes) {
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
      spikes += s->spikes;
      elements += s->elements;
      samples = s->samples;
      dead += never;
      neurons += s->n_neurons;
    }
    /* Membrane updates: every neuron layer, and dendritic_mlp's branch potentials (leaky
     * integrators without a spike, counted as Leaky membranes). */
    if (has_spikes || (has_ops && l->op_stats.membrane_updates > 0)) {
      const double units = has_spikes ? (double)l->stats.n_neurons
                                      : (double)sb_shape_numel(l->out.shape);
      q->membrane_updates =
          l->op_stats.samples > 0 ? l->op_stats.membrane_updates / l->op_stats.samples : 0.0;
      q->neuron_ops_effective = q->membrane_updates * SB_NEURON_UPDATE_OPS;
      q->neuron_ops_dense = units * T * SB_NEURON_UPDATE_OPS;
      r->membrane_updates += q->membrane_updates;
      r->neuron_ops_effective += q->neuron_ops_effective;
      r->neuron_ops_dense += q->neuron_ops_dense;
      n_membrane++;
    }
    if (has_act) {
      q->activation_sparsity = 1.0 - act->nonzero[i] / act->elements[i];
      act_nz += act->nonzero[i];
      act_el += act->elements[i];
    }
    if (has_ops) {
      const sb_op_stats *o = &l->op_stats;
      /* The model counts a layer fed a static input once per step, as a spiking network runs
       * it (NeuroBench's snnTorch wrapper calls the layer at every step). A non-spiking model
       * is called once per sample (NeuroBench's torch wrapper), and such a layer computes once:
       * count it once. Its per-step inputs (rate or event frames) still count every step. */
      const double per = !r->spiking && l->in[0]->is_static && T > 0 ? 1.0 / T : 1.0;
      q->synops_ac = o->effective_acs * per / o->samples;
      q->synops_mac = o->effective_macs * per / o->samples;
      q->dense_ops = o->dense * per / o->samples;
      q->energy_pj = q->synops_ac * e->e_ac_pj + q->synops_mac * e->e_mac_pj;
      r->synops_ac += q->synops_ac;
      r->synops_mac += q->synops_mac;
      r->dense_ops += q->dense_ops;
      r->energy_pj += q->energy_pj;
      n_ops++;
    }
  }
  free(wz);
  free(wn);
  /* Spike metrics exist only for a model with spiking layers; NaN says "does not apply". */
  r->spike_rate = elements > 0 ? spikes / elements : NAN;
  r->spikes_per_sample = samples > 0 ? spikes / samples : NAN;
  r->dead_fraction = neurons > 0 ? dead / neurons : NAN;
  r->activation_sparsity = elements + act_el > 0 ? 1.0 - (spikes + act_nz) / (elements + act_el)
                                                 : NAN;
  if (!n_membrane) r->membrane_updates = r->neuron_ops_effective = r->neuron_ops_dense = NAN;
  if (!n_ops) r->synops_ac = r->synops_mac = r->dense_ops = r->energy_pj = NAN;
  r->connection_sparsity = all_w > 0 ? zero_w / all_w : NAN;
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
