/* The training loop of one cell. Everything random is drawn from the cell's seed through the
 * counter-based RNG, so a cell gives the same numbers on any rank and thread count, and, through
 * its checkpoints (src/train/checkpoint.c), however often it is interrupted and resumed. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snnbench/checkpoint.h"
#include "snnbench/models.h"
#include "snnbench/optim.h"
#include "snnbench/pipeline.h"
#include "snnbench/quant.h"
#include "snnbench/rng.h"
#include "snnbench/train.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

sb_status sb_build_cell_model(const sb_experiment *e, const sb_cell_config *cfg,
                              const sb_pipeline *p, int n_classes, int batch, sb_model **out) {
  char path[1024];
  sb_experiment_path(e, cfg->model, path, sizeof path);
  cJSON *spec;
  sb_status st = sb_model_spec_load(cfg->model, path, &spec);
  if (st) return st;
  sb_model_opts o = {.input_shape = sb_pipeline_shape(p),
                     .input_static = sb_pipeline_static(p),
                     .input_binary = sb_pipeline_binary(p),
                     .n_classes = n_classes,
                     .T = sb_cell_max_timesteps(cfg),
                     .B = batch,
                     .neuron = &cfg->neuron,
                     .ann_twin = cfg->ann,
                     .origin = sb_model_is_file(cfg->model) ? path : cfg->model};
  st = sb_model_build(out, spec, &o);
  cJSON_Delete(spec);
  return st;
}

int sb_cell_max_timesteps(const sb_cell_config *cfg) {
  int T = cfg->timesteps;
  for (int i = 0; i < cfg->eval.n_timesteps; i++)
    if (cfg->eval.timesteps[i] > T) T = cfg->eval.timesteps[i];
  return T;
}

typedef struct {
  double loss, acc;
  double forward_s; /* wall time of the forward passes alone */
} eval_result;

/* Runs the model over idx (no gradients) and returns mean loss and accuracy in %. forward_s
 * times the model's forward calls only (input preparation and the loss are outside it): with
 * ctx.collect_stats 0 it is the model's inference cost, which latency reports; with it set, the
 * forward calls also count spikes and operations, which costs about half as much again. act,
 * when not NULL, tallies the activation layers' outputs of a collect_stats pass. */
static eval_result evaluate(sb_model *m, const sb_pipeline *p, const sb_split *s,
                            const int32_t *idx, long n, int batch, sb_ctx ctx, float *xbuf,
                            int32_t *ybuf, sb_activation_tally *act) {
  ctx.train = 0;
  double loss = 0.0, forward_s = 0.0;
  long correct = 0;
  const int C = (int)sb_shape_numel(m->output->shape);
  sb_batch_key key = {.train = 0, .T = ctx.T, .seed = ctx.seed, .epoch = ctx.epoch};
  for (long i = 0; i < n; i += batch) {
    const int B = (int)(n - i < batch ? n - i : batch);
    key.batch = i / batch;
    sb_pipeline_batch(p, s, idx + i, B, &key, xbuf, ybuf, NULL);
    ctx.B = B;
    const double t0 = now_s();
    sb_model_forward(m, &ctx, xbuf);
    forward_s += now_s() - t0;
    if (act) sb_activation_tally_add(act, m, &ctx);
    int hits;
    loss += sb_softmax_xent(m->output->x, ybuf, NULL, B, C, 0.0f, NULL, &hits) * B;
    correct += hits;
  }
  eval_result r = {n ? loss / n : 0.0, n ? 100.0 * correct / n : 0.0, forward_s};
  return r;
}

static void alloc_curves(sb_trial_result *r, int n) {
  double **curves[] = {&r->train_loss, &r->train_acc, &r->val_loss, &r->val_acc,
                       &r->test_loss,  &r->test_acc,  &r->lr,       &r->epoch_time};
  for (size_t i = 0; i < sizeof curves / sizeof *curves; i++)
    *curves[i] = sb_xcalloc((unsigned long)n, sizeof(double));
  r->n_epochs = n;
}

void sb_trial_result_free(sb_trial_result *r) {
  free(r->train_loss);
  free(r->train_acc);
  free(r->val_loss);
  free(r->val_acc);
  free(r->test_loss);
  free(r->test_acc);
  free(r->lr);
  free(r->epoch_time);
  sb_model_report_free(&r->report);
  memset(r, 0, sizeof *r);
}

/* The hook asked to stop after a batch: checkpoint there and fail with SB_EINTERRUPTED. */
static sb_status interrupt_cell(const sb_cell *cell, const char *ckpt,
                                const sb_train_position *here, const sb_trial_result *res,
                                const sb_model *m, const sb_optimizer *opt) {
  /* Messages count epochs from 1, as the per-epoch lines do. */
  const int ep = here->epoch + 1, n_ep = res->n_epochs;
  if (!ckpt)
    return sb_fail(SB_EINTERRUPTED, "cell %s interrupted in epoch %d/%d after batch %ld "
                   "(no checkpoint)", cell->id, ep, n_ep, here->batch);
  if (sb_checkpoint_save(ckpt, cell->id, here, res, m, opt)) {
    char why[512];
    snprintf(why, sizeof why, "%s", sb_errmsg());
    sb_clear_error();
    return sb_fail(SB_EINTERRUPTED, "cell %s interrupted in epoch %d/%d after batch %ld; its "
                   "checkpoint could not be written (%s)", cell->id, ep, n_ep, here->batch, why);
  }
  return sb_fail(SB_EINTERRUPTED, "cell %s interrupted in epoch %d/%d after batch %ld, "
                 "checkpointed", cell->id, ep, n_ep, here->batch);
}

/* Dense MACs per sample of the cell's non-spiking twin, run as one static pass on a test
 * sample: the denominator of the energy ratio, measured rather than assumed. */
static sb_status ann_twin_macs(const sb_experiment *e, const sb_cell_config *cfg,
                               const sb_dataset *d, const sb_split_view *v, double *macs) {
  sb_cell_config twin = *cfg;
  twin.ann = 1;
  twin.timesteps = 1;
  twin.eval.n_timesteps = 0;
  twin.train.batch_size = twin.eval.batch_size = 1;
  sb_pipeline *p;
  sb_status st = sb_pipeline_create(&twin, d, &p);
  if (st) return st;
  sb_model *m;
  if ((st = sb_build_cell_model(e, &twin, p, d->n_classes, 1, &m))) {
    sb_pipeline_free(p);
    return st;
  }
  float *x = sb_xmalloc((unsigned long)sb_pipeline_batch_floats(p, 1, 1) * sizeof(float));
  int32_t y;
  const sb_batch_key key = {.train = 0, .T = 1};
  sb_pipeline_batch(p, &d->test, v->test, 1, &key, x, &y, NULL);
  *macs = sb_model_dense_ops_static(m, x);
  free(x);
  sb_model_free(m);
  sb_pipeline_free(p);
  return SB_OK;
}

/* After training: the efficiency report from a statistics pass over the test set, int8
 * accuracy and sizes, the ANN twin's energy, and the timestep study. ctx: the last epoch's. */
static sb_status final_metrics(const sb_experiment *e, const sb_cell_config *cfg,
                               const sb_dataset *d, const sb_split_view *v, sb_model *m,
                               const sb_pipeline *pipe, float *master, float *xbuf, int32_t *ybuf,
                               sb_ctx ctx, sb_trial_result *res) {
  const sb_energy_model em = {cfg->metrics.has_e_ac_pj ? cfg->metrics.e_ac_pj : 0.9,
                              cfg->metrics.has_e_mac_pj ? cfg->metrics.e_mac_pj : 4.6};
  const int Beval = cfg->eval.batch_size, spiking = sb_model_is_spiking(m);
  const int qat = cfg->train.qat;
  ctx.collect_stats = 0;
  sb_ctx stats = ctx;
  stats.collect_stats = 1;

  /* The final test pass once more, counting spikes, activations and operations: the same
   * batches, weights (int8 for a QAT model) and outputs as the last epoch's test pass, whose
   * forward time is the latency and so must not include the counting. */
  sb_activation_tally act;
  sb_activation_tally_init(&act, m);
  if (qat) sb_quant_apply(m, master);
  sb_model_reset_stats(m);
  evaluate(m, pipe, &d->test, v->test, v->n_test, Beval, stats, xbuf, ybuf, &act);
  sb_model_report_build(m, &act, cfg->timesteps, &em, &res->report);
  if (qat) sb_quant_restore(m, master);
  sb_activation_tally_free(&act);
  res->spike_rate = res->report.spike_rate;

  /* Int8 weights: the same test pass on the round-tripped weights (a QAT model already is). */
  sb_quant_apply(m, master);
  res->test_acc_int8 =
      evaluate(m, pipe, &d->test, v->test, v->n_test, Beval, ctx, xbuf, ybuf, NULL).acc;
  sb_quant_restore(m, master);
  sb_quant_sizes(m, &res->model_bytes_fp32, &res->model_bytes_int8);

  /* The energy ratio compares a spiking model with its non-spiking twin. A model without
   * spiking layers is its own ANN: the ratio (and a twin's cost) does not apply to it. */
  sb_status st = SB_OK;
  res->ann_dense_macs = res->ann_energy_pj = res->energy_ratio = NAN;
  if (spiking) {
    if ((st = ann_twin_macs(e, cfg, d, v, &res->ann_dense_macs))) return st;
    res->ann_energy_pj = res->ann_dense_macs * em.e_mac_pj;
    res->energy_ratio = res->ann_energy_pj > 0 ? res->report.energy_pj / res->ann_energy_pj : NAN;
  }

  /* The timestep study: the same weights at other T (each with its own pipeline, since event
   * frames are binned at T). A plain pass gives accuracy and latency, a statistics pass the
   * spikes. */
  if (qat) sb_quant_apply(m, master);
  for (int i = 0; i < cfg->eval.n_timesteps && !st; i++) {
    sb_cell_config at = *cfg;
    at.timesteps = cfg->eval.timesteps[i];
    sb_pipeline *p;
    if ((st = sb_pipeline_create(&at, d, &p))) break;
    sb_ctx c = ctx, cs = stats;
    c.T = cs.T = at.timesteps;
    const eval_result r = evaluate(m, p, &d->test, v->test, v->n_test, Beval, c, xbuf, ybuf, NULL);
    res->eval_T_acc[i] = r.acc;
    res->eval_T_latency_ms[i] = 1e3 * r.forward_s / (double)v->n_test;
    res->eval_T_spikes[i] = NAN;
    if (spiking) {
      sb_model_reset_stats(m);
      evaluate(m, p, &d->test, v->test, v->n_test, Beval, cs, xbuf, ybuf, NULL);
      double spikes = 0.0;
      for (int k = 0; k < m->n_layers; k++)
        if (m->layers[k]->is_neuron) spikes += m->layers[k]->stats.spikes;
      res->eval_T_spikes[i] = spikes / (double)v->n_test;
    }
    res->eval_T[i] = at.timesteps;
    res->n_eval_T = i + 1;
    sb_pipeline_free(p);
  }
  if (qat) sb_quant_restore(m, master);
  return st;
}

sb_status sb_train_cell(const sb_experiment *e, const sb_cell *cell, const sb_train_opts *opts,
                        sb_trial_result *res) {
  const sb_cell_config *cfg = &cell->cfg;
  memset(res, 0, sizeof *res);
  /* The cell's wall time splits into train_time_s (training batches), eval_time_s (the
   * per-epoch validation and test passes), io_time_s (everything before the first epoch:
   * dataset decode, splits, pipeline, model, checkpoint load; then the checkpoint writes) and
   * metrics_time_s (the passes after training). */
  const double t_cell = now_s();
  sb_data_source src;
  sb_status st = sb_pipeline_source(e, cfg, &src);
  if (st) return st;
  const sb_dataset *d;
  if ((st = sb_dataset_get(&src, &d))) return st; /* near 0 when this rank decoded it before */

  const uint64_t seed = (uint64_t)cfg->seed;
  const uint64_t split_seed = cfg->data.split_seed >= 0 ? (uint64_t)cfg->data.split_seed : seed;
  sb_split_view v;
  if ((st = sb_split_view_make(d, cfg->data.subset, cfg->data.train_size, cfg->data.val_size,
                               cfg->data.test_size, split_seed, &v)))
    return st;

  const int Btrain = cfg->train.batch_size, Beval = cfg->eval.batch_size;
  const int Bmax = Btrain > Beval ? Btrain : Beval;
  sb_pipeline *pipe;
  if ((st = sb_pipeline_create(cfg, d, &pipe))) {
    sb_split_view_free(&v);
    return st;
  }
  sb_model *m;
  if ((st = sb_build_cell_model(e, cfg, pipe, d->n_classes, Bmax, &m))) {
    sb_pipeline_free(pipe);
    sb_split_view_free(&v);
    return st;
  }
  sb_model_init_params(m, seed);

  sb_optimizer opt;
  const sb_optimizer_kind ok = !strcmp(cfg->train.optimizer, "sgd")     ? SB_OPT_SGD
                               : !strcmp(cfg->train.optimizer, "adamw") ? SB_OPT_ADAMW
                                                                        : SB_OPT_ADAM;
  sb_optimizer_init(&opt, ok, m->n_param_values, (float)cfg->train.weight_decay,
                    (float)cfg->train.momentum);
  sb_schedule sched = {.base_lr = cfg->train.lr,
                       .eta_min = cfg->train.eta_min,
                       .cosine_epochs = cfg->train.cosine_epochs ? cfg->train.cosine_epochs
                                                                 : cfg->train.epochs,
                       .restart_period = cfg->train.restart_period,
                       .restart_mult = cfg->train.restart_mult,
                       .warmup_epochs = cfg->train.warmup_epochs,
                       .warmup_lr = cfg->train.warmup_lr};
  sb_schedule_parse(cfg->train.schedule, &sched.kind);

  const int C = d->n_classes;
  float *xbuf = sb_xmalloc((unsigned long)sb_pipeline_batch_floats(
                               pipe, sb_cell_max_timesteps(cfg), Bmax) * sizeof(float));
  /* Quantisation keeps the float weights aside while a pass runs on their int8 round trip. */
  float *master = sb_xmalloc((unsigned long)(sb_quant_master_floats(m) + 1) * sizeof(float));
  const int qat = cfg->train.qat;
  int32_t *ybuf = sb_xmalloc((unsigned long)Bmax * sizeof(int32_t));
  float *soft = sb_xmalloc((unsigned long)Bmax * C * sizeof(float));
  int32_t *order = sb_xmalloc((unsigned long)v.n_train * sizeof(int32_t));

  alloc_curves(res, cfg->train.epochs);
  res->n_params = m->n_param_values;
  res->n_train = v.n_train;
  res->n_val = v.n_val;
  res->n_test = v.n_test;
  res->best_val_epoch = -1;
  res->best_val_acc = -1.0;

  /* Continue from the cell's checkpoint if it has a valid one. A bad file is reported and
   * ignored as a whole (the loader changes nothing then), and the cell starts from scratch. */
  sb_train_report scratch_report;
  sb_train_report *rep = opts && opts->report ? opts->report : &scratch_report;
  memset(rep, 0, sizeof *rep);
  const char *ckpt = opts ? opts->checkpoint : NULL;
  sb_train_position pos = {0};
  if (ckpt) {
    char why[256];
    switch (sb_checkpoint_load(ckpt, cell->id, &pos, res, m, &opt, why, sizeof why)) {
      case SB_CKPT_LOADED:
        rep->resumed = 1;
        rep->resume_epoch = pos.epoch;
        rep->resume_batch = pos.batch;
        break;
      case SB_CKPT_INVALID:
        fprintf(stderr, "snnbench: warning: %s: %s; cell %s starts from scratch\n", ckpt, why,
                cell->id);
        memset(&pos, 0, sizeof pos);
        break;
      case SB_CKPT_NONE:
        break;
    }
  }

  /* Earlier attempts of a resumed cell contributed their training and evaluation time (their
   * set-up is not recorded in the checkpoint, and is not counted). */
  const double carried_s = rep->resumed ? res->train_time_s + res->eval_time_s + pos.epoch_time_s
                                        : 0.0;
  double io_s = now_s() - t_cell;
  const long n_batches = (v.n_train + Btrain - 1) / Btrain;
  sb_ctx ctx = {.T = cfg->timesteps, .seed = seed, .n_epochs = cfg->train.epochs, .step = pos.step};
  for (int ep = pos.epoch; ep < cfg->train.epochs && !st; ep++) {
    const double t0 = now_s();
    const double lr = sb_schedule_lr(&sched, ep);
    /* The order is a pure function of (seed, epoch), so a resumed epoch sees the same order. */
    memcpy(order, v.train, (size_t)v.n_train * sizeof(int32_t));
    sb_rng r;
    sb_rng_init(&r, seed, sb_stream(SB_STREAM_SHUFFLE, (uint32_t)ep));
    sb_rng_shuffle(&r, order, (int)v.n_train);

    /* A checkpoint taken mid-epoch carries the epoch's partial sums and time. */
    const int resuming = ep == pos.epoch;
    double loss_sum = resuming ? pos.loss_sum : 0.0;
    long correct = resuming ? pos.correct : 0;
    const double time_before = resuming ? pos.epoch_time_s : 0.0;
    ctx.train = 1;
    ctx.epoch = ep;
    sb_batch_key key = {.train = 1, .T = cfg->timesteps, .seed = seed, .epoch = ep};
    for (long bi = resuming ? pos.batch : 0; bi < n_batches; bi++) {
      const long i = bi * Btrain;
      const int B = (int)(v.n_train - i < Btrain ? v.n_train - i : Btrain);
      key.batch = bi;
      const int mixed = sb_pipeline_batch(pipe, &d->train, order + i, B, &key, xbuf, ybuf, soft);
      ctx.B = B;
      if (qat) sb_quant_apply(m, master); /* forward and backward see int8 weights ... */
      sb_model_forward(m, &ctx, xbuf);
      int hits;
      const double loss =
          sb_softmax_xent(m->output->x, ybuf, mixed ? soft : NULL, B, C,
                          (float)cfg->train.label_smoothing, m->output->g, &hits);
      if (!isfinite(loss)) {
        if (qat) sb_quant_restore(m, master);
        st = sb_fail(SB_ERUNTIME, "cell %s diverged: non-finite loss at epoch %d, batch %ld",
                     cell->id, ep, bi);
        break;
      }
      loss_sum += loss * B;
      correct += hits;
      sb_model_backward(m, &ctx);
      if (qat) sb_quant_restore(m, master); /* ... the update goes to the float weights */
      const float clip = cfg->train.grad_clip > 0
                             ? sb_clip_factor(sb_grad_norm(m->grad_block, m->n_param_values),
                                              cfg->train.grad_clip)
                             : 1.0f;
      sb_optimizer_step_scaled(&opt, m->param_block, m->grad_block, (float)lr, clip);
      ctx.step++;
      if (opts && opts->hook && opts->hook(opts->hook_user)) {
        const sb_train_position here = {ep, bi + 1, ctx.step, loss_sum, correct,
                                        time_before + now_s() - t0};
        st = interrupt_cell(cell, ckpt, &here, res, m, &opt);
        break;
      }
    }
    const double t1 = now_s();
    if (st) break;
    res->train_time_s += time_before + t1 - t0;

    const int last = ep == cfg->train.epochs - 1;
    eval_result val = {0, 0, 0};
    if (qat) sb_quant_apply(m, master); /* a QAT model is evaluated as the int8 model it is */
    if (v.n_val) val = evaluate(m, pipe, &d->train, v.val, v.n_val, Beval, ctx, xbuf, ybuf, NULL);
    const eval_result test =
        evaluate(m, pipe, &d->test, v.test, v.n_test, Beval, ctx, xbuf, ybuf, NULL);
    /* Latency: the last test pass's forward calls per sample, counting nothing. */
    if (last) res->latency_ms_per_sample = 1e3 * test.forward_s / (double)v.n_test;
    if (qat) sb_quant_restore(m, master);
    const double t2 = now_s();
    res->eval_time_s += t2 - t1;

    res->train_loss[ep] = loss_sum / v.n_train;
    res->train_acc[ep] = 100.0 * correct / v.n_train;
    res->val_loss[ep] = val.loss;
    res->val_acc[ep] = val.acc;
    res->test_loss[ep] = test.loss;
    res->test_acc[ep] = test.acc;
    res->lr[ep] = lr;
    res->epoch_time[ep] = time_before + t2 - t0;
    /* Model selection uses validation only; ties keep the earlier epoch. Without a validation
     * split the last epoch is chosen. */
    if (v.n_val ? val.acc > res->best_val_acc : last) {
      res->best_val_acc = val.acc;
      res->best_val_epoch = ep;
      res->test_acc_at_best_val = test.acc;
    }
    if (opts && opts->verbose)
      printf("  cell %s epoch %d/%d: loss %.4f train %.2f%% val %.2f%% test %.2f%% (%.1fs)\n",
             cell->id, ep + 1, cfg->train.epochs, res->train_loss[ep], res->train_acc[ep],
             val.acc, test.acc, res->epoch_time[ep]);
    /* Every epoch but the last ends with a checkpoint, so a kill -9 costs at most the epoch in
     * progress. After the last one the cell file itself is the record. */
    if (ckpt && !last) {
      const double tc = now_s();
      const sb_train_position next = {ep + 1, 0, ctx.step, 0.0, 0, 0.0};
      if (sb_checkpoint_save(ckpt, cell->id, &next, res, m, &opt)) {
        fprintf(stderr, "snnbench: warning: cell %s: epoch checkpoint not written: %s\n",
                cell->id, sb_errmsg());
        sb_clear_error();
      }
      io_s += now_s() - tc;
    }
  }
  if (!st) {
    res->test_acc_final = res->test_acc[cfg->train.epochs - 1];
    res->train_samples_per_s =
        res->train_time_s > 0 ? (double)v.n_train * cfg->train.epochs / res->train_time_s : 0.0;
    const double tm = now_s();
    st = final_metrics(e, cfg, d, &v, m, pipe, master, xbuf, ybuf, ctx, res);
    const double t_end = now_s();
    res->metrics_time_s = t_end - tm;
    res->io_time_s = io_s;
    res->wall_time_s = carried_s + t_end - t_cell;
  }
  free(xbuf);
  free(master);
  free(ybuf);
  free(soft);
  free(order);
  sb_pipeline_free(pipe);
  sb_optimizer_free(&opt);
  sb_model_free(m);
  sb_split_view_free(&v);
  if (st) sb_trial_result_free(res);
  return st;
}
