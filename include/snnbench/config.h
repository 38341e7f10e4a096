/* Experiment configs: a JSON base experiment plus a "grid" that maps dotted config paths to lists
 * of values. The Cartesian product of the grid is the list of cells; each cell is the base with
 * its grid values applied, checked against the schema below and completed with defaults. A
 * cell's id is a hash of that resolved config (and of its model spec), so it is stable across
 * runs, ranks and machines. */
#ifndef SNNBENCH_CONFIG_H
#define SNNBENCH_CONFIG_H

#include <stdint.h>

#include "snnbench/error.h"
#include "snnbench/nn.h"

typedef struct cJSON cJSON;

typedef struct {
  char model[512];  /* built-in name, or a .json spec path (relative to the config file) */
  char preset[32];  /* the published recipe whose values fill unset keys ("" when none) */
  int has_preset;
  int ann;          /* build the model's non-spiking twin (ReLU for every spiking layer) */
  int has_ann;
  int timesteps;
  int64_t seed;
  struct {
    char name[32];
    char path[512];
    long train_size, val_size, test_size;
    int64_t split_seed;  /* -1: use the trial seed */
    char subset[16];     /* random | first | stratified */
    char encoding[16];   /* direct | rate | latency */
    int normalize;
    char cifar100_labels[8];  /* fine | coarse */
    struct {
      char split_by[8];  /* number | time */
      int clip;          /* 0: no clipping */
      char normalize[8]; /* none | clip | max */
    } frames;
    struct {
      int crop_padding;
      double hflip, erase;
      struct {
        double degrees, translate, scale_min, scale_max;
      } affine;
    } augment;
    struct {
      double alpha, prob;
    } mixup;
    struct {
      char shape[24];  /* CxHxW */
      int classes;
      long samples;
    } synthetic;
  } data;
  sb_neuron_override neuron;
  struct {
    int epochs, batch_size;
    char optimizer[16];
    double lr, weight_decay, momentum;
    char schedule[24];
    double eta_min, grad_clip, label_smoothing;
    int cosine_epochs, restart_period, restart_mult, warmup_epochs;
    double warmup_lr;
    int qat, has_qat; /* quantisation-aware training of the weight matrices (int8) */
  } train;
  struct {
    int batch_size;
    int timesteps[16]; /* the timestep study: evaluate the trained model at these T too */
    int n_timesteps, has_timesteps;
  } eval;
  struct {
    float e_ac_pj, e_mac_pj; /* energy per accumulate / multiply-accumulate */
    int has_e_ac_pj, has_e_mac_pj;
  } metrics;
} sb_cell_config;

typedef struct {
  int index;         /* position in grid order */
  char id[17];       /* 16 hex digits */
  cJSON *resolved;   /* canonical resolved config (sorted keys, defaults filled) */
  char *resolved_text;
  cJSON *axes;       /* {"path": value} for this cell's grid values */
  sb_cell_config cfg;
  double cost;       /* relative cost estimate, for scheduling largest first */
} sb_cell;

typedef struct {
  char path[1024];     /* the config file */
  char dir[1024];      /* its directory: relative paths in the config start here */
  char name[128];
  char *text;          /* the file as read */
  cJSON *root;
  int n_axes;
  char **axes;         /* grid paths, in file order */
  int n_cells;
  sb_cell *cells;
} sb_experiment;

/* Reads, validates and expands a config. Every error names the file and JSON path. */
sb_status sb_experiment_load(const char *path, sb_experiment *e);
void sb_experiment_free(sb_experiment *e);

/* Resolves a path from the config (model spec, data dir) against the config's directory. */
void sb_experiment_path(const sb_experiment *e, const char *p, char *out, size_t n);

/* Canonical JSON (keys sorted recursively, no whitespace), caller frees. */
char *sb_json_canonical(const cJSON *j);
/* 64-bit FNV-1a over bytes, as 16 lowercase hex digits. */
void sb_hash_hex(const void *data, size_t n, uint64_t seed, char out[17]);
uint64_t sb_hash64(const void *data, size_t n, uint64_t seed);

/* A published training recipe: a JSON object of config keys (nested like a config). */
typedef struct {
  const char *name, *description, *json;
} sb_preset;
/* NULL when unknown. */
const sb_preset *sb_preset_find(const char *name);
/* Every preset, ended by one whose name is NULL. */
const sb_preset *sb_presets(void);

/* Lists the schema (path, type, default, help) for `snnbench validate --schema`. */
void sb_config_print_schema(void);

#endif
