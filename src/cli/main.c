/* snnbench command line. Exit codes: 0 ok, 1 runtime failure, 2 bad input (config, arguments,
 * data files), 75 interrupted by SIGTERM/SIGUSR1 after checkpointing (run again with --resume).
 * `status` exits 1 while a run is incomplete. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snnbench/bench.h"
#include "snnbench/config.h"
#include "snnbench/data.h"
#include "snnbench/interrupt.h"
#include "snnbench/kernels.h"
#include "snnbench/models.h"
#include "snnbench/neuron.h"
#include "snnbench/nn.h"
#include "snnbench/reduce.h"
#include "snnbench/run.h"
#include "snnbench/store.h"
#include "snnbench/surrogate.h"

static const char *const k_usage =
    "usage: snnbench <command> [args]\n"
    "  run CONFIG [--out DIR] [--resume] [--shard I/N] [--max-attempts N] [--verbose]\n"
    "      [--no-reduce]      train every cell of the grid (under mpirun: spread over ranks);\n"
    "                         --resume continues the run in DIR, or starts it if there is none;\n"
    "                         --shard I/N runs slice I (0-based) of N of the grid (job arrays);\n"
    "                         SIGTERM/SIGUSR1 checkpoint and exit 75: resume with --resume\n"
    "  status DIR             cells done, in progress, checkpointed, failed; exit 1 if incomplete\n"
    "  validate CONFIG        check a config, print its cells and their relative cost\n"
    "  validate --schema      list every config key with its default\n"
    "  reduce DIR|results.h5  summary tables over seeds (summary.md/.csv/.json)\n"
    "  merge DIR              gather finished cells into DIR/results.h5\n"
    "  list models|presets|layers|neurons|surrogates|datasets\n"
    "  data info PATH [--format F]\n"
    "                         what a dataset file or directory holds (format, samples, shape,\n"
    "                         class histogram, value range) and whether its MD5 is the official one\n"
    "  model info NAME|FILE [--input CxHxW] [--classes N] [--ann]\n"
    "                         layers, shapes, parameters; --ann: the non-spiking twin\n"
    "  info                   build and runtime environment\n"
    "  bench mlp|cnn [--threads 1,2] [--samples N] [--epochs E] [--repeats R] [--model M]\n"
    "                [--reference PY] [--profile]\n"
    "                         training samples/s against the PyTorch reference (R alternating\n"
    "                         runs of each, default 3; medians), GFLOP/s, RSS\n";

/* An argument error is one line, like every other input error; the usage is one flag away. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "snnbench: %s (see snnbench --help)\n", msg);
  return SB_EINPUT;
}

/* The value of option argv[*i], advancing *i; NULL when the option is the last argument or is
 * followed by another option (`--out --resume` forgot the directory). */
static const char *option_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc || (argv[*i + 1][0] == '-' && argv[*i + 1][1] == '-')) return NULL;
  return argv[++*i];
}

static int report(sb_status st) {
  if (st) fprintf(stderr, "snnbench: %s\n", sb_errmsg());
  return st;
}

/* A whole decimal number in [min, max], or -1. */
static long parse_count(const char *s, long min, long max) {
  char *end;
  errno = 0;
  const long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) return -1;
  return v;
}

/* "I/N" with 0 <= I < N. */
static int parse_shard(const char *s, int *index, int *count) {
  const char *slash = strchr(s, '/');
  if (!slash || slash == s) return -1;
  char head[32];
  if ((size_t)(slash - s) >= sizeof head) return -1;
  memcpy(head, s, (size_t)(slash - s));
  head[slash - s] = 0;
  const long n = parse_count(slash + 1, 1, 1000000), i = parse_count(head, 0, 1000000);
  if (n < 0 || i < 0 || i >= n) return -1;
  *index = (int)i;
  *count = (int)n;
  return 0;
}

static int cmd_run(int argc, char **argv) {
  sb_run_opts o = {.reduce = 1, .max_attempts = SB_DEFAULT_MAX_ATTEMPTS, .argc = argc,
                   .argv = argv};
  for (int i = 2; i < argc; i++) {
    const char *opt = argv[i], *v = NULL;
    const int takes_value = !strcmp(opt, "--out") || !strcmp(opt, "--shard") ||
                            !strcmp(opt, "--max-attempts");
    if (takes_value && !(v = option_value(argc, argv, &i)))
      return usage_error("run: %s needs a value", opt);
    if (!strcmp(opt, "--out")) {
      if (!v[0]) return usage_error("run: --out needs a directory, not \"\"");
      o.out_dir = v;
    } else if (!strcmp(opt, "--shard")) {
      if (parse_shard(v, &o.shard_index, &o.shard_count))
        return usage_error("run: --shard \"%s\": expected I/N with 0 <= I < N", v);
    } else if (!strcmp(opt, "--max-attempts")) {
      const long n = parse_count(v, 1, INT_MAX);
      if (n < 0) return usage_error("run: --max-attempts \"%s\": expected a count >= 1", v);
      o.max_attempts = (int)n;
    } else if (!strcmp(opt, "--resume")) {
      o.resume = 1;
    } else if (!strcmp(opt, "--verbose")) {
      o.verbose = 1;
    } else if (!strcmp(opt, "--no-reduce")) {
      o.reduce = 0;
    } else if (opt[0] == '-') {
      return usage_error("run: unknown option %s", opt);
    } else if (!o.config) {
      o.config = opt;
    } else {
      return usage_error("run: unexpected argument %s (one CONFIG only)", opt);
    }
  }
  if (!o.config) return usage_error("run: a CONFIG file is required");
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  sb_interrupt_install();
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  sb_status st = sb_run(&o);
  if (st && rank == 0) fprintf(stderr, "snnbench: %s\n", sb_errmsg());
  MPI_Finalize();
  return st;
}

static int cmd_validate(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[2], "--schema")) {
    sb_config_print_schema();
    return 0;
  }
  if (argc != 3) return usage_error("validate: expected one CONFIG (or --schema)");
  return report(sb_validate(argv[2], 1));
}

static int cmd_reduce(int argc, char **argv) {
  if (argc != 3) return usage_error("reduce: expected one DIR or results.h5");
  return report(sb_reduce_dir(argv[2], 1));
}

static int cmd_status(int argc, char **argv) {
  if (argc != 3) return usage_error("status: expected one run DIR");
  int done, total;
  sb_status st = sb_run_status(argv[2], 1, &done, &total);
  if (!st && done < total)
    st = sb_fail(SB_ERUNTIME, "%s: incomplete, %d of %d cells not done", argv[2], total - done,
                 total);
  return report(st);
}

static int cmd_merge(int argc, char **argv) {
  if (argc != 3) return usage_error("merge: expected one DIR");
  int merged, missing;
  sb_status st = sb_merge(argv[2], &merged, &missing);
  if (!st) printf("merged %d cells into %s/results.h5 (%d missing)\n", merged, argv[2], missing);
  return report(st);
}

static int cmd_list(int argc, char **argv) {
  if (argc != 3)
    return usage_error("list: expected models, presets, layers, neurons, surrogates or datasets");
  const char *what = argv[2];
  if (!strcmp(what, "models")) {
    for (const char *const *n = sb_builtin_model_names(); *n; n++)
      printf("%-20s %s\n", *n, sb_builtin_model_description(*n));
  } else if (!strcmp(what, "presets")) {
    for (const sb_preset *p = sb_presets(); p->name; p++) printf("%-14s %s\n", p->name, p->description);
  } else if (!strcmp(what, "layers")) {
    for (const sb_layer_ops *const *l = sb_layer_table(); *l; l++) printf("%s\n", (*l)->type);
  } else if (!strcmp(what, "surrogates")) {
    sb_surrogate_print_list(stdout);
  } else if (!strcmp(what, "neurons")) {
    sb_neuron_print_list(stdout);
  } else if (!strcmp(what, "datasets")) {
    for (const char *const *n = sb_dataset_names(); *n; n++) {
      const char *p = sb_dataset_default_path(*n);
      printf("%-14s %-34s %s\n", *n, !p ? "(set data.path)" : *p ? p : "(no files)",
             sb_dataset_layout(*n));
    }
  } else {
    return usage_error("list: unknown list \"%s\" (models, presets, layers, neurons, "
                       "surrogates, datasets)", what);
  }
  return 0;
}

static int cmd_data(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "info"))
    return usage_error("data: expected `data info PATH [--format F]`");
  const char *path = NULL, *format = NULL;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--format")) {
      if (!(format = option_value(argc, argv, &i)))
        return usage_error("data info: --format needs a value");
    } else if (argv[i][0] == '-') {
      return usage_error("data info: unknown option %s", argv[i]);
    } else if (!path) {
      path = argv[i];
    } else {
      return usage_error("data info: unexpected argument %s", argv[i]);
    }
  }
  if (!path) return usage_error("data info: a PATH is required");
  /* The report is printed only once the whole file has been read: a file that turns out to be
   * malformed halfway gets its one-line error and no half report. */
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) return report(sb_fail(SB_ERUNTIME, "data info: cannot buffer the report"));
  const sb_status st = sb_data_info(path, format, mem);
  fclose(mem);
  if (!st) fwrite(text, 1, len, stdout);
  free(text);
  return report(st);
}

static int parse_shape(const char *s, sb_shape *out) {
  int d[3], n = sscanf(s, "%dx%dx%d", &d[0], &d[1], &d[2]);
  if (n < 1) return -1;
  out->ndim = n;
  for (int i = 0; i < n; i++) {
    if (d[i] <= 0) return -1;
    out->d[i] = d[i];
  }
  return 0;
}

static int cmd_model(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "info"))
    return usage_error("model: expected `model info NAME|FILE`");
  const char *name = argv[3];
  if (name[0] == '-') return usage_error("model info: expected NAME|FILE before %s", name);
  sb_shape shape = {3, {1, 28, 28}};
  int classes = 10, ann = 0, have_input = 0, have_classes = 0;
  for (int i = 4; i < argc; i++) {
    const char *opt = argv[i], *v = NULL;
    if ((!strcmp(opt, "--input") || !strcmp(opt, "--classes")) &&
        !(v = option_value(argc, argv, &i)))
      return usage_error("model info: %s needs a value", opt);
    if (!strcmp(opt, "--input")) {
      if (parse_shape(v, &shape))
        return usage_error("model info: --input \"%s\": expected CxHxW (positive sizes)", v);
      have_input = 1;
    } else if (!strcmp(opt, "--ann")) {
      ann = 1;
    } else if (!strcmp(opt, "--classes")) {
      const long n = parse_count(v, 2, 1000000);
      if (n < 0) return usage_error("model info: --classes \"%s\": expected a count >= 2", v);
      classes = (int)n;
      have_classes = 1;
    } else {
      return usage_error("model info: unknown option %s", opt);
    }
  }
  cJSON *spec;
  sb_status st = sb_model_spec_load(name, name, &spec);
  if (st) return report(st);
  /* The spec's declared "input" and "classes" are the defaults; the options override them. */
  sb_shape declared = shape;
  int declared_classes = classes;
  if ((st = sb_model_spec_declared(spec, name, &declared, &declared_classes))) {
    cJSON_Delete(spec);
    return report(st);
  }
  if (!have_input) shape = declared;
  if (!have_classes) classes = declared_classes;
  sb_model_opts o = {.input_shape = shape, .input_static = 1, .n_classes = classes, .T = 1,
                     .B = 1, .ann_twin = ann, .origin = name};
  sb_model *m;
  st = sb_model_build(&m, spec, &o);
  cJSON_Delete(spec);
  if (st) return report(st);
  char buf[64];
  printf("model %s%s, input %s (static: direct encoding), %d classes\n\n", m->name,
         ann ? " (non-spiking twin: ReLU for every spiking layer)" : "",
         sb_shape_str(shape, buf, sizeof buf), classes);
  int name_w = 14;  /* the column fits the longest layer name */
  for (int i = 0; i < m->n_layers; i++) {
    const int len = (int)strlen(m->layers[i]->name);
    if (len > name_w) name_w = len;
  }
  printf("%-3s %-*s %-20s %-12s %-8s %12s  %s\n", "#", name_w, "name", "type", "output",
         "per-step", "params", "settings");
  for (int i = 0; i < m->n_layers; i++) {
    const sb_layer *l = m->layers[i];
    char settings[256] = "";
    if (l->ops->describe) l->ops->describe(l, settings, sizeof settings);
    printf("%-3d %-*s %-20s %-12s %-8s %12ld  %s\n", i, name_w, l->name, l->ops->type,
           sb_shape_str(l->out.shape, buf, sizeof buf), l->out.is_static ? "static" : "T",
           l->n_params, settings);
  }
  printf("\ntotal parameters: %ld\n", m->n_param_values);
  sb_model_free(m);
  return 0;
}

static int cmd_bench(int argc, char **argv) {
  sb_bench_opts o;
  if (argc < 3 || sb_bench_defaults(argv[2], &o))
    return usage_error("bench: expected mlp or cnn");
  static const char *const valued[] = {"--threads", "--samples", "--epochs", "--repeats",
                                       "--model", "--reference", "--data", NULL};
  for (int i = 3; i < argc; i++) {
    const char *opt = argv[i], *v = NULL;
    if (!strcmp(opt, "--profile")) {
      o.profile = 1;
      continue;
    }
    int known = 0;
    for (const char *const *k = valued; *k; k++) known |= !strcmp(opt, *k);
    if (!known) return usage_error("bench: unknown option %s", opt);
    if (!(v = option_value(argc, argv, &i))) return usage_error("bench: %s needs a value", opt);
    long n = 0;
    if (!strcmp(opt, "--threads")) {
      o.n_threads = 0;
      for (char *tok = strtok(argv[i], ","); tok && o.n_threads < 8; tok = strtok(NULL, ",")) {
        if ((n = parse_count(tok, 1, 1024)) < 0)
          return usage_error("bench: --threads: \"%s\" is not a thread count", tok);
        o.threads[o.n_threads++] = (int)n;
      }
    } else if (!strcmp(opt, "--samples")) {
      if ((n = parse_count(v, 1, INT_MAX)) < 0)
        return usage_error("bench: --samples: \"%s\" is not a positive count", v);
      o.samples = (int)n;
    } else if (!strcmp(opt, "--epochs")) {
      if ((n = parse_count(v, 1, 16)) < 0)
        return usage_error("bench: --epochs: \"%s\" is not in 1..16", v);
      o.epochs = (int)n;
    } else if (!strcmp(opt, "--repeats")) {
      if ((n = parse_count(v, 1, SB_BENCH_MAX_REPEATS)) < 0)
        return usage_error("bench: --repeats: \"%s\" is not in 1..%d", v, SB_BENCH_MAX_REPEATS);
      o.repeats = (int)n;
    } else if (!strcmp(opt, "--model")) {
      o.model = v;
    } else if (!strcmp(opt, "--reference")) {
      o.reference = v;
    } else {
      o.data = v;
    }
  }
  return report(sb_bench(&o));
}

int main(int argc, char **argv) {
  /* HDF5 flock()s every file it opens. On shared filesystems whose locks fail (NFS without a
   * lock daemon, some Lustre mounts) every open then fails, and a lock another process holds
   * makes a done cell look unreadable. snnbench never relies on the lock: each file has one
   * writer, is written under a temp name and renamed into place, and is read only after that.
   * So locking is off unless the user set HDF5_USE_FILE_LOCKING (which HDF5 then obeys). */
  setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
  sb_kernels_init();
  if (argc < 2) {
    fprintf(stderr, "%s", k_usage);
    return SB_EINPUT;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "run")) return cmd_run(argc, argv);
  if (!strcmp(cmd, "validate")) return cmd_validate(argc, argv);
  if (!strcmp(cmd, "reduce")) return cmd_reduce(argc, argv);
  if (!strcmp(cmd, "merge")) return cmd_merge(argc, argv);
  if (!strcmp(cmd, "status")) return cmd_status(argc, argv);
  if (!strcmp(cmd, "list")) return cmd_list(argc, argv);
  if (!strcmp(cmd, "model")) return cmd_model(argc, argv);
  if (!strcmp(cmd, "bench")) return cmd_bench(argc, argv);
  if (!strcmp(cmd, "data")) return cmd_data(argc, argv);
  if (!strcmp(cmd, "info")) {
    sb_print_info();
    return 0;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    printf("%s", k_usage);
    return 0;
  }
  return usage_error("unknown command \"%s\"", cmd);
}
