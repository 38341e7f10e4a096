/* Per-layer and whole-model efficiency metrics, each by one written definition (README,
 * "Metrics"): spike statistics over binary neuron outputs, NeuroBench activation sparsity,
 * synaptic operations, membrane updates and neuron operations, an energy estimate, and static
 * model properties. A metric that does not apply to a model or layer (spikes of a non-spiking
 * model, SynOps of a neuron, connection sparsity of a layer without weights) is NaN, never 0:
 * the cell file stores NaN and the reduce tables print n/a. */
#ifndef SNNBENCH_METRICS_H
#define SNNBENCH_METRICS_H

#include "snnbench/nn.h"

enum { SB_RATE_BINS = 20 };

/* Energy per operation, picojoules (45 nm defaults: Horowitz, ISSCC 2014, as the seeds used). */
typedef struct {
  double e_ac_pj, e_mac_pj;
} sb_energy_model;

typedef struct {
  char name[SB_NAME_LEN];
  char type[24];
  long neurons;                 /* per sample per step; 0 for layers without spiking neurons */
  long params;
  double spike_rate;            /* spikes / (neurons · T · samples) */
  double spikes_per_sample;
  double dead_fraction;         /* neurons that never fired on the evaluated set */
  double activation_sparsity;   /* zero outputs / outputs (NeuroBench): neurons, relu, sigmoid */
  double membrane_updates;      /* per sample */
  double neuron_ops_effective;  /* per sample: updates × cost of an update */
  double neuron_ops_dense;      /* per sample: neurons × T × cost */
  double synops_ac, synops_mac; /* effective synaptic operations per sample */
  double dense_ops;             /* per sample */
  double energy_pj;             /* per sample: ACs·E_AC + MACs·E_MAC */
  double connection_sparsity;   /* zero weights / weights over this layer's weight matrices */
  long rate_histogram[SB_RATE_BINS]; /* neurons by firing rate, bins of width 1/SB_RATE_BINS */
} sb_layer_report;

typedef struct {
  int n_layers;
  sb_layer_report *layers; /* layers with neurons, synaptic operations or counted activations */
  int spiking;             /* the model has spiking neuron layers */
  double spike_rate, spikes_per_sample, dead_fraction, activation_sparsity;
  double membrane_updates, neuron_ops_effective, neuron_ops_dense;
  double synops_ac, synops_mac, dense_ops, energy_pj;
  double connection_sparsity; /* over every weight matrix of the model (the int8 set) */
  long params;
  double footprint_bytes;            /* parameters and buffers, float32 */
  double footprint_with_state_bytes; /* plus one sample's membrane state, as NeuroBench counts */
} sb_model_report;

/* Nonzero outputs of the non-spiking activation layers (relu and sigmoid, the modules NeuroBench
 * hooks besides spiking neurons) over an evaluation pass, for activation sparsity. Neuron layers
 * keep their own counts in sb_spike_stats. Indexed by model layer. */
typedef struct {
  int n_layers;
  double *nonzero, *elements;
} sb_activation_tally;

void sb_activation_tally_init(sb_activation_tally *t, const sb_model *m);
void sb_activation_tally_reset(sb_activation_tally *t);
/* Counts the outputs of the forward pass that just ran with c (its T and B). A static output
 * counts once per step in a spiking model (the network runs every step) and once in a
 * non-spiking one (it is called once per sample), as the synaptic operations are counted. */
void sb_activation_tally_add(sb_activation_tally *t, const sb_model *m, const sb_ctx *c);
void sb_activation_tally_free(sb_activation_tally *t);

/* Whether any layer of m is a spiking neuron layer. */
int sb_model_is_spiking(const sb_model *m);
/* relu and sigmoid: the activation layers activation sparsity counts besides neurons. */
int sb_layer_is_activation(const sb_layer *l);

/* Operations an update of one spiking neuron costs (NeuroBench NeuronOperations, Leaky with
 * subtract or zero reset: βU, +I, R·θ, subtraction). IF counts as Leaky with β = 1. */
#define SB_NEURON_UPDATE_OPS 4.0

/* Builds the report from the statistics the model accumulated in its last collect_stats pass
 * (and act, when not NULL, from the same pass). T: the steps of that pass. */
void sb_model_report_build(const sb_model *m, const sb_activation_tally *act, int T,
                           const sb_energy_model *e, sb_model_report *r);
void sb_model_report_free(sb_model_report *r);

/* Dense multiply-accumulates per sample of a model run as a single static pass (the ANN twin):
 * the sum of every weighted layer's dense count at T = 1. */
double sb_model_dense_ops_static(sb_model *m, const float *sample);

#endif
